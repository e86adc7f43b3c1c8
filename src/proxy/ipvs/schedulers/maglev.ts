/**
 * Maglev hashing (Eisenbud et al., NSDI 2016, §3.4) as `ip_vs_mh.c` implements it.
 *
 * Lookup table: prime size M = primes[CONFIG_IP_VS_MH_TAB_INDEX − 8] from {251, 509, 1021, 2039, 4093, 8191,
 * 16381, 32749, 65521, 131071}; the default index 12 gives M = 4093.
 *
 * Permutation of destination i: with v = port + address (u32; IPv6 addresses XOR-folded to 32 bits),
 * `offset = hsiphash(v, key1) mod M`, `skip = hsiphash(v, key2) mod (M − 1) + 1`; preference j is
 * `(offset + j·skip) mod M`. The keys are fixed constants (2654435761 and 2654446892 in both key words), so the
 * permutations are the same on every node.
 *
 * Weights: every destination's `last_weight` (latest non-zero weight) is divided by the gcd of the positive ones and
 * shifted right by `max(0, fls(max/gcd) − 6)`; a non-zero weight never rounds to 0 turns. Population walks the list
 * in order, each destination claiming `turns` preferred free slots per round, until all M slots are taken.
 *
 * Packet lookup: `hsiphash(srcIP + srcPort, key1) mod M`, the port only with the mh-port flag (kube-proxy sets it for
 * mh). A slot whose destination has weight 0 or is overloaded yields "no destination" unless mh-fallback is set,
 * which probes `hsiphash(srcIP + srcPort + roffset, key1)` for successive offsets.
 */

import { InvalidArgumentError } from '../../../errors.js';
import { type HsipKey, hsiphashU32, smallKey, srcFoldOf } from './hash.js';
import { ARENA_MAX_DESTS, MaglevArena, PACKED_MAX_DESTS, slotAt } from './maglev-arena.js';
import type { Dest, DestChange, SchedPacket, Scheduler, SchedulerOptions } from './types.js';
import { DestFlags, SvcFlags } from './types.js';

export const MH_PRIMES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
export const MH_DEFAULT_TAB_INDEX = 12;
/** `IP_VS_MH_TAB_BITS` = CONFIG_IP_VS_MH_TAB_INDEX / 2 (integer division): max turns stay within that many bits. */
function mhTabBits(tabIndex: number): number {
  return Math.trunc(tabIndex / 2);
}
export const MH_KEY1: HsipKey = smallKey(2654435761, 2654435761);
export const MH_KEY2: HsipKey = smallKey(2654446892, 2654446892);

/** Table size for a CONFIG_IP_VS_MH_TAB_INDEX value (8..17). */
export function mhTableSize(tabIndex = MH_DEFAULT_TAB_INDEX): number {
  const m = MH_PRIMES[tabIndex - 8];
  if (m === undefined) throw new InvalidArgumentError(`CONFIG_IP_VS_MH_TAB_INDEX must be 8..17, got ${tabIndex}`);
  return m;
}

/** One backend's place in the population: its permutation and how many slots it claims per round. */
export interface MaglevBackend {
  offset: number;
  skip: number;
  turns: number;
}

/**
 * Fill a table of `size` slots with backend indices (the population loop of the paper and of ip_vs_mh_populate).
 * Returns all −1 when no backend has a turn.
 */
export function populateMaglev(backends: readonly MaglevBackend[], size: number): Int32Array {
  const table = new Int32Array(size).fill(-1);
  if (!backends.some((b) => b.turns > 0)) return table;
  const next = backends.map((b) => b.offset);
  let n = 0;
  for (;;) {
    for (let i = 0; i < backends.length; i++) {
      const b = backends[i]!;
      for (let t = 0; t < b.turns; t++) {
        let c = next[i]!;
        while (table[c] !== -1) {
          c += b.skip;
          if (c >= size) c -= size;
        }
        next[i] = c;
        table[c] = i;
        if (++n === size) return table;
      }
    }
  }
}

