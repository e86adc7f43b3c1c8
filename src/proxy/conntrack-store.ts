/**
 * Where conntrack keeps its entries: numbers in typed arrays, one row per flow, not one object per flow.
 *
 * Why: a busy node tracks hundreds of thousands of flows, each living for minutes to a day. As objects, every new
 * flow was an allocation the garbage collector copied out of the young generation and then traced at every major
 * collection; that cost more than the rest of a new flow's bookkeeping. Here a flow is a row number: its times and
 * counts in a Float64Array, its flags, SNAT port and generation in an Int32Array, and in plain arrays (references
 * only) its two addresses, its memo and the NAT it got: a record shared by every flow with the same DNAT target,
 * SNAT address and Service.
 *
 * Rows are reused once freed; each carries a generation, bumped when it is freed, so a holder of (row, generation)
 * can tell its flow is gone. Callers that want an object get a view (`EntryView`, conntrack-view.ts), made on demand
 * and kept for the row's life, so the same flow is the same object while it lives and keeps its last values after.
 */
import type { Protocol } from '../model/types.js';
import type { ConntrackTimeouts } from './conntrack-timeouts.js';
import { type Address, hostPort, keyOf } from './packet.js';

/** The NAT a flow got: shared by every flow with the same DNAT target, SNAT address and Service. */
export interface NatRecord {
  readonly dnat: Address | null;
  /** `addressKey` of `dnat`, or -1. */
  readonly dnatKey: number;
  /** `dnat.port`, or 0: the reply tuple's source port, read without reaching the address. */
  readonly dnatPort: number;
  readonly snatIp: string | null;
  /** `addressKey` of `snatIp`, or -1. */
  readonly snatKey: number;
  readonly service: string | null;
  /** `hostPort` of `dnat`, or null. */
  readonly endpoint: string | null;
}

/** A NAT record for flows that get this DNAT target, SNAT address and Service. */
export function natRecord(
  dnat: Address | null,
  snatIp: string | null,
  service: string | null,
  endpoint: string | null = null,
): NatRecord {
  return {
    dnat,
    dnatKey: dnat === null ? -1 : keyOf(dnat),
    dnatPort: dnat === null ? 0 : dnat.port,
    snatIp,
    snatKey: snatIp === null ? -1 : keyOf({ ip: snatIp }),
    service,
    endpoint: dnat === null ? null : (endpoint ?? hostPort(dnat.ip, dnat.port)),
  };
}

/**
 * Where a flow's NAT record comes from when its engine files the flow before making or reading the record: the book,
 * and the record's handle in it, are kept in the row, and the record is asked for when the flow's NAT is first read.
 *
 * Why: the iptables walk knows the chosen endpoint's address key and port from the DNAT rule's own words, so a new
 * flow needs nothing else to be filed; its record, one of a hundred thousand on a node with 10,000 Services, is a
 * cache miss it would pay only to store a reference. A handle must name the same record for as long as its book
 * lives (program-arena.ts `DnatRecords`).
 */
export interface NatBook {
  record(handle: number): NatRecord;
}

/**
 * The record of every flow without NAT (no DNAT, no SNAT, no Service), shared; also what a row's `nat` slot holds
 * after a flush, so no reference keeps a retired endpoint's record alive.
 */
export const NO_NAT: NatRecord = Object.freeze(natRecord(null, null, null));

/** Float64 row: */
const F_CREATED = 0;
const F_EXPIRES = 1;
const F_LAST_SEEN = 2;
const F_PACKETS = 3;
/** The original tuple's address keys, then the reply tuple's: conntrack-index.ts verifies a probe against them. */
export const F_SRC_KEY = 4;
export const F_DST_KEY = 5;
export const F_REPLY_SRC_KEY = 6;
export const F_REPLY_DST_KEY = 7;
/**
 * A row is 128 bytes of one buffer, read through two views: eight doubles (the lookup's keys and the timers), then
 * the int32 words below. One row, not a double row and an int row in two arrays: an established packet reads both
 * parts, and two adjacent lines cost one miss where two arrays cost two.
 */
