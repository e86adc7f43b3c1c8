/**
 * The conformance suite's world and harness: a two-node cluster (the engine runs on node-a), packet builders, and
 * assertion helpers that speak in verdicts. Addresses:
 *
 *   node-a 192.168.0.2 / fd00:1::2, pods 10.244.1.0/24 / fd00:10:1::/64     external client 203.0.113.2
 *   node-b 192.168.0.3 / fd00:1::3, pods 10.244.2.0/24 / fd00:10:2::/64     Services 10.96.0.0/16, fd00:96::/112
 *   --cluster-cidr 10.244.0.0/16,fd00:10::/48 (the local-traffic detector)
 */
import type { ExecutionContext } from 'ava';
import type { Store } from '../../src/model/store.js';
import type { EndpointSlice, IPFamily, Node, Protocol, Service } from '../../src/model/types.js';
import {
  type EngineFactory,
  type ProxyConfigInput,
  type ProxyEngine,
  proxyConfig,
  type Verdict,
} from '../../src/proxy/engine.js';
import { type Origin, type Packet, parseHostPort } from '../../src/proxy/packet.js';
import type { AttachedServiceTable } from '../../src/proxy/service-table.js';
import { Rng } from '../../src/util/rng.js';
import { node, storeWith, tableFor } from './fixtures.js';

export const NODE_A = 'node-a';
export const NODE_B = 'node-b';
export const NODE_A_IP = '192.168.0.2';
export const NODE_B_IP = '192.168.0.3';
export const NODE_A_IP6 = 'fd00:1::2';
export const CLIENT = '203.0.113.2';
export const CLUSTER_CIDR = '10.244.0.0/16,fd00:10::/48';

export const POD: Origin = { from: 'pod', pod: 'default/client' };
export const EXTERNAL: Origin = { from: 'external' };
export const FROM_NODE: Origin = { from: 'node' };

/** The two nodes. */
export function nodes(): Node[] {
  return [
    node(NODE_A, [NODE_A_IP, NODE_A_IP6], { zone: 'zone-a', podCIDRs: ['10.244.1.0/24', 'fd00:10:1::/64'] }),
    node(NODE_B, [NODE_B_IP, 'fd00:1::3'], { zone: 'zone-b', podCIDRs: ['10.244.2.0/24', 'fd00:10:2::/64'] }),
  ];
}

/** A packet from `ip:port` text (IPv6 as `[ip]:port`). */
export function pkt(proto: Protocol, src: string, dst: string): Packet {
  const s = parseHostPort(src);
  const d = parseHostPort(dst);
  if (!s || !d) throw new Error(`bad address in ${src} -> ${dst}`);
  return { proto, src: s, dst: d };
}
export const tcp = (src: string, dst: string) => pkt('TCP', src, dst);
export const udp = (src: string, dst: string) => pkt('UDP', src, dst);

/** One engine on node-a over a store. */
export interface Rig {
  readonly engine: ProxyEngine;
  readonly store: Store;
  readonly table: AttachedServiceTable;
  send(packet: Packet, origin: Origin, now?: number): Verdict;
  reply(packet: Packet, now?: number): Verdict;
}

export interface SetupOptions {
  readonly node?: string;
  readonly config?: ProxyConfigInput;
  readonly seed?: number;
  readonly families?: readonly IPFamily[];
}

export interface Harness {
  /** The engine's mode (`iptables`, `ipvs`, `userspace`), known once a rig was set up. */
  readonly mode: string;
  setup(objects: (Node | Service | EndpointSlice)[], options?: SetupOptions): Rig;
  /**
   * The expectation for the running mode: `value` unless the mode is listed, in which case its value, with the
   * reason logged, e.g. `h.expected('DROP', { ipvs: { reason: 'falls back to cluster endpoints', value: 'DNAT' } })`.
   */
  expected<T>(value: T, perMode?: Readonly<Record<string, { readonly reason: string; readonly value: T }>>): T;
}

/** A named case. `run` asserts with ava's `t`; names read `Group > what it checks`. */
export interface ConformanceCase {
  readonly name: string;
  run(t: ExecutionContext, h: Harness): void;
}

export function makeHarness(t: ExecutionContext, newEngine: EngineFactory, base: ProxyConfigInput): Harness {
  let mode = '';
  const rigs: Rig[] = [];
  t.teardown(() => {
    for (const r of rigs) {
      r.engine.dispose();
      r.table.detach();
    }
  });
  return {
    get mode() {
      return mode;
    },
    setup(objects, options = {}) {
      const store = storeWith(...objects);
      const table = tableFor(store, options.node ?? NODE_A, options.families ? { families: options.families } : {});
      const config = proxyConfig({
        clusterCIDR: CLUSTER_CIDR,
        ...base,
        ...options.config,
        conntrack: { ...base.conntrack, ...options.config?.conntrack },
      });
      const engine = newEngine({ table, config, rng: new Rng(options.seed ?? 42).fork(`proxy/${table.nodeName}`) });
      mode = engine.mode;
      const rig: Rig = {
        engine,
        store,
        table,
        send: (p, origin, now = 0) => engine.send(p, origin, now),
        reply: (p, now = 0) => engine.reply(p, now),
      };
      rigs.push(rig);
      return rig;
    },
    expected(value, perMode) {
      const special = perMode?.[mode];
      if (!special) return value;
      t.log(`${mode} differs: ${special.reason}`);
      return special.value;
    },
  };
}

/** Assert a verdict's kind, with the trace in the message when it is wrong. */
export function verdictIs(t: ExecutionContext, v: Verdict, kind: Verdict['verdict'], what = ''): void {
  t.is(v.verdict, kind, `${what}\n${trace(v)}`);
}

/** The trace as text, for assertion messages. */
export function trace(v: Verdict): string {
  return v.steps.map((s) => `  ${s.where}: ${s.rule} => ${s.decision}`).join('\n');
}

/** The endpoints (ip:port) a verdict could have picked, asserted to be one of `allowed`. */
export function endpointIn(t: ExecutionContext, v: Verdict, allowed: readonly string[], what = ''): void {
  t.true(
    v.endpoint !== null && allowed.includes(v.endpoint),
    `${what}: endpoint ${v.endpoint} not in ${allowed.join(', ')}\n${trace(v)}`,
  );
}

/** Source ports for the i-th new flow of a test (distinct tuples). */
export function port(i: number): number {
  return 20000 + i;
}