/** The kernel's `ip_vs_mh_hashkey`: hsiphash of `offset + port + folded address` as one u32. */
export function mhHashKey(fold: number, port: number, key: HsipKey, offset = 0): number {
  return hsiphashU32((offset + port + fold) >>> 0, key);
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Turns per destination from their last weights (gcd reduction, then the IP_VS_MH_TAB_BITS shift: 6 by default). */
export function mhTurns(lastWeights: readonly number[], tabIndex = MH_DEFAULT_TAB_INDEX): number[] {
  let g = 0;
  let max = 0;
  for (const w of lastWeights) {
    if (w > 0) g = g > 0 ? gcd(w, g) : w;
    if (w > max) max = w;
  }
  if (g < 1) return lastWeights.map(() => 0);
  const shift = Math.max(0, 32 - Math.clz32(Math.trunc(max / g)) - mhTabBits(tabIndex));
  return lastWeights.map((w) => Math.trunc(w / g) >> shift || (w !== 0 ? 1 : 0));
}

/** Maglev backends for a destination list, in list order. */
export function mhBackends(dests: readonly Dest[], size: number, tabIndex = MH_DEFAULT_TAB_INDEX): MaglevBackend[] {
  const turns = mhTurns(
    dests.map((d) => d.lastWeight),
    tabIndex,
  );
  return dests.map((d, i) => ({
    offset: mhHashKey(d.fold, d.port, MH_KEY1) % size,
    skip: (mhHashKey(d.fold, d.port, MH_KEY2) % (size - 1)) + 1,
    turns: turns[i]!,
  }));
}

const NOT_BUILT = new Uint8Array(0);

/** A lookup table as it is kept: destination numbers in the narrowest unsigned type that holds them and "empty". */
type SlotTable = Uint8Array | Uint16Array | Uint32Array;

/**
 * The table `populateMaglev` filled, with its empty slots (−1) numbered `count` (one past the last destination), in
 * the narrowest type that holds that number. Why: memory. At 10,000 Services the Int32 tables took 16 KB each, 176 MB
 * in all; a virtual server of up to 254 destinations keeps a quarter of that, of up to 15 an eighth. Such tables live
 * in the engine's arena (maglev-arena.ts); this form is for wider ones.
 */
export function compactTable(table: Int32Array, count: number): SlotTable {
  const compact =
    count < 0xff
      ? new Uint8Array(table.length)
      : count < 0xffff
        ? new Uint16Array(table.length)
        : new Uint32Array(table.length);
  writeSlots(table, count, compact, 0);
  return compact;
}

/** Write `table` into `into` from `at`, its empty slots (−1) numbered `count`. */
function writeSlots(table: Int32Array, count: number, into: SlotTable, at: number): void {
  for (let k = 0; k < table.length; k++) {
    const i = table[k]!;
    into[at + k] = i < 0 ? count : i;
  }
}

/** `writeSlots` two slots to a byte (`slotAt`'s packed form), for `count` ≤ PACKED_MAX_DESTS. */
function writePackedSlots(table: Int32Array, count: number, into: Uint8Array, at: number): void {
  for (let k = 0; k < table.length; k += 2) {
    const low = table[k]!;
    const high = k + 1 < table.length ? table[k + 1]! : 0;
    into[at + (k >> 1)] = (low < 0 ? count : low) | ((high < 0 ? count : high) << 4);
  }
}

/**
 * Where an mh scheduler says where its table is while it is in an arena and current (vs-table.ts keeps it in the
 * virtual server's row): `block` and `run` as `MaglevArena.takeTable`/`takeRun` gave them, -1 when there is none;
 * `packed`: two slots to a byte (`slotAt`).
 */
export interface TableCell {
  publish(arena: MaglevArena, block: number, run: number, packed: boolean): void;
}

/** The slot a source (folded address, port: 0 without mh-port) hashes to in a table of `size` slots. */
export function mhSlot(fold: number, port: number, size: number, offset = 0): number {
  return mhHashKey(fold, port, MH_KEY1, offset) % size;
}

/** Maglev hashing scheduler. */
export class MaglevHash implements Scheduler {
  readonly name = 'mh' as const;
  readonly size: number;
  readonly #tabIndex: number;
  readonly #flags: number;
  /** Where the table and its destinations are kept while they have fewer than 255 destinations. */
  readonly #arena: MaglevArena;
  /** The table's first byte in the arena, or -1 (a wide table, in `#slots`, or none built). */
  #block = -1;
  /** Whether the arena table is packed two slots to a byte. */
  #packed = false;
  /** The destination run's first entry in the arena, and the length it was taken for. */
  #run = 0;
  #runLength = 0;
  /** A table of 255 or more destinations, and the destinations it numbers then `undefined` (see `compactTable`). */
  #slots: SlotTable = NOT_BUILT;
  #slotDests: (Dest | undefined)[] = [undefined];
  #dirty = true;
  readonly #cell: TableCell | undefined;

  /**
   * `arena`: the engine's, shared by its virtual servers (one of this table size is made for this scheduler alone
   * otherwise). Tables are filled on first use (#dirty starts true): one per virtual server up front cost most of a
   * second at 10,000 Services, for tables every first lookup replaced anyway.
   */
  constructor(opts: SchedulerOptions & { tabIndex?: number; arena?: MaglevArena; cell?: TableCell } = {}) {
    this.#cell = opts.cell;
    this.#flags = opts.flags ?? 0;
    this.#tabIndex = opts.tabIndex ?? MH_DEFAULT_TAB_INDEX;
    this.size = mhTableSize(this.#tabIndex);
    this.#arena = opts.arena?.size === this.size ? opts.arena : new MaglevArena(this.size);
  }

  destsChanged(dests: readonly Dest[], change: DestChange): void {
    if (dests.length > this.size) {
      // ip_vs_mh_reassign refuses more destinations than slots (-EINVAL, which __ip_vs_update_dest ignores): the table
      // stays as the last change that fit left it. Only an add crosses the bound, so a table still owed is built now,
      // from the list without the destination just added.
      if (this.#dirty && change.kind === 'add') this.#ensure(dests.filter((d) => d !== change.dest));
      return;
    }
    this.#dirty = true;
    this.#cell?.publish(this.#arena, -1, -1, false);
  }

  /** The lookup table as destinations (undefined = empty slot), rebuilt if stale. */
  table(dests: readonly Dest[]): (Dest | undefined)[] {
    this.#ensure(dests);
    return Array.from({ length: this.size }, (_, slot) => this.#at(slot));
  }

  /** The virtual server is gone: its table's place in the arena is given back (a later lookup builds it again). */
  release(): void {
    this.#giveBack();
    this.#dirty = true;
    this.#cell?.publish(this.#arena, -1, -1, false);
  }

  /** The slot a packet's source hashes to (with a fallback probe offset). */
  slot(pkt: Pick<SchedPacket, 'srcIP' | 'srcPort' | 'srcKey'>, offset = 0): number {
    const port = this.#flags & SvcFlags.SCHED2 ? pkt.srcPort : 0;
    return mhSlot(srcFoldOf(pkt), port, this.size, offset);
  }

  schedule(dests: readonly Dest[], pkt: SchedPacket, _nowMs: number, trace?: string[]): Dest | undefined {
    this.#ensure(dests);
    const ihash = this.slot(pkt);
    let dest = this.#at(ihash);
    if (trace) {
      const key = this.#flags & SvcFlags.SCHED2 ? `${pkt.srcIP}:${pkt.srcPort}` : pkt.srcIP;
      trace.push(`mh: ${key} hashes to slot ${ihash} of ${this.size} -> ${dest ? dest.key : 'empty'}`);
    }
    if (!dest) return undefined;
    if (usableForMh(dest)) return dest;
    if ((this.#flags & SvcFlags.SCHED1) === 0) {
      trace?.push(`mh: ${dest.key} is unavailable (weight ${dest.weight}) and mh-fallback is off: no destination`);
      return undefined;
    }
    for (let offset = 0; offset < this.size; offset++) {
      const roffset = (offset + ihash) % this.size;
      const h = this.slot(pkt, roffset);
      dest = this.#at(h);
      if (!dest) break;
      if (usableForMh(dest)) {
        trace?.push(`mh: fallback probe offset ${roffset} -> slot ${h} -> ${dest.key}`);
        return dest;
      }
    }
    trace?.push('mh: fallback found no available destination');
    return undefined;
  }

  #at(slot: number): Dest | undefined {
    const block = this.#block;
    if (block < 0) return this.#slotDests[this.#slots[slot]!];
    const arena = this.#arena;
    return arena.dests[this.#run + slotAt(arena.bytes, block, slot, this.#packed)];
  }

  #ensure(dests: readonly Dest[]): void {
    if (!this.#dirty) return;
    const table = populateMaglev(mhBackends(dests, this.size, this.#tabIndex), this.size);
    const count = dests.length;
    this.#giveBack();
    if (count <= ARENA_MAX_DESTS) {
      const arena = this.#arena;
      const packed = count <= PACKED_MAX_DESTS;
      const block = arena.takeTable(packed);
      const run = arena.takeRun(count + 1);
      if (packed) writePackedSlots(table, count, arena.bytes, block);
      else writeSlots(table, count, arena.bytes, block);
      for (let i = 0; i < count; i++) {
        arena.dests[run + i] = dests[i];
        arena.ids[run + i] = dests[i]!.id;
      }
      this.#block = block;
      this.#packed = packed;
      this.#run = run;
      this.#runLength = count + 1;
      this.#cell?.publish(arena, block, run, packed);
    } else {
      const slotDests: (Dest | undefined)[] = dests.slice();
      slotDests.push(undefined);
      this.#slotDests = slotDests;
      this.#slots = compactTable(table, count);
    }
    this.#dirty = false;
  }

  /** Give the arena back what this table took, if anything; a wide table is dropped. */
  #giveBack(): void {
    if (this.#block >= 0) {
      this.#arena.giveTable(this.#block, this.#packed);
      this.#arena.giveRun(this.#run, this.#runLength);
      this.#block = -1;
    }
    this.#slots = NOT_BUILT;
    this.#slotDests = [undefined];
  }
}

function usableForMh(d: Dest): boolean {
  return d.weight > 0 && (d.flags & DestFlags.OVERLOAD) === 0;
}
