/**
 * One family's compiled iptables rules for a node (what `iptables-save` or `ip6tables-save` would show), kept current
 * one Service port at a time, with the indexes that make the packet walk a few Map lookups:
 *
 * - nat KUBE-SERVICES by destination address → rules (a real kernel scans the chain linearly; the walk still reports
 *   the scan's length through each rule's position, so the cost figure stays honest);
 * - nat KUBE-NODEPORTS by NodePort; filter rules by chain → port.
 *
 * Services are kept in the order `iptables-save` output shows them here: sorted by `ns/name`, then port name (upstream
 * writes them in Go map order, i.e. unordered; its tests sort the same way). Positions inside the long chains are
 * prefix sums over that order, recomputed lazily after a change (O(services), only when a packet needs them).
 */
import type { IPFamily, Protocol } from '../../model/types.js';
import type { Step } from '../engine.js';
import type { ServicePortEntry } from '../service-table.js';
import { endpointChainName } from './chain-names.js';
import { type CompiledService, compileService } from './compile.js';
import type { RuleContext } from './context.js';
import { type ChainRange, EMPTY_RANGE } from './program.js';
import type { EntryRule, FilterRule, NodePortRule } from './rule-types.js';

/** kube-proxy drops per-endpoint comments when the node's table holds more endpoints than this. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

/** A nat KUBE-SERVICES rule and the Service it belongs to. */
export interface EntryRef {
  readonly svc: CompiledService;
  readonly rule: EntryRule;
  /** Index among this Service's KUBE-SERVICES rules. */
  readonly index: number;
  /** Where the chain the rule jumps to lies in the Service's program (empty when it has none by that name). */
  readonly chain: ChainRange;
  /** The walk's cached trace step for this rule (rebuilt when the rule's position changes). */
  step: Step | null;
  /** The rule's position in KUBE-SERVICES, valid while `posStamp` is the rule set's layout stamp. */
  pos: number;
  posStamp: number;
}

export interface NodePortRef {
  readonly svc: CompiledService;
  readonly rule: NodePortRule;
  readonly index: number;
  /** Where the KUBE-EXT chain the rule jumps to lies in the Service's program. */
  readonly chain: ChainRange;
}

export interface FilterRef {
  readonly svc: CompiledService;
  readonly rule: FilterRule;
  /** Index among this Service's rules in the same filter chain. */
  readonly index: number;
}

export type FilterChainName = FilterRule['chain'];

/** Where each Service's rules start inside the shared chains, and how long those chains are. */
interface Layout {
  readonly offsets: Map<CompiledService, Offsets>;
  readonly natServices: number;
  readonly natNodePorts: number;
  readonly filter: Record<FilterChainName, number>;
}

interface Offsets {
  natServices: number;
  natNodePorts: number;
  filter: Record<FilterChainName, number>;
}

const FILTER_CHAINS: readonly FilterChainName[] = [
  'KUBE-SERVICES',
  'KUBE-EXTERNAL-SERVICES',
  'KUBE-NODEPORTS',
  'KUBE-PROXY-FIREWALL',
];

function sortKey(entry: ServicePortEntry): string {
  return `${entry.serviceKey}\u0000${entry.info.portName}\u0000${entry.info.protocol}`;
}

export class RuleSet {
  readonly family: IPFamily;
  #ctx: RuleContext;
  readonly #byKey = new Map<string, CompiledService>();
  /** Compiled services in render order, with their sort keys alongside for binary search. */
  readonly #order: CompiledService[] = [];
  readonly #orderKeys: string[] = [];
  /** nat KUBE-SERVICES rules by destination address (a few per address: ports and protocols). */
  readonly #entries = new Map<string, EntryRef[]>();
  readonly #nodePorts = new Map<number, NodePortRef[]>();
  readonly #filters = new Map<FilterChainName, Map<number, FilterRef[]>>(FILTER_CHAINS.map((c) => [c, new Map()]));
  /**
   * KUBE-SEP names by Service port name, then `protocol address`… keyed by the persistent `spn` and endpoint address
   * strings (whose hashes V8 caches), not by a composite string built per lookup.
   */
  readonly #sepNames = new Map<string, Partial<Record<Protocol, Map<string, string>>>>();
  #layout: Layout | null = null;
  /** Bumped each time the layout is recomputed: EntryRefs cache their position against it. */
  #layoutStamp = 0;
  #totalEndpoints = 0;
  #largeClusterMode = false;
  /** Bumped on every change; renderers and caches key on it. */
  generation = 0;

