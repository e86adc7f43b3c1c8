/**
 * Relaying an upstream reply the message model cannot hold (MX, HINFO, …: decode-message.ts throws on them) as bytes,
 * as CoreDNS's forward relays whatever its upstream said. Only what belongs to the client's hop is rewritten: the ID,
 * RD and CD (copied from the query, miekg `SetReply`), the question's spelling (same length, so every compression
 * pointer stays valid), and the OPT record (the upstream's is removed, ours from `replyEdns` appended). A reply too
 * big for `limit` keeps only header and question, with TC set, so the client asks again over TCP.
 *
 * Records are walked, not decoded: names must be well formed and each RDATA must fit, nothing more. Octets after the
 * last counted record are dropped.
 */
import type { ParsedQuery } from './decode.js';
import { replyEdns, writeOptAt } from './edns.js';
import { fitEdns, optLength } from './encode.js';
import { RRType } from './message.js';
import { walk, walkName } from './read-name.js';

/** The relayed reply to `query`, or null when `upstream` is not a walkable message or its OPT is not last. */
export function relayReply(upstream: Uint8Array, query: ParsedQuery, limit: number): Buffer | null {
  if (upstream.length < 12 || upstream[4] !== 0 || upstream[5] !== 1) return null;
  const u16 = (at: number) => (upstream[at]! << 8) | upstream[at + 1]!;
  const qnameEnd = walkName(upstream, 12, false, false);
  if (qnameEnd < 0 || qnameEnd + 4 > upstream.length) return null;
  const sameSpelling = !walk.compressed && qnameEnd - 12 === query.question.wire.length;
  const questionEnd = qnameEnd + 4;
  const records = u16(6) + u16(8) + u16(10);
  const additionalFrom = u16(6) + u16(8);
  let pos = questionEnd;
  let opt: { start: number; extendedRcode: number } | null = null;
  for (let i = 0; i < records; i++) {
    const start = pos;
    const end = walkName(upstream, pos, false, false);
    if (end < 0 || end + 10 > upstream.length) return null;
    pos = end + 10 + u16(end + 8);
    if (pos > upstream.length) return null;
    if (u16(end) === RRType.OPT) {
      // Cutting an OPT out of the middle would move the records after it and break pointers into them.
      if (i < additionalFrom || i !== records - 1) return null;
      opt = { start, extendedRcode: upstream[end + 4]! };
    }
  }
  const rcode = ((opt?.extendedRcode ?? 0) << 4) | (upstream[3]! & 0x0f);
  const bodyEnd = opt?.start ?? pos;
  const edns = fitEdns(replyEdns(query.edns), questionEnd, Math.max(limit, 512));
  const fits = bodyEnd + optLength(edns) <= Math.max(limit, 512);
  const keep = fits ? bodyEnd : questionEnd;
  const out = Buffer.alloc(keep + optLength(edns));
  out.set(upstream.subarray(0, keep), 0);
  out.writeUInt16BE(query.id, 0);
  // RD from the query, TC ours (the upstream's, if any, was for its own transport).
  out[2] = (out[2]! & 0xfc) | ((query.flags >>> 8) & 0x01) | (fits ? 0 : 0x02);
  out[3] = (out[3]! & 0xef) | (query.flags & 0x10);
  if (sameSpelling) out.set(query.question.wire, 12);
  if (fits) out.writeUInt16BE(u16(10) - (opt ? 1 : 0), 10);
  else out.fill(0, 6, 12);
  if (edns !== null) {
    writeOptAt(out, keep, edns, rcode);
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  }
  return out;
}
