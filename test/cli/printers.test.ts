/** `get` columns as kubectl's printers (pkg/printers/internalversion/printers.go) write them. */
import test from 'ava';
import {
  deploymentColumns,
  endpointSliceColumns,
  nodeColumns,
  podColumns,
  serviceColumns,
} from '../../src/cli/printers/resources.js';
import type { Deployment, EndpointSlice, Node, Pod, Service } from '../../src/model/types.js';

function lb(ingress: string[], externalIPs: string[] = []): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'lb', namespace: 'default' },
    spec: {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.20',
      ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }],
      ...(externalIPs.length ? { externalIPs } : {}),
    },
    status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
  } as Service;
}

const EXTERNAL_IP_CASES: [name: string, svc: Service, wide: boolean, expected: string][] = [
  ['one address', lb(['172.18.255.200']), false, '172.18.255.200'],
  ['two, sorted and cut to 16 characters', lb(['172.18.255.201', '172.18.255.200']), false, '172.18.255.20...'],
  ['two under -o wide: whole', lb(['172.18.255.201', '172.18.255.200']), true, '172.18.255.200,172.18.255.201'],
  ['an IPv6 address longer than 16', lb(['fc00:f853:ccd:e793::200']), false, 'fc00:f853:ccd...'],
  ['none yet', lb([]), false, '<pending>'],
  ['none, with externalIPs', lb([], ['203.0.113.9']), false, '203.0.113.9'],
];
for (const [name, svc, wide, expected] of EXTERNAL_IP_CASES) {
  test(`service EXTERNAL-IP: ${name}`, (t) => {
    t.is(serviceColumns.row(svc, wide)[3], expected);
  });
}

function slice(ports: EndpointSlice['ports'], addresses: string[]): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 's', namespace: 'default' },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true } })),
    ...(ports ? { ports } : {}),
  };
}

test('endpointslice PORTS and ENDPOINTS: three, then "+ N more..."; a port without a number shows its name or *', (t) => {
  const five = [1, 2, 3, 4, 5].map((port) => ({ port, protocol: 'TCP' as const }));
  t.deepEqual(endpointSliceColumns.row(slice(five, ['10.0.0.1']), false).slice(2), ['1,2,3 + 2 more...', '10.0.0.1']);
  t.is(
    endpointSliceColumns.row(slice([{ name: 'http', protocol: 'TCP' }, { protocol: 'TCP' }], []), false)[2],
    'http,*',
  );
  t.deepEqual(endpointSliceColumns.row(slice(undefined, []), false).slice(2), ['<unset>', '<unset>']);
  // As served: the API server gives a port without a name the empty one (SetDefaults_EndpointPort), which joins to
  // nothing (listWithMoreString's <unset>), or to an empty item beside a number.
  t.is(endpointSliceColumns.row(slice([{ name: '', protocol: 'TCP' }], []), false)[2], '<unset>');
  t.is(
    endpointSliceColumns.row(
      slice(
        [
          { port: 80, protocol: 'TCP' },
          { name: '', protocol: 'TCP' },
        ],
        [],
      ),
      false,
    )[2],
    '80,',
  );
});

function node(o: { labels?: Record<string, string>; ready?: string; info?: Node['status']['nodeInfo'] }): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'w1', ...(o.labels ? { labels: o.labels } : {}) },
    spec: {},
    status: {
      addresses: [
        { type: 'InternalIP', address: '172.18.0.3' },
        { type: 'InternalIP', address: 'fc00::3' },
      ],
      allocatable: {},
      conditions: o.ready === undefined ? [] : [{ type: 'Ready', status: o.ready }],
      ...(o.info ? { nodeInfo: o.info } : {}),
    },
  } as Node;
}

