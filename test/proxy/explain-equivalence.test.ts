/**
 * An engine that does not explain (`explain: false`, as bulk runs and the benchmarks use) must decide exactly as one
 * that does: the IPVS engine schedules round-robin flows from its tables alone then (vs-table.ts), and every engine
 * skips building steps. Property: two engines over two copies of one cluster, fed the same random run of new flows,
 * established packets, replies, endpoint changes and clock steps, give the same verdict, endpoint, rewritten packet,
 * SNAT and Service for every packet.
 */
import test from 'ava';
import fc from 'fast-check';
import type { Store } from '../../src/model/store.js';
import { type EngineFactory, type ProxyConfigInput, type ProxyEngine, proxyConfig } from '../../src/proxy/engine.js';
import { createIptablesEngine } from '../../src/proxy/iptables/engine.js';
import { createIpvsEngine } from '../../src/proxy/ipvs/engine.js';
import type { Origin, Packet } from '../../src/proxy/packet.js';
import { createUserspaceEngine } from '../../src/proxy/userspace/engine.js';
import { Rng } from '../../src/util/rng.js';
import { node, put, service, slice, storeWith, tableFor } from './fixtures.js';

const ENDPOINTS = [
  { ip: '10.244.1.5', node: 'node-a' },
  { ip: '10.244.1.6', node: 'node-a' },
  { ip: '10.244.2.6', node: 'node-b' },
  { ip: '10.244.2.7', node: 'node-b' },
  { ip: '10.244.2.8', node: 'node-b' },
];
/** Sources: a pod on this node, the first endpoint itself (hairpin), a pod elsewhere, outside the cluster. */
const SOURCES = ['10.244.1.9', '10.244.1.5', '10.244.2.9', '192.168.7.7'];
const WEB = '10.96.0.10';
/** A Service with ClientIP affinity (IPVS persistence: not the round-robin table path). */
const STICKY = '10.96.0.11';

function cluster(): Store {
  return storeWith(
    node('node-a', ['172.18.0.2'], { podCIDRs: ['10.244.1.0/24'] }),
    node('node-b', ['172.18.0.3'], { podCIDRs: ['10.244.2.0/24'] }),
    service('default', 'web', { clusterIP: WEB, ports: [{ port: 80 }] }),
    slice('default', 'web', ENDPOINTS, [{ port: 80 }]),
    service('default', 'sticky', { clusterIP: STICKY, ports: [{ port: 80 }], sessionAffinity: 'ClientIP' }),
    slice('default', 'sticky', ENDPOINTS.slice(0, 3), [{ port: 80 }]),
  );
}

type Op =
  | { kind: 'new'; source: number; port: number; sticky: boolean }
  | { kind: 'again'; flow: number; reply: boolean }
  | { kind: 'endpoints'; mask: number }
  | { kind: 'advance'; seconds: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('new' as const),
      source: fc.nat(SOURCES.length - 1),
      port: fc.integer({ min: 1024, max: 1100 }),
      sticky: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('again' as const), flow: fc.nat(), reply: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('endpoints' as const), mask: fc.integer({ min: 0, max: 31 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 200 }) }),
  },
);

/** What a verdict reports, steps aside. */
function outcome(v: ReturnType<ProxyEngine['send']>) {
  return { verdict: v.verdict, endpoint: v.endpoint, packet: v.packet, snat: v.snat, service: v.service };
}

interface Side {
  store: Store;
  engine: ProxyEngine;
}

function side(make: EngineFactory, config: ProxyConfigInput, explain: boolean): Side {
  const store = cluster();
  const engine = make({
    table: tableFor(store, 'node-a'),
    config: proxyConfig({ clusterCIDR: '10.244.0.0/16', ...config }),
    rng: new Rng(3),
    explain,
  });
  return { store, engine };
}

const ENGINES: [string, EngineFactory, ProxyConfigInput][] = [
  ['ipvs rr', createIpvsEngine, { mode: 'ipvs' }],
  ['ipvs mh', createIpvsEngine, { mode: 'ipvs', scheduler: 'mh' }],
  ['ipvs wlc', createIpvsEngine, { mode: 'ipvs', scheduler: 'wlc' }],
  ['iptables', createIptablesEngine, { mode: 'iptables' }],
  ['userspace', createUserspaceEngine, { mode: 'userspace' }],
];

for (const [name, make, config] of ENGINES) {
  test(`${name}: explain false decides every packet as explain true does`, (t) => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const sides = [side(make, config, true), side(make, config, false)];
        const flows: { packet: Packet; origin: Origin; leaving: Packet }[] = [];
        let now = 1;
        for (const o of ops) {
          if (o.kind === 'advance') now += o.seconds;
          else if (o.kind === 'endpoints') {
            const kept = ENDPOINTS.filter((_, i) => (o.mask & (1 << i)) !== 0);
            for (const s of sides) put(s.store, slice('default', 'web', kept, [{ port: 80 }]));
          } else {
            let packet: Packet;
            let origin: Origin;
            let reply = false;
            if (o.kind === 'new' || flows.length === 0) {
              const n = o.kind === 'new' ? o : { source: 0, port: 1024, sticky: false };
              const src = SOURCES[n.source]!;
              packet = {
                proto: 'TCP',
                src: { ip: src, port: n.port },
                dst: { ip: n.sticky ? STICKY : WEB, port: 80 },
              };
              origin = src.startsWith('10.244.1.') ? { from: 'pod', pod: 'default/client' } : { from: 'external' };
            } else {
              const f = flows[o.flow % flows.length]!;
              reply = o.reply;
              packet = reply ? { proto: 'TCP', src: f.leaving.dst, dst: f.leaving.src } : f.packet;
              origin = f.origin;
            }
            const [a, b] = sides.map((s) =>
              outcome(reply ? s.engine.reply(packet, now) : s.engine.send(packet, origin, now)),
            );
            t.deepEqual(b, a);
            if (!reply && a!.endpoint !== null) flows.push({ packet, origin, leaving: a!.packet });
          }
        }
        for (const s of sides) s.engine.dispose();
      }),
      { seed: 29, numRuns: 60 },
    );
  });
}
