/**
 * The `cache` option, as kubeadm's Corefile uses it today (`cache 30 { disable success cluster.local; disable denial
 * cluster.local }`): answers from upstream are kept for at most `cache` seconds (and no longer than their own TTL);
 * cluster answers are always live.
 *
 * Bounded like CoreDNS's cache plugin, whose default capacity is 9984 entries: names from outside are unbounded, and
 * so would memory be. Eviction is by insertion order (a Map iterates oldest first), which is also roughly expiry
 * order since every TTL is capped at `cache`; an expired entry is dropped when it is looked up.
 */
import type { UpstreamReply } from './upstream.js';

/** CoreDNS cache plugin: 256 shards of 39 items. */
export const UPSTREAM_CACHE_CAPACITY = 9984;

interface Entry {
  expires: number;
  reply: UpstreamReply;
}

export class UpstreamCache {
  readonly #seconds: number;
  readonly #now: () => number;
  readonly #capacity: number;
  readonly #entries = new Map<string, Entry>();

  constructor(seconds: number, now: () => number, capacity = UPSTREAM_CACHE_CAPACITY) {
    this.#seconds = seconds;
    this.#now = now;
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  async fetch(name: string, type: number, ask: () => Promise<UpstreamReply>): Promise<UpstreamReply> {
    if (this.#seconds <= 0) return ask();
    const key = `${name.toLowerCase()}|${type}`;
    const hit = this.#entries.get(key);
    if (hit) {
      if (hit.expires > this.#now()) return hit.reply;
      this.#entries.delete(key);
    }
    const reply = await ask();
    // Only decoded replies: their TTLs say how long they may be kept. A relayed one is asked for again.
    if (reply.message === null) return reply;
    const ttls = [...reply.message.answer, ...reply.message.authority].map((rr) => rr.ttl);
    const ttl = Math.min(this.#seconds, ...ttls);
    if (ttl <= 0) return reply;
    // Re-inserted at the end (a concurrent fetch of the same name may have stored it meanwhile): newest last.
    this.#entries.delete(key);
    while (this.#entries.size >= this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, { expires: this.#now() + ttl * 1000, reply });
    return reply;
  }
}
