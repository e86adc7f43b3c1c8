/**
 * Message → wire, with name compression and, given a size limit, truncation by whole RRsets.
 *
 * We always compress (owners, and names in CNAME/NS/PTR/SOA RDATA, RFC 3597 §4; never the SRV target, as miekg/dns
 * and RFC 2782 say). CoreDNS compresses only when the uncompressed reply does not fit (`Msg.Truncate`) or exceeds
 * 1480/1220 octets on UDP, so for small replies our bytes differ from CoreDNS's while every client decodes the same
 * records; we compress because responses then hit the 512-octet limit about 2.5× later (toolchain.md §1) and because
 * the response cache relies on answer owners being pointers to the question.
 *
 * Truncation (size.ts explains the rules) first encodes everything, which is the common case. Only when that
 * overflows does it start again after the question and add whole RRsets, answer then authority then additional,
 * stopping at the first that does not fit (miekg's `truncateLoop` also stops at the first misfit) and setting TC if
 * anything was left out. The OPT record's size is reserved up front and it is always written, last.
 *
 * One module-level writer is reused: encoding is synchronous, so calls cannot interleave.
 */
import { ErrorCodes, KubeNetsimError } from '../../errors.js';
import { writeIPv4, writeIPv6 } from './ip-text.js';
import { type Edns, EdnsOptionCode, headerFlags, type Message, type ResourceRecord, RRType } from './message.js';
import { canonicalName, namesEqual } from './name.js';
import { MAX_MESSAGE, WireWriter } from './writer.js';

export interface EncodeOptions {
  /**
   * Size limit in octets; the message is truncated to fit (values below 512 count as 512, above 65535 as 65535,
   * as in miekg `Msg.Truncate`). Without a limit a message over 65535 octets throws.
   */
  limit?: number;
  /** Default true. `false` writes every name in full, which tests use to measure what compression saves. */
  compress?: boolean;
}

export interface EncodeResult {
  bytes: Buffer;
  /** Whether records were left out to meet the limit (TC is then set in `bytes`). */
  truncated: boolean;
  /** Whether the bytes could change if the query were spelled in another case (see writer.ts). */
  caseDependent: boolean;
  /** Octets taken by the OPT record at the end of `bytes` (0 without EDNS). */
  optLength: number;
  /** Offset just past the question section. */
  questionEnd: number;
  /**
   * The records actually written per section (answer, authority, additional), in wire order; `null` when every
   * record was written in the order given.
   */
  kept: [ResourceRecord[], ResourceRecord[], ResourceRecord[]] | null;
}

const writer = new WireWriter();

function bad(message: string): KubeNetsimError {
  return new KubeNetsimError(ErrorCodes.DNS_MALFORMED, `cannot encode DNS message: ${message}`);
}

function checkInt(value: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max) throw bad(`${what} ${value} is not an integer 0–${max}`);
  return value;
}

/** Octets of the OPT record for `edns`: root owner, 10 fixed octets, each option's 4-octet header and data. */
export function optLength(edns: Edns | null): number {
  if (edns === null) return 0;
  let n = 11;
  for (const option of edns.options) n += 4 + option.data.length;
  return n;
}

/**
 * The reply OPT trimmed so that `fixed` octets (header and question) plus the OPT fit in `limit`: PADDING goes first,
 * then every option. Echoed options must never push a reply past what the client can take (RFC 6891 §7 lets a
 * responder leave options out); the OPT itself, which carries DO and the rcode's upper bits, stays.
 */
export function fitEdns(edns: Edns | null, fixed: number, limit: number): Edns | null {
  if (edns === null || fixed + optLength(edns) <= limit) return edns;
  const unpadded = { ...edns, options: edns.options.filter((o) => o.code !== EdnsOptionCode.PADDING) };
  if (fixed + optLength(unpadded) <= limit) return unpadded;
  return { ...edns, options: [] };
}

