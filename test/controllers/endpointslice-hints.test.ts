import test from 'ava';
import { hintsOverloaded, reconcileHints, zoneCPURatios } from '../../src/controllers/endpointslice-hints.js';
import type { Endpoint, EndpointSlice, Service } from '../../src/model/types.js';
import { node, service } from './helpers.js';

interface D {
  endpoints: Endpoint[];
}

function ep(
  ip: string,
  zone?: string,
  o: { ready?: boolean; node?: string; hints?: string[]; nodeHints?: string[] } = {},
): Endpoint {
  const out: Endpoint = {
    addresses: [ip],
    conditions: { ready: o.ready ?? true, serving: o.ready ?? true, terminating: false },
  };
  if (zone !== undefined) out.zone = zone;
  if (o.node !== undefined) out.nodeName = o.node;
  if (o.hints || o.nodeHints) {
    out.hints = {};
    if (o.hints) out.hints.forZones = o.hints.map((name) => ({ name }));
    if (o.nodeHints) out.hints.forNodes = o.nodeHints.map((name) => ({ name }));
  }
  return out;
}

const zonesOf = (d: D): (string | undefined)[] =>
  d.endpoints.map((e) => e.hints?.forZones?.map((z) => z.name).join(','));
const withTD = (td?: string, annotations?: Record<string, string>): Service => {
  const svc = service('web', td ? { trafficDistribution: td } : {});
  return annotations ? { ...svc, metadata: { ...svc.metadata, annotations } } : svc;
};
const threeZones = [node('a1', { zone: 'a' }), node('b1', { zone: 'b' }), node('c1', { zone: 'c' })];

