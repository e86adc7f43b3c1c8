/**
 * A hash table from 5-tuples to values, built for conntrack's per-packet lookups.
 *
 * - Addresses become numbers without building a string (`addressKey`): canonical dotted-quad IPv4 is its 32-bit
 *   value, parsed arithmetically; any other text (IPv6, or IPv4 written non-canonically) is interned to a small id.
 *   Parsing beats a Map lookup here because the intern table of a busy node holds hundreds of thousands of addresses
 *   and every lookup in it is a cache miss.
 * - A slot's key is four int32 words side by side in one Int32Array (16 bytes: a probe touches one cache line, not
 *   one per field), with linear probing and backward-shift deletion. The first word also holds the index of the
 *   key's value in a dense array filled in insertion order (freed indices are reused): an insert writes its value
 *   next to the previous one instead of into a random slot of a parallel array, one cache miss fewer.
 * - Each key carries a small tag (0..15) that is *not* hashed, so the same tuple under different tags lives in one
 *   probe run. Conntrack files a flow's original tuple under tag 0 and its reply tuple under tag 1 and finds either
 *   with one probe sequence (`find`), where two tables would cost two.
 */
import type { Protocol } from '../model/types.js';

/**
 * Protocol → the small code tables store (TCP 1, UDP 2, SCTP 3). Compares, not a lookup in a record: on the
 * per-packet path a keyed load by a varying string costs more than two pointer compares of interned strings.
 */
export function protoCode(proto: Protocol): number {
  return proto === 'TCP' ? 1 : proto === 'UDP' ? 2 : 3;
}

/** Keys at or above this are interned ids (non-IPv4 text); below it, an IPv4 address's 32-bit value. */
const INTERNED = 0x1_0000_0000;

/** Whether an `addressKey` is an IPv4 address's 32-bit value (else it is an interned id). */
export function isIPv4Key(key: number): boolean {
  return key < INTERNED;
}

/** Address text that is not canonical IPv4 → small integer, shared by every table (ids are never reused). */
const ids = new Map<string, number>();
let nextId = 1;

/**
 * The table key of an address: `a.b.c.d` (no leading zeros, octets ≤ 255) → its value in [0, 2^32); other text →
 * 2^32 + an interned id. Equal keys ⇔ equal text, as with plain interning.
 */
export function addressKey(ip: string): number {
  const v = canonicalIPv4(ip);
  if (v >= 0) return v;
  let id = ids.get(ip);
  if (id === undefined) {
    id = nextId++;
    ids.set(ip, id);
  }
  return INTERNED + id;
}

/** `addressKey` of an address, from its precomputed `key` when it has one (packet.ts `address()`). */
export function keyOf(a: { readonly ip: string; readonly key?: number }): number {
  const k = a.key;
  return k !== undefined ? k : addressKey(a.ip);
}

/** The key of an address already seen, or -1 (for deletes: an address never keyed is in no table). */
function knownKey(ip: string): number {
  const v = canonicalIPv4(ip);
  if (v >= 0) return v;
  const id = ids.get(ip);
  return id === undefined ? -1 : INTERNED + id;
}

/** Canonical dotted-quad IPv4 → unsigned 32-bit value; -1 for anything else (which is then interned instead). */
export function canonicalIPv4(ip: string): number {
  const n = ip.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let lead = 0;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      // '.': the octet before it must be 1-3 digits, ≤ 255, without a leading zero ("01" is not canonical).
      if (digits === 0 || octet > 255 || (lead === 48 && digits > 1)) return -1;
      value = (value << 8) | octet;
      octet = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return -1;
    if (digits === 0) lead = c;
    octet = octet * 10 + d;
    digits++;
  }
  if (dots !== 3 || digits === 0 || octet > 255 || (lead === 48 && digits > 1)) return -1;
  return ((value << 8) | octet) >>> 0;
}

/**
 * The key's meta byte: protocol code (bits 0-1), whether each address is interned (bits 2-3), tag (bits 4-7). Never 0
 * for a used slot (protocol codes start at 1), so 0 marks an empty slot. (In the table it shares the first word with
 * the value index, bits 8-31.)
 */
export function tupleMeta(protoCode: number, srcKey: number, dstKey: number, tag: number): number {
  return protoCode | (srcKey >= INTERNED ? 4 : 0) | (dstKey >= INTERNED ? 8 : 0) | (tag << 4);
}

/** The last key word: both ports in one int32 (ports are 16-bit). */
export function tuplePorts(srcPort: number, dstPort: number): number {
  return ((srcPort & 0xffff) << 16) | (dstPort & 0xffff);
}

const TAG_MASK = 0xf0;
const META_MASK = 0xff;
/** Value indices live in the first word's upper 24 bits. */
const MAX_VALUES = 1 << 24;

