/**
 * The `cache` option, as kubeadm's Corefile uses it today (`cache 30 { disable success cluster.local; disable denial
 * cluster.local }`): answers from upstream are kept for at most `cache` seconds (and no longer than their own TTL);
 * cluster answers are always live.
 */
import type { Message } from '../wire/message.js';

interface Entry {
  expires: number;
  message: Message;
}

export class UpstreamCache {
  readonly #seconds: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();

  constructor(seconds: number, now: () => number) {
    this.#seconds = seconds;
    this.#now = now;
  }

  async fetch(name: string, type: number, ask: () => Promise<Message>): Promise<Message> {
    if (this.#seconds <= 0) return ask();
    const key = `${name.toLowerCase()}|${type}`;
    const hit = this.#entries.get(key);
    const now = this.#now();
    if (hit && hit.expires > now) return hit.message;
    const message = await ask();
    const ttls = [...message.answer, ...message.authority].map((rr) => rr.ttl);
    const ttl = Math.min(this.#seconds, ...ttls);
    if (ttl > 0) this.#entries.set(key, { expires: now + ttl * 1000, message });
    return message;
  }
}