  constructor(family: IPFamily, ctx: RuleContext) {
    this.family = family;
    this.#ctx = ctx;
  }

  get context(): RuleContext {
    return this.#ctx;
  }

  get size(): number {
    return this.#byKey.size;
  }

  get largeClusterMode(): boolean {
    return this.#largeClusterMode;
  }

  /** Compiled services in render order. */
  services(): readonly CompiledService[] {
    return this.#order;
  }

  get(key: string): CompiledService | undefined {
    return this.#byKey.get(key);
  }

  /** Replace the node/config context and recompile everything (a Node change: addresses, zone). */
  rebuild(ctx: RuleContext, entries: Iterable<ServicePortEntry>): void {
    this.#ctx = ctx;
    this.#byKey.clear();
    this.#order.length = 0;
    this.#orderKeys.length = 0;
    this.#entries.clear();
    this.#nodePorts.clear();
    for (const byPort of this.#filters.values()) byPort.clear();
    this.#totalEndpoints = 0;
    const list = [...entries];
    for (const e of list) this.#totalEndpoints += e.endpoints.length;
    this.#largeClusterMode = this.#totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
    // Bulk insert: compile, then sort once instead of one binary-search insert per Service (keys built once each,
    // not per comparison).
    const compiled = list.map((e) => ({ svc: this.#compile(e), key: sortKey(e) }));
    compiled.sort((a, b) => cmp(a.key, b.key));
    for (const { svc, key } of compiled) {
      this.#order.push(svc);
      this.#orderKeys.push(key);
      this.#byKey.set(svc.entry.key, svc);
      this.#index(svc, +1);
    }
    this.#changed();
  }

  /** Add or replace one Service port (its entry changed in the service table). */
  upsert(entry: ServicePortEntry): void {
    const old = this.#byKey.get(entry.key);
    const before = old?.endpointCount ?? 0;
    this.#totalEndpoints += entry.endpoints.length - before;
    const large = this.#totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
    if (large !== this.#largeClusterMode) {
      // Crossing the threshold changes every Service's comments, as it does on a real node's next sync.
      this.#largeClusterMode = large;
      const entries = [...this.#byKey.values()].map((s) => s.entry).filter((e) => e.key !== entry.key);
      this.rebuild(this.#ctx, [...entries, entry]);
      return;
    }
    if (old) this.#remove(entry.key, false);
    const svc = this.#compile(entry);
    const key = sortKey(entry);
    const at = lowerBound(this.#orderKeys, key);
    this.#order.splice(at, 0, svc);
    this.#orderKeys.splice(at, 0, key);
    this.#byKey.set(entry.key, svc);
    this.#index(svc, +1);
    this.#changed();
  }

  /** Remove one Service port. */
  remove(key: string): void {
    const old = this.#byKey.get(key);
    if (!old) return;
    this.#totalEndpoints -= old.endpointCount;
    this.#remove(key);
    this.#changed();
  }

  /** The nat KUBE-SERVICES rule for a destination, if any. */
  entryRule(protocol: Protocol, ip: string, port: number): EntryRef | undefined {
    const refs = this.#entries.get(ip);
    if (refs === undefined) return undefined;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      if (ref.rule.port === port && ref.rule.protocol === protocol) return ref;
    }
    return undefined;
  }

  /** nat KUBE-NODEPORTS rules for a NodePort and protocol, in chain order. */
  nodePortRules(protocol: Protocol, port: number): readonly NodePortRef[] {
    const refs = this.#nodePorts.get(port);
    if (!refs) return EMPTY;
    return refs.length === 1 && refs[0]!.rule.protocol === protocol
      ? refs
      : refs.filter((r) => r.rule.protocol === protocol);
  }

  /** Filter rules of one chain for a destination port (callers check address and protocol). */
  filterRules(chain: FilterChainName, port: number): readonly FilterRef[] {
    return this.#filters.get(chain)!.get(port) ?? EMPTY;
  }

  /** Position (0-based) of a rule in nat KUBE-SERVICES, and the chain's length without the NodePort jump(s). */
  entryPosition(ref: EntryRef): number {
    const layout = this.#layoutNow();
    if (ref.posStamp !== this.#layoutStamp) {
      ref.pos = layout.offsets.get(ref.svc)!.natServices + ref.index;
      ref.posStamp = this.#layoutStamp;
    }
    return ref.pos;
  }

  nodePortPosition(ref: NodePortRef): number {
    return this.#layoutNow().offsets.get(ref.svc)!.natNodePorts + ref.index;
  }

  filterPosition(ref: FilterRef): number {
    return this.#layoutNow().offsets.get(ref.svc)!.filter[ref.rule.chain] + ref.index;
  }

  /** Rule counts of the shared chains (nat KUBE-SERVICES without its NodePort tail rules). */
  chainLengths(): {
    readonly natServices: number;
    readonly natNodePorts: number;
    readonly filter: Readonly<Record<FilterChainName, number>>;
  } {
    return this.#layoutNow();
  }

  #compile(entry: ServicePortEntry): CompiledService {
    return compileService(entry, this.#ctx, this.#sepName, this.#largeClusterMode);
  }

  readonly #sepName = (spn: string, protocol: Protocol, endpoint: string): string => {
    let byProto = this.#sepNames.get(spn);
    if (byProto === undefined) {
      byProto = {};
      this.#sepNames.set(spn, byProto);
    }
    let names = byProto[protocol];
    if (names === undefined) {
      names = new Map();
      byProto[protocol] = names;
    }
    let name = names.get(endpoint);
    if (name === undefined) {
      name = endpointChainName(spn, protocol, endpoint);
      names.set(endpoint, name);
    }
    return name;
  };

  #remove(key: string, bump = true): void {
    const old = this.#byKey.get(key);
    if (!old) return;
    this.#byKey.delete(key);
    const at = lowerBound(this.#orderKeys, sortKey(old.entry));
    if (this.#order[at] === old) {
      this.#order.splice(at, 1);
      this.#orderKeys.splice(at, 1);
    }
    this.#index(old, -1);
    if (bump) this.#layout = null;
  }

  #index(svc: CompiledService, dir: 1 | -1): void {
    svc.entryRules.forEach((rule, index) => {
      const refs = this.#entries.get(rule.ip) ?? [];
      const chain = svc.program.ranges.get(rule.target) ?? EMPTY_RANGE;
      const next =
        dir > 0
          ? [...refs, { svc, rule, index, chain, step: null, pos: 0, posStamp: -1 }]
          : refs.filter((r) => r.svc !== svc);
      if (next.length) this.#entries.set(rule.ip, next);
      else this.#entries.delete(rule.ip);
    });
    svc.nodePortRules.forEach((rule, index) => {
      const refs = this.#nodePorts.get(rule.port) ?? [];
      const chain = svc.program.ranges.get(rule.target) ?? EMPTY_RANGE;
      const next = dir > 0 ? [...refs, { svc, rule, index, chain }] : refs.filter((r) => r.svc !== svc);
      if (next.length) this.#nodePorts.set(rule.port, next);
      else this.#nodePorts.delete(rule.port);
    });
    const perChain = new Map<FilterChainName, number>();
    for (const rule of svc.filterRules) {
      const index = perChain.get(rule.chain) ?? 0;
      perChain.set(rule.chain, index + 1);
      const byPort = this.#filters.get(rule.chain)!;
      const refs = byPort.get(rule.port) ?? [];
      const next = dir > 0 ? [...refs, { svc, rule, index }] : refs.filter((r) => r.svc !== svc);
      if (next.length) byPort.set(rule.port, next);
      else byPort.delete(rule.port);
    }
  }

  #changed(): void {
    this.#layout = null;
    this.generation++;
  }

  #layoutNow(): Layout {
    if (this.#layout) return this.#layout;
    const offsets = new Map<CompiledService, Offsets>();
    let natServices = 0;
    let natNodePorts = 0;
    const filter: Record<FilterChainName, number> = {
      'KUBE-SERVICES': 0,
      'KUBE-EXTERNAL-SERVICES': 0,
      'KUBE-NODEPORTS': 0,
      'KUBE-PROXY-FIREWALL': 0,
    };
    for (const svc of this.#order) {
      offsets.set(svc, { natServices, natNodePorts, filter: { ...filter } });
      natServices += svc.entryRules.length;
      natNodePorts += svc.nodePortRules.length;
      for (const r of svc.filterRules) filter[r.chain]++;
    }
    this.#layout = { offsets, natServices, natNodePorts, filter };
    this.#layoutStamp++;
    return this.#layout;
  }
}

const EMPTY: readonly never[] = Object.freeze([]);

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
