import test from 'ava';
import { managedSlices, reconcileService } from '../../src/controllers/endpointslices.js';
import {
  ENDPOINTSLICE_CONTROLLER_NAME,
  type EndpointSlice,
  type Pod,
  type PodCondition,
  type Service,
} from '../../src/model/types.js';
import { container, node, pod, service, TestCluster } from './helpers.js';

const READY: PodCondition[] = [{ type: 'Ready', status: 'True' }];
const NOT_READY: PodCondition[] = [{ type: 'Ready', status: 'False' }];

function setup(o: { dualStack?: boolean } = {}): TestCluster {
  const c = new TestCluster(o);
  c.addNodes(node('w1', { zone: 'zone-a' }), node('w2', { zone: 'zone-b' }));
  return c;
}

function addPod(c: TestCluster, p: Pod, conditions: PodCondition[] = READY): Pod {
  return c.run((ctx) => ctx.createPod({ ...p, status: { ...p.status, conditions } }));
}

function sync(c: TestCluster, svc: Service) {
  return c.run((ctx) => {
    const stored = ctx.store.get('Service', svc.metadata.name) === svc ? svc : ctx.put(svc);
    return reconcileService(ctx, stored, c.pods.select('default', stored.spec.selector ?? {}));
  });
}

const slicesOf = (c: TestCluster, svc: Service): EndpointSlice[] => managedSlices(c, svc);

