/**
 * An exact shortcut for the scheduler's common case, so 150,000 pods do not each scan 500 nodes.
 *
 * For one request class (pods asking for the same cpu and memory), a segment tree over the visiting order keeps,
 * per subtree: how many nodes the class fits on (untainted, schedulable, room for the pod) and, per zone, how many
 * and the best resource score (LeastAllocated + BalancedAllocation) among them. With it, the scheduler finds where
 * the search would stop, the feasible nodes per zone, the best score and the number of ties, and the k-th tie in
 * visiting order, each in O(zones × log nodes). A pod's own spread group (the few nodes holding its siblings) is
 * masked out and scored one by one. The scheduler uses it only when the scan would consider nothing else: a pod
 * without nodeSelector or host ports that tolerates none of the tainted or cordoned nodes, no PreferNoSchedule
 * taints anywhere, few zones. Binds refresh one leaf per live tree; node changes drop the trees.
 */
import { F, STRIDE } from './scheduler-nodes.js';
import { type PodInfo, resourceScore } from './scheduler-score.js';

/** Per-zone statistics over a range of positions, by local zone index. */
export interface ZoneStats {
  count: Int32Array;
  max: Float64Array;
  maxCount: Int32Array;
}

export class ClassTree {
  readonly requestClass: number;
  readonly zones: number;
  /** Local zone index → global zone id. */
  readonly zoneIds: Int32Array;
  readonly #p: PodInfo;
  readonly #order: Int32Array;
  readonly #n: number;
  readonly #size: number;
  readonly #local: Int32Array;
  readonly #count: Int32Array;
  readonly #zcount: Int32Array;
  readonly #max: Float64Array;
  readonly #maxCount: Int32Array;
  readonly #masked: Uint8Array;
  /** Scratch for findTie. */
  readonly #coverLeft: number[] = [];
  readonly #coverRight: number[] = [];

