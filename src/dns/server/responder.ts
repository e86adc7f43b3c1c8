/**
 * From query bytes to reply bytes, the way CoreDNS's server and its kubeadm plugin chain handle a query:
 * malformed → FORMERR or silence, other opcodes → NOTIMP, EDNS version ≠ 0 → BADVERS, zone transfers only when allowed
 * and over TCP, everything else through the pure resolver, sized for the transport (TC when cut), and names that belong
 * upstream forwarded to the configured resolvers.
 *
 * The common case never encodes: an answer encoded once serves every later query for the same name, type and size
 * until the zone's generation moves (answer-cache.ts). It stays synchronous so the UDP loop needs no promise per query.
 */

import type { Rng } from '../../util/rng.js';
import type { DnsOptions } from '../config.js';
import { roundRobinBy, type ShuffleKind } from '../resolve/loadbalance.js';
import { resolve } from '../resolve/resolve.js';
import { zoneTransfer } from '../resolve/transfer.js';
import type { ResolveResult, UpstreamWork } from '../resolve/types.js';
import { replyFromCache, toCachedResponse } from '../wire/cached-response.js';
import { type ParsedQuery, parseQuery } from '../wire/decode.js';
import { isUnsupportedVersion } from '../wire/edns.js';
import { encodeMessage } from '../wire/encode.js';
import { encodeError } from '../wire/error-response.js';
import { type Message, Rcode, type ResourceRecord, RRType } from '../wire/message.js';
import { relayReply } from '../wire/relay.js';
import { responseLimit } from '../wire/size.js';
import type { ZoneIndex } from '../zone/zone-index.js';
import { AnswerCache } from './answer-cache.js';
import { isReverseName, ReverseAnswerCache } from './reverse-cache.js';
import { type ReplyContent, rcodeNumber, replyMessage, spelledName, toRecord } from './to-message.js';
import { type UpstreamClient, UpstreamMismatch } from './upstream.js';
import { UpstreamCache } from './upstream-cache.js';

export type Transport = 'udp' | 'tcp';

export interface ResponderOptions {
  zone: ZoneIndex;
  dns: DnsOptions;
  /** Seeded stream for the loadbalance shuffle. */
  rng: Rng;
  upstream?: UpstreamClient;
  /** Serve AXFR/IXFR of the cluster zone over TCP (`--allow-transfer`); REFUSED otherwise. */
  allowTransfer?: boolean;
  /** Milliseconds clock, for the caches of upstream and reverse-zone answers. */
  now?: () => number;
}

/** What happened to one query, for metrics and logs. */
export interface Outcome {
  replies: Buffer[];
  qtype: number;
  rcode: number;
  cacheHit: boolean;
  /** The query asked for DNSSEC records (the OPT DO bit): CoreDNS counts these (coredns_dns_do_requests_total). */
  dnssecOk?: boolean;
}

const DROP = null;
const QCLASS_IN = 1;

export class Responder {
  readonly #opts: ResponderOptions;
  readonly cache = new AnswerCache();
  readonly #upstreamCache: UpstreamCache;
  readonly #reverseCache: ReverseAnswerCache;

  constructor(options: ResponderOptions) {
    this.#opts = options;
    this.#upstreamCache = new UpstreamCache(options.dns.cache, options.now ?? Date.now);
    this.#reverseCache = new ReverseAnswerCache(options.dns.cache, options.now ?? Date.now);
  }

  /** The replies to one received message (several for a zone transfer), null to stay silent, or a promise of them. */
  respond(buf: Uint8Array, transport: Transport): Outcome | null | Promise<Outcome | null> {
    const parsed = parseQuery(buf);
    if (!parsed.ok) {
      switch (parsed.reason) {
        case 'short':
        case 'response':
          return DROP;
        case 'notimp':
          return single(encodeError(parsed.info, Rcode.NOTIMP), 0, Rcode.NOTIMP);
        case 'formerr':
          return single(encodeError(parsed.info, Rcode.FORMERR), parsed.info.question?.type ?? 0, Rcode.FORMERR);
      }
    }
    const outcome = this.#answer(parsed.query, transport);
    if (parsed.query.edns?.do !== true) return outcome;
    if (outcome instanceof Promise) return outcome.then((o) => o && { ...o, dnssecOk: true });
    return outcome && { ...outcome, dnssecOk: true };
  }

