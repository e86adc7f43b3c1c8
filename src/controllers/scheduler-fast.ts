/**
 * The scheduler's fast path: the same decision as filtering and scoring node by node, found with per-request-class
 * segment trees (ClassTree) in O(zones × log nodes). It answers only when it can answer exactly as the scan would;
 * otherwise it returns undefined and the scheduler scans.
 */
import type { Rng } from '../util/rng.js';
import { F, type NodeState, STRIDE, zoneIdLimit } from './scheduler-nodes.js';
import { type GroupCounts, type PodInfo, resourceScore, type Scorer } from './scheduler-score.js';
import { ClassTree, type ZoneStats } from './scheduler-tree.js';
import { tolerationsTolerate } from './scheduling-rules.js';

/** Trees kept at once, most recently used first. */
const MAX_TREES = 4;
/** Zones beyond which per-zone statistics stop paying for themselves. */
const MAX_ZONES = 8;

export interface FastPathOptions {
  /** Smaller clusters are scanned (default 200 nodes). */
  minNodes?: number;
  /** A request class gets a tree once this many pods of it were scheduled (default 4). */
  minUses?: number;
}

export interface FastQuery {
  d: Float64Array;
  order: Int32Array;
  /** Slot → position in `order` (-1 when not in it). */
  posOf: Int32Array;
  states: readonly NodeState[];
  p: PodInfo;
  want: number;
  start: number;
  pass: number;
  group: GroupCounts | undefined;
  scorer: Scorer;
  rng: Rng;
}

/** The positions the scan would visit: [a0, b0) then [a1, b1). */
class Window {
  a0 = 0;
  b0 = 0;
  a1 = 0;
  b1 = 0;

  set(a0: number, b0: number, a1: number, b1: number): void {
    this.a0 = a0;
    this.b0 = b0;
    this.a1 = a1;
    this.b1 = b1;
  }

  has(pos: number): boolean {
    return (pos >= this.a0 && pos < this.b0) || (pos >= this.a1 && pos < this.b1);
  }
}

export class FastPath {
  readonly #minNodes: number;
  readonly #minUses: number;
  #trees: ClassTree[] = [];
  readonly #uses = new Map<number, number>();
  #zoneIds: number[] | undefined;
  #nonPlain: NodeState[] = [];
  #tolerates = new WeakMap<object, boolean>();
  #noTolerationsTolerates: boolean | undefined;
  // Buffers reused by every query.
  readonly #window = new Window();
  readonly #stats: ZoneStats[] = [];
  readonly #target = new Float64Array(MAX_ZONES);
  readonly #marked: number[] = [];
  readonly #markedTotal: number[] = [];
  readonly #markedNorm = new Map<number, number>();
  readonly #markedTies: number[] = [];
  #zoneCount = new Int32Array(0);

  constructor(options: FastPathOptions = {}) {
    this.#minNodes = options.minNodes ?? 200;
    this.#minUses = options.minUses ?? 4;
  }

  /** The visiting order changed (nodes added, removed or updated): every tree is stale. */
  reset(order: Int32Array, states: readonly NodeState[], d: Float64Array): void {
    this.#trees = [];
    // Which pods tolerate which tainted nodes depends on the nodes: forget it.
    this.#tolerates = new WeakMap();
    this.#noTolerationsTolerates = undefined;
    this.#nonPlain = [];
    const zones = new Set<number>();
    for (const slot of order) {
      zones.add(d[slot * STRIDE + F.zoneId]!);
      if (d[slot * STRIDE + F.plain] !== 1) this.#nonPlain.push(states[slot]!);
    }
    this.#zoneIds = zones.size <= MAX_ZONES ? [...zones].sort((a, b) => a - b) : undefined;
  }