test('a Service gets a slice with its pods, labels, ports and owner', (t) => {
  const c = setup();
  addPod(c, pod('web-1', { labels: { app: 'web' }, nodeName: 'w1' }));
  addPod(c, pod('web-2', { labels: { app: 'web' }, nodeName: 'w2' }));
  addPod(c, pod('other', { labels: { app: 'api' }, nodeName: 'w2' }));
  const svc = service('web', { labels: { team: 'a' } });
  t.deepEqual(sync(c, svc), { created: 1, updated: 0, deleted: 0 });
  const [slice, ...rest] = slicesOf(c, svc);
  t.is(rest.length, 0);
  t.regex(slice!.metadata.name, /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  t.deepEqual(slice!.metadata.labels, {
    team: 'a',
    'kubernetes.io/service-name': 'web',
    'endpointslice.kubernetes.io/managed-by': ENDPOINTSLICE_CONTROLLER_NAME,
  });
  t.deepEqual(slice!.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', controller: true }]);
  t.is(slice!.addressType, 'IPv4');
  t.deepEqual(slice!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  t.deepEqual(
    slice!.endpoints.map((e) => [e.targetRef?.name, e.nodeName, e.zone, e.conditions]),
    [
      ['web-1', 'w1', 'zone-a', { ready: true, serving: true, terminating: false }],
      ['web-2', 'w2', 'zone-b', { ready: true, serving: true, terminating: false }],
    ],
  );
});

const conditionCases: {
  title: string;
  ready: boolean;
  terminating: boolean;
  publishNotReady: boolean;
  expect: { ready: boolean; serving: boolean; terminating: boolean };
}[] = [
  {
    title: 'ready',
    ready: true,
    terminating: false,
    publishNotReady: false,
    expect: { ready: true, serving: true, terminating: false },
  },
  {
    title: 'not ready',
    ready: false,
    terminating: false,
    publishNotReady: false,
    expect: { ready: false, serving: false, terminating: false },
  },
  {
    title: 'terminating, still serving',
    ready: true,
    terminating: true,
    publishNotReady: false,
    expect: { ready: false, serving: true, terminating: true },
  },
  {
    title: 'terminating, not serving',
    ready: false,
    terminating: true,
    publishNotReady: false,
    expect: { ready: false, serving: false, terminating: true },
  },
  {
    title: 'not ready, publishNotReadyAddresses',
    ready: false,
    terminating: false,
    publishNotReady: true,
    expect: { ready: true, serving: false, terminating: false },
  },
  {
    title: 'terminating, publishNotReadyAddresses',
    ready: true,
    terminating: true,
    publishNotReady: true,
    expect: { ready: true, serving: true, terminating: true },
  },
];
for (const k of conditionCases) {
  test(`endpoint conditions: ${k.title}`, (t) => {
    const c = setup();
    const p = pod('web-1', { labels: { app: 'web' }, nodeName: 'w1' });
    if (k.terminating) p.metadata.deletionTimestamp = '1970-01-01T00:00:00Z';
    addPod(c, p, k.ready ? READY : NOT_READY);
    const svc = service('web', { publishNotReadyAddresses: k.publishNotReady });
    sync(c, svc);
    t.deepEqual(slicesOf(c, svc)[0]!.endpoints[0]!.conditions, k.expect);
  });
}

test('terminal pods and pods without an address are left out', (t) => {
  const c = setup();
  c.run((ctx) =>
    ctx.put({
      ...pod('done', { labels: { app: 'web' }, nodeName: 'w1' }),
      status: { phase: 'Succeeded', podIPs: [{ ip: '10.244.9.9' }] },
    }),
  );
  c.run((ctx) => ctx.put({ ...pod('pending', { labels: { app: 'web' } }), status: { phase: 'Pending' } }));
  const svc = service('web');
  c.run((ctx) => reconcileService(ctx, ctx.put(svc), ctx.store.list('Pod')));
  const slices = slicesOf(c, svc);
  t.is(slices.length, 1);
  t.deepEqual(slices[0]!.endpoints, []);
  t.deepEqual(slices[0]!.ports, []);
});

test('named targetPorts resolve per pod: one slice per distinct port mapping', (t) => {
  const c = setup();
  const withPort = (name: string, port?: number) =>
    pod(name, {
      labels: { app: 'web' },
      nodeName: 'w1',
      containers: [container(port ? { ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] } : {})],
    });
  addPod(c, withPort('a', 8080));
  addPod(c, withPort('b', 8080));
  addPod(c, withPort('c', 9090));
  addPod(c, withPort('d'));
  const svc = service('web', {
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' },
      { name: 'metrics', protocol: 'TCP', port: 9100, targetPort: 9100 },
    ],
  });
  sync(c, svc);
  const byPods = slicesOf(c, svc)
    .map((s) => [
      s.endpoints.map((e) => e.targetRef?.name).join(','),
      s.ports?.map((p) => `${p.name}:${p.port}`).join(','),
    ])
    .sort();
  t.deepEqual(byPods, [
    ['a,b', 'http:8080,metrics:9100'],
    // Ports in upstream's hash order (port-order.ts): here metrics:9100's hash sorts before http:9090's.
    ['c', 'metrics:9100,http:9090'],
    // The pod without the named port still serves the numeric one.
    ['d', 'metrics:9100'],
  ]);
});

test('a named targetPort resolves on a sidecar (init container with restartPolicy Always), not a plain init container', (t) => {
  const c = setup();
  const initWith = (name: string, restartPolicy?: 'Always') =>
    pod(name, {
      labels: { app: 'web' },
      nodeName: 'w1',
      initContainers: [
        {
          name: 'proxy',
          image: 'envoy',
          ...(restartPolicy ? { restartPolicy } : {}),
          ports: [{ name: 'web', containerPort: 9000, protocol: 'TCP' }],
        },
      ],
    });
  addPod(c, initWith('sidecar', 'Always'));
  addPod(c, initWith('plain-init'));
  const svc = service('web', { ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web' }] });
  sync(c, svc);
  const byPods = slicesOf(c, svc)
    .map((s) => [s.endpoints.map((e) => e.targetRef?.name).join(','), s.ports?.map((p) => p.port).join(',')])
    .sort();
  t.deepEqual(byPods, [
    ['plain-init', ''],
    ['sidecar', '9000'],
  ]);
});

test('a named port only matches a container port of the same protocol', (t) => {
  const c = setup();
  addPod(
    c,
    pod('a', {
      labels: { app: 'dns' },
      nodeName: 'w1',
      containers: [container({ ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] })],
    }),
  );
  const svc = service('dns', { ports: [{ name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 'dns' }] });
  sync(c, svc);
  t.deepEqual(slicesOf(c, svc)[0]!.ports, []);
});

test('more than 100 endpoints are split into slices of at most 100', (t) => {
  const c = setup();
  c.run((ctx) => {
    for (let i = 0; i < 250; i++)
      ctx.createPod(pod(`web-${String(i).padStart(3, '0')}`, { labels: { app: 'web' }, nodeName: 'w1' }));
  });
  const svc = service('web');
  sync(c, svc);
  const sizes = slicesOf(c, svc)
    .map((s) => s.endpoints.length)
    .sort((a, b) => b - a);
  t.deepEqual(sizes, [100, 100, 50]);
  // Removing a few pods edits the slices that held them; nothing is recreated.
  const before = new Set(slicesOf(c, svc).map((s) => s.metadata.name));
  c.run((ctx) => {
    for (const name of ['web-000', 'web-150', 'web-249']) ctx.deletePod(ctx.store.get('Pod', name)!);
  });
  sync(c, svc);
  t.deepEqual(new Set(slicesOf(c, svc).map((s) => s.metadata.name)), before);
  t.is(
    slicesOf(c, svc).reduce((n, s) => n + s.endpoints.length, 0),
    247,
  );
});

test('hostname is published only under the Service the pod names as subdomain', (t) => {
  const c = setup();
  addPod(c, pod('db-0', { labels: { app: 'db' }, nodeName: 'w1', hostname: 'db-0', subdomain: 'db' }));
  addPod(c, pod('loose', { labels: { app: 'db' }, nodeName: 'w1', subdomain: 'db' }));
  const governing = service('db', { clusterIP: 'None', clusterIPs: ['None'] });
  const other = service('db-read', { selector: { app: 'db' }, clusterIP: 'None', clusterIPs: ['None'] });
  sync(c, governing);
  sync(c, other);
  const hostnames = (svc: Service) => slicesOf(c, svc)[0]!.endpoints.map((e) => [e.targetRef?.name, e.hostname]);
  t.deepEqual(hostnames(governing), [
    ['db-0', 'db-0'],
    ['loose', undefined],
  ]);
  t.deepEqual(hostnames(other), [
    ['db-0', undefined],
    ['loose', undefined],
  ]);
  t.is(slicesOf(c, governing)[0]!.metadata.labels?.['service.kubernetes.io/headless'], '');
});

test('dual-stack Services get one slice per family', (t) => {
  const c = setup({ dualStack: true });
  addPod(c, pod('web-1', { labels: { app: 'web' }, nodeName: 'w1' }));
  const svc = service('web', { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack' });
  sync(c, svc);
  const byType = Object.fromEntries(slicesOf(c, svc).map((s) => [s.addressType, s.endpoints.map((e) => e.addresses)]));
  t.deepEqual(Object.keys(byType).sort(), ['IPv4', 'IPv6']);
  t.regex(byType.IPv4![0]![0]!, /^10\.244\./);
  t.regex(byType.IPv6![0]![0]!, /^fd00:/);
});

test('a headless Service without families gets both address types, as upstream assumes', (t) => {
  const c = setup();
  addPod(c, pod('db-0', { labels: { app: 'db' }, nodeName: 'w1' }));
  const svc = service('db', { clusterIP: 'None', clusterIPs: ['None'], ipFamilies: [] });
  sync(c, svc);
  const byType = Object.fromEntries(slicesOf(c, svc).map((s) => [s.addressType, s.endpoints.length]));
  t.deepEqual(byType, { IPv4: 1, IPv6: 0 });
});

test('a Service without pods keeps one empty placeholder slice, reused when pods come', (t) => {
  const c = setup();
  const svc = service('web');
  t.deepEqual(sync(c, svc), { created: 1, updated: 0, deleted: 0 });
  const [placeholder] = slicesOf(c, svc);
  t.deepEqual(placeholder!.endpoints, []);
  t.deepEqual(placeholder!.ports, []);
  t.deepEqual(sync(c, svc), { created: 0, updated: 0, deleted: 0 });
  addPod(c, pod('web-1', { labels: { app: 'web' }, nodeName: 'w1' }));
  t.deepEqual(sync(c, svc), { created: 0, updated: 1, deleted: 0 });
  t.deepEqual(
    slicesOf(c, svc).map((s) => s.metadata.name),
    [placeholder!.metadata.name],
  );
});

test('reconciling again without changes writes nothing', (t) => {
  const c = setup({ dualStack: true });
  for (let i = 0; i < 130; i++) addPod(c, pod(`web-${i}`, { labels: { app: 'web' }, nodeName: i % 2 ? 'w1' : 'w2' }));
  const svc = service('web', { ipFamilies: ['IPv4', 'IPv6'] });
  sync(c, svc);
  const rv = c.store.resourceVersion;
  t.deepEqual(sync(c, svc), { created: 0, updated: 0, deleted: 0 });
  t.is(c.store.resourceVersion, rv);
});

test('a pod turning not-ready updates its endpoint in place', (t) => {
  const c = setup();
  const p = addPod(c, pod('web-1', { labels: { app: 'web' }, nodeName: 'w1' }));
  const svc = service('web');
  sync(c, svc);
  const name = slicesOf(c, svc)[0]!.metadata.name;
  addPod(c, p, NOT_READY);
  t.deepEqual(sync(c, svc), { created: 0, updated: 1, deleted: 0 });
  const slice = slicesOf(c, svc)[0]!;
  t.is(slice.metadata.name, name);
  t.false(slice.endpoints[0]!.conditions.ready);
});

test('Service label changes are copied to its slices', (t) => {
  const c = setup();
  addPod(c, pod('web-1', { labels: { app: 'web' }, nodeName: 'w1' }));
  sync(c, service('web'));
  c.run((ctx) =>
    reconcileService(
      ctx,
      ctx.put(service('web', { labels: { tier: 'front' } })),
      c.pods.select('default', { app: 'web' }),
    ),
  );
  t.is(slicesOf(c, service('web'))[0]!.metadata.labels?.tier, 'front');
});

test('a pod on a node that does not exist is left out unless not-ready addresses are published', (t) => {
  const c = setup();
  c.run((ctx) =>
    ctx.put({
      ...pod('ghost', { labels: { app: 'web' }, nodeName: 'gone' }),
      status: { phase: 'Running', podIPs: [{ ip: '10.244.7.7' }], conditions: READY },
    }),
  );
  const run = (svc: Service) => c.run((ctx) => reconcileService(ctx, ctx.put(svc), ctx.store.list('Pod')));
  run(service('web'));
  t.deepEqual(slicesOf(c, service('web'))[0]!.endpoints, []);
  run(service('web', { publishNotReadyAddresses: true }));
  t.deepEqual(
    slicesOf(c, service('web'))[0]!.endpoints.map((e) => e.addresses),
    [['10.244.7.7']],
  );
});

test('slices the controller does not manage are never touched', (t) => {
  const c = setup();
  const userSlice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'web-manual',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'me' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['192.0.2.1'], conditions: { ready: true } }],
  };
  const external: EndpointSlice = {
    ...userSlice,
    metadata: { ...userSlice.metadata, name: 'external-1', labels: { 'kubernetes.io/service-name': 'external' } },
  };
  c.run((ctx) => {
    ctx.put(userSlice);
    ctx.put(external);
  });
  const rv = c.store.resourceVersion;
  addPod(c, pod('web-1', { labels: { app: 'web' }, nodeName: 'w1' }));
  sync(c, service('web'));
  const selectorless = service('external', { selector: undefined });
  const externalName = service('ext', { type: 'ExternalName', externalName: 'example.com' });
  t.deepEqual(sync(c, selectorless), { created: 0, updated: 0, deleted: 0 });
  t.deepEqual(sync(c, externalName), { created: 0, updated: 0, deleted: 0 });
  t.is(c.store.get('EndpointSlice', 'web-manual')!.metadata.resourceVersion, userSlice.metadata.resourceVersion);
  t.is(c.store.get('EndpointSlice', 'external-1')!.metadata.resourceVersion, external.metadata.resourceVersion);
  t.true(Number(userSlice.metadata.resourceVersion) <= rv);
  t.is(slicesOf(c, service('web')).length, 1);
});

test('a Service losing a family drops that family’s slices', (t) => {
  const c = setup({ dualStack: true });
  addPod(c, pod('web-1', { labels: { app: 'web' }, nodeName: 'w1' }));
  sync(c, service('web', { ipFamilies: ['IPv4', 'IPv6'] }));
  c.run((ctx) =>
    reconcileService(ctx, ctx.put(service('web', { ipFamilies: ['IPv4'] })), c.pods.select('default', { app: 'web' })),
  );
  t.deepEqual(
    slicesOf(c, service('web')).map((s) => s.addressType),
    ['IPv4'],
  );
});