const ROW_BYTES = 128;
export const F_STRIDE = ROW_BYTES / 8;
/** Int32 row, after the doubles (word 16 of the row): */
export const I_FLAGS = 16;
const I_SNAT_PORT = 17;
const I_GEN = 18;
/** The flow's creation number (an int32: verdicts copy it, and a small integer costs them no allocation). */
const I_ID = 19;
/** Both ports of the original tuple, then of the reply tuple (tuple-table.ts `tuplePorts`). */
export const I_PORTS = 20;
export const I_REPLY_PORTS = 21;
/**
 * Group membership (`join`): the group's number + 1 (0: in none), the previous and next rows in the group (-1: none),
 * and the owner's tag for the row. A group is a doubly linked list threaded through its rows, so joining one writes
 * only the row just filled (in cache) and the group's head, and a freed row leaves its group by itself.
 */
const I_GROUP = 22;
const I_GROUP_PREV = 23;
const I_GROUP_NEXT = 24;
const I_GROUP_TAG = 25;
export const I_STRIDE = ROW_BYTES / 4;

/** Flag bits: protocol code (bits 0-1), state (2-3), timer (4-7), then single bits. */
export const STATE_NEW = 0;
export const STATE_ESTABLISHED = 1;
export const STATE_CLOSING = 2;
export const SEEN_REPLY = 1 << 8;
export const ASSURED = 1 << 9;
/** A FIN was seen, or the client reset the flow: a client SYN may reopen the tuple from CLOSE. */
export const REOPENABLE = 1 << 10;
export const LIVE = 1 << 11;
/** One bit for the owning engine (conntrack.ts `markRow`); kept in the flags, which every packet's lookup reads. */
export const OWNER_MARK = 1 << 12;
/**
 * The row holds a book and a handle, not yet its record and text (`NatBook`). A flag, not a type test on the slots:
 * telling a number from a string reads the string's header, a cache miss on every established packet.
 */
const NAT_IN_BOOK = 1 << 13;

/** The timers, by code (code 0: none yet). */
export const TIMERS: readonly (keyof ConntrackTimeouts)[] = [
  'tcpSynSent',
  'tcpSynRecv',
  'tcpEstablished',
  'tcpCloseWait',
  'tcpTimeWait',
  'tcpClose',
  'udp',
  'udpStream',
  'sctpClosed',
  'sctpEstablished',
];
export const TIMER: Readonly<Record<keyof ConntrackTimeouts, number>> = Object.fromEntries(
  TIMERS.map((name, i) => [name, i + 1]),
) as Record<keyof ConntrackTimeouts, number>;

const PROTOCOLS: readonly Protocol[] = ['TCP', 'TCP', 'UDP', 'SCTP'];

const STATE_BITS = 3 << 2;
const TIMER_BITS = 15 << 4;

/**
 * Whether a flow with these flags is an active connection to IPVS (dest->activeconns): not UDP, ESTABLISHED and past
 * SYN_RECV (conntrack.ts `handshakeCompleteRow`); every other tracked flow is an inactive one.
 */
function isActive(flags: number): boolean {
  return (
    (flags & 3) !== 2 &&
    (flags & STATE_BITS) === STATE_ESTABLISHED << 2 &&
    (flags & TIMER_BITS) >> 4 !== TIMER.tcpSynRecv
  );
}

/**
 * An engine whose memos need to know how many rows hold them: told when a row starts holding a memo and when it stops
 * (the memo is replaced, the row freed, the table flushed). The userspace engine reuses a connection's relay once no
 * leg holds it (userspace/relay-pool.ts).
 */
export interface MemoOwner {
  retain(memo: unknown): void;
  release(memo: unknown): void;
}

