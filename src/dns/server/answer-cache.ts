/**
 * Encoded answers, reused until the zone changes. The zone's generation rises on every DNS-visible store change,
 * and an entry from an older generation is never served, so a change shows in the very next answer.
 */
import type { CachedResponse } from '../wire/cached-response.js';

interface Entry {
  generation: number;
  response: CachedResponse;
}

export class AnswerCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  #generation = -1;
  hits = 0;
  misses = 0;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = maxEntries;
  }

  static key(name: string, type: number, klass: number, limit: number, edns: boolean): string {
    return `${name}|${type}|${klass}|${limit}|${edns ? 1 : 0}`;
  }

  get(key: string, generation: number): CachedResponse | undefined {
    if (generation !== this.#generation) {
      // One change invalidates everything: cheaper than working out which answers it touched.
      this.#entries.clear();
      this.#generation = generation;
    }
    const entry = this.#entries.get(key);
    if (entry) this.hits++;
    else this.misses++;
    return entry?.response;
  }

  set(key: string, generation: number, response: CachedResponse): void {
    if (generation !== this.#generation) return;
    if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
    this.#entries.set(key, { generation, response });
  }

  get size(): number {
    return this.#entries.size;
  }
}
