/**
 * Serving repeated queries from already encoded replies: copy, patch, send. toolchain.md §1 measured encoding at
 * about 10× the cost of decoding, so the hot path must not encode.
 *
 * A cache entry is an encoded reply minus its OPT record (OPT is hop-by-hop: the client's size, DO and options are
 * echoed per query). Replying to a new query for the same (lower-cased name, type, class) copies the body and
 * patches: the ID; RD and CD, which a reply copies from its query (miekg `SetReply`); the question name, so the reply
 * carries this query's spelling (0x20); then appends this query's OPT.
 *
 * Patching the question also re-spells every answer owner equal to the question name, because the encoder writes
 * those as pointers to offset 12 (compression is exact-case, see writer.ts). Anything else that might depend on the
 * query's case makes the entry `caseDependent` (an SRV target repeating the zone literally, any other name pointing
 * into the question, an answer owner spelled differently from the question): it then only serves queries spelled
 * byte for byte like the one it was built from, and `replyFromCache` returns `null` for other spellings.
 *
 * The guarantee, property-tested: `replyFromCache` gives exactly the bytes of a fresh encode of the response to the
 * new query, provided the resolver answers it with the same records except that answer owners equal to the question
 * (ignoring case) are spelled like the query, as CoreDNS does (dns.md §10.1), and with the OPT from `replyEdns`.
 * It returns `null` whenever it cannot: a truncated entry is only reused for the same limit and OPT size, an
 * untruncated one whenever it still fits.
 */
import type { ParsedQuery } from './decode.js';
import { replyEdns, writeOptAt } from './edns.js';
import { encodeDetailed, optLength } from './encode.js';
import type { Edns, Message } from './message.js';

export interface CachedResponse {
  /** The encoded reply without its OPT record; ARCOUNT counts only the real additional records. */
  readonly body: Buffer;
  /** Wire length of the question name, which starts at offset 12. */
  readonly qnameLength: number;
  /** The limit it was encoded for, after clamping to 512–65535. */
  readonly limit: number;
  /** OPT octets reserved when it was encoded. */
  readonly optLength: number;
  /** Records were dropped or regrouped to meet `limit`, so the body is only valid for that limit and OPT size. */
  readonly sizeBound: boolean;
  readonly caseDependent: boolean;
  readonly rcode: number;
}

/**
 * Encode `msg` (a response whose `edns` is the reply OPT it is first sent with, or `null`) for the cache. `null`
 * when it cannot be cached: no question, or an extended rcode (BADVERS and friends are never cached).
 */
export function toCachedResponse(msg: Message, limit: number): CachedResponse | null {
  if (msg.question === null || msg.header.rcode > 15) return null;
  const result = encodeDetailed(msg, { limit });
  const bodyLength = result.bytes.length - result.optLength;
  const body = Buffer.allocUnsafe(bodyLength);
  result.bytes.copy(body, 0, 0, bodyLength);
  if (msg.edns !== null) body.writeUInt16BE(body.readUInt16BE(10) - 1, 10);
  return {
    body,
    qnameLength: result.questionEnd - 4 - 12,
    limit: Math.min(Math.max(limit, 512), 65535),
    optLength: result.optLength,
    sizeBound: result.kept !== null,
    caseDependent: result.caseDependent,
    rcode: msg.header.rcode,
  };
}

function sameNameIgnoringCase(a: Uint8Array, b: Uint8Array, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    let x = a[i]!;
    let y = b[at + i]!;
    if (x === y) continue;
    if (x >= 65 && x <= 90) x |= 0x20;
    if (y >= 65 && y <= 90) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * The reply to `query` from `entry`, for a response limit of `limit` octets, with `edns` as its OPT (default: what
 * CoreDNS would send, `replyEdns(query.edns)`). `null` when the entry cannot give exactly the bytes a fresh encode
 * would: another name or type, another spelling for a case-dependent entry, or a size it was not cut for.
 */
export function replyFromCache(
  entry: CachedResponse,
  query: ParsedQuery,
  limit: number,
  edns: Edns | null = replyEdns(query.edns),
): Buffer | null {
  const body = entry.body;
  const wire = query.question.wire;
  const qlen = entry.qnameLength;
  if (wire.length !== qlen) return null;
  const typeAt = 12 + qlen;
  const type = (body[typeAt]! << 8) | body[typeAt + 1]!;
  const klass = (body[typeAt + 2]! << 8) | body[typeAt + 3]!;
  if (type !== query.question.type || klass !== query.question.class) return null;
  if (entry.caseDependent) {
    if (!sameBytes(wire, body, 12, qlen)) return null;
  } else if (!sameNameIgnoringCase(wire, body, 12, qlen)) return null;
  const optLen = optLength(edns);
  const max = Math.min(Math.max(limit, 512), 65535);
  if (entry.sizeBound ? max !== entry.limit || optLen !== entry.optLength : body.length + optLen > max) return null;

  const out = Buffer.allocUnsafe(body.length + optLen);
  body.copy(out, 0, 0, body.length);
  out[0] = query.id >>> 8;
  out[1] = query.id & 0xff;
  out[2] = (out[2]! & 0xfe) | ((query.flags >>> 8) & 0x01);
  out[3] = (out[3]! & 0xef) | (query.flags & 0x10);
  out.set(wire, 12);
  if (edns !== null) {
    writeOptAt(out, body.length, edns, entry.rcode);
    const arcount = ((out[10]! << 8) | out[11]!) + 1;
    out[10] = arcount >>> 8;
    out[11] = arcount & 0xff;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[i] !== b[at + i]) return false;
  return true;
}
