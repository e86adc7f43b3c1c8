/**
 * The scheduler's incremental view of the nodes: what each node offers, what its pods request, and the order in which
 * nodes are visited (kube-scheduler's nodeTree).
 *
 * The numbers the hot loops read live in one Float64Array, a fixed-size record per node (NodeTable), not in the
 * node objects: scanning 500 nodes per pod, 150,000 times, is bound by memory traffic, and a compact table keeps
 * it in cache where scattered objects and their boxed numbers do not.
 */
import { milliCPU, quantityValue } from '../model/quantity.js';
import type { Node, Taint } from '../model/types.js';
import { effectiveTaints, LABEL_REGION, LABEL_ZONE } from './scheduling-rules.js';

/** Field offsets in a node's record. The first eight are what the filter reads: one cache line. */
export const F = {
  allocCpu: 0,
  reqCpu: 1,
  allocMemory: 2,
  reqMemory: 3,
  pods: 4,
  allowedPods: 5,
  /** 1 when the node is neither cordoned nor NoSchedule/NoExecute-tainted: the fast filter path applies. */
  plain: 6,
  zoneId: 7,
  /** Non-zero requests (scheduler defaults for containers that request nothing): LeastAllocated. */
  nonZeroCpu: 8,
  nonZeroMemory: 9,
  /** Bumped whenever what the node offers or what its pods request changes: invalidates `score`. */
  version: 10,
  // The resource scores (LeastAllocated + BalancedAllocation) last computed, for which version and request class.
  scoreVersion: 11,
  scoreClass: 12,
  score: 13,
  // Scratch for one scheduling pass, valid when the pass number matches: found feasible (at `feasiblePos` in the
  // pass's feasible list).
  feasiblePass: 14,
  feasiblePos: 15,
} as const;
export const STRIDE = 16;

/** Node records, one per slot; slots are never reused, so a removed node keeps its accounting. */
export class NodeTable {
  data = new Float64Array(64 * STRIDE);
  #next = 0;

  /** A fresh slot. May replace `data` with a larger array. */
  alloc(): number {
    const slot = this.#next++;
    if ((slot + 1) * STRIDE > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    const base = slot * STRIDE;
    this.data.fill(0, base, base + STRIDE);
    this.data[base + F.scoreVersion] = -1;
    return slot;
  }
}

const zoneIds = new Map<string, number>();

/** A small integer per zone label value, from 1; 0 stands for "no zone label". Zones are few; ids are shared. */
export function zoneIdOf(zone: string | undefined): number {
  if (zone === undefined) return 0;
  let id = zoneIds.get(zone);
  if (id === undefined) {
    id = zoneIds.size + 1;
    zoneIds.set(zone, id);
  }
  return id;
}

/** One more than the largest zone id handed out. */
export function zoneIdLimit(): number {
  return zoneIds.size + 1;
}

/** What `NodeState.set` changes, to undo an update. */
export interface SavedNode {
  labels: Record<string, string>;
  zone: string | undefined;
  zoneKey: string;
  hardTaints: Taint[];
  softTaints: Taint[];
  unschedulable: boolean;
  numbers: Float64Array;
}
const SPEC_NUMBERS = [F.allocCpu, F.allocMemory, F.allowedPods, F.plain, F.zoneId] as const;

/** One node as the scheduler sees it (upstream NodeInfo); its numbers are in the table at `slot`. */
export class NodeState {
  readonly name: string;
  readonly slot: number;
  readonly #table: NodeTable;
  labels: Record<string, string> = {};
  /** `topology.kubernetes.io/zone`, or undefined when the node has no such label. */
  zone: string | undefined;
  /** nodeTree key: region and zone labels; nodes without them share one zone. */
  zoneKey = '';
  /** NoSchedule and NoExecute taints, including those the node's conditions imply. */
  hardTaints: Taint[] = [];
  /** PreferNoSchedule taints (TaintToleration scoring). */
  softTaints: Taint[] = [];
  unschedulable = false;
  hostPorts: Map<string, number> | undefined;
  /** Spread group → bound, non-terminating pods of that group on this node. */
  readonly spread = new Map<string, number>();

  constructor(node: Node, table: NodeTable) {
    this.name = node.metadata.name;
    this.#table = table;
    this.slot = table.alloc();
    this.set(node);
  }

