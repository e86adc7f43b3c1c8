/**
 * The resolver speaks in records (`Rr`), the codec in wire messages: this is the one place that maps between them
 * and sets the reply header the way CoreDNS does (QR, the query's ID/opcode/RD/CD, AA for cluster answers, RA clear:
 * the kubernetes plugin is authoritative, not recursive).
 */

import type { Rcode as ResolveRcode, Rr } from '../resolve/types.js';
import type { ParsedQuery } from '../wire/decode.js';
import { replyEdns } from '../wire/edns.js';
import { emptyHeader, type Message, Rcode, type ResourceRecord, RRClass, RRType } from '../wire/message.js';

const RCODES: Record<ResolveRcode, number> = {
  NOERROR: Rcode.NOERROR,
  NXDOMAIN: Rcode.NXDOMAIN,
  SERVFAIL: Rcode.SERVFAIL,
  REFUSED: Rcode.REFUSED,
  NOTIMP: Rcode.NOTIMP,
};

export function rcodeNumber(rcode: ResolveRcode): number {
  return RCODES[rcode];
}

export function toRecord(rr: Rr): ResourceRecord {
  const base = { name: rr.name, class: RRClass.IN, ttl: rr.ttl };
  switch (rr.type) {
    case 'A':
      return { ...base, type: RRType.A, data: rr.address };
    case 'AAAA':
      return { ...base, type: RRType.AAAA, data: rr.address };
    case 'CNAME':
      return { ...base, type: RRType.CNAME, data: rr.target };
    case 'PTR':
      return { ...base, type: RRType.PTR, data: rr.target };
    case 'NS':
      return { ...base, type: RRType.NS, data: rr.target };
    case 'SRV':
      return {
        ...base,
        type: RRType.SRV,
        data: { priority: rr.priority, weight: rr.weight, port: rr.port, target: rr.target },
      };
    case 'SOA':
      return {
        ...base,
        type: RRType.SOA,
        data: {
          mname: rr.mname,
          rname: rr.rname,
          serial: rr.serial,
          refresh: rr.refresh,
          retry: rr.retry,
          expire: rr.expire,
          minimum: rr.minimum,
        },
      };
    case 'TXT':
      return { ...base, type: RRType.TXT, data: rr.text };
  }
}

export interface ReplyContent {
  rcode: number;
  authoritative: boolean;
  recursionAvailable?: boolean;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

/** A reply to `query` with the given content; the question is echoed as the client spelled it. */
export function replyMessage(query: ParsedQuery, content: ReplyContent): Message {
  const header = emptyHeader(query.id);
  header.qr = true;
  header.opcode = query.opcode;
  header.rd = (query.flags & 0x0100) !== 0;
  header.cd = (query.flags & 0x0010) !== 0;
  header.aa = content.authoritative;
  header.ra = content.recursionAvailable ?? false;
  header.rcode = content.rcode;
  return {
    header,
    question: { name: spelledName(query), type: query.question.type, class: query.question.class },
    answer: content.answer,
    authority: content.authority,
    additional: content.additional,
    edns: replyEdns(query.edns),
  };
}

/** The question name exactly as the client spelled it (0x20 case kept), in presentation form with a trailing dot. */
export function spelledName(query: ParsedQuery): string {
  const wire = query.question.wire;
  let out = '';
  let i = 0;
  while (i < wire.length) {
    const len = wire[i]!;
    if (len === 0) break;
    for (let j = i + 1; j <= i + len; j++) {
      const c = wire[j]!;
      // Escape what presentation form cannot carry bare (RFC 4343 §2.1), so the encoder writes the same octets back.
      if (c === 0x2e || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
      else if (c < 0x21 || c > 0x7e) out += `\\${String(c).padStart(3, '0')}`;
      else out += String.fromCharCode(c);
    }
    out += '.';
    i += len + 1;
  }
  return out || '.';
}