  #answer(query: ParsedQuery, transport: Transport): Outcome | null | Promise<Outcome | null> {
    const qtype = query.question.type;
    // CoreDNS's ServeDNS refuses a class other than IN before it looks at the EDNS version (core/dnsserver/server.go).
    if (isUnsupportedVersion(query.edns) && query.question.class === QCLASS_IN)
      return single(encodeError(query, Rcode.BADVERS), qtype, Rcode.BADVERS);
    if (qtype === RRType.AXFR || qtype === RRType.IXFR) return this.#transfer(query, transport);

    const limit = responseLimit(transport, query.edns);
    if (this.#reverseCache.enabled && isReverseName(query.question.name)) return this.#reverse(query, limit);
    const { zone } = this.#opts;
    const key = AnswerCache.key(query.question.name, qtype, query.question.class, limit, query.edns !== null);
    const cached = this.cache.get(key, zone.generation);
    if (cached) {
      const reply = replyFromCache(cached, query, limit);
      // The answer cache is ours, not CoreDNS's cache plugin, which kubeadm's Corefile disables for the cluster zone.
      if (reply) return { replies: [reply], qtype, rcode: cached.rcode, cacheHit: false };
    }
    const result = resolve({ name: spelledName(query), type: qtype, class: query.question.class }, zone, {
      rng: this.#opts.rng,
    });
    if (result.upstream && this.#opts.upstream) return this.#viaUpstream(query, result, result.upstream, limit);
    const message = replyMessage(query, contentOf(result));
    const generation = zone.generation;
    if (this.#cacheable(message)) {
      const entry = toCachedResponse(message, limit);
      if (entry) {
        this.cache.set(key, generation, entry);
        const reply = replyFromCache(entry, query, limit);
        if (reply) return single(reply, qtype, message.header.rcode);
      }
    }
    return single(encodeMessage(message, { limit }), qtype, message.header.rcode);
  }

  /**
   * A question in a reverse zone, through CoreDNS's cache plugin (reverse-cache.ts): a kept answer while it lasts, else
   * the zone's answer, kept when it is one the plugin keeps (NOERROR, NXDOMAIN). Names passed upstream are cached
   * there (upstream-cache.ts).
   */
  #reverse(query: ParsedQuery, limit: number): Outcome | Promise<Outcome> {
    const { question } = query;
    const key = ReverseAnswerCache.key(question.name, question.type, question.class);
    const kept = this.#reverseCache.lookup(key);
    if (kept)
      return {
        ...single(encodeMessage(replyMessage(query, kept), { limit }), question.type, kept.rcode),
        cacheHit: true,
      };
    const result = resolve({ name: spelledName(query), type: question.type, class: question.class }, this.#opts.zone, {
      rng: this.#opts.rng,
    });
    if (result.upstream && this.#opts.upstream) return this.#viaUpstream(query, result, result.upstream, limit);
    let content = contentOf(result);
    if (content.rcode === Rcode.NOERROR || content.rcode === Rcode.NXDOMAIN)
      content = this.#reverseCache.keep(key, content);
    return single(encodeMessage(replyMessage(query, content), { limit }), question.type, content.rcode);
  }

  /**
   * With loadbalance on, a section of several addresses is shuffled per reply, so the reply cannot be reused: the
   * answer, and the additional section (an SRV answer's glue), which the plugin shuffles too.
   */
  #cacheable(message: Message): boolean {
    if (!this.#opts.dns.loadbalance) return true;
    return addressCount(message.answer) < 2 && addressCount(message.additional) < 2;
  }

  /**
   * A successful forwarded reply, shuffled as the loadbalance plugin shuffles every reply that passes it (forward and
   * cache stand behind it in CoreDNS's plugin order, so a reply served again from the cache is shuffled anew): the
   * answer, authority and additional sections. The cluster's own answers are shuffled by the resolver.
   */
  #balanced(content: ReplyContent): ReplyContent {
    const rng = this.#opts.rng;
    if (!this.#opts.dns.loadbalance || content.rcode !== Rcode.NOERROR) return content;
    return {
      ...content,
      answer: roundRobinBy(content.answer, rng, kindOfRecord),
      authority: roundRobinBy(content.authority, rng, kindOfRecord),
      additional: roundRobinBy(content.additional, rng, kindOfRecord),
    };
  }