  get zoneId(): number {
    return this.#table.data[this.slot * STRIDE + F.zoneId]!;
  }

  /** Take the node's current spec and status; what its pods request is kept. */
  set(node: Node): void {
    const labels = node.metadata.labels ?? {};
    this.labels = labels;
    this.zone = labels[LABEL_ZONE];
    this.zoneKey = `${labels[LABEL_REGION] ?? ''}:\0:${labels[LABEL_ZONE] ?? ''}`;
    const taints = effectiveTaints(node);
    this.hardTaints = taints.filter((t) => t.effect !== 'PreferNoSchedule');
    this.softTaints = taints.filter((t) => t.effect === 'PreferNoSchedule');
    this.unschedulable = node.spec.unschedulable === true;
    const alloc = node.status.allocatable ?? {};
    const d = this.#table.data;
    const base = this.slot * STRIDE;
    d[base + F.allocCpu] = milliCPU(alloc.cpu);
    d[base + F.allocMemory] = quantityValue(alloc.memory);
    d[base + F.allowedPods] = Math.floor(quantityValue(alloc.pods));
    d[base + F.plain] = !this.unschedulable && this.hardTaints.length === 0 ? 1 : 0;
    d[base + F.zoneId] = zoneIdOf(this.zone);
    d[base + F.version]!++;
  }

  saved(): SavedNode {
    const d = this.#table.data;
    const base = this.slot * STRIDE;
    return {
      labels: this.labels,
      zone: this.zone,
      zoneKey: this.zoneKey,
      hardTaints: this.hardTaints,
      softTaints: this.softTaints,
      unschedulable: this.unschedulable,
      numbers: Float64Array.from(SPEC_NUMBERS, (f) => d[base + f]!),
    };
  }

  restore(saved: SavedNode): void {
    this.labels = saved.labels;
    this.zone = saved.zone;
    this.zoneKey = saved.zoneKey;
    this.hardTaints = saved.hardTaints;
    this.softTaints = saved.softTaints;
    this.unschedulable = saved.unschedulable;
    const d = this.#table.data;
    const base = this.slot * STRIDE;
    SPEC_NUMBERS.forEach((f, i) => {
      d[base + f] = saved.numbers[i]!;
    });
    d[base + F.version]!++;
  }
}

/**
 * Nodes grouped by zone, listed round-robin across zones, as kube-scheduler's nodeTree does: zones in the order
 * they first appeared, nodes in each zone in the order they were added. Walking this list spreads the first
 * feasible nodes found across zones.
 */
export class NodeTree {
  readonly #zones: string[] = [];
  readonly #tree = new Map<string, NodeState[]>();
  #list: NodeState[] | null = [];
  #count = 0;

  get size(): number {
    return this.#count;
  }

  add(node: NodeState): void {
    let zone = this.#tree.get(node.zoneKey);
    if (!zone) {
      zone = [];
      this.#tree.set(node.zoneKey, zone);
      this.#zones.push(node.zoneKey);
    }
    zone.push(node);
    this.#count++;
    this.#list = null;
  }

  /** Remove a node; returns how to put it back exactly where it was (rollback keeps the visiting order). */
  remove(node: NodeState, zoneKey = node.zoneKey): () => void {
    const zone = this.#tree.get(zoneKey);
    const i = zone ? zone.indexOf(node) : -1;
    if (!zone || i < 0) return () => {};
    zone.splice(i, 1);
    const zonePos = this.#zones.indexOf(zoneKey);
    if (zone.length === 0) {
      this.#tree.delete(zoneKey);
      this.#zones.splice(zonePos, 1);
    }
    this.#count--;
    this.#list = null;
    return () => {
      if (!this.#tree.has(zoneKey)) {
        this.#tree.set(zoneKey, zone);
        this.#zones.splice(zonePos, 0, zoneKey);
      }
      zone.splice(i, 0, node);
      this.#count++;
      this.#list = null;
    };
  }

  /** The round-robin list, rebuilt only after a change (a new array each time, so callers can detect it). */
  list(): NodeState[] {
    if (this.#list) return this.#list;
    const out: NodeState[] = [];
    for (let i = 0; out.length < this.#count; i++) {
      for (const key of this.#zones) {
        const zone = this.#tree.get(key)!;
        if (i < zone.length) out.push(zone[i]!);
      }
    }
    this.#list = out;
    return out;
  }
}
