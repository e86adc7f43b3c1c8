/**
 * An engine's live virtual servers as numbers: what a new connection reads of the one it is addressed to (its
 * masquerade plan bits and their version, whether its scheduler is rr or mh without persistence, its conntrack group
 * and family, the scheduler's state: rr's cursor and the destination after it, or where mh's table is) in one
 * 32-byte Int32Array row each.
 *
 * Why: the virtual server, its scheduler and its destinations are objects across a heap of well over 100 MB at 10,000
 * Services; each was a cache miss and a page walk of every new flow. Here a new connection to an rr or mh virtual
 * server reads its row and the destination's (dest-table.ts), both in a few MB, and reaches no object unless it needs
 * a trace, persistence or the scheduler's uncommon case (`fastPick` returns -1). The row is the only copy of what it
 * holds: the LiveVirtualServer and its scheduler read and write those fields here.
 */
import type { IPFamily } from '../../model/types.js';
import type { MasqPlan } from './masquerade.js';
import type { DestTable } from './schedulers/dest-table.js';
import { foldOfKey } from './schedulers/hash.js';
import { mhSlot, type TableCell } from './schedulers/maglev.js';
import { type MaglevArena, slotAt } from './schedulers/maglev-arena.js';
import type { CursorCell } from './schedulers/rr.js';
import type { LiveVirtualServer } from './virtual-server.js';

/** Row words. */
const PLAN_VERSION = 0;
const PLAN_BITS = 1;
/** FLAG_* bits. */
const FLAGS = 2;
const GROUP = 3;
/**
 * Words 4 and 5 are the scheduler's. rr: the cursor, and the destination after it (its number; -1 when the list is
 * empty). mh: where its table is in the engine's arena (maglev-arena.ts), the table's block and its destination run
 * (-1: none, or not current).
 */
const RR_CURSOR = 4;
const RR_NEXT = 5;
const MH_BLOCK = 4;
const MH_RUN = 5;
/** The destination list's length. */
const LIST_LENGTH = 6;
const STRIDE = 8;

/** Round-robin without persistence: `fastPick` may schedule it. */
const FLAG_RR = 1;
const FLAG_IPV6 = 2;
/** mh without persistence: `fastPick` may look its table up; with the mh-port flag, the source port is hashed too. */
const FLAG_MH = 4;
const FLAG_MH_PORT = 8;
const SCHEDULER_FLAGS = FLAG_RR | FLAG_MH | FLAG_MH_PORT;
/** The mh table in the arena is packed two slots to a byte (maglev-arena.ts `slotAt`). */
const FLAG_MH_PACKED = 16;

export class VsTable {
  #i32: Int32Array;
  readonly #dests: DestTable;
  /** The engine's mh arena, if its scheduler is mh: only tables there are looked up here. */
  readonly #arena: MaglevArena | undefined;
  readonly #objects: LiveVirtualServer[] = [];
  /** Each virtual server's masquerade plan (masquerade.ts), built by its first new flow after a change. */
  readonly #plans: (MasqPlan | undefined)[] = [];

  /** `dests`: the engine's destinations, which the rows' numbers are of; `arena`: its mh tables' (if mh). */
  constructor(dests: DestTable, arena?: MaglevArena, capacity = 64) {
    this.#dests = dests;
    this.#arena = arena;
    this.#i32 = new Int32Array(capacity * STRIDE);
  }

