/**
 * Shared test helpers: a comparable form of a message, and an independent walk over encoded bytes that checks
 * every compression pointer.
 */
import { formatIPv6, writeIPv6 } from '../../../src/dns/wire/ip-text.js';
import { type Message, type ResourceRecord, RRType } from '../../../src/dns/wire/message.js';
import { fqdn } from '../../../src/dns/wire/name.js';

function canonicalV6(text: string): string {
  const bytes = new Uint8Array(16);
  if (!writeIPv6(text, bytes, 0)) throw new Error(`bad IPv6 ${text}`);
  return formatIPv6(bytes, 0);
}

function normalizeRecord(rr: ResourceRecord): ResourceRecord {
  const name = fqdn(rr.name);
  switch (rr.type) {
    case RRType.AAAA:
      return { ...rr, name, data: canonicalV6(rr.data) };
    case RRType.CNAME:
    case RRType.NS:
    case RRType.PTR:
      return { ...rr, name, data: fqdn(rr.data) };
    case RRType.SRV:
      return { ...rr, name, data: { ...rr.data, target: fqdn(rr.data.target) } };
    case RRType.SOA:
      return { ...rr, name, data: { ...rr.data, mname: fqdn(rr.data.mname), rname: fqdn(rr.data.rname) } };
    default:
      return { ...rr, name };
  }
}

/** What a decoder should give back for `msg`: absolute names, canonical IPv6, rcode bits split into the OPT. */
export function normalize(msg: Message): Message {
  return {
    header: { ...msg.header },
    question: msg.question === null ? null : { ...msg.question, name: fqdn(msg.question.name) },
    answer: msg.answer.map(normalizeRecord),
    authority: msg.authority.map(normalizeRecord),
    additional: msg.additional.map(normalizeRecord),
    edns:
      msg.edns === null
        ? null
        : {
            ...msg.edns,
            extendedRcode: msg.header.rcode >>> 4,
            options: msg.edns.options.map((o) => ({ code: o.code, data: Uint8Array.from(o.data) })),
          },
  };
}

/**
 * Walk an encoded message without the library's decoder and check each pointer: it must point backwards, at the
 * start of a label written literally earlier (so at a valid name suffix). Returns the number of pointers seen.
 */
export function checkPointers(buf: Uint8Array): number {
  const literalStarts = new Set<number>();
  let pos = 12;
  let pointers = 0;
  const name = (): void => {
    for (;;) {
      const len = buf[pos]!;
      if (len >= 0xc0) {
        const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
        if (target >= pos) throw new Error(`pointer at ${pos} goes forward to ${target}`);
        if (!literalStarts.has(target)) throw new Error(`pointer at ${pos} to ${target}, not a label start`);
        pointers++;
        pos += 2;
        return;
      }
      if (len > 63) throw new Error(`bad label length ${len} at ${pos}`);
      if (len === 0) {
        pos++;
        return;
      }
      literalStarts.add(pos);
      pos += 1 + len;
    }
  };
  const u16 = (at: number): number => (buf[at]! << 8) | buf[at + 1]!;
  const qd = u16(4);
  const records = u16(6) + u16(8) + u16(10);
  for (let i = 0; i < qd; i++) {
    name();
    pos += 4;
  }
  for (let i = 0; i < records; i++) {
    name();
    const type = u16(pos);
    const rdlength = u16(pos + 8);
    pos += 10;
    const end = pos + rdlength;
    if (type === RRType.CNAME || type === RRType.NS || type === RRType.PTR) name();
    else if (type === RRType.SOA) {
      name();
      name();
      pos += 20;
    } else if (type === RRType.SRV) {
      pos += 6;
      const before = pointers;
      name();
      if (pointers !== before) throw new Error(`SRV target at ${pos} was compressed`);
    } else pos = end;
    if (pos !== end) throw new Error(`RDATA of type ${type} ends at ${pos}, RDLENGTH says ${end}`);
  }
  if (pos !== buf.length) throw new Error(`message ends at ${pos} of ${buf.length}`);
  return pointers;
}