  constructor(d: Float64Array, order: Int32Array, zoneIds: number[], zoneIdLimit: number, p: PodInfo) {
    this.requestClass = p.requestClass;
    this.#p = p;
    this.#order = order;
    this.#n = order.length;
    let size = 1;
    while (size < this.#n) size *= 2;
    this.#size = size;
    this.zones = zoneIds.length;
    this.zoneIds = Int32Array.from(zoneIds);
    this.#local = new Int32Array(zoneIdLimit).fill(-1);
    zoneIds.forEach((id, i) => {
      this.#local[id] = i;
    });
    const Z = this.zones;
    this.#count = new Int32Array(2 * size);
    this.#zcount = new Int32Array(2 * size * Z);
    this.#max = new Float64Array(2 * size * Z).fill(-1);
    this.#maxCount = new Int32Array(2 * size * Z);
    this.#masked = new Uint8Array(size);
    for (let pos = 0; pos < this.#n; pos++) this.#leaf(d, pos);
    for (let v = size - 1; v >= 1; v--) this.#pull(v);
  }

  /** Feasible nodes in the whole order. */
  get total(): number {
    return this.#count[1]!;
  }

  isFeasible(pos: number): boolean {
    return this.#count[this.#size + pos] === 1;
  }

  /** A node's record changed: recompute its leaf. */
  refresh(d: Float64Array, pos: number): void {
    this.#leaf(d, pos);
    for (let v = (this.#size + pos) >> 1; v >= 1; v >>= 1) this.#pull(v);
  }

  /** Hide (or show again) a node's score from the per-zone maxima; it stays counted as feasible. */
  mask(d: Float64Array, pos: number, on: boolean): void {
    this.#masked[pos] = on ? 1 : 0;
    this.refresh(d, pos);
  }

  /** Feasible nodes at positions [0, pos). */
  prefixCount(pos: number): number {
    let sum = 0;
    for (let l = this.#size, r = this.#size + pos; l < r; l >>= 1, r >>= 1) {
      if (l & 1) sum += this.#count[l++]!;
      if (r & 1) sum += this.#count[--r]!;
    }
    return sum;
  }

  /** The position of the k-th feasible node (1-based) in the whole order. */
  kth(k: number): number {
    let v = 1;
    while (v < this.#size) {
      const left = this.#count[2 * v]!;
      if (k <= left) v = 2 * v;
      else {
        k -= left;
        v = 2 * v + 1;
      }
    }
    return v - this.#size;
  }

  /** Add the per-zone statistics of positions [a, b) into `out`. */
  stats(a: number, b: number, out: ZoneStats): void {
    for (let l = this.#size + a, r = this.#size + b; l < r; l >>= 1, r >>= 1) {
      if (l & 1) this.#merge(l++, out);
      if (r & 1) this.#merge(--r, out);
    }
  }

  /** Nodes in [a, b) whose zone z has a target and whose score equals it (target[z] < 0: zone not wanted). */
  ties(a: number, b: number, target: Float64Array): number {
    let sum = 0;
    for (let l = this.#size + a, r = this.#size + b; l < r; l >>= 1, r >>= 1) {
      if (l & 1) sum += this.#ties(l++, target);
      if (r & 1) sum += this.#ties(--r, target);
    }
    return sum;
  }

  /** The position of the k-th (0-based) tie in [a, b), in position order; k must be below `ties(a, b, target)`. */
  findTie(a: number, b: number, k: number, target: Float64Array): number {
    // The range's canonical nodes in position order: the left ones as found, then the right ones reversed.
    const left = this.#coverLeft;
    const right = this.#coverRight;
    left.length = 0;
    right.length = 0;
    for (let l = this.#size + a, r = this.#size + b; l < r; l >>= 1, r >>= 1) {
      if (l & 1) left.push(l++);
      if (r & 1) right.push(--r);
    }
    const count = left.length + right.length;
    for (let i = 0; i < count; i++) {
      const v = i < left.length ? left[i]! : right[count - 1 - i]!;
      const c = this.#ties(v, target);
      if (k >= c) {
        k -= c;
        continue;
      }
      let u = v;
      while (u < this.#size) {
        const c0 = this.#ties(2 * u, target);
        if (k < c0) u = 2 * u;
        else {
          k -= c0;
          u = 2 * u + 1;
        }
      }
      return u - this.#size;
    }
    return -1;
  }

  #ties(v: number, target: Float64Array): number {
    let sum = 0;
    const base = v * this.zones;
    for (let z = 0; z < this.zones; z++) {
      const t = target[z]!;
      if (t >= 0 && this.#max[base + z] === t) sum += this.#maxCount[base + z]!;
    }
    return sum;
  }

  #merge(v: number, out: ZoneStats): void {
    const base = v * this.zones;
    for (let z = 0; z < this.zones; z++) {
      out.count[z]! += this.#zcount[base + z]!;
      const max = this.#max[base + z]!;
      if (max < 0) continue;
      if (max > out.max[z]!) {
        out.max[z] = max;
        out.maxCount[z] = this.#maxCount[base + z]!;
      } else if (max === out.max[z]) out.maxCount[z]! += this.#maxCount[base + z]!;
    }
  }

  #leaf(d: Float64Array, pos: number): void {
    const v = this.#size + pos;
    const Z = this.zones;
    const zb = v * Z;
    this.#zcount.fill(0, zb, zb + Z);
    this.#max.fill(-1, zb, zb + Z);
    this.#maxCount.fill(0, zb, zb + Z);
    const base = this.#order[pos]! * STRIDE;
    const p = this.#p;
    // The scheduler's fast filter path, for this class's requests.
    const fits =
      d[base + F.plain] === 1 &&
      d[base + F.pods]! < d[base + F.allowedPods]! &&
      (p.cpu <= 0 || p.cpu <= d[base + F.allocCpu]! - d[base + F.reqCpu]!) &&
      (p.memory <= 0 || p.memory <= d[base + F.allocMemory]! - d[base + F.reqMemory]!);
    this.#count[v] = fits ? 1 : 0;
    if (!fits) return;
    const z = this.#local[d[base + F.zoneId]!]!;
    this.#zcount[zb + z] = 1;
    if (this.#masked[pos]) return;
    this.#max[zb + z] = resourceScore(d, base, p);
    this.#maxCount[zb + z] = 1;
  }

  #pull(v: number): void {
    const l = 2 * v;
    const r = l + 1;
    this.#count[v] = this.#count[l]! + this.#count[r]!;
    const Z = this.zones;
    for (let z = 0; z < Z; z++) {
      const i = v * Z + z;
      const li = l * Z + z;
      const ri = r * Z + z;
      this.#zcount[i] = this.#zcount[li]! + this.#zcount[ri]!;
      const lm = this.#max[li]!;
      const rm = this.#max[ri]!;
      const m = Math.max(lm, rm);
      this.#max[i] = m;
      this.#maxCount[i] = m < 0 ? 0 : (lm === m ? this.#maxCount[li]! : 0) + (rm === m ? this.#maxCount[ri]! : 0);
    }
  }
}
