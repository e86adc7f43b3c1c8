/**
 * Scoring the feasible nodes and picking one (kube-scheduler's Score, NormalizeScore and selectHost), and the
 * FitError message when no node is feasible.
 *
 * Default weights: TaintToleration ×3 (PreferNoSchedule), NodeResourcesFit ×1 (LeastAllocated, cpu and memory
 * weighted equally, on non-zero requests), PodTopologySpread ×2 (system default constraints), and
 * NodeResourcesBalancedAllocation ×1 (on actual requests).
 */
import type { Toleration } from '../model/types.js';
import type { Rng } from '../util/rng.js';
import { F, type NodeState, STRIDE, zoneIdLimit } from './scheduler-nodes.js';
import { tolerationsTolerate } from './scheduling-rules.js';

/** What one scheduling cycle needs to know about the pod, computed once. */
export interface PodInfo {
  cpu: number;
  memory: number;
  nonZeroCpu: number;
  nonZeroMemory: number;
  tolerations: Toleration[] | undefined;
  toleratesUnschedulable: boolean;
  nodeSelector: Record<string, string> | undefined;
  ports: string[] | undefined;
  group: string | undefined;
  /** Pods with equal requests share a class; it keys the per-node resource score cache. */
  requestClass: number;
}

/** The spread counts of the pod's group: per zone id and per node holding any of its pods. */
export interface GroupCounts {
  zones: Map<number, number> | undefined;
  nodes: Map<NodeState, number> | undefined;
}

const MAX_NODE_SCORE = 100;

/**
 * The per-pass lists the filter fills for the scorer: the feasible nodes' slots, their zone ids, and their resource
 * scores (LeastAllocated + BalancedAllocation), which the scorer turns into totals in place.
 */
export class Feasible {
  /** The scheduling pass these lists belong to (nodes found feasible carry it in `feasiblePass`). */
  pass = 0;
  slots = new Int32Array(0);
  zones = new Int32Array(0);
  totals = new Float64Array(0);
  /** Feasible nodes per zone id. */
  zoneCount = new Int32Array(0);

  ensure(n: number): void {
    if (this.slots.length < n) {
      this.slots = new Int32Array(n);
      this.zones = new Int32Array(n);
      this.totals = new Float64Array(n);
    }
    const limit = zoneIdLimit();
    if (this.zoneCount.length < limit) this.zoneCount = new Int32Array(2 * limit);
  }

  /** Start a pass: clear the zone counts. */
  begin(pass: number): void {
    this.pass = pass;
    this.ensure(0);
    this.zoneCount.fill(0, 0, zoneIdLimit());
  }
}

/** The resource scores of a feasible node, cached per node until its requests or the pod's request class change. */
export function resourceScore(d: Float64Array, base: number, p: PodInfo): number {
  if (d[base + F.scoreVersion] !== d[base + F.version] || d[base + F.scoreClass] !== p.requestClass) {
    d[base + F.scoreVersion] = d[base + F.version]!;
    d[base + F.scoreClass] = p.requestClass;
    d[base + F.score] = leastAllocated(d, base, p) + balancedAllocation(d, base, p);
  }
  return d[base + F.score]!;
}

