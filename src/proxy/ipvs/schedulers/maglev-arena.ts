/**
 * Where an engine's mh schedulers keep their lookup tables: every table in one byte buffer, every table's destination
 * list in one array, each scheduler holding offsets into them.
 *
 * Why: at 10,000 virtual servers each table is somewhere else in memory, so a new flow's lookup misses the cache at
 * each step it takes. With a typed array and a destination array per scheduler those steps were the scheduler, its
 * table's typed-array object, the table byte, its destination array object, that array's elements, and the
 * destination. Here the buffer and array objects are shared by every scheduler, so they stay in cache, and two of
 * those misses are gone.
 *
 * A table takes a block of `size` bytes and holds destination numbers below 255 (a wider table stays with its
 * scheduler). A destination list takes a run of a power-of-two length (16 to 256 entries): the destinations, then
 * `undefined` at the number an empty slot has. Blocks and runs given back are reused, and a run given back is cleared
 * so no retired destination stays reachable from here.
 */
import type { Dest } from './types.js';

/** The most destinations a table in the arena numbers: 0..253, and 254 for an empty slot (`compactTable`'s byte bound). */
export const ARENA_MAX_DESTS = 0xfe;
/** Shortest run: small lists share a length class, so runs given back fit the next list of that class. */
const MIN_RUN_BITS = 4;

export class MaglevArena {
  /** Bytes per table: the lookup table size M. */
  readonly size: number;
  /** The tables, `size` bytes each. Replaced when it grows: read it through the arena on every lookup. */
  bytes: Uint8Array;
  /** The destination runs. */
  readonly dests: (Dest | undefined)[] = [];
  /** The same runs as destination numbers (`Dest.id`, -1 for none), for lookups that reach no object (vs-table.ts). */
  readonly ids: number[] = [];
  #blocks = 0;
  readonly #freeBlocks: number[] = [];
  /** Runs given back, by length class (log2 of the run's length). */
  readonly #freeRuns: number[][] = [];
  #tablesInUse = 0;

  /** Room for one table at first: the buffer doubles as tables are taken. */
  constructor(size: number) {
    this.size = size;
    this.bytes = new Uint8Array(size);
  }

  /** Tables taken and not given back. */
  get tablesInUse(): number {
    return this.#tablesInUse;
  }

  /** Take a table block; returns the offset of its first byte. */
  takeTable(): number {
    this.#tablesInUse++;
    const reused = this.#freeBlocks.pop();
    if (reused !== undefined) return reused;
    const at = this.#blocks * this.size;
    this.#blocks++;
    if (at + this.size > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    return at;
  }

  giveTable(at: number): void {
    this.#tablesInUse--;
    this.#freeBlocks.push(at);
  }

  /** Take a run of at least `length` (≤ 256) destination entries; returns its first index. */
  takeRun(length: number): number {
    const bits = runBits(length);
    const reused = this.#freeRuns[bits]?.pop();
    if (reused !== undefined) return reused;
    const at = this.dests.length;
    for (let k = 0; k < 1 << bits; k++) {
      this.dests.push(undefined);
      this.ids.push(-1);
    }
    return at;
  }

  /** Give back the run at `at` taken for `length` entries, clearing it. */
  giveRun(at: number, length: number): void {
    const bits = runBits(length);
    this.dests.fill(undefined, at, at + (1 << bits));
    this.ids.fill(-1, at, at + (1 << bits));
    let free = this.#freeRuns[bits];
    if (free === undefined) {
      free = [];
      this.#freeRuns[bits] = free;
    }
    free.push(at);
  }
}

/** The length class of a run of `length` entries: log2 of the power of two it takes. */
function runBits(length: number): number {
  return Math.max(MIN_RUN_BITS, 32 - Math.clz32(Math.max(1, length) - 1));
}
