/**
 * Admission errors that need cluster state (allocations, node ranges, the cluster's IP families): each names the
 * file, the line and the field path, and a rejected batch changes nothing.
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/cluster.js';
import { BatchRejectedError, type ErrorCode } from '../../src/errors.js';
import { readInputs } from '../../src/model/load/index.js';
import type { IPFamilyPolicy } from '../../src/model/types.js';

const dir = 'fixtures/admission';

async function base(): Promise<Cluster> {
  return Cluster.load([`${dir}/base.yaml`]);
}

async function applyFile(cluster: Cluster, file: string): Promise<BatchRejectedError> {
  const read = await readInputs([`${dir}/${file}`]);
  const err = (() => {
    try {
      cluster.applyDocuments(read.documents);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  if (!(err instanceof BatchRejectedError))
    throw new Error(`expected a rejected batch for ${file}, got ${String(err)}`);
  return err;
}

const cases: { file: string; line: number; field: string; detail: RegExp; code: ErrorCode }[] = [
  {
    file: 'clusterip-outside.yaml',
    line: 6,
    field: 'spec.clusterIP',
    detail: /not in the valid range/,
    code: 'E_OUT_OF_RANGE',
  },
  {
    file: 'clusterip-taken.yaml',
    line: 6,
    field: 'spec.clusterIP',
    detail: /already allocated/,
    code: 'E_ALREADY_ALLOCATED',
  },
  {
    file: 'nodeport-outside.yaml',
    line: 12,
    field: 'spec.ports[1].nodePort',
    detail: /not in the valid range/,
    code: 'E_OUT_OF_RANGE',
  },
  {
    file: 'nodeport-taken.yaml',
    line: 9,
    field: 'spec.ports[0].nodePort',
    detail: /already allocated/,
    code: 'E_ALREADY_ALLOCATED',
  },
  {
    file: 'nodeport-pinned-without-allocation.yaml',
    line: 21,
    field: 'spec.ports[0].nodePort',
    detail: /already allocated/,
    code: 'E_ALREADY_ALLOCATED',
  },
  {
    file: 'nodeport-two-numbers.yaml',
    line: 10,
    field: 'spec.ports[1].nodePort',
    detail: /already allocated/,
    code: 'E_ALREADY_ALLOCATED',
  },
  { file: 'podip-outside.yaml', line: 9, field: 'status.podIP', detail: /10\.244\.2\.7/, code: 'E_OUT_OF_RANGE' },
  {
    file: 'podip-taken.yaml',
    line: 9,
    field: 'status.podIP',
    detail: /10\.244\.1\.20 is not available/,
    code: 'E_ALREADY_ALLOCATED',
  },
  {
    file: 'family-not-served.yaml',
    line: 6,
    field: 'spec.ipFamilies[0]',
    detail: /IPv6 is not configured on this cluster/,
    code: 'E_MANIFEST_INVALID',
  },
  {
    file: 'dualstack-required.yaml',
    line: 6,
    field: 'spec.ipFamilyPolicy',
    detail: /not configured for dual-stack/,
    code: 'E_MANIFEST_INVALID',
  },
];

for (const c of cases) {
  test(`${c.file}: ${c.field} is rejected with its file, line and path`, async (t) => {
    const cluster = await base();
    const rvBefore = cluster.store.resourceVersion;
    const reportBefore = JSON.stringify(cluster.ipamReport());
    const err = await applyFile(cluster, c.file);
    t.is(err.issues.length, 1);
    const issue = err.issues[0]!;
    t.is(issue.code, c.code);
    t.is(issue.field, c.field);
    t.is(issue.position.file, `${dir}/${c.file}`);
    t.is(issue.position.line, c.line);
    t.regex(issue.detail, c.detail);
    t.regex(
      err.message,
      new RegExp(
        `${dir}/${c.file.replace('.', '\\.')}:${c.line}:\\d+: \\w+ default/\\S+: ${c.field.replace(/[[\].]/g, '\\$&')}: `,
      ),
    );
    // Nothing changed: no new object, no new resourceVersion, no allocation left behind.
    t.is(cluster.store.resourceVersion, rvBefore);
    t.is(JSON.stringify(cluster.ipamReport()), reportBefore);
  });
}

test('every error of a batch is reported, and its valid objects are not applied', async (t) => {
  const cluster = await base();
  const rvBefore = cluster.store.resourceVersion;
  const err = await applyFile(cluster, 'mixed-batch.yaml');
  t.deepEqual(
    err.issues.map((i) => [i.object, i.field, i.position.line]),
    [
      ['Service default/bad-ip', 'spec.clusterIP', 15],
      ['Service default/bad-port', 'spec.ports[0].nodePort', 27],
    ],
  );
  t.is(cluster.get('Service', 'fine', 'default'), undefined);
  t.is(cluster.store.resourceVersion, rvBefore);
});

test('a batch with validation errors also reports the admission errors of its valid objects, and changes nothing', async (t) => {
  const svc = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { selector: { app: 'a' }, ports: [{ port: 80 }], ...spec },
  });
  const batch = [
    svc('invalid', { ports: [{ port: 0 }] }),
    svc('np-a', { type: 'NodePort', ports: [{ port: 80, nodePort: 30099 }] }),
    svc('np-b', { type: 'NodePort', ports: [{ port: 80, nodePort: 30099 }] }),
  ];
  const errorOf = (fn: () => unknown) => t.throws(fn, { instanceOf: BatchRejectedError }) as BatchRejectedError;
  const expected = [
    ['Service default/invalid', 'spec.ports[0].port'],
    ['Service default/np-b', 'spec.ports[0].nodePort'],
  ];
  // At load, and in an apply to a running cluster.
  t.deepEqual(
    errorOf(() => Cluster.create(batch)).issues.map((i) => [i.object, i.field]),
    expected,
  );
  const cluster = await base();
  const rvBefore = cluster.store.resourceVersion;
  const reportBefore = JSON.stringify(cluster.ipamReport());
  t.deepEqual(
    errorOf(() => cluster.apply(batch)).issues.map((i) => [i.object, i.field]),
    expected,
  );
  t.is(cluster.get('Service', 'np-a', 'default'), undefined);
  t.is(cluster.store.resourceVersion, rvBefore);
  t.is(JSON.stringify(cluster.ipamReport()), reportBefore);
  // A valid batch after it takes the port the trial run gave back.
  cluster.apply([batch[1]]);
  t.is(cluster.get('Service', 'np-a', 'default')?.spec.ports?.[0]?.nodePort, 30099);
});

test('a rejected batch emits no watch events', async (t) => {
  const cluster = await base();
  let events = 0;
  cluster.watch('Service', () => events++);
  await applyFile(cluster, 'mixed-batch.yaml');
  t.is(events, 0);
});

test('an exhausted range is an error that names the range', (t) => {
  const services = Array.from({ length: 300 }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `s${i}`, namespace: 'default' },
    spec: { ports: [{ port: 80 }] },
  }));
  const config = {
    apiVersion: 'kube-netsim.io/v1alpha1',
    kind: 'ClusterConfig',
    metadata: { name: 'tiny' },
    spec: { serviceCIDRs: ['10.96.0.0/24'] },
  };
  const err = t.throws(() => Cluster.create([config, ...services]), { instanceOf: BatchRejectedError });
  t.true(err.issues.some((i) => i.code === 'E_RANGE_EXHAUSTED' && i.detail.includes('10.96.0.0/24')));
});

test('ports with the same number share one NodePort, as the API server assigns them (53/UDP and 53/TCP)', async (t) => {
  const cluster = await base();
  cluster.apply([
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dns-np', namespace: 'default' },
      spec: {
        type: 'NodePort',
        ports: [
          { name: 'dns-udp', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      },
    },
  ]);
  const ports = cluster.get('Service', 'dns-np', 'default')!.spec.ports!;
  t.truthy(ports[0]!.nodePort);
  t.is(ports[1]!.nodePort, ports[0]!.nodePort);
  t.not(ports[2]!.nodePort, ports[0]!.nodePort);
});

test('a LoadBalancer with no free pool address is created all the same: EXTERNAL-IP pending, with a warning', async (t) => {
  const cluster = await base();
  cluster.apply([
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'lb-pending', namespace: 'default' },
      spec: { type: 'LoadBalancer', ports: [{ port: 80 }] },
    },
  ]);
  const svc = cluster.get('Service', 'lb-pending', 'default')!;
  t.deepEqual(svc.status.loadBalancer, {});
  t.truthy(svc.spec.ports![0]!.nodePort);
  t.true(cluster.warnings.some((w) => w.includes('default/lb-pending') && w.includes('<pending>')));
});

const HEADLESS_SELECTORLESS: [
  name: string,
  spec: Record<string, unknown>,
  policy: IPFamilyPolicy,
  families: string[],
][] = [
  ['nothing asked', {}, 'RequireDualStack', ['IPv4', 'IPv6']],
  ['IPv6 asked, on an IPv4-only cluster', { ipFamilies: ['IPv6'] }, 'RequireDualStack', ['IPv6', 'IPv4']],
  [
    'PreferDualStack on a single-stack cluster',
    { ipFamilyPolicy: 'PreferDualStack' },
    'PreferDualStack',
    ['IPv4', 'IPv6'],
  ],
  ['SingleStack', { ipFamilyPolicy: 'SingleStack' }, 'SingleStack', ['IPv4']],
];
for (const [name, extra, policy, families] of HEADLESS_SELECTORLESS) {
  test(`a headless Service without selector (${name}): ${policy} ${families.join(',')}`, async (t) => {
    const cluster = await base(); // single-stack IPv4
    cluster.apply([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ext', namespace: 'default' },
        spec: { clusterIP: 'None', ports: [{ port: 80 }], ...extra },
      },
    ]);
    const spec = cluster.get('Service', 'ext', 'default')!.spec;
    t.is(spec.ipFamilyPolicy, policy);
    t.deepEqual(spec.ipFamilies, families);
  });
}

test('default, kube-system and kube-public may not be deleted; the batch changes nothing', async (t) => {
  const cluster = await base();
  for (const name of ['default', 'kube-system', 'kube-public']) {
    const err = t.throws(() => cluster.delete([{ kind: 'Namespace', name }]), { instanceOf: BatchRejectedError });
    t.regex(err!.issues[0]!.detail, /this namespace may not be deleted/);
    t.truthy(cluster.get('Namespace', name));
  }
  t.truthy(cluster.get('Service', 'kubernetes', 'default'));
});

const svc = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec,
});

test('updates keep NodePorts the Service holds: a twin added before or after, pinned or not, shares them', async (t) => {
  const cluster = await base();
  const tcp = { name: 't', port: 53, protocol: 'TCP' };
  const udp = { name: 'u', port: 53, protocol: 'UDP' };
  cluster.apply([svc('np', { type: 'NodePort', ports: [tcp] })]);
  const held = cluster.get('Service', 'np', 'default')!.spec.ports![0]!.nodePort!;
  cluster.apply([svc('np', { type: 'NodePort', ports: [udp, tcp] })]);
  t.deepEqual(
    cluster.get('Service', 'np', 'default')!.spec.ports!.map((p) => p.nodePort),
    [held, held],
  );
  // The same NodePort pinned on both, the new twin listed first.
  cluster.apply([
    svc('np', {
      type: 'NodePort',
      ports: [
        { ...udp, nodePort: held },
        { ...tcp, nodePort: held },
      ],
    }),
  ]);
  t.deepEqual(
    cluster.get('Service', 'np', 'default')!.spec.ports!.map((p) => p.nodePort),
    [held, held],
  );
  // Without NodePort allocation, pinned ones are still the Service's own.
  const lb = (ports: unknown[]) => svc('lb', { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ports });
  cluster.apply([lb([{ ...tcp, nodePort: 30053 }])]);
  cluster.apply([
    lb([
      { ...tcp, nodePort: 30053 },
      { ...udp, nodePort: 30053 },
    ]),
  ]);
  t.deepEqual(
    cluster.get('Service', 'lb', 'default')!.spec.ports!.map((p) => p.nodePort),
    [30053, 30053],
  );
});

test('a pod with a readiness gate no condition answers is not Ready (ReadinessGatesNotReady): its endpoint is not ready', async (t) => {
  const cluster = await base();
  const pod = (name: string, gated: boolean) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'gate' } },
    spec: {
      containers: [{ name: 'c', image: 'x' }],
      ...(gated ? { readinessGates: [{ conditionType: 'example.com/lb-ready' }] } : {}),
    },
  });
  cluster.apply([
    pod('gated', true),
    pod('plain', false),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'gate', namespace: 'default' },
      spec: { selector: { app: 'gate' }, ports: [{ port: 80 }] },
    },
  ]);
  const ready = (name: string) =>
    cluster.get('Pod', name, 'default')!.status.conditions!.find((c) => c.type === 'Ready');
  t.deepEqual(ready('gated'), { type: 'Ready', status: 'False', reason: 'ReadinessGatesNotReady' });
  t.is(ready('plain')!.status, 'True');
  const endpoints = cluster
    .list('EndpointSlice')
    .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'gate')
    .flatMap((s) => s.endpoints);
  const byPod = Object.fromEntries(endpoints.map((e) => [e.targetRef!.name, e.conditions.ready]));
  t.deepEqual(byPod, { gated: false, plain: true });
});

test('a rejected batch leaves the generated names of later batches as they would have been (same seed, same names)', (t) => {
  const deployment = (name: string) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  });
  const invalid = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'Bad_Name' },
    spec: { ports: [{ port: 80 }] },
  };
  const podNames = (c: Cluster) =>
    c
      .list('Pod', 'default')
      .map((p) => p.metadata.name)
      .sort();
  const fresh = Cluster.create([], { seed: 1 });
  fresh.apply([deployment('web')]);
  const afterRejection = Cluster.create([], { seed: 1 });
  // Its valid Deployment is tried (for admission errors) and rolled back, generated names included.
  t.throws(() => afterRejection.apply([invalid, deployment('other')]), { instanceOf: BatchRejectedError });
  afterRejection.apply([deployment('web')]);
  t.deepEqual(podNames(afterRejection), podNames(fresh));
});

test('pods left Pending for want of a node run once a node appears, with the conditions kubelet reports', (t) => {
  // Nodes only from manifests: the bootstrap's CoreDNS pods are admitted before them and wait, as on a real cluster.
  const node = (name: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
  const cluster = Cluster.create([node('n1')]);
  const conditions = (pod: { status: { conditions?: { type: string; status: string }[] } }) =>
    Object.fromEntries(pod.status.conditions!.map((c) => [c.type, c.status]));
  const coredns = cluster.list('Pod', 'kube-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns');
  t.is(coredns.length, 2);
  for (const pod of coredns) {
    t.is(pod.spec.nodeName, 'n1');
    t.is(pod.status.phase, 'Running');
    t.like(conditions(pod), { PodScheduled: 'True', Ready: 'True', ContainersReady: 'True' });
  }
  const dnsEndpoints = cluster
    .list('EndpointSlice', 'kube-system')
    .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'kube-dns')
    .flatMap((s) => s.endpoints);
  t.is(dnsEndpoints.length, 2);
  t.true(dnsEndpoints.every((e) => e.conditions.ready === true));

  // A pod that fits no node (its nodeSelector names none) stays Pending until one that fits is added.
  cluster.apply([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'waits', namespace: 'default' },
      spec: { nodeSelector: { disk: 'ssd' }, containers: [{ name: 'c', image: 'x' }] },
    },
  ]);
  const waiting = cluster.get('Pod', 'waits', 'default')!;
  t.is(waiting.status.phase, 'Pending');
  t.is(conditions(waiting).PodScheduled, 'False');
  cluster.apply([{ ...node('n2'), metadata: { name: 'n2', labels: { disk: 'ssd' } } }]);
  const placed = cluster.get('Pod', 'waits', 'default')!;
  t.is(placed.spec.nodeName, 'n2');
  t.is(placed.status.phase, 'Running');
  t.like(conditions(placed), { PodScheduled: 'True', Ready: 'True' });
});

const HELD: [what: string, spec: Record<string, unknown>, conditions: unknown[]][] = [
  [
    'scheduling gates: PodScheduled False, SchedulingGated',
    { schedulingGates: [{ name: 'example.com/quota' }] },
    [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'SchedulingGated',
        message: 'Scheduling is blocked due to non-empty scheduling gates',
      },
    ],
  ],
  [
    'another scheduler: no condition at all (kube-scheduler does not look at it)',
    { schedulerName: 'my-scheduler' },
    [],
  ],
];
for (const [what, extra, conditions] of HELD) {
  test(`a pod kube-scheduler does not place stays Pending without an address, and no endpoint: ${what}`, async (t) => {
    const cluster = await base();
    cluster.apply([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'held', namespace: 'default', labels: { app: 'held' } },
        spec: { containers: [{ name: 'c', image: 'x' }], ...extra },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'held', namespace: 'default' },
        spec: { selector: { app: 'held' }, ports: [{ port: 80 }] },
      },
      // A new node changes nothing for it.
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'late' } },
    ]);
    const pod = cluster.get('Pod', 'held', 'default')!;
    t.is(pod.spec.nodeName, undefined);
    t.is(pod.status.phase, 'Pending');
    t.is(pod.status.podIP, undefined);
    t.deepEqual(pod.status.conditions ?? [], conditions);
    const endpoints = cluster
      .list('EndpointSlice', 'default')
      .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'held')
      .flatMap((s) => s.endpoints);
    t.deepEqual(endpoints, []);
  });
}

test('a pod with scheduling gates may not name its node', (t) => {
  const err = t.throws(() =>
    Cluster.create([
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'gated', namespace: 'default' },
        spec: { nodeName: 'kind-worker', schedulingGates: [{ name: 'a' }], containers: [{ name: 'c', image: 'x' }] },
      },
    ]),
  );
  t.true(err instanceof BatchRejectedError);
  t.regex(err!.message, /spec\.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared/);
});

for (const status of ['False', 'Unknown'] as const) {
  test(`a pod on a node whose Ready is ${status} is not Ready (MarkPodsNotReady): its endpoint is neither ready nor serving`, (t) => {
    const cluster = Cluster.create([
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'good' } },
      {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: 'bad' },
        status: { conditions: [{ type: 'Ready', status }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's', namespace: 'default' },
        spec: { selector: { app: 's' }, ports: [{ port: 80 }] },
      },
      ...['good', 'bad'].map((node) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `on-${node}`, namespace: 'default', labels: { app: 's' } },
        spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] },
      })),
    ]);
    const ready = (name: string) =>
      cluster.get('Pod', name, 'default')!.status.conditions!.find((c) => c.type === 'Ready')!.status;
    t.is(ready('on-good'), 'True');
    t.is(ready('on-bad'), 'False');
    const byPod = Object.fromEntries(
      cluster
        .list('EndpointSlice', 'default')
        .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 's')
        .flatMap((s) => s.endpoints)
        .map((e) => [e.targetRef!.name, [e.conditions.ready, e.conditions.serving]]),
    );
    t.deepEqual(byPod, { 'on-good': [true, true], 'on-bad': [false, false] });
  });
}

test('a node that stops being Ready marks its pods not Ready, and its kubelet reports them again once it is back', (t) => {
  const node = (name: string, status?: 'True' | 'False' | 'Unknown') => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    ...(status ? { status: { conditions: [{ type: 'Ready', status }] } } : {}),
  });
  const pod = (name: string, nodeName: string, extra: object = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 's' } },
    spec: { nodeName, containers: [{ name: 'c', image: 'x' }], ...extra },
  });
  const cluster = Cluster.create([
    node('a'),
    node('b', 'Unknown'),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'default' },
      spec: { selector: { app: 's' }, ports: [{ port: 80 }] },
    },
    pod('plain', 'a'),
    pod('gated', 'a', { readinessGates: [{ conditionType: 'example.com/ok' }] }),
    pod('late', 'b'),
  ]);
  const ready = (name: string) =>
    cluster.get('Pod', name, 'default')!.status.conditions!.find((c) => c.type === 'Ready')!;
  const endpoints = () =>
    Object.fromEntries(
      cluster
        .list('EndpointSlice', 'default')
        .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 's')
        .flatMap((s) => s.endpoints)
        .map((e) => [e.targetRef!.name, e.conditions.ready]),
    );
  t.deepEqual(endpoints(), { plain: true, gated: false, late: false });

  cluster.apply([node('a', 'False'), node('b', 'True')]);
  t.is(ready('plain').status, 'False');
  // Not Ready already (a gate unanswered): MarkPodsNotReady leaves it as it is, reason and all.
  t.is(ready('gated').reason, 'ReadinessGatesNotReady');
  t.is(ready('late').status, 'True');
  t.deepEqual(endpoints(), { plain: false, gated: false, late: true });

  // A pod applied again while its node is down keeps the mark, and still comes back with the node.
  cluster.apply([pod('plain', 'a')]);
  t.is(ready('plain').status, 'False');
  cluster.apply([node('a', 'True')]);
  t.is(ready('plain').status, 'True');
  t.is(ready('gated').reason, 'ReadinessGatesNotReady');
  t.deepEqual(endpoints(), { plain: true, gated: false, late: true });
});

/** Updates of a dual-stack Service's families (validateUpgradeDowngradeIPFamilies): what may change and what not. */
const FAMILY_UPDATES: [
  what: string,
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  error: RegExp | null,
][] = [
  ['adding the secondary family', { ipFamilyPolicy: 'SingleStack' }, { ipFamilyPolicy: 'PreferDualStack' }, null],
  ['releasing it with SingleStack', { ipFamilyPolicy: 'PreferDualStack' }, { ipFamilyPolicy: 'SingleStack' }, null],
  [
    'swapping the two',
    { ipFamilyPolicy: 'PreferDualStack' },
    { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] },
    /spec\.ipFamilies\[0\]: may not change once set, was \["IPv4","IPv6"\], got \["IPv6","IPv4"\]/,
  ],
  [
    'keeping only the secondary',
    { ipFamilyPolicy: 'PreferDualStack' },
    { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] },
    /spec\.ipFamilies\[0\]: may not change once set/,
  ],
  [
    'another primary family',
    { ipFamilyPolicy: 'SingleStack' },
    { ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv6'] },
    /spec\.ipFamilies\[0\]: may not change once set, was \["IPv4"\], got \["IPv6"\]/,
  ],
  [
    'another primary family with the secondary added',
    { ipFamilyPolicy: 'SingleStack' },
    { ipFamilyPolicy: 'PreferDualStack', ipFamilies: ['IPv6', 'IPv4'] },
    /spec\.ipFamilies\[0\]: may not change once set/,
  ],
  ['a headless Service', { clusterIP: 'None' }, { clusterIP: 'None', ipFamilies: ['IPv6'] }, null],
];