export class Scorer {
  #zoneCount = new Int32Array(0);
  #zoneNorm = new Float64Array(0);
  #zoneRaw = new Float64Array(0);
  #taints = new Float64Array(0);
  readonly #marked: number[] = [];
  readonly #plan: SpreadPlan = { zoneNorm: this.#zoneNorm, marked: this.#marked };
  // State for the forEach callbacks below, which are made once.
  #d: Float64Array = new Float64Array(0);
  #pass = 0;
  #hostWeight = 0;
  #min = 0;
  #max = 0;
  readonly #takeZoneCount = (count: number, zoneId: number): void => {
    this.#zoneRaw[zoneId] = count;
  };
  readonly #takeGroupNode = (count: number, node: NodeState): void => {
    const d = this.#d;
    const base = node.slot * STRIDE;
    if (d[base + F.feasiblePass] !== this.#pass) return;
    const zoneId = d[base + F.zoneId]!;
    const raw = Math.round(count * this.#hostWeight + 2 + this.#zoneRaw[zoneId]!);
    if (raw < this.#min) this.#min = raw;
    if (raw > this.#max) this.#max = raw;
    this.#marked.push(node.slot, raw);
    this.#zoneCount[zoneId]!--;
  };

  /**
   * The slot of the best of the `m` feasible nodes; ties are broken uniformly at random with `rng`. Totals are
   * compared without TaintToleration's constant 3 × 100 when no node has PreferNoSchedule taints.
   *
   * PodTopologySpread normalizes over the minimum and maximum raw score of the feasible nodes. The raw score is
   * the same for every node of a zone without pods of the group, so it is worked out per zone, and individually
   * only for the group's own nodes (a Deployment's few replicas), which then get corrected in place.
   */
  select(
    d: Float64Array,
    states: readonly NodeState[],
    f: Feasible,
    m: number,
    p: PodInfo,
    anySoftTaints: boolean,
    group: GroupCounts | undefined,
    rng: Rng,
  ): number {
    const { slots, totals } = f;
    if (anySoftTaints) {
      if (this.#taints.length < m) this.#taints = new Float64Array(2 * m);
      const counts = this.#taints;
      let maxTaints = 0;
      for (let i = 0; i < m; i++) {
        let count = 0;
        for (const t of states[slots[i]!]!.softTaints) if (!tolerationsTolerate(p.tolerations, t)) count++;
        counts[i] = count;
        if (count > maxTaints) maxTaints = count;
      }
      // TaintToleration normalizes reversed: no intolerable taint scores 100.
      for (let i = 0; i < m; i++) {
        totals[i]! +=
          3 *
          (maxTaints === 0 ? MAX_NODE_SCORE : MAX_NODE_SCORE - Math.trunc((MAX_NODE_SCORE * counts[i]!) / maxTaints));
      }
    }
    let zoneNorm: Float64Array | undefined;
    if (group) {
      const plan = this.spread(d, f.zoneCount, m, group, f.pass);
      zoneNorm = plan.zoneNorm;
      // The group's own nodes: their score differs from their zone's; correct them in place.
      for (let k = 0; k < plan.marked.length; k += 2) {
        const base = plan.marked[k]! * STRIDE;
        totals[d[base + F.feasiblePos]!]! += 2 * (plan.marked[k + 1]! - zoneNorm[d[base + F.zoneId]!]!);
      }
    }
    const zoneOf = f.zones;
    let best = -1;
    let ties = 0;
    for (let i = 0; i < m; i++) {
      if (zoneNorm) totals[i]! += 2 * zoneNorm[zoneOf[i]!]!;
      const total = totals[i]!;
      if (total > best) {
        best = total;
        ties = 1;
      } else if (total === best) ties++;
    }
    let pick = ties > 1 ? rng.int(ties) : 0;
    for (let i = 0; i < m; i++) {
      if (totals[i] !== best) continue;
      if (pick-- === 0) return slots[i]!;
    }
    return slots[0]!;
  }

  /**
   * PodTopologySpread for one pass: the normalized score (0-100) of a node holding no pod of the group, per zone
   * id, and the group's own feasible nodes with theirs (`marked`: slot, score, slot, score, …). `zoneCount` holds
   * the feasible nodes per zone id; nodes count as feasible when their `feasiblePass` is `pass`.
   */
  spread(d: Float64Array, zoneCountIn: Int32Array, m: number, group: GroupCounts, pass: number): SpreadPlan {
    const limit = zoneIdLimit();
    if (this.#zoneCount.length < limit) {
      this.#zoneCount = new Int32Array(2 * limit);
      this.#zoneNorm = new Float64Array(2 * limit);
      this.#zoneRaw = new Float64Array(2 * limit);
      this.#plan.zoneNorm = this.#zoneNorm;
    }
    const zoneCount = this.#zoneCount;
    const zoneRaw = this.#zoneRaw;
    const zoneNorm = this.#zoneNorm;
    for (let z = 0; z < limit; z++) zoneCount[z] = zoneCountIn[z]!;
    zoneRaw.fill(0, 0, limit);
    // Topology sizes (topologyNormalizingWeight): every feasible node for hostname; the distinct zone values among
    // them for zone, nodes without the label counting as the value "".
    let zones = 0;
    for (let z = 0; z < limit; z++) if (zoneCount[z]! > 0) zones++;
    const hostWeight = Math.log(m + 2);
    const zoneWeight = Math.log(zones + 2);
    // forEach with a callback made once: no entry arrays or closures allocated on a path taken for every pod.
    group.zones?.forEach(this.#takeZoneCount);
    // scoreForCount: count × weight + (maxSkew - 1), for each constraint whose label the node has. zoneRaw becomes
    // the zone constraint's share; zoneNorm, for now, a group-free node's rounded raw score.
    for (let z = 0; z < limit; z++) {
      zoneRaw[z] = z === 0 ? 0 : zoneRaw[z]! * zoneWeight + 4;
      zoneNorm[z] = Math.round(2 + zoneRaw[z]!);
    }
    const marked = this.#marked;
    marked.length = 0;
    this.#d = d;
    this.#pass = pass;
    this.#hostWeight = hostWeight;
    this.#min = Number.POSITIVE_INFINITY;
    this.#max = 0;
    group.nodes?.forEach(this.#takeGroupNode);
    let min = this.#min;
    let max = this.#max;
    for (let z = 0; z < limit; z++) {
      if (zoneCount[z]! <= 0) continue;
      const raw = zoneNorm[z]!;
      if (raw < min) min = raw;
      if (raw > max) max = raw;
    }
    for (let z = 0; z < limit; z++) zoneNorm[z] = normalize(zoneNorm[z]!, min, max);
    for (let k = 1; k < marked.length; k += 2) marked[k] = normalize(marked[k]!, min, max);
    return this.#plan;
  }
}

/** PodTopologySpread's NormalizeScore: the lowest raw score gets 100, the highest max+min-max over max. */
function normalize(raw: number, min: number, max: number): number {
  return max === 0 ? MAX_NODE_SCORE : Math.trunc((MAX_NODE_SCORE * (max + min - raw)) / max);
}

/** See Scorer.spread. */
export interface SpreadPlan {
  zoneNorm: Float64Array;
  marked: number[];
}

/** LeastAllocated: free share of cpu and memory after adding the pod, 0-100, averaged (equal weights). */
function leastAllocated(d: Float64Array, base: number, p: PodInfo): number {
  const cpu = leastRequested(d[base + F.nonZeroCpu]! + p.nonZeroCpu, d[base + F.allocCpu]!);
  const mem = leastRequested(d[base + F.nonZeroMemory]! + p.nonZeroMemory, d[base + F.allocMemory]!);
  return Math.trunc((cpu + mem) / 2);
}

function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** BalancedAllocation: 100 × (1 - std) of the cpu and memory fractions, on actual requests. */
function balancedAllocation(d: Float64Array, base: number, p: PodInfo): number {
  const allocCpu = d[base + F.allocCpu]!;
  const allocMemory = d[base + F.allocMemory]!;
  // With two resources the standard deviation is half their difference; with one (or none) it is 0.
  if (allocCpu <= 0 || allocMemory <= 0) return MAX_NODE_SCORE;
  const cpu = Math.min(1, (d[base + F.reqCpu]! + p.cpu) / allocCpu);
  const mem = Math.min(1, (d[base + F.reqMemory]! + p.memory) / allocMemory);
  return Math.trunc((1 - Math.abs((cpu - mem) / 2)) * MAX_NODE_SCORE);
}

const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
const NO_VICTIMS = 'No preemption victims found for incoming pod';

/**
 * FitError.Error() followed by the DefaultPreemption PostFilter message: each part a histogram of reasons,
 * `<count> <reason>` sorted as strings. Preemption is "not helpful" on nodes rejected as unresolvable; elsewhere we
 * say no victims were found, as upstream does when no pod of lower priority could make room (we model one priority).
 */
export function fitError(n: number, reasons: Map<string, number>, notHelpful: number): string {
  const parts = [...reasons].map(([reason, count]) => `${count} ${reason}`).sort();
  const preemption: string[] = [];
  if (notHelpful > 0) preemption.push(`${notHelpful} ${NOT_HELPFUL}`);
  if (n - notHelpful > 0) preemption.push(`${n - notHelpful} ${NO_VICTIMS}`);
  preemption.sort();
  return `0/${n} nodes are available: ${parts.join(', ')}. preemption: 0/${n} nodes are available: ${preemption.join(', ')}.`;
}
