/** The zone index follows the store incrementally; generation and serial move only on DNS-visible changes. */
import test from 'ava';
import { DNS_DEFAULTS, type DnsOptions } from '../../../src/dns/config.js';
import { resolve } from '../../../src/dns/resolve/resolve.js';
import { ZoneIndex } from '../../../src/dns/zone/zone-index.js';
import type { Store } from '../../../src/model/store.js';
import type { AnyObject, EndpointSlice, Pod, Service } from '../../../src/model/types.js';
import {
  clusterIPService,
  endpoint,
  fixtureObjects,
  headlessService,
  namespace,
  pod,
  port,
  slice,
  storeWith,
} from '../resolve/helpers.js';

/** A store and an index on it whose clock the test moves. */
function setup(options: Partial<DnsOptions> = {}, objects: AnyObject[] = fixtureObjects()) {
  const store = storeWith(objects);
  const clock = { ms: 1_000_000_000_000 };
  const zone = new ZoneIndex(store, {
    clusterDomain: 'Cluster.Local.',
    options: { ...DNS_DEFAULTS, ...options },
    now: () => clock.ms,
  });
  return { store, zone, clock };
}

function put(store: Store, ...objects: AnyObject[]): void {
  store.transaction(() => {
    for (const object of objects) store.put(structuredClone(object));
  });
}

function rcode(zone: ZoneIndex, name: string, type = 'A'): string {
  return resolve({ name, type }, zone).rcode;
}

function addresses(zone: ZoneIndex, name: string, type = 'A'): string[] {
  return resolve({ name, type }, zone)
    .answer.flatMap((rr) => ('address' in rr ? [rr.address] : []))
    .sort();
}

test('the cluster domain is normalized; the initial state counts as one change', (t) => {
  const { zone } = setup();
  t.is(zone.clusterDomain, 'cluster.local');
  t.is(zone.generation, 1);
  t.is(zone.serial, 1_000_000_000);
  t.true(zone.hasSynced);
  t.is(zone.stats().services, 19);
});

test('a new Service resolves on the very next query; a deleted one is NXDOMAIN (dns.md user-asks #4)', (t) => {
  const { store, zone } = setup();
  t.is(rcode(zone, 'fresh.testns.svc.cluster.local.'), 'NXDOMAIN');
  put(store, clusterIPService('testns', 'fresh', ['10.96.9.9'], [port('http', 'TCP', 80)]));
  t.deepEqual(addresses(zone, 'fresh.testns.svc.cluster.local.'), ['10.96.9.9']);
  t.is(resolve({ name: '9.9.96.10.in-addr.arpa.', type: 'PTR' }, zone).answer[0]?.type, 'PTR');
  store.transaction(() => store.remove('Service', 'fresh', 'testns'));
  t.is(rcode(zone, 'fresh.testns.svc.cluster.local.'), 'NXDOMAIN');
  t.is(rcode(zone, '9.9.96.10.in-addr.arpa.', 'PTR'), 'NXDOMAIN');
});

test('an endpoint turning unready leaves the headless answer on the next resolve (dns.md 3.2, 4.3)', (t) => {
  const { store, zone } = setup();
  t.deepEqual(addresses(zone, 'db.data.svc.cluster.local.'), ['10.244.2.10', '10.244.2.11']);
  const db = store.get('EndpointSlice', 'db-x1', 'data') as EndpointSlice;
  const next = structuredClone(db);
  next.endpoints[1]!.conditions = { ready: false };
  next.endpoints[2]!.conditions = { ready: true };
  put(store, next);
  t.deepEqual(addresses(zone, 'db.data.svc.cluster.local.'), ['10.244.2.10', '10.244.2.12']);
  t.is(rcode(zone, 'db-1.db.data.svc.cluster.local.'), 'NXDOMAIN');
  t.is(rcode(zone, 'db-2.db.data.svc.cluster.local.'), 'NOERROR');
  // The last ready endpoint going away makes the headless name NXDOMAIN (dns.md 3.4).
  next.endpoints.forEach((e) => {
    e.conditions = { ready: false };
  });
  put(store, next);
  t.is(rcode(zone, 'db.data.svc.cluster.local.'), 'NXDOMAIN');
});

