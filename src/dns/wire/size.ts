/**
 * How big a response may be, and cutting a message down to that size.
 *
 * Limits (RFC 1035 §4.2.1, RFC 6891 §6.2.5, dns.md §14.2):
 * - UDP without OPT: 512 octets.
 * - UDP with OPT: the rule, min(max(client size, 512), 1232). CoreDNS itself uses the client's size as is
 *   (raised to 512; `request.Size()` + `edns.Size()`), so a dig with `+bufsize=4096` gets up to 4096 octets from
 *   CoreDNS and 1232 from us. The cap wins: 1232 is the DNS Flag Day 2020 value that avoids IP fragmentation,
 *   and Knot answered the same 60-record query with 1014 octets under `+bufsize=1232` (clients.md).
 * - TCP: 65535, the most the 2-octet length prefix can say.
 *
 * Truncation follows miekg/dns `Msg.Truncate` (msg_truncate.go), which CoreDNS applies to every reply, with one
 * deliberate difference the issue asks for: it keeps whole RRsets, not whole RRs.
 * - A limit below 512 counts as 512 (RFC 6891 §6.2.5).
 * - The OPT record's size is reserved before anything else and OPT is always kept.
 * - Answer, then authority, then additional are filled in order; at the first RRset that does not fit, it and
 *   everything after it are dropped (miekg also stops at the first misfit rather than looking for smaller records).
 * - TC is set when any record of any section was dropped, additional included (miekg: "we set the TC bit if any RR
 *   had to be omitted"), even over TCP.
 */
import { encodeDetailed } from './encode.js';
import type { Edns, Message } from './message.js';

export const MIN_UDP_PAYLOAD = 512;
/** DNS Flag Day 2020's EDNS buffer size; our cap on UDP responses. */
export const MAX_EDNS_UDP_PAYLOAD = 1232;
export const MAX_TCP_PAYLOAD = 65535;

/** Largest UDP response for a query with this OPT (or none). */
export function maxUdpPayload(edns: Pick<Edns, 'udpSize'> | null): number {
  if (edns === null) return MIN_UDP_PAYLOAD;
  return Math.min(Math.max(edns.udpSize, MIN_UDP_PAYLOAD), MAX_EDNS_UDP_PAYLOAD);
}

/** Largest response for the transport: `maxUdpPayload` on UDP, 65535 on TCP whatever the OPT says. */
export function responseLimit(transport: 'udp' | 'tcp', edns: Pick<Edns, 'udpSize'> | null): number {
  return transport === 'tcp' ? MAX_TCP_PAYLOAD : maxUdpPayload(edns);
}

/**
 * The message as it will fit in `limit` octets once encoded (compressed): whole RRsets kept in order, `header.tc`
 * set when anything was dropped, `edns` kept. Returns `message` itself when it already fits. Encoding the result
 * with `encodeMessage` gives the same bytes as `encodeMessage(message, { limit })`.
 */
export function truncate(message: Message, limit: number): Message {
  const result = encodeDetailed(message, { limit });
  if (result.kept === null) return message;
  const [answer, authority, additional] = result.kept;
  return {
    header: { ...message.header, tc: message.header.tc || result.truncated },
    question: message.question,
    answer,
    authority,
    additional,
    edns: message.edns,
  };
}
