/**
 * A hash table from 5-tuples to values, built for conntrack's per-packet lookups.
 *
 * - Addresses become numbers without building a string (`addressKey`): canonical dotted-quad IPv4 is its 32-bit
 *   value, parsed arithmetically; any other text (IPv6, or IPv4 written non-canonically) is interned to a small id.
 *   Parsing beats a Map lookup here because the intern table of a busy node holds hundreds of thousands of addresses
 *   and every lookup in it is a cache miss.
 * - Keys live in a TupleIndex (tuple-index.ts: four int32 words per slot in one Int32Array, linear probing, a small
 *   unhashed tag so one probe sequence finds a tuple under either tag). TupleTable keeps its values in a dense array
 *   filled in insertion order (freed indices are reused), the slot holding the value's index; conntrack uses the
 *   index directly, its payloads being entry numbers (conntrack-store.ts).
 */
import { canonicalIPv4 } from '../cni/ip.js';
import type { Protocol } from '../model/types.js';
import { MAX_PAYLOAD, TupleIndex } from './tuple-index.js';

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

/** The key of an address already seen, or -1 (for deletes: an address never keyed is in no table). */
function knownKey(ip: string): number {
  const v = canonicalIPv4(ip);
  if (v >= 0) return v;
  const id = ids.get(ip);
  return id === undefined ? -1 : INTERNED + id;
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

/** A 5-tuple → value map over a TupleIndex: values in a dense array filled in insertion order, freed indices reused. */
export class TupleTable<V> {
  readonly #index: TupleIndex;
  /** Values by index, dense; `#free` lists indices whose keys were deleted. */
  #values: (V | undefined)[] = [];
  #free: number[] = [];

  constructor(initialCapacity = 1024) {
    this.#index = new TupleIndex(initialCapacity);
  }

  /** Keys stored (every tag). */
  get size(): number {
    return this.#index.size;
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

  /** The slot of a key, or -1 (TupleIndex.find). */
  find(meta: number, s: number, d: number, ports: number, anyTag: boolean): number {
    return this.#index.find(meta, s, d, ports, anyTag);
  }

  /** The value in a slot `find` returned. */
  valueAt(slot: number): V {
    return this.#values[this.#index.payloadAt(slot)]!;
  }

  /** The tag of a slot `find` returned. */
  tagAt(slot: number): number {
    return this.#index.tagAt(slot);
  }

  /** Insert or replace a key; returns true when the key was new. */
  setKey(meta: number, s: number, d: number, ports: number, value: V): boolean {
    const slot = this.#index.find(meta, s, d, ports, false);
    if (slot >= 0) {
      this.#values[this.#index.payloadAt(slot)] = value;
      return false;
    }
    const index = this.#free.length > 0 ? this.#free.pop()! : this.#values.length;
    if (index >= MAX_PAYLOAD) throw new RangeError(`TupleTable holds at most ${MAX_PAYLOAD} keys`);
    this.#values[index] = value;
    this.#index.put(meta, s, d, ports, index);
    return true;
  }

  /** Remove a key (exact tag); returns whether it was present. */
  deleteKey(meta: number, s: number, d: number, ports: number): boolean {
    const index = this.#index.remove(meta, s, d, ports);
    if (index < 0) return false;
    this.#values[index] = undefined;
    this.#free.push(index);
    return true;
  }

  /** Every value (of one tag, when given), in slot order. */
  *values(tag?: number): IterableIterator<V> {
    for (const index of this.#index.payloads(tag)) yield this.#values[index]!;
  }

  /** Remove everything; `each` (if given) sees every value removed, once per key holding it. */
  clear(each?: (value: V) => void): void {
    if (each) for (const v of this.#values) if (v !== undefined) each(v);
    this.#index.clear();
    this.#values = [];
    this.#free = [];
  }
}
