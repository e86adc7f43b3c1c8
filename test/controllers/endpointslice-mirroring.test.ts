/**
 * The EndpointSliceMirroring controller through the cluster's batches, as upstream's reconciler_test.go and
 * endpointslicemirroring_controller_test.go state it: which Endpoints are mirrored, the slices they become, and how
 * later changes to either object move the slices.
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/cluster.js';
import { dnsOptionsOf } from '../../src/cluster/config-sections.js';
import { formatRr } from '../../src/dns/resolve/format.js';
import { resolve } from '../../src/dns/resolve/resolve.js';
import { ZoneIndex } from '../../src/dns/zone/zone-index.js';
import { BatchRejectedError } from '../../src/errors.js';
import type { EndpointSlice, EndpointSubset, Endpoints, Service } from '../../src/model/types.js';
import { MIRRORING_CONTROLLER_NAME } from '../../src/model/types.js';

const NODE = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name: 'n1' },
  status: { addresses: [{ type: 'InternalIP', address: '192.168.0.2' }] },
};

function service(name: string, spec: Partial<Service['spec']> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { ports: [{ name: 'pg', protocol: 'TCP', port: 5432, targetPort: 5432 }], ...spec },
  } as Service;
}

function endpoints(name: string, subsets: EndpointSubset[], meta: Partial<Endpoints['metadata']> = {}): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'default', ...meta }, subsets };
}

const PG = [{ name: 'pg', port: 5432 }] as EndpointSubset['ports'];

function mirrored(cluster: Cluster, name: string): EndpointSlice[] {
  return cluster
    .list('EndpointSlice', 'default')
    .filter(
      (s) =>
        s.metadata.labels?.['kubernetes.io/service-name'] === name &&
        s.metadata.labels['endpointslice.kubernetes.io/managed-by'] === MIRRORING_CONTROLLER_NAME,
    )
    .sort(
      (a, b) => a.addressType.localeCompare(b.addressType) || (a.ports?.[0]?.port ?? 0) - (b.ports?.[0]?.port ?? 0),
    );
}

test('a selector-less Service’s Endpoints become a slice: labels, owner, annotations, conditions, ports', (t) => {
  const cluster = Cluster.create([
    NODE,
    service('db'),
    endpoints(
      'db',
      [
        {
          addresses: [
            { ip: '192.0.2.11', hostname: 'db-1', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'db-1', uid: 'u1' } },
            { ip: '192.0.2.10' },
          ],
          notReadyAddresses: [{ ip: '192.0.2.12' }],
          ports: PG,
        },
      ],
      {
        labels: { team: 'a', 'kubernetes.io/service-name': 'other' },
        annotations: {
          note: 'kept',
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
          'endpoints.kubernetes.io/last-change-trigger-time': '2026-01-01T00:00:00Z',
        },
      },
    ),
  ]);
  const [slice, ...rest] = mirrored(cluster, 'db');
  t.is(rest.length, 0);
  t.regex(slice!.metadata.name, /^db-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  t.is(slice!.metadata.generateName, 'db-');
  t.deepEqual(slice!.metadata.labels, {
    team: 'a',
    'kubernetes.io/service-name': 'db',
    'endpointslice.kubernetes.io/managed-by': MIRRORING_CONTROLLER_NAME,
  });
  t.deepEqual(slice!.metadata.annotations, { note: 'kept' });
  t.deepEqual(slice!.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Endpoints', name: 'db', controller: true }]);
  t.is(slice!.addressType, 'IPv4');
  t.deepEqual(slice!.ports, [{ name: 'pg', protocol: 'TCP', port: 5432 }]);
  t.deepEqual(slice!.endpoints, [
    { addresses: ['192.0.2.10'], conditions: { ready: true } },
    {
      addresses: ['192.0.2.11'],
      conditions: { ready: true },
      hostname: 'db-1',
      nodeName: 'n1',
      targetRef: { kind: 'Pod', name: 'db-1', uid: 'u1' },
    },
    { addresses: ['192.0.2.12'], conditions: { ready: false } },
  ]);
});

const whetherMirrored: {
  title: string;
  svc?: Service;
  meta?: Partial<Endpoints['metadata']>;
  slices: number;
  warning?: RegExp;
}[] = [
  { title: 'a Service without a selector', svc: service('db'), slices: 1 },
  {
    title: 'an ExternalName Service (no type is filtered)',
    svc: service('db', { type: 'ExternalName', externalName: 'db.example.com', ports: [] }),
    slices: 1,
  },
  { title: 'no Service of that name', slices: 0 },
  {
    title: 'a Service with a selector',
    svc: service('db', { selector: { app: 'db' } }),
    slices: 0,
    warning: /has a selector.*not mirrored/,
  },
  {
    title: 'skip-mirror "true"',
    svc: service('db'),
    meta: { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    slices: 0,
  },
  {
    title: 'skip-mirror other than "true"',
    svc: service('db'),
    meta: { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'yes' } },
    slices: 1,
  },
  {
    title: 'the leader-election annotation',
    svc: service('db'),
    meta: { annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' } },
    slices: 0,
  },
];

for (const c of whetherMirrored) {
  test(`mirrored or not: ${c.title}`, (t) => {
    const objects: unknown[] = [NODE, endpoints('db', [{ addresses: [{ ip: '192.0.2.10' }], ports: PG }], c.meta)];
    if (c.svc) objects.push(c.svc);
    const cluster = Cluster.create(objects);
    t.is(mirrored(cluster, 'db').length, c.slices);
    if (c.warning)
      t.true(
        cluster.warnings.some((w) => c.warning!.test(w)),
        cluster.warnings.join('\n'),
      );
    else t.false(cluster.warnings.some((w) => w.startsWith('Endpoints')));
    t.is(cluster.warnings.filter((w) => w.startsWith('v1 Endpoints is deprecated')).length, 1);
  });
}

test('default/kubernetes belongs to the API server: not mirrored, with a warning', (t) => {
  const cluster = Cluster.create([
    NODE,
    { ...endpoints('kubernetes', [{ addresses: [{ ip: '192.0.2.10' }], ports: PG }]) },
  ]);
  t.is(mirrored(cluster, 'kubernetes').length, 0);
  t.true(cluster.warnings.some((w) => /Endpoints default\/kubernetes: the API server keeps these itself/.test(w)));
});

test('a mirrored slice changed or deleted by hand is mirrored again', (t) => {
  const cluster = Cluster.create([
    NODE,
    service('db'),
    endpoints('db', [{ addresses: [{ ip: '192.0.2.10' }], ports: PG }]),
  ]);
  const [slice] = mirrored(cluster, 'db');
  cluster.apply([
    { ...slice!, endpoints: [...slice!.endpoints, { addresses: ['192.0.2.99'], conditions: { ready: true } }] },
  ]);
  t.deepEqual(
    mirrored(cluster, 'db').flatMap((s) => s.endpoints.map((e) => e.addresses[0])),
    ['192.0.2.10'],
  );
  cluster.delete([{ kind: 'EndpointSlice', name: slice!.metadata.name, namespace: 'default' }]);
  const again = mirrored(cluster, 'db');
  t.is(again.length, 1);
  t.not(again[0]!.metadata.name, slice!.metadata.name);
});

test('the API server stores Endpoints repacked; a slice it would refuse (two unnamed ports) is not written', (t) => {
  const cluster = Cluster.create([
    NODE,
    service('db'),
    endpoints('db', [
      { addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 80 }] },
      { addresses: [{ ip: '192.0.2.10' }], ports: [{ port: 443 }] },
    ]),
  ]);
  t.deepEqual(cluster.get('Endpoints', 'db', 'default')!.subsets, [
    {
      addresses: [{ ip: '192.0.2.10' }],
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 443, protocol: 'TCP' },
      ],
    },
  ]);
  t.is(mirrored(cluster, 'db').length, 0);
  t.true(
    cluster.warnings.some((w) => /ports name "" twice \(FailedToUpdateEndpointSlices\)/.test(w)),
    cluster.warnings.join('\n'),
  );
});

const shapes: { title: string; subsets: EndpointSubset[]; slices: [string, string[], string[]][] }[] = [
  {
    title: 'dual-stack addresses: one slice per family, IPv6 written canonically',
    subsets: [{ addresses: [{ ip: '192.0.2.10' }, { ip: 'fd00:0:0::a' }], ports: PG }],
    slices: [
      ['IPv4', ['5432'], ['192.0.2.10 ready']],
      ['IPv6', ['5432'], ['fd00::a ready']],
    ],
  },
  {
    title: 'two subsets with different ports: two slices',
    subsets: [
      { addresses: [{ ip: '192.0.2.10' }], ports: PG },
      { addresses: [{ ip: '192.0.2.20' }], ports: [{ name: 'http', port: 80 }] },
    ],
    slices: [
      ['IPv4', ['80'], ['192.0.2.20 ready']],
      ['IPv4', ['5432'], ['192.0.2.10 ready']],
    ],
  },
  {
    title: 'the same address ready and not ready: not ready wins (RepackSubsets)',
    subsets: [{ addresses: [{ ip: '192.0.2.10' }], notReadyAddresses: [{ ip: '192.0.2.10' }], ports: PG }],
    slices: [['IPv4', ['5432'], ['192.0.2.10 not-ready']]],
  },
  {
    title: 'subsets that share their addresses are repacked into one slice with both ports',
    subsets: [
      { addresses: [{ ip: '192.0.2.10' }, { ip: '192.0.2.11' }], ports: PG },
      { addresses: [{ ip: '192.0.2.11' }, { ip: '192.0.2.10' }], ports: [{ name: 'http', port: 80 }] },
    ],
    slices: [['IPv4', ['5432', '80'], ['192.0.2.10 ready', '192.0.2.11 ready']]],
  },
  {
    title: 'a subset without ports: a slice with no ports',
    subsets: [{ addresses: [{ ip: '192.0.2.10' }] }],
    slices: [['IPv4', [], ['192.0.2.10 ready']]],
  },
  { title: 'no subsets: no slice', subsets: [], slices: [] },
];

for (const c of shapes) {
  test(`subsets to slices: ${c.title}`, (t) => {
    const cluster = Cluster.create([NODE, service('db'), endpoints('db', c.subsets)]);
    t.deepEqual(
      mirrored(cluster, 'db').map((s) => [
        s.addressType,
        (s.ports ?? []).map((p) => String(p.port)).sort(),
        s.endpoints.map((e) => `${e.addresses[0]} ${e.conditions.ready ? 'ready' : 'not-ready'}`),
      ]),
      c.slices.map(([type, ports, eps]) => [type, [...ports].sort(), eps]),
    );
  });
}

test('at most 1000 addresses of a subset are mirrored, ready ones first, with a warning', (t) => {
  const ip = (i: number) => `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const addresses = Array.from({ length: 999 }, (_, i) => ({ ip: ip(i) }));
  const notReadyAddresses = Array.from({ length: 3 }, (_, i) => ({ ip: ip(5000 + i) }));
  const cluster = Cluster.create([NODE, service('db'), endpoints('db', [{ addresses, notReadyAddresses, ports: PG }])]);
  const [slice] = mirrored(cluster, 'db');
  t.is(slice!.endpoints.length, 1000);
  t.is(slice!.endpoints.filter((e) => e.conditions.ready === false).length, 1);
  t.true(
    cluster.warnings.some((w) => /2 addresses were skipped \(TooManyAddressesToMirror\)/.test(w)),
    cluster.warnings.join('\n'),
  );
});

test('later batches: an update keeps the slice’s name, a re-apply writes nothing, deletes remove the slices', (t) => {
  const cluster = Cluster.create([
    NODE,
    service('db'),
    endpoints('db', [{ addresses: [{ ip: '192.0.2.10' }], ports: PG }]),
  ]);
  const [first] = mirrored(cluster, 'db');
  cluster.apply([endpoints('db', [{ addresses: [{ ip: '192.0.2.10' }], ports: PG }])]);
  t.is(mirrored(cluster, 'db')[0], first, 'an unchanged Endpoints rewrites nothing');
  cluster.apply([endpoints('db', [{ addresses: [{ ip: '192.0.2.10' }, { ip: '192.0.2.11' }], ports: PG }])]);
  const [updated, ...more] = mirrored(cluster, 'db');
  t.is(more.length, 0);
  t.is(updated!.metadata.name, first!.metadata.name);
  t.deepEqual(
    updated!.endpoints.map((e) => e.addresses[0]),
    ['192.0.2.10', '192.0.2.11'],
  );
  // New ports: the old slice is reused under its name for the new port mapping (recycleSlices).
  cluster.apply([endpoints('db', [{ addresses: [{ ip: '192.0.2.10' }], ports: [{ name: 'pg', port: 5433 }] }])]);
  const [recycled, ...extra] = mirrored(cluster, 'db');
  t.is(extra.length, 0);
  t.is(recycled!.metadata.name, first!.metadata.name);
  t.is(recycled!.ports?.[0]?.port, 5433);
  // The Service gains a selector: the slices are no longer mirrored.
  cluster.apply([service('db', { selector: { app: 'db' } })]);
  t.is(mirrored(cluster, 'db').length, 0);
  cluster.apply([service('db')]);
  t.is(mirrored(cluster, 'db').length, 1);
  cluster.delete([{ kind: 'Service', name: 'db', namespace: 'default' }]);
  t.is(mirrored(cluster, 'db').length, 0);
  cluster.apply([service('db')]);
  t.is(mirrored(cluster, 'db').length, 1);
  cluster.delete([{ kind: 'Endpoints', name: 'db', namespace: 'default' }]);
  t.is(mirrored(cluster, 'db').length, 0);
  t.is(cluster.get('Endpoints', 'db', 'default'), undefined);
});

test('kube-proxy and cluster DNS use the mirrored endpoints', (t) => {
  const cluster = Cluster.create([
    NODE,
    service('db'),
    service('hl', { clusterIP: 'None', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 80 }] }),
    endpoints('db', [{ addresses: [{ ip: '192.0.2.10' }], ports: PG }]),
    endpoints('hl', [{ addresses: [{ ip: '192.0.2.20', hostname: 'a' }], ports: [{ name: 'http', port: 8080 }] }]),
  ]);
  const clusterIP = cluster.get('Service', 'db', 'default')!.spec.clusterIP!;
  const proxy = cluster.proxy({ node: 'n1', seed: 1 });
  const v = proxy.send({ proto: 'TCP', src: { ip: '192.0.2.99', port: 40000 }, dst: { ip: clusterIP, port: 5432 } });
  t.is(v.verdict, 'DNAT');
  t.is(v.endpoint, '192.0.2.10:5432');
  const zone = new ZoneIndex(cluster.store, {
    clusterDomain: cluster.config.clusterDomain,
    options: dnsOptionsOf(cluster.config),
  });
  const a = resolve({ name: 'a.hl.default.svc.cluster.local.', type: 'A' }, zone);
  t.deepEqual(a.answer.map(formatRr), ['a.hl.default.svc.cluster.local. 30 IN A 192.0.2.20']);
  const srv = resolve({ name: '_http._tcp.hl.default.svc.cluster.local.', type: 'SRV' }, zone);
  t.deepEqual(srv.answer.map(formatRr), [
    '_http._tcp.hl.default.svc.cluster.local. 30 IN SRV 0 100 8080 a.hl.default.svc.cluster.local.',
  ]);
  zone.dispose();
});

const invalid: { title: string; subsets: EndpointSubset[]; field: string; detail: RegExp }[] = [
  {
    title: 'a subset without addresses',
    subsets: [{ ports: PG }],
    field: 'subsets[0]',
    detail: /must specify `addresses` or `notReadyAddresses`/,
  },
  {
    title: 'an address that is not an IP',
    subsets: [{ addresses: [{ ip: 'db.example.com' }] }],
    field: 'subsets[0].addresses[0].ip',
    detail: /valid IP/,
  },
  {
    title: 'an empty node name',
    subsets: [{ addresses: [{ ip: '192.0.2.1', nodeName: '' }] }],
    field: 'subsets[0].addresses[0].nodeName',
    detail: /.+/,
  },
  {
    title: 'a loopback address',
    subsets: [{ notReadyAddresses: [{ ip: '127.0.0.1' }] }],
    field: 'subsets[0].notReadyAddresses[0].ip',
    detail: /loopback/,
  },
  {
    title: 'a link-local address',
    subsets: [{ addresses: [{ ip: '169.254.1.1' }] }],
    field: 'subsets[0].addresses[0].ip',
    detail: /link-local/,
  },
  {
    title: 'two ports, one without a name',
    subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ name: 'a', port: 1 }, { port: 2 }] }],
    field: 'subsets[0].ports[1].name',
    detail: /Required/,
  },
  {
    title: 'port 0',
    subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 0 }] }],
    field: 'subsets[0].ports[0].port',
    detail: /between 1 and 65535/,
  },
  {
    title: 'an unknown protocol',
    subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 1, protocol: 'ICMP' as 'TCP' }] }],
    field: 'subsets[0].ports[0].protocol',
    detail: /Unsupported value/,
  },
  {
    title: 'a hostname that is not a DNS label',
    subsets: [{ addresses: [{ ip: '192.0.2.1', hostname: 'a.b' }] }],
    field: 'subsets[0].addresses[0].hostname',
    detail: /must not contain dots/,
  },
];

for (const c of invalid) {
  test(`a refused Endpoints names its field: ${c.title}`, (t) => {
    const cluster = Cluster.create([NODE, service('db')]);
    const err = t.throws(() => cluster.apply([endpoints('db', c.subsets)]), { instanceOf: BatchRejectedError });
    const issue = err!.issues.find((i) => i.field === c.field);
    t.truthy(issue, err!.issues.map((i) => `${i.field}: ${i.detail}`).join('\n'));
    t.regex(issue!.detail, c.detail);
    t.is(cluster.get('Endpoints', 'db', 'default'), undefined, 'the rejected batch changed nothing');
  });
}

test('an IP that does not parse gets both of the API server’s errors (IsValidIP, ValidateNonSpecialIP)', (t) => {
  const cluster = Cluster.create([NODE, service('db')]);
  const err = t.throws(() => cluster.apply([endpoints('db', [{ addresses: [{ ip: '10.0.0.300' }] }])]), {
    instanceOf: BatchRejectedError,
  });
  t.deepEqual(
    err!.issues.filter((i) => i.field === 'subsets[0].addresses[0].ip').map((i) => i.detail.replace(/, got.*/, '')),
    [err!.issues[0]!.detail.replace(/, got.*/, ''), 'must be a valid IP address'],
  );
});

test('one unnamed port is allowed, and a port without a protocol (or an empty one) is TCP', (t) => {
  const cluster = Cluster.create([
    NODE,
    service('db'),
    endpoints('db', [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 5432, protocol: '' as 'TCP' }] }]),
  ]);
  t.is(cluster.get('Endpoints', 'db', 'default')!.subsets![0]!.ports![0]!.protocol, 'TCP');
  t.deepEqual(mirrored(cluster, 'db')[0]!.ports, [{ name: '', protocol: 'TCP', port: 5432 }]);
});