export class FlowStore {
  f64: Float64Array;
  i32: Int32Array;
  /** The original tuple's addresses, as the first packet carried them. */
  readonly src: (Address | undefined)[] = [];
  readonly dst: (Address | undefined)[] = [];
  /**
   * Per row, side by side: the NAT the flow got (a record shared by the flows with the same NAT: conntrack.ts caches
   * it on the endpoint's address, so the records stay few), then its `endpoint` text, the field a verdict reads on
   * every packet without reaching the record. Interleaved in one array so that reading both costs one cache miss.
   * A flow filed with a book (`NatBook`) holds the book and the record's handle (a number) instead, until its NAT is
   * first read: then the two slots take the record and its text.
   */
  readonly #refs: (NatRecord | NatBook | string | number | null)[] = [];
  /** The owning engine's per-flow value (ConntrackEntry.memo): read here, written through `setMemo`. */
  readonly memo: unknown[] = [];
  /** Told when rows take and drop memos, if the engine asked (`ownMemos`). */
  #memoOwner: MemoOwner | null = null;
  /** Views handed out, by row (conntrack-view.ts). */
  readonly views: ({ detach(): void } | undefined)[] = [];
  /** Rows ever used; rows below it are live or on `#free`. */
  #top = 0;
  #free: number[] = [];
  #live = 0;
  /** First row of each group (-1: empty); groups given back, for reuse. */
  #heads = new Int32Array(64).fill(-1);
  /**
   * Per counted group (`newGroup(true)`), per tag: its rows' active and inactive counts (words 2·tag and 2·tag + 1),
   * kept as rows join, leave and change state, so an owner reads them without walking the group (`groupCount`).
   * Expired rows count until they are freed or leave: an owner that needs the counts of a later moment walks the group
   * once and reaps them. Groups nobody counts keep none: a new flow of theirs pays no count.
   */
  #groupCounts: (Int32Array | undefined)[] = [];
  /** Whether any group was ever counted: until then (every table but a counting IPVS engine's) nothing is counted. */
  #anyCounted = false;
  #groupsUsed = 0;
  readonly #groupsFree: number[] = [];
  constructor(capacity = 1024) {
    const rows = new ArrayBuffer(capacity * ROW_BYTES);
    this.f64 = new Float64Array(rows);
    this.i32 = new Int32Array(rows);
  }

  /** Tell `owner` from now on when a row takes or drops a memo. */
  ownMemos(owner: MemoOwner): void {
    this.#memoOwner = owner;
  }

  /** Set row `r`'s memo (undefined: none), telling the memo owner what the row now holds and no longer holds. */
  setMemo(r: number, memo: unknown): void {
    const old = this.memo[r];
    if (old === memo) return;
    this.memo[r] = memo;
    const owner = this.#memoOwner;
    if (owner === null) return;
    if (memo !== undefined && memo !== null) owner.retain(memo);
    if (old !== undefined && old !== null) owner.release(old);
  }

  /** Rows in use. */
  get live(): number {
    return this.#live;
  }

  /** One past the highest row ever used (iterate 0..top and test `isLive`). */
  get top(): number {
    return this.#top;
  }