function writeText(w: WireWriter, text: string): void {
  const ascii = /^[\x00-\x7f]*$/.test(text);
  const len = ascii ? text.length : Buffer.byteLength(text, 'utf8');
  if (len > 255) throw bad(`TXT string of ${len} octets (at most 255)`);
  w.ensure(1 + len);
  w.u8(len);
  if (ascii) for (let i = 0; i < len; i++) w.buf[w.off++] = text.charCodeAt(i);
  else w.off += w.buf.write(text, w.off, 'utf8');
}

function writeRecord(w: WireWriter, rr: ResourceRecord, answer: boolean): void {
  w.name(rr.name, true, answer);
  w.ensure(10 + 16);
  w.u16(rr.type);
  w.u16(checkInt(rr.class, 0xffff, 'class'));
  w.u32(checkInt(rr.ttl, 0xffffffff, 'TTL'));
  const lengthAt = w.off;
  w.off += 2;
  switch (rr.type) {
    case RRType.A:
      if (!writeIPv4(rr.data, w.buf, w.off)) throw bad(`A data ${JSON.stringify(rr.data)} is not a dotted quad`);
      w.off += 4;
      break;
    case RRType.AAAA:
      if (!writeIPv6(rr.data, w.buf, w.off)) throw bad(`AAAA data ${JSON.stringify(rr.data)} is not IPv6`);
      w.off += 16;
      break;
    case RRType.CNAME:
    case RRType.NS:
    case RRType.PTR:
      w.name(rr.data, true);
      break;
    case RRType.SRV:
      w.u16(checkInt(rr.data.priority, 0xffff, 'SRV priority'));
      w.u16(checkInt(rr.data.weight, 0xffff, 'SRV weight'));
      w.u16(checkInt(rr.data.port, 0xffff, 'SRV port'));
      w.name(rr.data.target, false);
      break;
    case RRType.SOA: {
      const soa = rr.data;
      w.name(soa.mname, true);
      w.name(soa.rname, true);
      w.ensure(20);
      for (const v of [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum])
        w.u32(checkInt(v, 0xffffffff, 'SOA'));
      break;
    }
    case RRType.TXT:
      // An empty list still needs one (empty) string: RDATA must not be empty (miekg writes the same single 0).
      if (rr.data.length === 0) writeText(w, '');
      for (const text of rr.data) writeText(w, text);
      break;
    default:
      throw bad(`record type ${(rr as { type: unknown }).type} is not supported`);
  }
  const rdlength = w.off - lengthAt - 2;
  if (rdlength > 0xffff) throw bad('RDATA longer than 65535 octets');
  w.buf[lengthAt] = rdlength >>> 8;
  w.buf[lengthAt + 1] = rdlength & 0xff;
}

function writeOpt(w: WireWriter, edns: Edns, rcode: number): void {
  w.ensure(optLength(edns));
  w.u8(0);
  w.u16(RRType.OPT);
  w.u16(checkInt(edns.udpSize, 0xffff, 'EDNS UDP size'));
  w.u8(rcode >>> 4);
  w.u8(checkInt(edns.version, 0xff, 'EDNS version'));
  w.u16(((edns.do ? 0x80 : 0) | ((edns.z ?? 0) & 0x7f)) << 8);
  w.u16(optLength(edns) - 11);
  for (const option of edns.options) {
    w.u16(checkInt(option.code, 0xffff, 'EDNS option code'));
    w.u16(option.data.length);
    w.buf.set(option.data, w.off);
    w.off += option.data.length;
  }
}

function sameRRset(a: ResourceRecord, b: ResourceRecord): boolean {
  return a.type === b.type && a.class === b.class && namesEqual(a.name, b.name);
}

/** Group records into RRsets (RFC 2181 §5: same owner, case-insensitively, type and class), in first-seen order. */
export function groupRRsets(records: readonly ResourceRecord[]): ResourceRecord[][] {
  const groups: ResourceRecord[][] = [];
  const byKey = new Map<string, ResourceRecord[]>();
  let last: ResourceRecord[] | undefined;
  for (const rr of records) {
    if (last !== undefined && sameRRset(last[0]!, rr)) {
      last.push(rr);
      continue;
    }
    const key = `${canonicalName(rr.name)} ${rr.type} ${rr.class}`;
    last = byKey.get(key);
    if (last === undefined) {
      last = [];
      byKey.set(key, last);
      groups.push(last);
    }
    last.push(rr);
  }
  return groups;
}