test('generation and serial move only on DNS-visible changes', (t) => {
  const { store, zone, clock } = setup();
  // expected: true (answers and serial move), 'answers' (only answers: the serial stays), false (neither).
  const visible = (what: string, change: () => void, expected: boolean | 'answers') => {
    const before = { generation: zone.generation, serial: zone.serial };
    clock.ms += 5_000;
    change();
    if (expected === 'answers') {
      t.true(zone.generation > before.generation, `${what}: generation`);
      t.is(zone.serial, before.serial, `${what}: serial unchanged`);
    } else if (expected) {
      t.true(zone.generation > before.generation, `${what}: generation`);
      t.is(zone.serial, Math.floor(clock.ms / 1000), `${what}: serial is the time of the change`);
    } else {
      t.deepEqual({ generation: zone.generation, serial: zone.serial }, before, `${what}: unchanged`);
    }
  };
  const svc1 = store.get('Service', 'svc1', 'testns') as Service;
  visible(
    'session affinity',
    () => put(store, { ...structuredClone(svc1), spec: { ...svc1.spec, sessionAffinity: 'ClientIP' } }),
    false,
  );
  visible(
    'selector of an ordinary service',
    () => put(store, { ...structuredClone(svc1), spec: { ...svc1.spec, selector: { app: 'x' } } }),
    false,
  );
  visible(
    'a new port',
    () =>
      put(store, {
        ...structuredClone(svc1),
        spec: { ...svc1.spec, ports: [port('http', 'TCP', 80), port('grpc', 'TCP', 9090)] },
      }),
    true,
  );
  const hdls = structuredClone(store.get('EndpointSlice', 'hdls1-v4', 'testns') as EndpointSlice);
  hdls.endpoints[0]!.nodeName = 'worker-1';
  visible('an endpoint nodeName', () => put(store, hdls), false);
  hdls.endpoints[4]!.conditions = { ready: false, serving: true };
  visible('serving on a not-ready endpoint', () => put(store, hdls), false);
  hdls.endpoints[4]!.conditions = { ready: true };
  visible('an endpoint becoming ready', () => put(store, hdls), true);
  visible('a pod (pods insecure does not watch pods)', () => put(store, pod('podns', 'new', '10.240.0.44')), false);
  visible(
    'a namespace label',
    () => put(store, { ...namespace('testns'), metadata: { name: 'testns', labels: { a: 'b' } } }),
    false,
  );
  // CoreDNS's namespace informer has no event handlers: names in the namespace now resolve, the SOA serial stays.
  visible('a new namespace', () => put(store, namespace('fresh')), 'answers');
});

test('setSynced bumps the generation only when it flips; the serial is about data only', (t) => {
  const { zone, clock } = setup();
  const g = zone.generation;
  const serial = zone.serial;
  clock.ms += 60_000;
  zone.setSynced(true);
  t.is(zone.generation, g);
  zone.setSynced(false);
  t.is(zone.generation, g + 1);
  t.is(zone.serial, serial);
  t.false(zone.hasSynced);
});

test('pods verified follows pod IPs, deletion and phase (dns.md 5.1)', (t) => {
  const { store, zone } = setup({ pods: 'verified' });
  const name = '10-240-0-44.podns.pod.cluster.local.';
  t.is(rcode(zone, name), 'NXDOMAIN');
  put(store, pod('podns', 'new', '10.240.0.44'));
  t.is(rcode(zone, name), 'NOERROR');
  const g = zone.generation;
  put(store, {
    ...pod('podns', 'new', '10.240.0.44'),
    metadata: { name: 'new', namespace: 'podns', labels: { a: 'b' } },
  } as Pod);
  t.is(zone.generation, g, 'a label change on a pod is invisible');
  put(store, pod('podns', 'new', '10.240.0.44', { phase: 'Failed' }));
  t.is(rcode(zone, name), 'NXDOMAIN');
  put(store, pod('podns', 'new', '10.240.0.45'));
  t.is(rcode(zone, '10-240-0-45.podns.pod.cluster.local.'), 'NOERROR');
  store.transaction(() => store.remove('Pod', 'new', 'podns'));
  t.is(rcode(zone, '10-240-0-45.podns.pod.cluster.local.'), 'NXDOMAIN');
  t.is(zone.stats().pods, 2, 'foo and p6 remain');
});

test('a namespace deleted makes its names NXDOMAIN; a slice moving Services moves its names', (t) => {
  const { store, zone } = setup();
  store.transaction(() => store.remove('Namespace', 'data'));
  t.is(rcode(zone, 'db.data.svc.cluster.local.'), 'NXDOMAIN');
  put(store, namespace('data'));
  t.is(rcode(zone, 'db.data.svc.cluster.local.'), 'NOERROR');
  const moved = slice('testns', 'hdls-noslice', 'hdls1-v6', [endpoint('fd00:10:244:1::1')]);
  put(store, moved);
  t.deepEqual(addresses(zone, 'hdls1.testns.svc.cluster.local.', 'AAAA'), []);
  t.deepEqual(addresses(zone, 'hdls-noslice.testns.svc.cluster.local.', 'AAAA'), ['fd00:10:244:1::1']);
});

test('a kube-dns Service appearing changes the NS answer (dns.md 1.7)', (t) => {
  const { store, zone } = setup({}, [namespace('kube-system')]);
  const before = resolve({ name: 'cluster.local.', type: 'NS' }, zone);
  t.deepEqual(
    before.answer.map((rr) => ('target' in rr ? rr.target : '')),
    ['ns.dns.cluster.local.'],
  );
  const g = zone.generation;
  put(store, headlessService('kube-system', 'kube-dns', [port('dns', 'UDP', 53)]));
  t.is(zone.generation, g + 1);
  const svc = clusterIPService('kube-system', 'kube-dns', ['10.96.0.10'], [port('dns', 'UDP', 53)], {
    'k8s-app': 'kube-dns',
  });
  put(store, svc);
  const ns = resolve({ name: 'cluster.local.', type: 'NS' }, zone);
  t.deepEqual(
    ns.additional.map((rr) => ('address' in rr ? rr.address : '')),
    ['10.96.0.10'],
  );
});

test('dispose stops following the store', (t) => {
  const { store, zone } = setup();
  zone.dispose();
  put(store, clusterIPService('testns', 'late', ['10.96.9.8'], []));
  t.is(rcode(zone, 'late.testns.svc.cluster.local.'), 'NXDOMAIN');
});

test('noEndpoints does not index slices; pods are indexed only for pods verified', (t) => {
  t.is(setup({ noEndpoints: true }).zone.stats().slices, 0);
  t.is(setup().zone.stats().pods, 0);
  t.is(setup({ pods: 'verified' }).zone.stats().pods, 2);
});