  #transfer(query: ParsedQuery, transport: Transport): Outcome {
    const qtype = query.question.type;
    const refuse = () => single(encodeError(query, Rcode.REFUSED), qtype, Rcode.REFUSED);
    if (!this.#opts.allowTransfer || transport !== 'tcp') return refuse();
    // IXFR (RFC 1995): the client's serial rides in the authority SOA; CoreDNS answers a current one with the SOA
    // alone (xfr.go), and anything older with the whole zone, as we keep no history to send differences from.
    const serial = qtype === RRType.IXFR && query.authoritySerial !== null ? query.authoritySerial : undefined;
    const records = zoneTransfer(
      this.#opts.zone,
      serial === undefined ? { zone: spelledName(query) } : { zone: spelledName(query), serial },
    );
    if (!records) return refuse();
    // RFC 5936 §2.2: as many messages as needed, each a full reply with the question in the first.
    const replies: Buffer[] = [];
    const perMessage = 200;
    for (let i = 0; i < records.length; i += perMessage) {
      const chunk = records.slice(i, i + perMessage).map(toRecord);
      replies.push(
        encodeMessage(
          replyMessage(query, { rcode: 0, authoritative: true, answer: chunk, authority: [], additional: [] }),
        ),
      );
    }
    return { replies, qtype, rcode: 0, cacheHit: false };
  }

  async #viaUpstream(query: ParsedQuery, result: ResolveResult, work: UpstreamWork, limit: number): Promise<Outcome> {
    const qtype = query.question.type;
    let content: ReplyContent;
    // A forwarded answer served again within its TTL is what CoreDNS's cache plugin counts as a hit; answers for
    // cluster names (an ExternalName chased upstream) are never cached there (kubeadm: `disable success cluster.local`).
    let fromCache = true;
    try {
      const upstream = await this.#upstreamCache.fetch(work.name, work.type, () => {
        fromCache = false;
        return this.#opts.upstream!.exchange(work.name, work.type);
      });
      if (upstream.message === null) {
        // Records the model cannot hold: forwarded as bytes (relay.ts). A chase needs the records themselves to put
        // after our CNAME, so for it this counts as a failed lookup, as before.
        const relayed = work.mode === 'forward' ? relayReply(upstream.wire, query, limit) : null;
        if (relayed === null) throw new Error('upstream reply cannot be relayed');
        return single(relayed, qtype, relayed[3]! & 0x0f);
      }
      content = this.#balanced(upstreamContent(query, result, work, upstream.message));
    } catch (err) {
      // CoreDNS's forward answers FORMERR when the upstream's reply does not match the question (state.Match).
      if (err instanceof UpstreamMismatch && work.mode === 'forward')
        return single(encodeError(query, Rcode.FORMERR), qtype, Rcode.FORMERR);
      content = contentOf({ ...result, ...work.onFailure });
    }
    const message = replyMessage(query, content);
    const outcome = single(encodeMessage(message, { limit }), qtype, message.header.rcode);
    return fromCache && work.mode === 'forward' ? { ...outcome, cacheHit: true } : outcome;
  }
}

function upstreamContent(
  query: ParsedQuery,
  result: ResolveResult,
  work: UpstreamWork,
  upstream: Message,
): ReplyContent {
  return work.mode === 'forward'
    ? {
        rcode: upstream.header.rcode,
        authoritative: upstream.header.aa,
        recursionAvailable: upstream.header.ra,
        answer: renameOwner(upstream.answer, work.name, spelledName(query)),
        authority: upstream.authority,
        additional: upstream.additional,
      }
    : {
        // An ExternalName chased upstream: our CNAME, then what upstream had; its rcode is dropped (dns.md 6.2).
        ...contentOf(result),
        rcode: Rcode.NOERROR,
        answer: [...result.answer.map(toRecord), ...upstream.answer],
      };
}

function single(reply: Buffer, qtype: number, rcode: number): Outcome {
  return { replies: [reply], qtype, rcode, cacheHit: false };
}

function contentOf(
  result: Pick<ResolveResult, 'rcode' | 'authoritative' | 'answer' | 'authority' | 'additional'>,
): ReplyContent {
  return {
    rcode: rcodeNumber(result.rcode),
    authoritative: result.authoritative,
    answer: result.answer.map(toRecord),
    authority: result.authority.map(toRecord),
    additional: result.additional.map(toRecord),
  };
}

/** A forwarded answer's owner is the name as upstream spelled it; give it back the client's spelling. */
function renameOwner(records: ResourceRecord[], asked: string, spelled: string): ResourceRecord[] {
  const lower = asked.toLowerCase();
  return records.map((rr) => (rr.name.toLowerCase() === lower ? { ...rr, name: spelled } : rr));
}

function kindOfRecord(rr: ResourceRecord): ShuffleKind {
  if (rr.type === RRType.CNAME) return 'cname';
  return rr.type === RRType.A || rr.type === RRType.AAAA ? 'address' : 'other';
}

function addressCount(section: Message['answer']): number {
  let addresses = 0;
  for (const rr of section) if (kindOfRecord(rr) === 'address') addresses++;
  return addresses;
}