  /**
   * Take a row for a new flow: its original tuple, both tuples' address keys and ports, its NAT record (and the
   * record's `endpoint`, as the caller has it at hand; or, `inBook`, a book and the record's handle in it), its SNAT
   * port.
   */
  add(
    id: number,
    protoCode: number,
    src: Address,
    dst: Address,
    srcKey: number,
    dstKey: number,
    replySrcKey: number,
    replyDstKey: number,
    ports: number,
    replyPorts: number,
    nat: NatRecord | NatBook,
    endpoint: string | number | null,
    inBook: boolean,
    snatPort: number,
    now: number,
  ): number {
    const r = this.#free.length > 0 ? this.#free.pop()! : this.#top++;
    if ((r + 1) * I_STRIDE > this.i32.length) this.#grow();
    const f = r * F_STRIDE;
    const f64 = this.f64;
    f64[f + F_CREATED] = now;
    f64[f + F_EXPIRES] = now;
    f64[f + F_LAST_SEEN] = now;
    f64[f + F_PACKETS] = 1;
    f64[f + F_SRC_KEY] = srcKey;
    f64[f + F_DST_KEY] = dstKey;
    f64[f + F_REPLY_SRC_KEY] = replySrcKey;
    f64[f + F_REPLY_DST_KEY] = replyDstKey;
    const i = r * I_STRIDE;
    const i32 = this.i32;
    i32[i + I_FLAGS] = protoCode | LIVE | (inBook ? NAT_IN_BOOK : 0);
    i32[i + I_SNAT_PORT] = snatPort;
    i32[i + I_ID] = id;
    i32[i + I_PORTS] = ports;
    i32[i + I_REPLY_PORTS] = replyPorts;
    i32[i + I_GROUP] = 0;
    this.src[r] = src;
    this.dst[r] = dst;
    this.#refs[2 * r] = nat;
    this.#refs[2 * r + 1] = endpoint;
    this.#live++;
    return r;
  }

  /** Give a row back: its generation moves on and its view keeps the last values. */
  free(r: number): void {
    const view = this.views[r];
    if (view !== undefined) {
      view.detach();
      this.views[r] = undefined;
    }
    const i = r * I_STRIDE;
    if (this.i32[i + I_GROUP] !== 0) this.#leave(r);
    this.i32[i + I_FLAGS] = 0;
    this.i32[i + I_GEN] = (this.i32[i + I_GEN]! + 1) | 0;
    this.src[r] = undefined;
    this.dst[r] = undefined;
    if (this.memo[r] !== undefined) this.setMemo(r, undefined);
    this.#free.push(r);
    this.#live--;
  }

