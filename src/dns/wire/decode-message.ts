/**
 * A strict full decoder for whole messages: tests decode encoder output with it (and, independently, with
 * dns-packet), and tools can read replies. It is not on the server's path; parseQuery (decode.ts) is.
 *
 * Stricter than dns-packet 5.6.1 (toolchain.md §1), which decodes truncated RDATA as `10.96.undefined.undefined`
 * and ignores trailing octets: here RDLENGTH must match the type's layout exactly, the message must end after the
 * last counted record, and there may be at most one OPT, in the additional section. Names keep their case and come
 * out in presentation form with the trailing dot, escaped like miekg/dns prints them.
 *
 * Record types outside the model (MX, HINFO, …) throw: the model has no place for their data.
 */
import { ErrorCodes, KubeNetsimError } from '../../errors.js';
import { formatIPv4, formatIPv6 } from './ip-text.js';
import { type Edns, headerFromWire, type Message, type ResourceRecord, RRType } from './message.js';
import { textScratch, walk, walkName } from './read-name.js';

function malformed(why: string, at: number): KubeNetsimError {
  return new KubeNetsimError(ErrorCodes.DNS_MALFORMED, `malformed DNS message at octet ${at}: ${why}`);
}

class Reader {
  pos = 12;
  constructor(readonly buf: Uint8Array) {}

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw malformed(`${what} runs past the end`, this.pos);
  }

  u16(): number {
    this.need(2, 'field');
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4, 'field');
    const b = this.buf;
    const v = b[this.pos]! * 0x1000000 + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!);
    this.pos += 4;
    return v;
  }

  name(): string {
    const end = walkName(this.buf, this.pos, true, false);
    if (end < 0) throw malformed('bad name (overrun, bad pointer, reserved label type or over 255 octets)', this.pos);
    const text = textScratch.toString('latin1', 0, walk.textLength);
    this.pos = end;
    return text;
  }
}

function readRecord(r: Reader, name: string, type: number, klass: number, ttl: number, end: number): ResourceRecord {
  const at = r.pos;
  const base = { name, class: klass, ttl };
  const fixed = (n: number): void => {
    if (end - at !== n) throw malformed(`RDLENGTH ${end - at} for a type that needs ${n}`, at);
  };
  switch (type) {
    case RRType.A:
      fixed(4);
      r.pos = end;
      return { ...base, type, data: formatIPv4(r.buf, at) };
    case RRType.AAAA:
      fixed(16);
      r.pos = end;
      return { ...base, type, data: formatIPv6(r.buf, at) };
    case RRType.CNAME:
    case RRType.NS:
    case RRType.PTR:
      return { ...base, type, data: r.name() };
    case RRType.SRV: {
      const priority = r.u16();
      const weight = r.u16();
      const port = r.u16();
      return { ...base, type, data: { priority, weight, port, target: r.name() } };
    }
    case RRType.SOA: {
      const mname = r.name();
      const rname = r.name();
      const [serial, refresh, retry, expire, minimum] = [r.u32(), r.u32(), r.u32(), r.u32(), r.u32()];
      return { ...base, type, data: { mname, rname, serial, refresh, retry, expire, minimum } };
    }
    case RRType.TXT: {
      const strings: string[] = [];
      while (r.pos < end) {
        const len = r.buf[r.pos]!;
        if (r.pos + 1 + len > end) throw malformed('TXT string runs past RDATA', r.pos);
        strings.push(Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos + 1, len).toString('utf8'));
        r.pos += 1 + len;
      }
      if (strings.length === 0) throw malformed('TXT RDATA is empty', at);
      return { ...base, type, data: strings };
    }
    default:
      throw malformed(`record type ${type} is not supported by the message model`, at);
  }
}

/** Decode a whole message. Throws KubeNetsimError(DNS_MALFORMED) on anything that is not a well-formed message. */
export function decodeMessage(buf: Uint8Array): Message {
  if (buf.length < 12) throw malformed('shorter than the 12-octet header', 0);
  const r = new Reader(buf);
  const id = (buf[0]! << 8) | buf[1]!;
  const flags = (buf[2]! << 8) | buf[3]!;
  const counts = [4, 6, 8, 10].map((at) => (buf[at]! << 8) | buf[at + 1]!);
  if (counts[0]! > 1) throw malformed(`${counts[0]} questions; the model holds one`, 4);
  let question: Message['question'] = null;
  if (counts[0] === 1) {
    const name = r.name();
    question = { name, type: r.u16(), class: r.u16() };
  }
  const sections: ResourceRecord[][] = [[], [], []];
  let edns: Edns | null = null;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const start = r.pos;
      const name = r.name();
      const type = r.u16();
      const klass = r.u16();
      const ttl = r.u32();
      const rdlength = r.u16();
      r.need(rdlength, 'RDATA');
      const end = r.pos + rdlength;
      if (type === RRType.OPT) {
        if (s !== 2) throw malformed('OPT outside the additional section', start);
        if (edns !== null) throw malformed('second OPT record', start);
        if (name !== '.') throw malformed('OPT owner is not the root', start);
        edns = {
          udpSize: klass,
          extendedRcode: ttl >>> 24,
          version: (ttl >>> 16) & 0xff,
          do: (ttl & 0x8000) !== 0,
          options: [],
        };
        if ((ttl & 0x7f00) !== 0) edns.z = (ttl >>> 8) & 0x7f;
        while (r.pos < end) {
          const code = r.u16();
          const len = r.u16();
          if (r.pos + len > end) throw malformed('EDNS option runs past RDATA', r.pos);
          edns.options.push({ code, data: Uint8Array.from(buf.subarray(r.pos, r.pos + len)) });
          r.pos += len;
        }
        continue;
      }
      const rr = readRecord(r, name, type, klass, ttl, end);
      if (r.pos !== end)
        throw malformed(`RDATA is ${rdlength} octets but the record used ${r.pos - (end - rdlength)}`, start);
      sections[s]!.push(rr);
    }
  }
  if (r.pos !== buf.length) throw malformed(`${buf.length - r.pos} octets after the last record`, r.pos);
  const header = headerFromWire(id, flags, edns?.extendedRcode ?? 0);
  return { header, question, answer: sections[0]!, authority: sections[1]!, additional: sections[2]!, edns };
}