for (const [what, from, to, error] of FAMILY_UPDATES) {
  test(`Service update, ${what}: ${error ? 'rejected' : 'accepted'}`, (t) => {
    const config = {
      apiVersion: 'kube-netsim.io/v1alpha1',
      kind: 'ClusterConfig',
      metadata: { name: 'dual' },
      spec: { podCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'], serviceCIDRs: ['10.96.0.0/16', 'fd00:10:96::/112'] },
    };
    const spec = (s: Record<string, unknown>) => ({ selector: { app: 'a' }, ports: [{ port: 80 }], ...s });
    const cluster = Cluster.create([config, svc('s', spec(from))]);
    const before = cluster.get('Service', 's', 'default')!.spec;
    if (error === null) {
      t.notThrows(() => cluster.apply([svc('s', spec(to))]));
      // The primary address stays (a headless Service has none).
      t.is(cluster.get('Service', 's', 'default')!.spec.clusterIPs![0], before.clusterIPs![0]);
      return;
    }
    const err = t.throws(() => cluster.apply([svc('s', spec(to))]), { instanceOf: BatchRejectedError });
    t.regex(err!.message, error);
    t.deepEqual(cluster.get('Service', 's', 'default')!.spec, before);
  });
}

test('a Node given without an InternalIP gets one from the node network; a Hostname it lists is not listed twice', (t) => {
  const node = (addresses: unknown[]) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'bare' },
    status: { addresses },
  });
  for (const [given, expected] of [
    [[{ type: 'Hostname', address: 'bare' }], ['InternalIP', 'Hostname bare']],
    [[{ type: 'Hostname', address: 'bare.example' }], ['InternalIP', 'Hostname bare.example']],
    [[], ['InternalIP', 'Hostname bare']],
    [[{ type: 'ExternalIP', address: '203.0.113.9' }], ['InternalIP', 'Hostname bare', 'ExternalIP 203.0.113.9']],
  ] as [unknown[], string[]][]) {
    const cluster = Cluster.create([node(given)]);
    const addresses = cluster.get('Node', 'bare')!.status.addresses;
    t.deepEqual(
      addresses.map((a) => (a.type === 'InternalIP' ? a.type : `${a.type} ${a.address}`)),
      expected,
      JSON.stringify(given),
    );
  }
});

test('a namespace made for an object that names an undefined one is stored as an applied one: label, finalizer, Active', (t) => {
  const cluster = Cluster.create([
    { ...svc('s', { ports: [{ port: 80 }] }), metadata: { name: 's', namespace: 'ghost' } },
  ]);
  const ns = cluster.get('Namespace', 'ghost')!;
  t.deepEqual(ns.metadata.labels, { 'kubernetes.io/metadata.name': 'ghost' });
  t.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
  t.deepEqual(ns.status, { phase: 'Active' });
  // kubeadm's CoreDNS Deployment keeps its manifest's maxUnavailable 1; maxSurge is defaulted.
  t.deepEqual(cluster.get('Deployment', 'coredns', 'kube-system')!.spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' },
  });
});
