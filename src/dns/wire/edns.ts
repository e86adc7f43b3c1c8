/**
 * The OPT record a reply carries, following CoreDNS (request/request.go `SizeAndDo`, request/edns0.go,
 * plugin/pkg/edns/edns.go `Version`):
 * - No OPT in the query → none in the reply (RFC 6891 §7).
 * - Otherwise version 0, the client's UDP size echoed as is, DO copied (RFC 3225 §3) and the Z bits beside it in its
 *   octet too (`Ttl &= 0xff00` keeps that octet of the query's OPT; dig shows them as MBZ), the other octet cleared, and
 *   of the query's options only those CoreDNS knows are kept, echoed unchanged: NSID, EXPIRE, COOKIE,
 *   TCP-KEEPALIVE, PADDING. CoreDNS echoes the client COOKIE without adding a server cookie.
 * - BADVERS replies carry a fresh OPT: version 0, UDP size 0, no DO, no options; `badversEdns` builds it.
 */
import { optLength } from './encode.js';
import { type Edns, EdnsOptionCode, RRType } from './message.js';

const KEPT_OPTIONS: ReadonlySet<number> = new Set([
  EdnsOptionCode.NSID,
  EdnsOptionCode.EXPIRE,
  EdnsOptionCode.COOKIE,
  EdnsOptionCode.TCP_KEEPALIVE,
  EdnsOptionCode.PADDING,
]);

/** The reply's OPT for a query's OPT (or `null` for none). */
export function replyEdns(query: Edns | null): Edns | null {
  if (query === null) return null;
  let options = query.options;
  for (const option of options) {
    if (!KEPT_OPTIONS.has(option.code)) {
      options = options.filter((o) => KEPT_OPTIONS.has(o.code));
      break;
    }
  }
  const reply: Edns = { udpSize: query.udpSize, version: 0, do: query.do, extendedRcode: 0, options };
  if (query.z !== undefined && query.z !== 0) reply.z = query.z;
  return reply;
}

/** The OPT CoreDNS puts in a BADVERS reply (`edns.Version`): a new record with every field zero. */
export function badversEdns(): Edns {
  return { udpSize: 0, version: 0, do: false, extendedRcode: 0, options: [] };
}

/** Whether the server must answer BADVERS (RFC 6891 §6.1.3): the query's EDNS version is not 0. */
export function isUnsupportedVersion(edns: Edns | null): boolean {
  return edns !== null && edns.version !== 0;
}

/** Write the OPT record for `edns` at `off` (rcode supplies the upper bits); returns the offset after it. */
export function writeOptAt(out: Uint8Array, off: number, edns: Edns, rcode: number): number {
  const rdlength = optLength(edns) - 11;
  out[off] = 0;
  out[off + 1] = 0;
  out[off + 2] = RRType.OPT;
  out[off + 3] = edns.udpSize >>> 8;
  out[off + 4] = edns.udpSize & 0xff;
  out[off + 5] = rcode >>> 4;
  out[off + 6] = edns.version;
  out[off + 7] = (edns.do ? 0x80 : 0) | ((edns.z ?? 0) & 0x7f);
  out[off + 8] = 0;
  out[off + 9] = rdlength >>> 8;
  out[off + 10] = rdlength & 0xff;
  off += 11;
  for (const option of edns.options) {
    out[off] = option.code >>> 8;
    out[off + 1] = option.code & 0xff;
    out[off + 2] = option.data.length >>> 8;
    out[off + 3] = option.data.length & 0xff;
    out.set(option.data, off + 4);
    off += 4 + option.data.length;
  }
  return off;
}