  /** A node's record changed (a pod bound or unbound). */
  refresh(d: Float64Array, pos: number): void {
    if (pos < 0) return;
    for (const tree of this.#trees) tree.refresh(d, pos);
  }

  /**
   * The chosen slot and how many nodes the scan would have visited; undefined when the scan must decide (an
   * ineligible pod or cluster, or no feasible node, whose reasons only the scan collects).
   */
  schedule(q: FastQuery, anySoftTaints: boolean): { slot: number; checked: number } | undefined {
    const { order, p, want } = q;
    const n = order.length;
    if (n < this.#minNodes || anySoftTaints || !this.#zoneIds || p.nodeSelector || p.ports) return undefined;
    if (this.#toleratesAnyNonPlain(p)) return undefined;
    const tree = this.#tree(q);
    if (!tree || tree.total === 0) return undefined;
    // Where the scan would stop: at the want-th feasible node from the start, wrapping around once. The window is
    // [a0, b0) then [a1, b1) (empty when it does not wrap).
    const s = q.start;
    const before = tree.prefixCount(s);
    const after = tree.total - before;
    const w = this.#window;
    let checked: number;
    if (after >= want) {
      const e = tree.kth(before + want);
      w.set(s, e + 1, 0, 0);
      checked = e - s + 1;
    } else if (tree.total >= want) {
      const e = tree.kth(want - after);
      w.set(s, n, 0, e + 1);
      checked = n - s + e + 1;
    } else {
      w.set(s, n, 0, s);
      checked = n;
    }
    if (Math.min(want, tree.total) === 1) {
      // One feasible node: the scan returns it without scoring (and without drawing a tie-break).
      const first = tree.prefixCount(w.a0) < tree.prefixCount(w.b0) ? w.a0 : w.a1;
      return { slot: order[tree.kth(tree.prefixCount(first) + 1)]!, checked };
    }
    return { slot: order[this.#choose(q, tree, s, n)]!, checked };
  }

  /** Score the window from the tree and pick the winner's position. */
  #choose(q: FastQuery, tree: ClassTree, s: number, n: number): number {
    const { d, order, p, pass } = q;
    const w = this.#window;
    const Z = tree.zones;
    const m = Math.min(q.want, tree.total);
    const stats = this.#statsFor(Z);
    tree.stats(w.a0, w.b0, stats);
    tree.stats(w.a1, w.b1, stats);
    // The pod's siblings' nodes inside the window are scored one by one, masked out of the tree meanwhile.
    const marked = this.#marked;
    marked.length = 0;
    if (q.group?.nodes) {
      for (const node of q.group.nodes.keys()) {
        const pos = q.posOf[node.slot]!;
        if (pos < 0 || !w.has(pos) || !tree.isFeasible(pos)) continue;
        d[node.slot * STRIDE + F.feasiblePass] = pass;
        marked.push(pos);
      }
    }
    let zoneNorm: Float64Array | undefined;
    const markedNorm = this.#markedNorm;
    // Map.clear allocates a fresh table even when empty, which it mostly is.
    if (markedNorm.size > 0) markedNorm.clear();
    if (q.group) {
      const limit = zoneIdLimit();
      if (this.#zoneCount.length < limit) this.#zoneCount = new Int32Array(2 * limit);
      const zoneCount = this.#zoneCount;
      zoneCount.fill(0, 0, limit);
      for (let z = 0; z < Z; z++) zoneCount[tree.zoneIds[z]!] = stats.count[z]!;
      const plan = q.scorer.spread(d, zoneCount, m, q.group, pass);
      zoneNorm = plan.zoneNorm;
      for (let k = 0; k < plan.marked.length; k += 2) markedNorm.set(plan.marked[k]!, plan.marked[k + 1]!);
    }
    for (const pos of marked) tree.mask(d, pos, true);
    try {
      const zoneMax = this.#statsFor(Z, 1);
      tree.stats(w.a0, w.b0, zoneMax);
      tree.stats(w.a1, w.b1, zoneMax);
      const target = this.#target;
      let best = -1;
      for (let z = 0; z < Z; z++) {
        target[z] = zoneMax.max[z]! < 0 ? -1 : zoneMax.max[z]! + (zoneNorm ? 2 * zoneNorm[tree.zoneIds[z]!]! : 0);
        if (target[z]! > best) best = target[z]!;
      }
      const markedTotal = this.#markedTotal;
      markedTotal.length = 0;
      for (const pos of marked) {
        const slot = order[pos]!;
        const total = resourceScore(d, slot * STRIDE, p) + (zoneNorm ? 2 * markedNorm.get(slot)! : 0);
        markedTotal.push(total);
        if (total > best) best = total;
      }
      // target[z]: the score a tie in zone z has (its zone maximum), or -1 when zone z holds no tie.
      let ties = 0;
      for (let z = 0; z < Z; z++) {
        if (target[z] === best) {
          target[z] = zoneMax.max[z]!;
          ties += zoneMax.maxCount[z]!;
        } else target[z] = -1;
      }
      // Ties among the siblings' nodes, in window order (rank: distance from the window's start).
      const markedTies = this.#markedTies;
      markedTies.length = 0;
      for (let i = 0; i < marked.length; i++) if (markedTotal[i] === best) markedTies.push(marked[i]!);
      if (markedTies.length > 1) markedTies.sort((x, y) => windowRank(x, s, n) - windowRank(y, s, n));
      ties += markedTies.length;
      const pick = ties > 1 ? q.rng.int(ties) : 0;
      for (let i = 0; i < markedTies.length; i++) {
        const treeTiesBefore = this.#tiesBefore(tree, markedTies[i]!, target);
        if (pick < treeTiesBefore + i) return this.#findTie(tree, pick - i, target);
        if (pick === treeTiesBefore + i) return markedTies[i]!;
      }
      return this.#findTie(tree, pick - markedTies.length, target);
    } finally {
      for (const pos of marked) tree.mask(d, pos, false);
    }
  }

  /** Ties in the window before position `pos` (which is in the window). */
  #tiesBefore(tree: ClassTree, pos: number, target: Float64Array): number {
    const w = this.#window;
    if (pos >= w.a0 && pos < w.b0) return tree.ties(w.a0, pos, target);
    return tree.ties(w.a0, w.b0, target) + tree.ties(w.a1, pos, target);
  }

  /** The k-th tie of the window, in window order. */
  #findTie(tree: ClassTree, k: number, target: Float64Array): number {
    const w = this.#window;
    const first = tree.ties(w.a0, w.b0, target);
    return k < first ? tree.findTie(w.a0, w.b0, k, target) : tree.findTie(w.a1, w.b1, k - first, target);
  }

  #statsFor(zones: number, which = 0): ZoneStats {
    let stats = this.#stats[which];
    if (!stats || stats.count.length < zones) {
      stats = {
        count: new Int32Array(MAX_ZONES),
        max: new Float64Array(MAX_ZONES),
        maxCount: new Int32Array(MAX_ZONES),
      };
      this.#stats[which] = stats;
    }
    // Only the first `zones` entries are read.
    stats.count.fill(0, 0, zones);
    stats.max.fill(-1, 0, zones);
    stats.maxCount.fill(0, 0, zones);
    return stats;
  }

  /** Whether the pod tolerates some tainted or cordoned node (then the scan must look at those nodes). */
  #toleratesAnyNonPlain(p: PodInfo): boolean {
    if (this.#nonPlain.length === 0) return false;
    if (!p.tolerations) {
      this.#noTolerationsTolerates ??= this.#checkTolerates(p);
      return this.#noTolerationsTolerates;
    }
    // Pods of one template share their tolerations array: one check per template.
    let result = this.#tolerates.get(p.tolerations);
    if (result === undefined) {
      result = this.#checkTolerates(p);
      this.#tolerates.set(p.tolerations, result);
    }
    return result;
  }

  /** The check behind #toleratesAnyNonPlain (a method, not a closure made on every call: this runs per pod). */
  #checkTolerates(p: PodInfo): boolean {
    return this.#nonPlain.some(
      (node) =>
        (!node.unschedulable || p.toleratesUnschedulable) &&
        node.hardTaints.every((t) => tolerationsTolerate(p.tolerations, t)),
    );
  }

  #tree(q: FastQuery): ClassTree | undefined {
    const cls = q.p.requestClass;
    const i = this.#trees.findIndex((t) => t.requestClass === cls);
    if (i >= 0) {
      const tree = this.#trees[i]!;
      if (i > 0) {
        this.#trees.splice(i, 1);
        this.#trees.unshift(tree);
      }
      return tree;
    }
    const uses = (this.#uses.get(cls) ?? 0) + 1;
    this.#uses.set(cls, uses);
    if (uses < this.#minUses) return undefined;
    const tree = new ClassTree(q.d, q.order, this.#zoneIds!, zoneIdLimit(), q.p);
    this.#trees.unshift(tree);
    if (this.#trees.length > MAX_TREES) this.#trees.pop();
    return tree;
  }
}

/** How far after the window's start `s` position `pos` comes, in an order of `n` positions that wraps. */
function windowRank(pos: number, s: number, n: number): number {
  return pos >= s ? pos - s : pos + n - s;
}