// trafficdist's preferCloseHeuristic and defaultHeuristic (k8s.io/endpointslice trafficdist_test.go's cases).
const closeCases: {
  title: string;
  td?: string;
  create: Endpoint[];
  want: (string | undefined)[];
  nodes?: (string | undefined)[];
}[] = [
  {
    title: 'PreferClose hints each ready endpoint for its zone',
    td: 'PreferClose',
    create: [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b')],
    want: ['a', 'b'],
  },
  { title: 'PreferSameZone is PreferClose', td: 'PreferSameZone', create: [ep('10.0.0.1', 'a')], want: ['a'] },
  {
    title: 'an endpoint without a zone gets no zone hint',
    td: 'PreferClose',
    create: [ep('10.0.0.1'), ep('10.0.0.2', 'b')],
    want: [undefined, 'b'],
  },
  {
    title: 'not-ready endpoints are left as they are',
    td: 'PreferClose',
    create: [ep('10.0.0.1', 'a', { ready: false, hints: ['z'] }), ep('10.0.0.2', 'b')],
    want: ['z', 'b'],
  },
  {
    title: 'PreferSameNode adds the node hint',
    td: 'PreferSameNode',
    create: [ep('10.0.0.1', 'a', { node: 'a1' })],
    want: ['a'],
    nodes: ['a1'],
  },
  {
    title: 'no trafficDistribution: hints removed',
    create: [ep('10.0.0.1', 'a', { hints: ['a'] })],
    want: [undefined],
  },
  {
    title: 'an unknown value is no hints',
    td: 'Anywhere',
    create: [ep('10.0.0.1', 'a', { hints: ['a'] })],
    want: [undefined],
  },
];

for (const c of closeCases) {
  test(`trafficDistribution: ${c.title}`, (t) => {
    const drafts = { create: [{ endpoints: c.create }], update: [] as D[], unchanged: [] as D[] };
    reconcileHints(withTD(c.td), threeZones, drafts);
    t.deepEqual(zonesOf(drafts.create[0]!), c.want);
    if (c.nodes)
      t.deepEqual(
        drafts.create[0]!.endpoints.map((e) => e.hints?.forNodes?.[0]?.name),
        c.nodes,
      );
  });
}

test('trafficDistribution: an unchanged slice with right hints stays unchanged; a wrong one is updated', (t) => {
  const right: D = { endpoints: [ep('10.0.0.1', 'a', { hints: ['a'] })] };
  const wrong: D = { endpoints: [ep('10.0.0.2', 'b', { hints: ['a'] })] };
  const stored = wrong.endpoints[0]!;
  const drafts = { create: [] as D[], update: [] as D[], unchanged: [right, wrong] };
  reconcileHints(withTD('PreferClose'), threeZones, drafts);
  t.deepEqual(drafts.unchanged, [right]);
  t.deepEqual(drafts.update, [wrong]);
  t.deepEqual(zonesOf(wrong), ['b']);
  // The stored endpoint object is replaced, not modified.
  t.deepEqual(stored.hints, { forZones: [{ name: 'a' }] });
});

test('no hints wanted: an unchanged slice that still has hints is updated to drop them', (t) => {
  const stale: D = { endpoints: [ep('10.0.0.1', 'a', { hints: ['a'] })] };
  const clean: D = { endpoints: [ep('10.0.0.2', 'b')] };
  const drafts = { create: [] as D[], update: [] as D[], unchanged: [stale, clean] };
  reconcileHints(withTD(), threeZones, drafts);
  t.deepEqual(drafts.update, [stale]);
  t.deepEqual(drafts.unchanged, [clean]);
  t.is(stale.endpoints[0]!.hints, undefined);
});

// The topology annotation (TopologyCache.AddHints): cases after topologycache_test.go.
const autoCases: {
  title: string;
  nodes: ReturnType<typeof node>[];
  endpoints: Endpoint[];
  want: (string | undefined)[];
}[] = [
  {
    title: 'equal zones, one endpoint each: own zone',
    nodes: threeZones,
    endpoints: [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b'), ep('10.0.0.3', 'c')],
    want: ['a', 'b', 'c'],
  },
  {
    title: 'fewer endpoints than zones: no hints',
    nodes: threeZones,
    endpoints: [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b')],
    want: [undefined, undefined],
  },
  {
    title: 'one zone only: no hints',
    nodes: [node('a1', { zone: 'a' }), node('a2', { zone: 'a' })],
    endpoints: [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'a')],
    want: [undefined, undefined],
  },
  {
    title: 'a node without a zone: no hints',
    nodes: [node('a1', { zone: 'a' }), node('b1', { zone: 'b' }), node('x')],
    endpoints: [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b')],
    want: [undefined, undefined],
  },
  {
    title: 'an endpoint without a zone: no hints',
    nodes: threeZones.slice(0, 2),
    endpoints: [ep('10.0.0.1', 'a'), ep('10.0.0.2')],
    want: [undefined, undefined],
  },
  {
    title: 'not-ready control-plane and not-ready nodes are left out of the CPU shares',
    nodes: [
      node('a1', { zone: 'a' }),
      node('b1', { zone: 'b' }),
      node('cp', { zone: 'c', labels: { 'node-role.kubernetes.io/control-plane': '' } }),
      node('c2', { zone: 'c', ready: 'False' }),
    ],
    endpoints: [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b')],
    want: ['a', 'b'],
  },
  {
    // Zone a has 3 of 4 CPUs' worth of share (12 of 16 cores) but one endpoint of four: it receives two from b.
    title: 'endpoints move from a zone over its CPU share to one under it',
    nodes: [node('a1', { zone: 'a', cpu: '12' }), node('b1', { zone: 'b', cpu: '4' })],
    endpoints: [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b'), ep('10.0.0.3', 'b'), ep('10.0.0.4', 'b')],
    want: ['a', 'a', 'a', 'b'],
  },
  {
    title: 'a share that would overload a zone by more than 20% turns hints off',
    nodes: [node('a1', { zone: 'a', cpu: '1' }), node('b1', { zone: 'b', cpu: '1' })],
    // Each zone's minimum is ceil(1.5 / 1.2) = 2: four endpoints needed, three exist.
    endpoints: [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b'), ep('10.0.0.3', 'b')],
    want: [undefined, undefined, undefined],
  },
];

for (const c of autoCases) {
  test(`topology-mode Auto: ${c.title}`, (t) => {
    const drafts = { create: [{ endpoints: c.endpoints }], update: [] as D[], unchanged: [] as D[] };
    reconcileHints(withTD(undefined, { 'service.kubernetes.io/topology-mode': 'Auto' }), c.nodes, drafts);
    t.deepEqual(zonesOf(drafts.create[0]!), c.want);
  });
}

test('the deprecated topology-aware-hints annotation wins over topology-mode, and Auto wins over trafficDistribution', (t) => {
  const endpoints = () => [ep('10.0.0.1', 'a'), ep('10.0.0.2', 'b'), ep('10.0.0.3', 'c')];
  const run = (svc: Service) => {
    const drafts = { create: [{ endpoints: endpoints() }], update: [] as D[], unchanged: [] as D[] };
    reconcileHints(svc, threeZones, drafts);
    return zonesOf(drafts.create[0]!);
  };
  const off = {
    'service.kubernetes.io/topology-aware-hints': 'Disabled',
    'service.kubernetes.io/topology-mode': 'Auto',
  };
  t.deepEqual(run(withTD(undefined, off)), [undefined, undefined, undefined]);
  t.deepEqual(run(withTD(undefined, { 'service.kubernetes.io/topology-aware-hints': 'auto' })), ['a', 'b', 'c']);
  // Auto with too few endpoints for the zones removes hints even though trafficDistribution would add them.
  const drafts = { create: [{ endpoints: [ep('10.0.0.1', 'a')] }], update: [] as D[], unchanged: [] as D[] };
  reconcileHints(withTD('PreferClose', { 'service.kubernetes.io/topology-mode': 'Auto' }), threeZones, drafts);
  t.deepEqual(zonesOf(drafts.create[0]!), [undefined]);
});

test('zone CPU shares and the overload check that requeues Services on node changes', (t) => {
  const ratios = zoneCPURatios([node('a1', { zone: 'a', cpu: '3' }), node('b1', { zone: 'b', cpu: '1' })]);
  t.deepEqual(
    [...ratios!],
    [
      ['a', 0.75],
      ['b', 0.25],
    ],
  );
  const slice = (zones: string[]): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 's', namespace: 'default' },
    addressType: 'IPv4',
    endpoints: zones.map((z, i) => ep(`10.0.0.${i + 1}`, z, { hints: [z] })),
  });
  // 4 hinted endpoints, zone a needs ceil(4 × 0.75 / 1.2) = 3.
  t.false(hintsOverloaded([slice(['a', 'a', 'a', 'b'])], ratios));
  t.true(hintsOverloaded([slice(['a', 'a', 'b', 'b'])], ratios));
  t.true(hintsOverloaded([slice(['a', 'a', 'a', 'b'])], null));
  t.false(hintsOverloaded([{ ...slice([]), endpoints: [ep('10.0.0.1', 'a')] }], null), 'no hints: nothing to requeue');
});