/** Reset the writer and write the question after room for the header (counts and flags are filled in last). */
function startMessage(w: WireWriter, question: Message['question'], compress: boolean): void {
  w.reset(compress);
  w.ensure(12);
  w.off = 12;
  if (question === null) return;
  w.questionName(question.name);
  w.ensure(4);
  w.u16(checkInt(question.type, 0xffff, 'question type'));
  w.u16(checkInt(question.class, 0xffff, 'question class'));
}

/** Encode with all the facts the truncation and cache layers need. */
export function encodeDetailed(msg: Message, options: EncodeOptions = {}): EncodeResult {
  const { header, question } = msg;
  const limited = options.limit !== undefined;
  const limit = limited ? Math.min(Math.max(options.limit!, 512), MAX_MESSAGE) : MAX_MESSAGE;
  let edns = msg.edns;
  checkInt(header.id, 0xffff, 'ID');
  checkInt(header.opcode, 15, 'opcode');
  checkInt(header.rcode, 0xfff, 'rcode');
  if (header.rcode > 15 && edns === null) throw bad(`rcode ${header.rcode} needs EDNS to carry its upper bits`);
  const w = writer;
  const compress = options.compress !== false;
  startMessage(w, question, compress);
  const questionEnd = w.off;
  // A UDP rule: over TCP (65535) options are kept, and a reply they make unframable gets no answer, as miekg's
  // failed write (test/e2e/dns-transport.test.ts pins that).
  if (limited && limit < MAX_MESSAGE) edns = fitEdns(edns, questionEnd, limit);
  const optLen = optLength(edns);
  const budget = limit - optLen;
  const sections = [msg.answer, msg.authority, msg.additional] as const;
  let kept: EncodeResult['kept'] = null;
  let fits = true;
  outer: for (let s = 0; s < 3; s++) {
    for (const rr of sections[s]!) {
      writeRecord(w, rr, s === 0);
      if (w.off > budget) {
        fits = false;
        break outer;
      }
    }
  }
  let truncated = false;
  if (!fits) {
    if (!limited) throw bad(`message longer than ${MAX_MESSAGE} octets`);
    startMessage(w, question, compress);
    kept = [[], [], []];
    ({ truncated } = refill(w, msg, kept, budget));
  }
  if (edns !== null) writeOpt(w, edns, header.rcode);
  const counts = kept ?? sections;
  const buf = w.buf;
  buf.writeUInt16BE(header.id, 0);
  buf.writeUInt16BE(headerFlags(header) | (truncated ? 0x0200 : 0), 2);
  buf.writeUInt16BE(question === null ? 0 : 1, 4);
  buf.writeUInt16BE(counts[0]!.length, 6);
  buf.writeUInt16BE(counts[1]!.length, 8);
  buf.writeUInt16BE(counts[2]!.length + (edns === null ? 0 : 1), 10);
  return { bytes: w.copyOut(), truncated, caseDependent: w.caseDependent, optLength: optLen, questionEnd, kept };
}

/** Second pass after an overflow (the question is already rewritten): whole RRsets while they fit. */
function refill(w: WireWriter, msg: Message, kept: ResourceRecord[][], budget: number): { truncated: boolean } {
  const sections = [msg.answer, msg.authority, msg.additional];
  let stopped = false;
  let truncated = false;
  for (let s = 0; s < 3; s++) {
    const section = sections[s]!;
    if (stopped) {
      truncated ||= section.length > 0;
      continue;
    }
    for (const rrset of groupRRsets(section)) {
      const cp = w.mark();
      for (const rr of rrset) writeRecord(w, rr, s === 0);
      if (w.off > budget) {
        w.rollback(cp);
        stopped = true;
        truncated = true;
        break;
      }
      kept[s]!.push(...rrset);
    }
  }
  return { truncated };
}

/** Encode `msg` (compressed unless `options.compress` is false) into a new Buffer. */
export function encodeMessage(msg: Message, options?: EncodeOptions): Buffer {
  return encodeDetailed(msg, options).bytes;
}
