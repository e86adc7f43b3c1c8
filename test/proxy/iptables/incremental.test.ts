/**
 * Incremental updates are invisible: after any sequence of Service, EndpointSlice and Node changes, an engine that
 * followed the changes one event at a time renders exactly the rules of an engine built fresh on the final state.
 * (A property over random change sequences; fast-check shrinks a failure to the shortest sequence.)
 */
import test from 'ava';
import fc from 'fast-check';
import type { Store } from '../../../src/model/store.js';
import type { EndpointSlice, Node, Service } from '../../../src/model/types.js';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import { Rng } from '../../../src/util/rng.js';
import { holds } from '../../cni/helpers.js';
import { node, put, remove, service, slice, storeWith, tableFor } from '../fixtures.js';

const NODE = 'n1';
const config = proxyConfig({ clusterCIDR: '10.0.0.0/8,fd00:10::/64' });

const svcArb = fc.record({
  i: fc.integer({ min: 0, max: 3 }),
  type: fc.constantFrom('ClusterIP' as const, 'NodePort' as const, 'LoadBalancer' as const),
  etp: fc.constantFrom('Cluster' as const, 'Local' as const),
  itp: fc.constantFrom('Cluster' as const, 'Local' as const),
  affinity: fc.boolean(),
  ranges: fc.boolean(),
  dual: fc.boolean(),
  udp: fc.boolean(),
});

const epArb = fc.record({
  host: fc.integer({ min: 1, max: 12 }),
  node: fc.constantFrom(NODE, 'n2', undefined),
  ready: fc.constantFrom(true, false, undefined),
  serving: fc.constantFrom(true, false, undefined),
  terminating: fc.constantFrom(true, false, undefined),
});

const sliceArb = fc.record({
  i: fc.integer({ min: 0, max: 3 }),
  part: fc.integer({ min: 0, max: 1 }),
  v6: fc.boolean(),
  eps: fc.array(epArb, { maxLength: 4 }),
});

type SvcV = typeof svcArb extends fc.Arbitrary<infer T> ? T : never;
type EpV = typeof epArb extends fc.Arbitrary<infer T> ? T : never;

type Op =
  | { kind: 'svc'; v: SvcV }
  | { kind: 'del-svc'; i: number }
  | { kind: 'slice'; v: typeof sliceArb extends fc.Arbitrary<infer T> ? T : never }
  | { kind: 'del-slice'; i: number; part: number; v6: boolean }
  | { kind: 'node'; zone: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: svcArb.map((v) => ({ kind: 'svc' as const, v })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => ({ kind: 'del-svc' as const, i })) },
  { weight: 4, arbitrary: sliceArb.map((v) => ({ kind: 'slice' as const, v })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ i: fc.integer({ min: 0, max: 3 }), part: fc.integer({ min: 0, max: 1 }), v6: fc.boolean() })
      .map((x) => ({ kind: 'del-slice' as const, ...x })),
  },
  { weight: 1, arbitrary: fc.constantFrom('a', 'b').map((zone) => ({ kind: 'node' as const, zone })) },
);

function svcObject(v: SvcV): Service {
  const external = v.type !== 'ClusterIP';
  return service('ns', `s${v.i}`, {
    type: v.type,
    clusterIP: `172.30.0.${10 + v.i}`,
    ...(v.dual
      ? { clusterIPs: [`172.30.0.${10 + v.i}`, `fd00:172::${10 + v.i}`], ipFamilies: ['IPv4', 'IPv6'] as const }
      : {}),
    ports: [{ name: 'p', port: 80, protocol: v.udp ? 'UDP' : 'TCP', ...(external ? { nodePort: 30000 + v.i } : {}) }],
    ...(external ? { externalTrafficPolicy: v.etp } : {}),
    internalTrafficPolicy: v.itp,
    ...(v.type === 'LoadBalancer'
      ? { ingress: [`1.2.3.${v.i}`, `2001:db8::${v.i}`], healthCheckNodePort: 32000 + v.i }
      : {}),
    ...(v.ranges ? { loadBalancerSourceRanges: ['203.0.113.0/25', '192.168.0.0/24'] } : {}),
    ...(v.affinity
      ? { sessionAffinity: 'ClientIP' as const, sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }
      : {}),
  });
}

function sliceObject(
  v: { i: number; part: number; v6: boolean; eps: EpV[] },
  udpOf: (i: number) => boolean,
): EndpointSlice {
  return slice(
    'ns',
    `s${v.i}`,
    v.eps.map((e) => ({
      ip: v.v6 ? `fd00:10::${e.host}` : `10.180.0.${e.host}`,
      ...(e.node ? { node: e.node } : {}),
      ...(e.ready !== undefined ? { ready: e.ready } : {}),
      ...(e.serving !== undefined ? { serving: e.serving } : {}),
      ...(e.terminating !== undefined ? { terminating: e.terminating } : {}),
    })),
    [{ name: 'p', port: 8080, protocol: udpOf(v.i) ? 'UDP' : 'TCP' }],
    { name: `s${v.i}-${v.v6 ? 'v6' : 'v4'}-${v.part}`, addressType: v.v6 ? 'IPv6' : 'IPv4' },
  );
}

function nodeObject(zone: string): Node {
  return node(NODE, ['192.168.0.2', '2001:db8::1'], { zone });
}

function apply(store: Store, op: Op, udp: Map<number, boolean>): void {
  const udpOf = (i: number) => udp.get(i) ?? false;
  switch (op.kind) {
    case 'svc':
      udp.set(op.v.i, op.v.udp);
      put(store, svcObject(op.v));
      return;
    case 'del-svc': {
      const s = store.get('Service', `s${op.i}`, 'ns');
      if (s) remove(store, s);
      return;
    }
    case 'slice':
      put(store, sliceObject(op.v, udpOf));
      return;
    case 'del-slice': {
      const s = store.get('EndpointSlice', `s${op.i}-${op.v6 ? 'v6' : 'v4'}-${op.part}`, 'ns');
      if (s) remove(store, s);
      return;
    }
    case 'node':
      put(store, nodeObject(op.zone));
  }
}

test('rules after incremental changes equal rules built fresh', (t) => {
  holds(
    t,
    fc.property(fc.array(opArb, { maxLength: 25 }), (ops) => {
      const store = storeWith(nodeObject('a'));
      const table = tableFor(store, NODE);
      const live = new IptablesEngine({ table, config, rng: new Rng(1) });
      const udp = new Map<number, boolean>();
      for (const op of ops) apply(store, op, udp);
      const fresh = new IptablesEngine({ table: tableFor(store, NODE), config, rng: new Rng(1) });
      return live.rules('IPv4') === fresh.rules('IPv4') && live.rules('IPv6') === fresh.rules('IPv6');
    }),
    { numRuns: 150 },
  );
});