  /**
   * Number a new virtual server. Numbers are not reused: a deleted virtual server's object may still be reached (its
   * connections drain, the graceful-termination list forgets it later), and must not write another's row.
   */
  add(vs: LiveVirtualServer, family: IPFamily, group: number): number {
    const id = this.#objects.length;
    if ((id + 1) * STRIDE > this.#i32.length) {
      const grown = new Int32Array(this.#i32.length * 2);
      grown.set(this.#i32);
      this.#i32 = grown;
    }
    this.#objects.push(vs);
    this.#plans.push(undefined);
    const at = id * STRIDE;
    this.#i32[at + PLAN_VERSION] = -1;
    this.#i32[at + FLAGS] = family === 'IPv6' ? FLAG_IPV6 : 0;
    this.#i32[at + GROUP] = group;
    this.#i32[at + RR_CURSOR] = -1;
    this.#i32[at + RR_NEXT] = -1;
    return id;
  }

  object(id: number): LiveVirtualServer {
    return this.#objects[id]!;
  }

  /**
   * Where virtual server `id`'s rr scheduler keeps its cursor: setting it also notes the destination after it, which
   * `fastPick` takes next.
   */
  cursorCell(id: number): CursorCell {
    return new RowCursor(this, id);
  }

  /** rr's cursor of virtual server `id` (`cursorCell`). */
  cursor(id: number): number {
    return this.#i32[id * STRIDE + RR_CURSOR]!;
  }

  setCursor(id: number, cursor: number): void {
    this.#i32[id * STRIDE + RR_CURSOR] = cursor;
    this.#noteNext(id);
  }

  #noteNext(id: number): void {
    const vs = this.#objects[id]!;
    // The words are another scheduler's otherwise (mh's table).
    if (vs.schedulerName !== 'rr') return;
    const dests = vs.dests;
    const n = dests.length;
    const i32 = this.#i32;
    i32[id * STRIDE + RR_NEXT] = n === 0 ? -1 : dests[(i32[id * STRIDE + RR_CURSOR]! + 1) % n]!.id;
  }

  planVersion(id: number): number {
    return this.#i32[id * STRIDE + PLAN_VERSION]!;
  }

  planBits(id: number): number {
    return this.#i32[id * STRIDE + PLAN_BITS]!;
  }

  plan(id: number): MasqPlan | undefined {
    return this.#plans[id];
  }

  /** Keep a plan, with the ipsets version it was built for (undefined: none, built by the next new flow). */
  setPlan(id: number, plan: MasqPlan | undefined): void {
    this.#plans[id] = plan;
    this.#i32[id * STRIDE + PLAN_VERSION] = plan === undefined ? -1 : plan.version;
    this.#i32[id * STRIDE + PLAN_BITS] = plan === undefined ? 0 : plan.bits;
  }

  /**
   * Whether `fastPick` may schedule it (set when its spec changes): round-robin or mh (`mhPort`: with the mh-port
   * flag), not persistent; neither: the scheduler object decides.
   */
  setFastScheduler(id: number, scheduler: 'rr' | 'mh' | null, mhPort: boolean): void {
    const at = id * STRIDE + FLAGS;
    const bits = scheduler === 'rr' ? FLAG_RR : scheduler === 'mh' ? FLAG_MH | (mhPort ? FLAG_MH_PORT : 0) : 0;
    this.#i32[at] = (this.#i32[at]! & ~SCHEDULER_FLAGS) | bits;
  }

  /** Where virtual server `id`'s mh scheduler says where its current table is. */
  tableCell(id: number): TableCell {
    return new RowTable(this, id);
  }

  /** Where virtual server `id`'s mh table now is (`tableCell`). */
  publishTable(id: number, arena: MaglevArena, block: number, run: number, packed: boolean): void {
    const shared = arena === this.#arena && block >= 0;
    const row = id * STRIDE;
    const i32 = this.#i32;
    i32[row + MH_BLOCK] = shared ? block : -1;
    i32[row + MH_RUN] = shared ? run : -1;
    i32[row + FLAGS] = (i32[row + FLAGS]! & ~FLAG_MH_PACKED) | (shared && packed ? FLAG_MH_PACKED : 0);
  }

  family(id: number): IPFamily {
    return (this.#i32[id * STRIDE + FLAGS]! & FLAG_IPV6) !== 0 ? 'IPv6' : 'IPv4';
  }

  group(id: number): number {
    return this.#i32[id * STRIDE + GROUP]!;
  }

  setGroup(id: number, group: number): void {
    this.#i32[id * STRIDE + GROUP] = group;
  }

  /**
   * The virtual server's destination list changed: each destination is linked to the one after it (the last to the
   * first), as the kernel's list links them, and the destination after the cursor noted again.
   */
  listChanged(id: number): void {
    const list = this.#objects[id]!.dests;
    const n = list.length;
    for (let k = 0; k < n; k++) this.#dests.setNext(list[k]!.id, list[k + 1 === n ? 0 : k + 1]!.id);
    this.#i32[id * STRIDE + LIST_LENGTH] = n;
    this.#noteNext(id);
  }

  /**
   * The scheduler's decision from numbers alone, for a virtual server `setFastScheduler` marked, when it is the common
   * case; -1 otherwise, and the scheduler object decides (from the same state: nothing is changed then).
   * - rr (rr.ts): the destination after the cursor, when it is usable, becomes the cursor and is chosen.
   * - mh (maglev.ts): the destination in the slot the source hashes to, when the table is current and it is usable
   *   (else the scheduler's fallback probes, or its rebuilt table, decide).
   * `srcKey`, `srcIP`, `srcPort`: the packet's source.
   */
  fastPick(id: number, srcKey: number, srcIP: string, srcPort: number): number {
    const i32 = this.#i32;
    const row = id * STRIDE;
    const flags = i32[row + FLAGS]!;
    const dests = this.#dests;
    if ((flags & FLAG_RR) !== 0) {
      const next = i32[row + RR_NEXT]!;
      if (next < 0 || !dests.usable(next)) return -1;
      // The cursor moves on to it; the destination after it is its list successor.
      const cursor = i32[row + RR_CURSOR]! + 1;
      i32[row + RR_CURSOR] = cursor === i32[row + LIST_LENGTH]! ? 0 : cursor;
      i32[row + RR_NEXT] = dests.next(next);
      return next;
    }
    if ((flags & FLAG_MH) !== 0) {
      const block = i32[row + MH_BLOCK]!;
      const arena = this.#arena;
      if (block < 0 || arena === undefined) return -1;
      const slot = mhSlot(foldOfKey(srcKey, srcIP), (flags & FLAG_MH_PORT) !== 0 ? srcPort : 0, arena.size);
      const dest = arena.ids[i32[row + MH_RUN]! + slotAt(arena.bytes, block, slot, (flags & FLAG_MH_PACKED) !== 0)]!;
      return dest >= 0 && dests.usable(dest) ? dest : -1;
    }
    return -1;
  }
}

/**
 * The cells a virtual server's scheduler is handed: a row's words through the table. Classes, not object literals
 * with accessors: a literal's closures and their context were three or four objects per cell, where this is one
 * (every virtual server gets both cells, whichever its scheduler).
 */
class RowCursor implements CursorCell {
  constructor(
    readonly table: VsTable,
    readonly id: number,
  ) {}

  get cursor(): number {
    return this.table.cursor(this.id);
  }

  set cursor(cursor: number) {
    this.table.setCursor(this.id, cursor);
  }
}

class RowTable implements TableCell {
  constructor(
    readonly table: VsTable,
    readonly id: number,
  ) {}

  publish(arena: MaglevArena, block: number, run: number, packed: boolean): void {
    this.table.publishTable(this.id, arena, block, run, packed);
  }
}
