/**
 * One family's compiled iptables rules for a node (what `iptables-save` or `ip6tables-save` would show), kept current
 * one Service port at a time, with the indexes that make the packet walk a few lookups:
 *
 * - nat KUBE-SERVICES by destination (protocol, address, port), one probe of an EntryIndex (a real kernel scans the
 *   chain linearly; the walk still reports the scan's length through each rule's position, computed from the
 *   layout, so the cost figure stays honest);
 * - nat KUBE-NODEPORTS by NodePort; filter rules by chain → port.
 *
 * Services are kept in the order `iptables-save` output shows them here: sorted by `ns/name`, then port name (upstream
 * writes them in Go map order, i.e. unordered; its tests sort the same way). Positions inside the long chains are
 * prefix sums over that order, recomputed lazily after a change (O(services), only when a packet needs them).
 */
import type { IPFamily, Protocol } from '../../model/types.js';
import type { ServicePortEntry } from '../service-table.js';
import { addressKey, protoCode } from '../tuple-table.js';
import { SepNameCache } from './chain-names.js';
import { type CompiledService, compileService } from './compile.js';
import type { RuleContext } from './context.js';
import { EntryIndex } from './entry-index.js';
import { programJump } from './program.js';
import { ProgramArena } from './program-arena.js';
import {
  computeLayout,
  type EntryRef,
  FILTER_CHAINS,
  type FilterChainName,
  type FilterRef,
  type Layout,
  type NodePortRef,
} from './ruleset-layout.js';

export type { EntryRef, FilterChainName, FilterRef, NodePortRef } from './ruleset-layout.js';

/** kube-proxy drops per-endpoint comments when the node's table holds more endpoints than this. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

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
  /**
   * nat KUBE-SERVICES rules by destination (protocol, address, port): the first in chain order, which is the one a
   * packet matches; rules of other Services for the same destination follow it through `next`, in chain order.
   */
  readonly #entries = new EntryIndex();
  readonly #nodePorts = new Map<number, NodePortRef[]>();
  readonly #filters = new Map<FilterChainName, Map<number, FilterRef[]>>(FILTER_CHAINS.map((c) => [c, new Map()]));
  /** KUBE-SEP names already hashed, kept across recompiles (an endpoint change renames nothing else). */
  readonly #sepNames = new SepNameCache();
  #layout: Layout | null = null;
  /** Bumped each time the layout is recomputed: entry-index slots cache their rule's position against it. */
  #layoutStamp = 0;
  #totalEndpoints = 0;
  #largeClusterMode = false;
  /** Bumped on every change; renderers and caches key on it. */
  generation = 0;
  /** Every compiled Service's program, where the walk runs it (program-arena.ts). */
  readonly arena = new ProgramArena();

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
    let rules = 0;
    for (const { svc } of compiled) rules += ProgramArena.rulesIn(svc.program);
    this.arena.clear(ctx.nodeIP, rules);
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
    if (this.arena.wasteful) this.#compact();
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
    if (this.arena.wasteful) this.#compact();
    this.#changed();
  }

  /** KUBE-SERVICES by destination, each first rule's jump in its slot (what the walk reads). */
  get entries(): EntryIndex {
    return this.#entries;
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

  /** Position (0-based) in nat KUBE-SERVICES of the rule in an entry-index slot, kept in the slot per layout. */
  entrySlotPosition(slot: number): number {
    const layout = this.#layoutNow();
    const entries = this.#entries;
    let pos = entries.positionAt(slot, this.#layoutStamp);
    if (pos < 0) {
      const ref = entries.refAt(slot);
      pos = layout.offsets.get(ref.svc)!.natServices + ref.index;
      entries.setPosition(slot, pos, this.#layoutStamp);
    }
    return pos;
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

  readonly #sepName = (spn: string, protocol: Protocol, endpoint: string): string =>
    this.#sepNames.name(spn, protocol, endpoint);

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
    this.arena.release(old.program.base, old.program);
    if (bump) this.#layout = null;
  }

  /** Copy the live programs into a fresh arena; their jumps are indexed again with the new bases. */
  #compact(): void {
    for (const svc of this.#order) this.#index(svc, -1);
    this.arena.clear(this.#ctx.nodeIP);
    for (const svc of this.#order) this.#index(svc, +1);
  }

  /** File (+1) or unfile (-1) a Service's rules in the indexes; filing places its program in the arena first. */
  #index(svc: CompiledService, dir: 1 | -1): void {
    if (dir > 0) svc.program.base = this.arena.place(svc.program);
    svc.entryRules.forEach((rule, index) => {
      const proto = protoCode(rule.protocol);
      const ipKey = addressKey(rule.ip);
      const first = this.#entries.get(proto, ipKey, rule.port) ?? null;
      let head: EntryRef | null;
      if (dir > 0) {
        const jump = programJump(svc.program, rule.target);
        // What a new flow reads comes first, to share the object's first cache line. (Named one by one: a literal
        // that starts with a spread made objects the walk read several times slower.)
        head = insertInChainOrder(first, {
          program: jump.program,
          base: jump.base,
          start: jump.start,
          end: jump.end,
          svc,
          rule,
          index,
          step: null,
          next: null,
        });
      } else head = withoutService(first, svc);
      if (head) this.#entries.set(proto, ipKey, rule.port, head);
      else this.#entries.delete(proto, ipKey, rule.port);
    });
    svc.nodePortRules.forEach((rule, index) => {
      const refs = this.#nodePorts.get(rule.port) ?? [];
      // In KUBE-NODEPORTS order (the walk takes the first that matches), whatever order the Services came in.
      const next =
        dir > 0
          ? inChainOrder([...refs, { svc, rule, index, ...programJump(svc.program, rule.target) }])
          : refs.filter((r) => r.svc !== svc);
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
    this.#layout = computeLayout(this.#order);
    this.#layoutStamp++;
    return this.#layout;
  }
}

const EMPTY: readonly never[] = Object.freeze([]);

/** Link `ref` into a destination's list (head `first`) by KUBE-SERVICES order; returns the new head. */
function insertInChainOrder(first: EntryRef | null, ref: EntryRef): EntryRef {
  const key = sortKey(ref.svc.entry);
  const before = (r: EntryRef) => {
    const k = sortKey(r.svc.entry);
    return k < key || (k === key && r.index < ref.index);
  };
  if (first === null || !before(first)) {
    ref.next = first;
    return ref;
  }
  let at = first;
  while (at.next !== null && before(at.next)) at = at.next;
  ref.next = at.next;
  at.next = ref;
  return first;
}

/** NodePort rules sorted as KUBE-NODEPORTS lists them: by Service (render order), then by rule. */
function inChainOrder(refs: NodePortRef[]): NodePortRef[] {
  if (refs.length < 2) return refs;
  const keys = new Map(refs.map((r) => [r, sortKey(r.svc.entry)]));
  return refs.sort((a, b) => cmp(keys.get(a)!, keys.get(b)!) || a.index - b.index);
}

/** A destination's list without the rules of `svc`; returns the new head (null when none is left). */
function withoutService(first: EntryRef | null, svc: CompiledService): EntryRef | null {
  let head = first;
  while (head !== null && head.svc === svc) head = head.next;
  let at = head;
  while (at !== null) {
    while (at.next !== null && at.next.svc === svc) at.next = at.next.next;
    at = at.next;
  }
  return head;
}

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
