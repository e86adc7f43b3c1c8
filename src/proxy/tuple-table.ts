/**
 * A hash table from 5-tuples to values, built for conntrack's per-packet lookups: addresses are interned to small
 * integers (one Map lookup per address, whose string hash V8 caches), the tuple is hashed arithmetically, and slots
 * live in typed arrays with linear probing and backward-shift deletion. No string is built per packet, which is what
 * a `Map<string, …>` keyed by `"proto src dst"` would cost.
 */
import type { Protocol } from '../model/types.js';

/** Protocol → the small code tables store. */
export const PROTO_CODE: Readonly<Record<Protocol, number>> = { TCP: 1, UDP: 2, SCTP: 3 };

/** Address text → small integer, shared by every table (ids are never reused). */
const ids = new Map<string, number>();
let nextId = 1;

/** The interned id of an address. */
export function addressId(ip: string): number {
  let id = ids.get(ip);
  if (id === undefined) {
    id = nextId++;
    ids.set(ip, id);
  }
  return id;
}

function mix(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x9e3779b1);
  return (h << 13) | (h >>> 19);
}

export class TupleTable<V> {
  #mask: number;
  #proto: Uint8Array;
  #src: Int32Array;
  #sport: Uint16Array;
  #dst: Int32Array;
  #dport: Uint16Array;
  #values: (V | undefined)[];
  #size = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.#mask = cap - 1;
    this.#proto = new Uint8Array(cap);
    this.#src = new Int32Array(cap);
    this.#sport = new Uint16Array(cap);
    this.#dst = new Int32Array(cap);
    this.#dport = new Uint16Array(cap);
    this.#values = new Array(cap).fill(undefined);
  }

  get size(): number {
    return this.#size;
  }

  get(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number): V | undefined {
    return this.getById(PROTO_CODE[proto], addressId(srcIp), srcPort, addressId(dstIp), dstPort);
  }

  /** `get` with the protocol code and interned address ids already computed (one interning per packet). */
  getById(p: number, s: number, srcPort: number, d: number, dstPort: number): V | undefined {
    let i = hash(p, s, srcPort, d, dstPort) & this.#mask;
    for (;;) {
      const pc = this.#proto[i]!;
      if (pc === 0) return undefined;
      if (
        pc === p &&
        this.#src[i] === s &&
        this.#sport[i] === srcPort &&
        this.#dst[i] === d &&
        this.#dport[i] === dstPort
      )
        return this.#values[i];
      i = (i + 1) & this.#mask;
    }
  }

  has(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number): boolean {
    return this.get(proto, srcIp, srcPort, dstIp, dstPort) !== undefined;
  }

  /** Insert or replace. */
  set(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number, value: V): void {
    this.setById(PROTO_CODE[proto], addressId(srcIp), srcPort, addressId(dstIp), dstPort, value);
  }

  /** `set` with precomputed codes. */
  setById(p: number, s: number, srcPort: number, d: number, dstPort: number, value: V): void {
    if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
    let i = hash(p, s, srcPort, d, dstPort) & this.#mask;
    for (;;) {
      const pc = this.#proto[i]!;
      if (pc === 0) break;
      if (
        pc === p &&
        this.#src[i] === s &&
        this.#sport[i] === srcPort &&
        this.#dst[i] === d &&
        this.#dport[i] === dstPort
      ) {
        this.#values[i] = value;
        return;
      }
      i = (i + 1) & this.#mask;
    }
    this.#proto[i] = p;
    this.#src[i] = s;
    this.#sport[i] = srcPort;
    this.#dst[i] = d;
    this.#dport[i] = dstPort;
    this.#values[i] = value;
    this.#size++;
  }

  /** Remove; returns whether the tuple was present. */
  delete(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number): boolean {
    const p = PROTO_CODE[proto];
    const s = ids.get(srcIp);
    const d = ids.get(dstIp);
    if (s === undefined || d === undefined) return false;
    const mask = this.#mask;
    let i = hash(p, s, srcPort, d, dstPort) & mask;
    for (;;) {
      const pc = this.#proto[i]!;
      if (pc === 0) return false;
      if (
        pc === p &&
        this.#src[i] === s &&
        this.#sport[i] === srcPort &&
        this.#dst[i] === d &&
        this.#dport[i] === dstPort
      )
        break;
      i = (i + 1) & mask;
    }
    // Backward-shift deletion keeps probe chains intact without tombstones.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const pc = this.#proto[j]!;
      if (pc === 0) break;
      const home = hash(pc, this.#src[j]!, this.#sport[j]!, this.#dst[j]!, this.#dport[j]!) & mask;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (inRange) continue;
      this.#proto[hole] = pc;
      this.#src[hole] = this.#src[j]!;
      this.#sport[hole] = this.#sport[j]!;
      this.#dst[hole] = this.#dst[j]!;
      this.#dport[hole] = this.#dport[j]!;
      this.#values[hole] = this.#values[j];
      hole = j;
    }
    this.#proto[hole] = 0;
    this.#values[hole] = undefined;
    this.#size--;
    return true;
  }

  /** Every value, in slot order. */
  *values(): IterableIterator<V> {
    const values = this.#values;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== undefined) yield v;
    }
  }

  /** Remove everything. */
  clear(): void {
    this.#proto.fill(0);
    this.#values.fill(undefined);
    this.#size = 0;
  }

  #grow(): void {
    const old = {
      proto: this.#proto,
      src: this.#src,
      sport: this.#sport,
      dst: this.#dst,
      dport: this.#dport,
      values: this.#values,
    };
    const cap = (this.#mask + 1) * 2;
    this.#mask = cap - 1;
    this.#proto = new Uint8Array(cap);
    this.#src = new Int32Array(cap);
    this.#sport = new Uint16Array(cap);
    this.#dst = new Int32Array(cap);
    this.#dport = new Uint16Array(cap);
    this.#values = new Array(cap).fill(undefined);
    for (let k = 0; k < old.proto.length; k++) {
      const pc = old.proto[k]!;
      if (pc === 0) continue;
      let i = hash(pc, old.src[k]!, old.sport[k]!, old.dst[k]!, old.dport[k]!) & this.#mask;
      while (this.#proto[i] !== 0) i = (i + 1) & this.#mask;
      this.#proto[i] = pc;
      this.#src[i] = old.src[k]!;
      this.#sport[i] = old.sport[k]!;
      this.#dst[i] = old.dst[k]!;
      this.#dport[i] = old.dport[k]!;
      this.#values[i] = old.values[k];
    }
  }
}

function hash(p: number, s: number, sp: number, d: number, dp: number): number {
  let h = mix(p, s);
  h = mix(h, sp);
  h = mix(h, d);
  h = mix(h, dp);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