export class TupleTable<V> {
  #mask: number;
  /** Four words per slot: meta | value index << 8, src, dst, ports (0 = empty). */
  #keys: Int32Array;
  /** Values by index, dense; `#free` lists indices whose keys were deleted. */
  #values: (V | undefined)[] = [];
  #free: number[] = [];
  #size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.#mask = cap - 1;
    this.#keys = new Int32Array(cap * 4);
  }

  /** Keys stored (every tag). */
  get size(): number {
    return this.#size;
  }

  get(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number): V | undefined {
    const s = addressKey(srcIp);
    const d = addressKey(dstIp);
    const i = this.find(tupleMeta(protoCode(proto), s, d, 0), s, d, tuplePorts(srcPort, dstPort), false);
    return i < 0 ? undefined : this.valueAt(i);
  }

  has(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number): boolean {
    return this.get(proto, srcIp, srcPort, dstIp, dstPort) !== undefined;
  }

  /** Insert or replace (tag 0). */
  set(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number, value: V): void {
    const s = addressKey(srcIp);
    const d = addressKey(dstIp);
    this.setKey(tupleMeta(protoCode(proto), s, d, 0), s, d, tuplePorts(srcPort, dstPort), value);
  }

  /** Remove (tag 0); returns whether the tuple was present. */
  delete(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number): boolean {
    const s = knownKey(srcIp);
    const d = knownKey(dstIp);
    if (s < 0 || d < 0) return false;
    return this.deleteKey(tupleMeta(protoCode(proto), s, d, 0), s, d, tuplePorts(srcPort, dstPort));
  }

  /**
   * The slot of a key, or -1. `anyTag`: `meta`'s tag is a preference, not a requirement: a slot with that exact tag
   * wins, else the first slot of the same tuple under another tag (one probe sequence finds both).
   */
  find(meta: number, s: number, d: number, ports: number, anyTag: boolean): number {
    const keys = this.#keys;
    const mask = this.#mask;
    const untagged = meta & ~TAG_MASK;
    const s32 = s | 0;
    const d32 = d | 0;
    let i = hash(untagged, s32, d32, ports) & mask;
    let other = -1;
    for (;;) {
      const at = i << 2;
      const w = keys[at]!;
      if (w === 0) return other;
      if (keys[at + 3] === ports && keys[at + 1] === s32 && keys[at + 2] === d32) {
        const m = w & META_MASK;
        if (m === meta) return i;
        if (anyTag && other < 0 && (m & ~TAG_MASK) === untagged) other = i;
      }
      i = (i + 1) & mask;
    }
  }

  /** The value in a slot `find` returned. */
  valueAt(slot: number): V {
    return this.#values[this.#keys[slot << 2]! >>> 8]!;
  }

  /** The tag of a slot `find` returned. */
  tagAt(slot: number): number {
    return (this.#keys[slot << 2]! & TAG_MASK) >> 4;
  }

  /** Insert or replace a key; returns true when the key was new. */
  setKey(meta: number, s: number, d: number, ports: number, value: V): boolean {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    const keys = this.#keys;
    const mask = this.#mask;
    const s32 = s | 0;
    const d32 = d | 0;
    let i = hash(meta & ~TAG_MASK, s32, d32, ports) & mask;
    for (;;) {
      const at = i << 2;
      const w = keys[at]!;
      if (w === 0) break;
      if ((w & META_MASK) === meta && keys[at + 3] === ports && keys[at + 1] === s32 && keys[at + 2] === d32) {
        this.#values[w >>> 8] = value;
        return false;
      }
      i = (i + 1) & mask;
    }
    const index = this.#free.length > 0 ? this.#free.pop()! : this.#values.length;
    if (index >= MAX_VALUES) throw new RangeError(`TupleTable holds at most ${MAX_VALUES} keys`);
    this.#values[index] = value;
    const at = i << 2;
    keys[at] = meta | (index << 8);
    keys[at + 1] = s32;
    keys[at + 2] = d32;
    keys[at + 3] = ports;
    this.#size++;
    return true;
  }

  /** Remove a key (exact tag); returns whether it was present. */
  deleteKey(meta: number, s: number, d: number, ports: number): boolean {
    const i = this.find(meta, s, d, ports, false);
    if (i < 0) return false;
    const keys = this.#keys;
    const mask = this.#mask;
    const index = keys[i << 2]! >>> 8;
    this.#values[index] = undefined;
    this.#free.push(index);
    // Backward-shift deletion keeps probe runs intact without tombstones (a key's value index moves with it).
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const at = j << 2;
      const w = keys[at]!;
      if (w === 0) break;
      const home = hash(w & META_MASK & ~TAG_MASK, keys[at + 1]!, keys[at + 2]!, keys[at + 3]!) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      keys.copyWithin(hole << 2, at, at + 4);
      hole = j;
    }
    keys[hole << 2] = 0;
    this.#size--;
    return true;
  }

  /** Every value (of one tag, when given), in slot order. */
  *values(tag?: number): IterableIterator<V> {
    const keys = this.#keys;
    for (let i = 0; i <= this.#mask; i++) {
      const w = keys[i << 2]!;
      if (w === 0 || (tag !== undefined && (w & TAG_MASK) >> 4 !== tag)) continue;
      yield this.#values[w >>> 8]!;
    }
  }

  /** Remove everything; `each` (if given) sees every value removed, once per key holding it. */
  clear(each?: (value: V) => void): void {
    if (each) for (const v of this.#values) if (v !== undefined) each(v);
    this.#keys.fill(0);
    this.#values = [];
    this.#free = [];
    this.#size = 0;
  }

  #grow(): void {
    const oldKeys = this.#keys;
    const oldSlots = this.#mask + 1;
    const cap = oldSlots * 2;
    const mask = cap - 1;
    const keys = new Int32Array(cap * 4);
    for (let k = 0; k < oldSlots; k++) {
      const from = k << 2;
      const w = oldKeys[from]!;
      if (w === 0) continue;
      let i = hash(w & META_MASK & ~TAG_MASK, oldKeys[from + 1]!, oldKeys[from + 2]!, oldKeys[from + 3]!) & mask;
      while (keys[i << 2] !== 0) i = (i + 1) & mask;
      keys.set(oldKeys.subarray(from, from + 4), i << 2);
    }
    this.#mask = mask;
    this.#keys = keys;
  }
}

function hash(meta: number, s: number, d: number, ports: number): number {
  let h = Math.imul(meta ^ s, 0x9e3779b1);
  h = Math.imul(((h << 13) | (h >>> 19)) ^ d, 0x9e3779b1);
  h = Math.imul(((h << 13) | (h >>> 19)) ^ ports, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
