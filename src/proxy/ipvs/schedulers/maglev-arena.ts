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
 * A table holds destination numbers: below 255 (a wider table stays with its scheduler), a byte per slot; below 16,
 * the common case of a Service with up to 15 endpoints, a table is packed two slots to a byte (`packed`), so 10,000
 * tables of M = 4093 take 20 MB, not 41: the one read a new flow makes in them misses the processor's cache less
 * often. A destination list takes a run of a power-of-two length (16 to 256 entries): the destinations, then
 * `undefined` at the number an empty slot has. Blocks and runs given back are reused, and a run given back is cleared
 * so no retired destination stays reachable from here.
 */
import type { Dest } from './types.js';

/** The most destinations a table in the arena numbers: 0..253, and 254 for an empty slot (`compactTable`'s byte bound). */
export const ARENA_MAX_DESTS = 0xfe;
/** The most destinations a packed table numbers: 0..14, and 15 for an empty slot (a half byte). */
export const PACKED_MAX_DESTS = 15;
/** Shortest run: small lists share a length class, so runs given back fit the next list of that class. */
const MIN_RUN_BITS = 4;

export class MaglevArena {
  /** Slots per table: the lookup table size M. */
  readonly size: number;
  /** The tables, `size` bytes each, or half that packed. Replaced when it grows: read it through the arena. */
  bytes: Uint8Array;
  /** The destination runs. */
  readonly dests: (Dest | undefined)[] = [];
  /** The same runs as destination numbers (`Dest.id`, -1 for none), for lookups that reach no object (vs-table.ts). */
  readonly ids: number[] = [];
  /** Bytes given out so far (blocks of either width, end to end). */
  #end = 0;
  /** Blocks given back: byte-per-slot ones, then packed ones. */
  readonly #freeBlocks: [number[], number[]] = [[], []];
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

  /** Bytes a table takes: `size`, or half of it rounded up when `packed`. */
  blockBytes(packed: boolean): number {
    return packed ? (this.size + 1) >> 1 : this.size;
  }

  /** Take a table block, two slots to a byte when `packed`; returns the offset of its first byte. */
  takeTable(packed = false): number {
    this.#tablesInUse++;
    const reused = this.#freeBlocks[packed ? 1 : 0].pop();
    if (reused !== undefined) return reused;
    const at = this.#end;
    this.#end += this.blockBytes(packed);
    if (this.#end > this.bytes.length) {
      let length = this.bytes.length * 2;
      while (length < this.#end) length *= 2;
      const grown = new Uint8Array(length);
      grown.set(this.bytes);
      this.bytes = grown;
    }
    return at;
  }

  /** Give back the block at `at`, taken with the same `packed`. */
  giveTable(at: number, packed = false): void {
    this.#tablesInUse--;
    this.#freeBlocks[packed ? 1 : 0].push(at);
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

/**
 * The destination number in slot `slot` of the table at byte `block` of `bytes`: its byte, or when the table is
 * `packed`, its half byte (even slots in the low half).
 */
export function slotAt(bytes: Uint8Array, block: number, slot: number, packed: boolean): number {
  return packed ? (bytes[block + (slot >> 1)]! >> ((slot & 1) << 2)) & 15 : bytes[block + slot]!;
}

/** The length class of a run of `length` entries: log2 of the power of two it takes. */
function runBits(length: number): number {
  return Math.max(MIN_RUN_BITS, 32 - Math.clz32(Math.max(1, length) - 1));
}