test('nodes: NotReady for any Ready status but True, Unknown without one; both role labels; the kubelet version', (t) => {
  t.deepEqual(nodeColumns.row(node({ ready: 'True' }), false).slice(1, 3), ['Ready', '<none>']);
  t.is(nodeColumns.row(node({ ready: 'Unknown' }), false)[1], 'NotReady');
  t.is(nodeColumns.row(node({}), false)[1], 'Unknown');
  t.is(
    nodeColumns.row(
      node({ labels: { 'kubernetes.io/role': 'worker', 'node-role.kubernetes.io/infra': '' } }),
      false,
    )[2],
    'infra,worker',
  );
  t.is(nodeColumns.row(node({ info: { kubeletVersion: 'v1.30.4' } }), false)[3], 'v1.30.4');
  t.deepEqual(nodeColumns.row(node({ ready: 'True', info: { osImage: 'Debian GNU/Linux 12' } }), true).slice(4), [
    '172.18.0.3',
    '<none>',
    'Debian GNU/Linux 12',
    '<unknown>',
    '<unknown>',
  ]);
  t.deepEqual(nodeColumns.wide, ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
});

test('pods: READY counts sidecars (restartable init containers) with the containers', (t) => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: {
      containers: [{ name: 'app', image: 'nginx' }],
      initContainers: [
        { name: 'proxy', image: 'envoy', restartPolicy: 'Always' },
        { name: 'setup', image: 'busybox' },
      ],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  } as Pod;
  t.is(podColumns.row(pod, false)[1], '2/2');
});

/** A one-container pod in `phase`, Ready, maybe being deleted, with these readiness gates and extra conditions. */
function podIn(
  phase: Pod['status']['phase'],
  opts: { deleting?: boolean; gates?: string[]; conditions?: [string, 'True' | 'False'][] } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'default',
      ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: [{ name: 'app', image: 'nginx' }],
      ...(opts.gates ? { readinessGates: opts.gates.map((conditionType) => ({ conditionType })) } : {}),
    },
    status: {
      phase,
      conditions: [
        { type: 'Ready', status: 'True' },
        ...(opts.conditions ?? []).map(([type, status]) => ({ type, status })),
      ],
    },
  } as Pod;
}

/** printPod: READY counts running ready containers; Terminating only while not finished; READINESS GATES true/all. */
const POD_ROWS: [name: string, pod: Pod, ready: string, status: string, gates: string][] = [
  ['running', podIn('Running'), '1/1', 'Running', '<none>'],
  ['succeeded: no container runs', podIn('Succeeded'), '0/1', 'Succeeded', '<none>'],
  ['failed and being deleted: still Failed', podIn('Failed', { deleting: true }), '0/1', 'Failed', '<none>'],
  ['running and being deleted', podIn('Running', { deleting: true }), '1/1', 'Terminating', '<none>'],
  [
    'two gates, one condition true, one missing',
    podIn('Running', { gates: ['example.com/a', 'example.com/b'], conditions: [['example.com/a', 'True']] }),
    '1/1',
    'Running',
    '1/2',
  ],
  [
    'a gate whose condition is False',
    podIn('Running', { gates: ['x/y'], conditions: [['x/y', 'False']] }),
    '1/1',
    'Running',
    '0/1',
  ],
];

for (const [name, pod, ready, status, gates] of POD_ROWS) {
  test(`pods: ${name}`, (t) => {
    const row = podColumns.row(pod, true);
    t.deepEqual([row[1], row[2], row[7]], [ready, status, gates]);
  });
}

test('workloads -o wide: CONTAINERS and IMAGES of the template, then the selector', (t) => {
  const d = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          dnsPolicy: 'ClusterFirst',
          containers: [
            { name: 'nginx', image: 'nginx:1.27' },
            { name: 'log', image: 'fluent-bit:3' },
          ],
        },
      },
    },
  } as Deployment;
  const columns = deploymentColumns(() => ({ current: 3, ready: 2 }));
  t.deepEqual(columns.wide, ['CONTAINERS', 'IMAGES', 'SELECTOR']);
  t.deepEqual(columns.row(d, true), ['web', '2/3', '3', '2', 'nginx,log', 'nginx:1.27,fluent-bit:3', 'app=web']);
});