  /** Free every row (conntrack -F). */
  clear(): void {
    for (let r = 0; r < this.#top; r++) {
      const view = this.views[r];
      if (view !== undefined) view.detach();
    }
    // Emptied in place, not truncated: a table refilled after a flush (`conntrack -F` between rounds, churn) would
    // otherwise grow six arrays again from nothing, and every copy on the way is garbage.
    const top = this.#top;
    this.views.fill(undefined, 0, top);
    this.src.fill(undefined, 0, top);
    this.dst.fill(undefined, 0, top);
    const owner = this.#memoOwner;
    if (owner !== null) {
      const memo = this.memo;
      for (let r = 0; r < top; r++) {
        const m = memo[r];
        if (m !== undefined && m !== null) owner.release(m);
      }
    }
    this.memo.fill(undefined, 0, top);
    const refs = this.#refs;
    for (let r = 0; r < top; r++) {
      refs[2 * r] = NO_NAT;
      refs[2 * r + 1] = null;
    }
    // Generations survive a flush, so (row, generation) pairs held from before never match a new flow.
    const i32 = this.i32;
    for (let r = 0; r < this.#top; r++) {
      const i = r * I_STRIDE;
      i32[i + I_FLAGS] = 0;
      i32[i + I_GEN] = (i32[i + I_GEN]! + 1) | 0;
    }
    this.#top = 0;
    this.#free = [];
    this.#live = 0;
    this.#heads.fill(-1);
    for (const counts of this.#groupCounts) counts?.fill(0);
  }

  /** A new, empty group of rows (see `join`); give it back with `releaseGroup` once its owner is gone. */
  newGroup(counted = false): number {
    const g = this.#groupsFree.pop() ?? this.#groupsUsed++;
    if (g >= this.#heads.length) {
      const heads = new Int32Array(this.#heads.length * 2).fill(-1);
      heads.set(this.#heads);
      this.#heads = heads;
    }
    this.#heads[g] = -1;
    this.#groupCounts[g] = counted ? new Int32Array(8) : undefined;
    if (counted) this.#anyCounted = true;
    return g;
  }

  /** Give a group's number back; its rows, if any are left, leave it. */
  releaseGroup(g: number): void {
    for (let r = this.#heads[g]!; r >= 0; ) {
      const next = this.groupNext(r);
      this.i32[r * I_STRIDE + I_GROUP] = 0;
      r = next;
    }
    this.#heads[g] = -1;
    this.#groupCounts[g]?.fill(0);
    this.#groupsFree.push(g);
  }

  /** Put live row `r` first in group `g` (out of any other), with the owner's `tag`; it leaves when freed. */
  join(r: number, g: number, tag: number): void {
    const i32 = this.i32;
    const i = r * I_STRIDE;
    if (i32[i + I_GROUP] !== 0) this.#leave(r);
    const head = this.#heads[g]!;
    i32[i + I_GROUP] = g + 1;
    i32[i + I_GROUP_PREV] = -1;
    i32[i + I_GROUP_NEXT] = head;
    i32[i + I_GROUP_TAG] = tag;
    if (head >= 0) i32[head * I_STRIDE + I_GROUP_PREV] = r;
    this.#heads[g] = r;
    if (this.#anyCounted) this.#count(g, tag, i32[i + I_FLAGS]!, 1);
  }

  /** How many rows of counted group `g` with `tag` are active connections (`active`), or inactive ones (0: uncounted). */
  groupCount(g: number, tag: number, active: boolean): number {
    return this.#groupCounts[g]?.[2 * tag + (active ? 0 : 1)] ?? 0;
  }

  #count(g: number, tag: number, flags: number, delta: 1 | -1): void {
    let counts = this.#groupCounts[g];
    if (counts === undefined) return;
    const at = 2 * tag + (isActive(flags) ? 0 : 1);
    if (at >= counts.length) {
      let size = counts.length;
      while (size <= at) size *= 2;
      const grown = new Int32Array(size);
      grown.set(counts);
      counts = grown;
      this.#groupCounts[g] = counts;
    }
    counts[at]! += delta;
  }

  /** The newest row of group `g`, or -1. */
  groupFirst(g: number): number {
    return this.#heads[g]!;
  }

  /** The row after `r` in its group (the one that joined before it), or -1. */
  groupNext(r: number): number {
    return this.i32[r * I_STRIDE + I_GROUP_NEXT]!;
  }

  groupTag(r: number): number {
    return this.i32[r * I_STRIDE + I_GROUP_TAG]!;
  }

  /** Take live row `r` out of its group, if it is in one (the row stays tracked). */
  leaveGroup(r: number): void {
    if (this.i32[r * I_STRIDE + I_GROUP] !== 0) this.#leave(r);
  }

  #leave(r: number): void {
    const i32 = this.i32;
    const i = r * I_STRIDE;
    const prev = i32[i + I_GROUP_PREV]!;
    const next = i32[i + I_GROUP_NEXT]!;
    if (prev >= 0) i32[prev * I_STRIDE + I_GROUP_NEXT] = next;
    else this.#heads[i32[i + I_GROUP]! - 1] = next;
    if (next >= 0) i32[next * I_STRIDE + I_GROUP_PREV] = prev;
    if (this.#anyCounted) this.#count(i32[i + I_GROUP]! - 1, i32[i + I_GROUP_TAG]!, i32[i + I_FLAGS]!, -1);
    i32[i + I_GROUP] = 0;
  }

  isLive(r: number): boolean {
    return (this.i32[r * I_STRIDE + I_FLAGS]! & LIVE) !== 0;
  }

  generation(r: number): number {
    return this.i32[r * I_STRIDE + I_GEN]!;
  }

  flags(r: number): number {
    return this.i32[r * I_STRIDE + I_FLAGS]!;
  }

  setFlags(r: number, flags: number): void {
    const i = r * I_STRIDE;
    // Kept small (engines call it on every state change): a grouped row's counts are moved out of line.
    if (this.#anyCounted && this.i32[i + I_GROUP] !== 0) this.#recount(i, flags);
    this.i32[i + I_FLAGS] = flags;
  }

  /** A grouped row (int words at `i`) about to take `flags`: if it becomes active or stops being so, move its count. */
  #recount(i: number, flags: number): void {
    const i32 = this.i32;
    const old = i32[i + I_FLAGS]!;
    if (isActive(old) === isActive(flags)) return;
    const g = i32[i + I_GROUP]! - 1;
    this.#count(g, i32[i + I_GROUP_TAG]!, old, -1);
    this.#count(g, i32[i + I_GROUP_TAG]!, flags, 1);
  }

  proto(r: number): Protocol {
    return PROTOCOLS[this.i32[r * I_STRIDE + I_FLAGS]! & 3]!;
  }

  id(r: number): number {
    return this.i32[r * I_STRIDE + I_ID]!;
  }

  created(r: number): number {
    return this.f64[r * F_STRIDE + F_CREATED]!;
  }

  expires(r: number): number {
    return this.f64[r * F_STRIDE + F_EXPIRES]!;
  }

  setExpires(r: number, at: number): void {
    this.f64[r * F_STRIDE + F_EXPIRES] = at;
  }

  lastSeen(r: number): number {
    return this.f64[r * F_STRIDE + F_LAST_SEEN]!;
  }

  packets(r: number): number {
    return this.f64[r * F_STRIDE + F_PACKETS]!;
  }

  /** A packet of the flow at `now`: one more packet, last seen now. */
  touch(r: number, now: number): void {
    const f = r * F_STRIDE;
    this.f64[f + F_PACKETS]!++;
    this.f64[f + F_LAST_SEEN] = now;
  }

  /** Seen at `now` without a packet counted (a close). */
  setLastSeen(r: number, now: number): void {
    this.f64[r * F_STRIDE + F_LAST_SEEN] = now;
  }

  /** The flow's NAT record. */
  nat(r: number): NatRecord {
    if (this.natInBook(r)) return this.#openBook(r);
    return this.#refs[2 * r] as NatRecord;
  }

  /** `nat(r).endpoint`, kept beside the record (see `#refs`). */
  endpoint(r: number): string | null {
    if (this.natInBook(r)) return this.#openBook(r).endpoint;
    return this.#refs[2 * r + 1] as string | null;
  }

  /** Whether the row holds a book and a handle, its record not asked for yet (`NatBook`). */
  natInBook(r: number): boolean {
    return (this.i32[r * I_STRIDE + I_FLAGS]! & NAT_IN_BOOK) !== 0;
  }

  /** The row's NAT as filed: a record, or the book its record is in (`natInBook`; `endpointSlot` is the handle). */
  natSlot(r: number): NatRecord | NatBook {
    return this.#refs[2 * r] as NatRecord | NatBook;
  }

  /** The row's endpoint text as filed, or its record's handle in the book `natSlot` holds. */
  endpointSlot(r: number): string | number | null {
    return this.#refs[2 * r + 1] as string | number | null;
  }

  /** A row filed with a book: its record, asked for once and kept in the row in place of the book and handle. */
  #openBook(r: number): NatRecord {
    const refs = this.#refs;
    const record = (refs[2 * r] as NatBook).record(refs[2 * r + 1] as number);
    refs[2 * r] = record;
    refs[2 * r + 1] = record.endpoint;
    const at = r * I_STRIDE + I_FLAGS;
    this.i32[at] = this.i32[at]! & ~NAT_IN_BOOK;
    return record;
  }

  snatPort(r: number): number {
    return this.i32[r * I_STRIDE + I_SNAT_PORT]!;
  }

  #grow(): void {
    const rows = new ArrayBuffer(this.f64.byteLength * 2);
    const f64 = new Float64Array(rows);
    f64.set(this.f64);
    this.f64 = f64;
    this.i32 = new Int32Array(rows);
  }
}
