/**
 * What CoreDNS's cache plugin keeps, reduced to what both of our uses need (upstream-cache.ts, reverse-cache.ts):
 * entries kept for a number of whole seconds, bounded like the plugin (9984 entries by default), evicted oldest
 * first (a Map iterates in insertion order, roughly expiry order since every TTL is capped alike), and an expired
 * entry dropped when it is looked up.
 */

import type { ResourceRecord } from '../wire/message.js';

/** A reply's three record sections, whatever else it carries. */
interface Sections {
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

/** The same reply with every record's TTL set by `ttl`, as the plugin writes a kept or capped reply. */
export function withSectionTtls<T extends Sections>(reply: T, ttl: (rr: ResourceRecord) => number): T {
  const set = (rrs: ResourceRecord[]) => rrs.map((rr) => ({ ...rr, ttl: ttl(rr) }));
  return { ...reply, answer: set(reply.answer), authority: set(reply.authority), additional: set(reply.additional) };
}

/** CoreDNS cache plugin: 256 shards of 39 items. */
export const CACHE_CAPACITY = 9984;

interface Entry<V> {
  /** When it was kept, in ms, and for how many seconds. */
  stored: number;
  ttl: number;
  value: V;
}

export class TtlCache<V> {
  readonly #now: () => number;
  readonly #capacity: number;
  readonly #entries = new Map<string, Entry<V>>();

  constructor(now: () => number, capacity = CACHE_CAPACITY) {
    this.#now = now;
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The value under `key` and the whole seconds it has left (at least 1), or undefined once it has none. */
  lookup(key: string): { value: V; left: number } | undefined {
    const hit = this.#entries.get(key);
    if (!hit) return undefined;
    const left = hit.ttl - Math.floor((this.#now() - hit.stored) / 1000);
    if (left > 0) return { value: hit.value, left };
    this.#entries.delete(key);
    return undefined;
  }

  /** Keep `value` for `ttl` seconds from now (newest last, whatever was under the key before). */
  keep(key: string, value: V, ttl: number): void {
    this.#entries.delete(key);
    while (this.#entries.size >= this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { stored: this.#now(), ttl, value });
  }
}
