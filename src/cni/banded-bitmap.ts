/**
 * kube-apiserver's allocation bitmap (pkg/registry/core/service/allocator, `NewAllocationMapWithOffset`) with the
 * KEP-3070 random scan: items `[0, offset)` form the lower ("static") band, `[offset, max)` the upper band.
 * Dynamic allocation starts at a random item of the upper band and scans forward (wrapping inside that band); only
 * when the upper band is full does it start at a random item of the lower band and scan that. Explicit requests may
 * take any item. ClusterIPs and NodePorts both sit on this, with their own offsets.
 *
 * Items live in a Set rather than a bit array: ranges can be large (a /12 has a million addresses) while the number
 * taken stays small.
 */
import type { Journal } from '../model/journal.js';
import { Rng } from '../util/rng.js';

export class BandedBitmap {
  /** Number of items; valid items are `0 .. max-1`. */
  readonly max: number;
  /** Size of the lower band: dynamic allocation prefers items `>= offset`. */
  readonly offset: number;
  readonly #rng: Rng;
  readonly #taken = new Set<number>();

  constructor(max: number, offset: number, rng: Rng) {
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`bitmap size ${max} is not a whole number`);
    if (offset < 0 || offset > max) throw new RangeError(`band offset ${offset} is outside 0..${max}`);
    this.max = max;
    this.offset = offset;
    this.#rng = rng;
  }

  /** How many items are taken. */
  get count(): number {
    return this.#taken.size;
  }

  has(item: number): boolean {
    return this.#taken.has(item);
  }

  /** Take a given item; false when it is already taken. The caller checks `0 <= item < max`. */
  allocate(item: number, journal: Journal): boolean {
    if (this.#taken.has(item)) return false;
    this.#taken.add(item);
    journal.record(() => this.#taken.delete(item));
    return true;
  }

  /**
   * Take a random free item, upper band first; `undefined` when full. No random number is drawn when full, as
   * upstream checks the count first. The undo step also rewinds the random stream, so a rolled-back batch leaves
   * the next choice exactly as it would have been.
   */
  allocateNext(journal: Journal): number | undefined {
    if (this.#taken.size >= this.max) return undefined;
    const before = snapshot(this.#rng);
    const item = this.#scan(this.offset, this.max - this.offset) ?? this.#scan(0, this.offset);
    // count < max guarantees a free item in one of the two bands
    if (item === undefined) throw new Error('bitmap count and contents disagree');
    this.#taken.add(item);
    journal.record(() => {
      this.#taken.delete(item);
      this.#rng.restore(before);
    });
    return item;
  }

  /** Free an item; false (and nothing recorded) when it was not taken. */
  release(item: number, journal: Journal): boolean {
    if (!this.#taken.delete(item)) return false;
    journal.record(() => this.#taken.add(item));
    return true;
  }

  /** Taken items in ascending order. */
  items(): number[] {
    return [...this.#taken].sort((a, b) => a - b);
  }

  /** Start at a random item of the band `[first, first+length)` and scan forward, wrapping inside the band. */
  #scan(first: number, length: number): number | undefined {
    if (length <= 0) return undefined;
    const start = this.#rng.int(length);
    for (let i = 0; i < length; i++) {
      const item = first + ((start + i) % length);
      if (!this.#taken.has(item)) return item;
    }
    return undefined;
  }
}

/**
 * A copy of the stream's current state. `Rng.clone()` would be the natural call, but it currently throws (it writes
 * a #private field onto an object made with Object.create); `restore` copies state between real instances.
 */
function snapshot(rng: Rng): Rng {
  const copy = new Rng(0);
  copy.restore(rng);
  return copy;
}
