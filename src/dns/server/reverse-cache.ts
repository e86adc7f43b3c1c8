/**
 * CoreDNS's cache plugin for the reverse zones. kubeadm's Corefile keeps `cache 30 { disable success cluster.local;
 * disable denial cluster.local }` (kubernetes#128359): the cluster zone is always answered live, but the kubernetes
 * plugin's answers in `in-addr.arpa` and `ip6.arpa` (PTR records, and NXDOMAIN or NODATA with the reverse zone's SOA)
 * go through the cache. So a repeated `dig -x` sees its TTL count down, and a deleted Service's PTR is still served
 * until its entry runs out.
 *
 * As the plugin keeps an answer (cache.go ResponseWriter.WriteMsg): for as long as its smallest record TTL
 * (dnsutil.MinimalTTL; 5 s for a message without records), at least 5 s (the default MINTTL) and at most `cache`
 * seconds; the reply that fills the entry has every TTL capped at that time, and a reply from the entry gives every
 * record what is left of it, in whole seconds. Keyed by name (in lower case), type and class.
 */

import { absolute, matchZone } from '../resolve/request.js';
import { REVERSE_ZONES } from '../resolve/resolve.js';
import type { ReplyContent } from './to-message.js';
import { TtlCache, withSectionTtls } from './ttl-cache.js';

/** dnsutil.MinimalDefaultTTL, and the cache plugin's default MINTTL for success and denial. */
const MINIMAL_TTL = 5;

/** Whether a name lies in a reverse zone (`in-addr.arpa`, `ip6.arpa`, or either apex), as the resolver matches zones. */
export function isReverseName(name: string): boolean {
  return matchZone(absolute(name).toLowerCase(), REVERSE_ZONES) !== undefined;
}

export class ReverseAnswerCache {
  readonly #seconds: number;
  readonly #entries: TtlCache<ReplyContent>;

  constructor(seconds: number, now: () => number) {
    this.#seconds = seconds;
    this.#entries = new TtlCache(now);
  }

  /** Whether answers are cached at all (`cache` > 0). */
  get enabled(): boolean {
    return this.#seconds > 0;
  }

  static key(name: string, type: number, klass: number): string {
    return `${name.toLowerCase()}|${type}|${klass}`;
  }

  /** The cached answer with what is left of its time as every TTL, or undefined. */
  lookup(key: string): ReplyContent | undefined {
    const hit = this.#entries.lookup(key);
    return hit && withSectionTtls(hit.value, () => hit.left);
  }

  /** Keep an answer the zone gave; returns it with its TTLs capped at the time it is kept for. */
  keep(key: string, content: ReplyContent): ReplyContent {
    const ttls = [...content.answer, ...content.authority, ...content.additional].map((rr) => rr.ttl);
    const smallest = ttls.length ? Math.min(...ttls) : MINIMAL_TTL;
    const ttl = Math.min(Math.max(smallest, MINIMAL_TTL), this.#seconds);
    const capped = withSectionTtls(content, (rr) => Math.min(rr.ttl, ttl));
    this.#entries.keep(key, capped, ttl);
    return capped;
  }
}
