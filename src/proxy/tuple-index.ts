/**
 * The open-addressing core of the 5-tuple tables: keys of four int32 words, each holding an integer payload, in one
 * Int32Array.
 *
 * - A slot is four words side by side (16 bytes: a probe touches one cache line, not one per field): meta | payload
 *   << 8, source, destination, ports (0 = empty). Linear probing, backward-shift deletion (no tombstones).
 * - The payload is the caller's integer (< 2^24): conntrack's entry index, or TupleTable's index into its values. A
 *   hit reads it from the slot it already holds, with no second lookup.
 * - Each key carries a small tag (0..15, in the meta byte) that is *not* hashed, so the same tuple under different
 *   tags lives in one probe run and one probe sequence finds either (`find` with `anyTag`).
 *
 * Keys are built by tuple-table.ts (`tupleMeta`, `tuplePorts`, `addressKey`).
 */

import { deleteSlot, doubled } from './open-addressing.js';

export const TAG_MASK = 0xf0;
const META_MASK = 0xff;
/** Payloads live in the first word's upper 24 bits. */
export const MAX_PAYLOAD = 1 << 24;

export class TupleIndex {
  #mask: number;
  /** Four words per slot: meta | payload << 8, src, dst, ports (0 = empty). */
  #keys: Int32Array;
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

  /** The payload in a slot `find` returned. */
  payloadAt(slot: number): number {
    return this.#keys[slot << 2]! >>> 8;
  }

  /** The tag of a slot `find` returned. */
  tagAt(slot: number): number {
    return (this.#keys[slot << 2]! & TAG_MASK) >> 4;
  }

  /** Insert a key with its payload, or replace the payload of a key present; returns the old payload, or -1. */
  put(meta: number, s: number, d: number, ports: number, payload: number): number {
    if (payload < 0 || payload >= MAX_PAYLOAD) throw new RangeError(`tuple payloads are below ${MAX_PAYLOAD}`);
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
        keys[at] = meta | (payload << 8);
        return w >>> 8;
      }
      i = (i + 1) & mask;
    }
    const at = i << 2;
    keys[at] = meta | (payload << 8);
    keys[at + 1] = s32;
    keys[at + 2] = d32;
    keys[at + 3] = ports;
    this.#size++;
    return -1;
  }

  /** Remove a key (exact tag); returns its payload, or -1 when it was not present. */
  remove(meta: number, s: number, d: number, ports: number): number {
    const i = this.find(meta, s, d, ports, false);
    if (i < 0) return -1;
    const payload = this.#keys[i << 2]! >>> 8;
    deleteSlot(this.#keys, 4, this.#mask, i, slotHash);
    this.#size--;
    return payload;
  }

  /** Every payload (of one tag, when given), in slot order. */
  *payloads(tag?: number): IterableIterator<number> {
    const keys = this.#keys;
    for (let i = 0; i <= this.#mask; i++) {
      const w = keys[i << 2]!;
      if (w === 0 || (tag !== undefined && (w & TAG_MASK) >> 4 !== tag)) continue;
      yield w >>> 8;
    }
  }

  /** Remove every key. */
  clear(): void {
    this.#keys.fill(0);
    this.#size = 0;
  }

  #grow(): void {
    this.#keys = doubled(this.#keys, 4, slotHash);
    this.#mask = this.#mask * 2 + 1;
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

/** The hash of the key in the slot at `at` (its tag is not hashed). */
function slotHash(keys: Int32Array, at: number): number {
  return hash(keys[at]! & META_MASK & ~TAG_MASK, keys[at + 1]!, keys[at + 2]!, keys[at + 3]!);
}
