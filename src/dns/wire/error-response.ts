/**
 * Error replies built straight from what parseQuery could read: FORMERR, NOTIMP, SERVFAIL, REFUSED, BADVERS, …
 *
 * Header, as miekg/dns builds it (`SetRcodeFormatError` for rejected queries, `SetReply` + rcode otherwise): the
 * query's ID, QR set, AA clear, RD and CD copied, the opcode echoed except for FORMERR, which says QUERY.
 *
 * Where we follow the issue rather than miekg: miekg's reject path answers FORMERR/NOTIMP with an empty question
 * section and drops the OPT record ("Are we allowed to delete any OPT records here?"); we echo the question when it
 * could be read, and include an OPT when the query had one (RFC 6891 §7). SERVFAIL/REFUSED match CoreDNS
 * (`errorAndMetricsFunc`: `SetRcode` + `SizeAndDo`), and BADVERS matches `edns.Version` (question echoed, fresh OPT).
 */
import { ErrorCodes, KubeNetsimError } from '../../errors.js';
import type { QueryInfo } from './decode.js';
import { badversEdns, replyEdns, writeOptAt } from './edns.js';
import { optLength } from './encode.js';
import { type Edns, HeaderBit, Rcode } from './message.js';
import { maxUdpPayload } from './size.js';

export interface ErrorReplyOptions {
  /** The reply's OPT, overriding the default (see edns.ts); `null` for none. */
  edns?: Edns | null;
}

/** Encode an error reply to the query described by `info`. Throws only for an extended rcode without EDNS. */
export function encodeError(info: QueryInfo, rcode: number, options: ErrorReplyOptions = {}): Buffer {
  if (!Number.isInteger(rcode) || rcode < 0 || rcode > 0xfff) {
    throw new KubeNetsimError(ErrorCodes.DNS_MALFORMED, `rcode ${rcode} is not 0–4095`);
  }
  let edns =
    options.edns !== undefined
      ? options.edns
      : info.edns === null
        ? null
        : rcode === Rcode.BADVERS
          ? badversEdns()
          : replyEdns(info.edns);
  if (rcode > 15 && edns === null) {
    throw new KubeNetsimError(ErrorCodes.DNS_MALFORMED, `rcode ${rcode} needs EDNS to carry its upper bits`);
  }
  const q = info.question;
  const questionLength = q === null ? 0 : q.wire.length + 4;
  // Echoed options (PADDING, say) must not push an error reply past what the client can take.
  if (edns !== null && 12 + questionLength + optLength(edns) > maxUdpPayload(info.edns)) {
    edns = { ...edns, options: [] };
  }
  const out = Buffer.allocUnsafe(12 + questionLength + optLength(edns));
  const opcode = rcode === Rcode.FORMERR ? 0 : info.opcode;
  const flags = HeaderBit.QR | (opcode << 11) | (info.flags & (HeaderBit.RD | HeaderBit.CD)) | (rcode & 0xf);
  out.writeUInt16BE(info.id, 0);
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(q === null ? 0 : 1, 4);
  out.writeUInt32BE(0, 6);
  out.writeUInt16BE(edns === null ? 0 : 1, 10);
  let off = 12;
  if (q !== null) {
    out.set(q.wire, off);
    off += q.wire.length;
    out.writeUInt16BE(q.type, off);
    out.writeUInt16BE(q.class, off + 2);
    off += 4;
  }
  if (edns !== null) writeOptAt(out, off, edns, rcode);
  return out;
}
