/**
 * The `cache` option, as kubeadm's Corefile uses it today (`cache 30 { disable success cluster.local; disable denial
 * cluster.local }`): answers from upstream are kept for at most `cache` seconds (and no longer than their own TTL);
 * cluster answers are always live.
 *
 * Bounded like CoreDNS's cache plugin, whose default capacity is 9984 entries: names from outside are unbounded, and
 * so would memory be (ttl-cache.ts).
 *
 * TTLs as the plugin writes them: the reply that fills the cache has each record's TTL capped at the time it is kept
 * ("to avoid jarring TTL experience 1799 -> 8"), and a reply served from the cache gives every record what is left of
 * that time, in whole seconds, counting down.
 */
import type { Message, ResourceRecord } from '../wire/message.js';
import { CACHE_CAPACITY, TtlCache, withSectionTtls } from './ttl-cache.js';
import type { UpstreamReply } from './upstream.js';

/** CoreDNS cache plugin: 256 shards of 39 items. */
export const UPSTREAM_CACHE_CAPACITY = CACHE_CAPACITY;

/** The reply with each record's TTL set by `ttl` (the decoded message only: the wire form is relayed untouched). */
function withTtls(reply: UpstreamReply, message: Message, ttl: (rr: ResourceRecord) => number): UpstreamReply {
  return { ...reply, message: withSectionTtls(message, ttl) };
}

export class UpstreamCache {
  readonly #seconds: number;
  readonly #entries: TtlCache<UpstreamReply>;

  constructor(seconds: number, now: () => number, capacity = UPSTREAM_CACHE_CAPACITY) {
    this.#seconds = seconds;
    this.#entries = new TtlCache(now, capacity);
  }

  get size(): number {
    return this.#entries.size;
  }

  async fetch(name: string, type: number, ask: () => Promise<UpstreamReply>): Promise<UpstreamReply> {
    if (this.#seconds <= 0) return ask();
    const key = `${name.toLowerCase()}|${type}`;
    const hit = this.#entries.lookup(key);
    if (hit) return withTtls(hit.value, hit.value.message!, () => hit.left);
    const reply = await ask();
    // Only decoded replies: their TTLs say how long they may be kept. A relayed one is asked for again.
    if (reply.message === null) return reply;
    const ttls = [...reply.message.answer, ...reply.message.authority].map((rr) => rr.ttl);
    const ttl = Math.min(this.#seconds, ...ttls);
    if (ttl <= 0) return reply;
    // Kept anew even if a concurrent fetch of the same name stored it meanwhile: newest last.
    const kept = withTtls(reply, reply.message, (rr) => Math.min(rr.ttl, ttl));
    this.#entries.keep(key, kept, ttl);
    return kept;
  }
}
