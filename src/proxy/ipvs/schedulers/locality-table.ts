/**
 * The per-destination-IP cache shared by lblc and lblcr, with the kernel's garbage collection on simulated time.
 *
 * Both modules keep a 1024-bucket hash (`hash_32(addr, 10)`, newest entry first in each bucket) and a timer that
 * fires every 60 s:
 * - every 30th firing (counted only while the table is not over-full) runs a full check that drops entries unused for
 *   `expiration` (sysctl lblc_expiration / lblcr_expiration, default 24 h);
 * - when the table holds more than 16 × 1024 entries, a partial pass from a roving bucket drops entries unused for
 *   6 minutes, up to (entries − max)·4/3 of them (at most max/2).
 * Firings are replayed lazily up to the time of the next scheduling call, which observes the same table the kernel
 * would have at that instant. The entry count those rules read is the kernel's `tbl->entries`, which lblc's
 * replacement of an entry (ip_vs_lblc_new) raises without lowering it for the entry replaced (`replace`).
 */
import { hash32 } from './hash.js';

export const LOCALITY_TAB_BITS = 10;
export const LOCALITY_TAB_SIZE = 1 << LOCALITY_TAB_BITS;
export const CHECK_EXPIRE_INTERVAL_MS = 60_000;
export const ENTRY_TIMEOUT_MS = 6 * 60_000;
export const DEFAULT_EXPIRATION_MS = 24 * 3600_000;
const COUNT_FOR_FULL_EXPIRATION = 30;

/** What the table needs of an entry. */
export interface LocalityEntry {
  readonly addr: string;
  readonly bucket: number;
  lastUse: number;
}

/** The hash table plus its GC timer. */
export class LocalityTable<E extends LocalityEntry> {
  readonly maxSize = LOCALITY_TAB_SIZE * 16;
  readonly expirationMs: number;
  readonly #byAddr = new Map<string, E>();
  readonly #buckets = new Map<number, E[]>();
  #nextTick: number;
  #rover = 0;
  #counter = 1;
  /** `tbl->entries`: raised by every insert, lowered only by the collector's deletions. */
  #entries = 0;

  constructor(createdAtMs: number, expirationMs = DEFAULT_EXPIRATION_MS) {
    this.#nextTick = createdAtMs + CHECK_EXPIRE_INTERVAL_MS;
    this.expirationMs = expirationMs;
  }

  get size(): number {
    return this.#byAddr.size;
  }

  get(addr: string): E | undefined {
    return this.#byAddr.get(addr);
  }

  /** Entries in bucket order (newest first within a bucket), for traces and tests. */
  entries(): E[] {
    return [...this.#buckets.keys()].sort((a, b) => a - b).flatMap((b) => this.#buckets.get(b)!);
  }

  insert(entry: E): void {
    let list = this.#buckets.get(entry.bucket);
    if (!list) {
      list = [];
      this.#buckets.set(entry.bucket, list);
    }
    list.unshift(entry);
    this.#byAddr.set(entry.addr, entry);
    this.#entries++;
  }

  /**
   * Replace an entry with a new one for the same address (lblc: its server changed). ip_vs_lblc_new unlinks the old
   * entry with ip_vs_lblc_del, which leaves `tbl->entries` alone, then hashes the new one, which raises it: the count
   * grows by one per replacement, and past 16 × 1024 the collector runs partial passes for good.
   */
  replace(old: E, entry: E): void {
    this.#unlink(old);
    this.insert(entry);
  }

  /** The collector's deletion (and the flush's): the count goes down with the entry. */
  delete(entry: E): void {
    this.#unlink(entry);
    this.#entries--;
  }

  #unlink(entry: E): void {
    const list = this.#buckets.get(entry.bucket);
    if (list) {
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#buckets.delete(entry.bucket);
    }
    this.#byAddr.delete(entry.addr);
  }

  /** Run every timer firing due at or before `nowMs`. */
  advance(nowMs: number): void {
    while (this.#nextTick <= nowMs) {
      const at = this.#nextTick;
      this.#nextTick += CHECK_EXPIRE_INTERVAL_MS;
      if (this.#byAddr.size === 0) {
        // Nothing to collect: only the counter moves, as a firing over an empty table moves it (a partial pass over
        // an empty table changes nothing).
        if (this.#counter % COUNT_FOR_FULL_EXPIRATION === 0) this.#counter = 1;
        else if (this.#entries <= this.maxSize) this.#counter++;
        continue;
      }
      this.#fire(at);
    }
  }

  #fire(now: number): void {
    if (this.#counter % COUNT_FOR_FULL_EXPIRATION === 0) {
      this.#sweep(now, this.expirationMs, Number.POSITIVE_INFINITY);
      this.#counter = 1;
      return;
    }
    if (this.#entries <= this.maxSize) {
      this.#counter++;
      return;
    }
    let goal = Math.trunc(((this.#entries - this.maxSize) * 4) / 3);
    if (goal > this.maxSize / 2) goal = this.maxSize / 2;
    this.#sweep(now, ENTRY_TIMEOUT_MS, goal);
  }

  // Visit buckets starting after the rover, dropping entries idle for at least `idleMs`; stop after the bucket in
  // which the goal was reached.
  #sweep(now: number, idleMs: number, goal: number): void {
    let j = this.#rover;
    for (let i = 0; i < LOCALITY_TAB_SIZE; i++) {
      j = (j + 1) & (LOCALITY_TAB_SIZE - 1);
      const list = this.#buckets.get(j);
      if (list) {
        for (const e of [...list]) {
          if (now < e.lastUse + idleMs) continue;
          this.delete(e);
          goal--;
        }
      }
      if (goal <= 0) break;
    }
    this.#rover = j;
  }
}

/** The bucket a destination address hashes to (`hash_32(ntohl(addr_fold), 10)`). */
export function localityBucket(fold: number): number {
  return hash32(fold, LOCALITY_TAB_BITS);
}
