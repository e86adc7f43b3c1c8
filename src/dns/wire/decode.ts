/**
 * The query parser on the server's hot path: header, one question, the OPT record. It never throws; every input
 * maps to one of the outcomes a server needs, in miekg/dns's order (server.go `serveDNS` + `DefaultMsgAcceptFunc`):
 *
 * 1. Fewer than 12 octets → `short`: stay silent ("let client hang, they are sending crap; any reply can be used to
 *    amplify").
 * 2. QR set → `response`: drop it (answering responses invites ping-pong).
 * 3. Opcode other than QUERY → `notimp`: answer NOTIMP. (miekg's accept function also lets NOTIFY through, for
 *    secondary zones; the emulator has none, so the rule, NOTIMP for every non-QUERY opcode, applies.)
 * 4. QDCOUNT ≠ 1, ANCOUNT > 1, NSCOUNT > 1 or ARCOUNT > 2 → `formerr` (miekg's MsgReject; qdcount 0 included: it is
 *    rejected before CoreDNS's own "empty question → SERVFAIL" check could run).
 * 5. Anything unreadable after the header → `formerr`; so is a second OPT record (RFC 6891 §6.1.1 "MUST be
 *    FORMERR") and an OPT outside the additional section.
 * 6. Otherwise `ok`. An EDNS version other than 0 is still `ok`, with `edns.version` set: the server answers BADVERS
 *    (RFC 6891 §6.1.3), as CoreDNS does before any plugin runs. Unknown EDNS options (COOKIE, …) are kept, not
 *    rejected. Octets after the last counted record are ignored, as miekg does, and reported in `trailing`.
 *
 * For rejected queries `info` carries whatever could be read (question, OPT), so the error reply can echo them.
 */
import type { Edns, EdnsOption } from './message.js';
import { expandName, textScratch, walk, walkName } from './read-name.js';

/** The question as received. */
export interface QueryQuestion {
  /** Wire form exactly as the client spelled it (0x20 case intact), uncompressed. A view into the query buffer. */
  wire: Uint8Array;
  /** Lower-cased presentation form with trailing dot, e.g. `web.default.svc.cluster.local.`: the cache key. */
  name: string;
  type: number;
  class: number;
  /** Whether the question name used a compression pointer (then `wire` is an expanded copy). */
  compressed: boolean;
}

/** What an error reply needs to know about the query. */
export interface QueryInfo {
  id: number;
  /** The query's second header word, as received. */
  flags: number;
  opcode: number;
  question: QueryQuestion | null;
  edns: Edns | null;
}

export interface ParsedQuery extends QueryInfo {
  question: QueryQuestion;
  /** Octets after the last record (ignored). */
  trailing: number;
  /** The serial of the SOA in the authority section (an IXFR query's, RFC 1995 §3), or null. */
  authoritySerial: number | null;
}

export type FormErrDetail =
  | 'qdcount'
  | 'ancount'
  | 'nscount'
  | 'arcount'
  | 'question'
  | 'record'
  | 'opt-section'
  | 'opt-options'
  | 'multiple-opt';

export type QueryParseResult =
  | { ok: true; query: ParsedQuery }
  | { ok: false; reason: 'short' }
  | { ok: false; reason: 'response'; id: number }
  | { ok: false; reason: 'notimp'; info: QueryInfo }
  | { ok: false; reason: 'formerr'; info: QueryInfo; detail: FormErrDetail };

const SHORT: QueryParseResult = Object.freeze({ ok: false, reason: 'short' });

function u16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

/** A plain Uint8Array view: much cheaper to create than `Buffer#subarray`, which goes through FastBuffer. */
function view(buf: Uint8Array, from: number, length: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + from, length);
}

function readOptions(buf: Uint8Array, from: number, to: number): EdnsOption[] | null {
  const options: EdnsOption[] = [];
  let p = from;
  while (p < to) {
    if (p + 4 > to) return null;
    const len = u16(buf, p + 2);
    if (p + 4 + len > to) return null;
    options.push({ code: u16(buf, p), data: view(buf, p + 4, len) });
    p += 4 + len;
  }
  return options;
}

/** Parse a received query. Never throws. */
export function parseQuery(buf: Uint8Array): QueryParseResult {
  const n = buf.length;
  if (n < 12) return SHORT;
  const id = u16(buf, 0);
  const flags = u16(buf, 2);
  if ((flags & 0x8000) !== 0) return { ok: false, reason: 'response', id };
  const opcode = (flags >> 11) & 0xf;
  const qdcount = u16(buf, 4);
  const ancount = u16(buf, 6);
  const nscount = u16(buf, 8);
  const arcount = u16(buf, 10);

  let question: QueryQuestion | null = null;
  let edns: Edns | null = null;
  let problem: FormErrDetail | null = null;
  let authoritySerial: number | null = null;
  let pos = 12;
  // Questions: keep the first; each further one still has to be walked to reach the records.
  for (let i = 0; i < qdcount; i++) {
    const end = walkName(buf, pos, i === 0, true);
    if (end < 0 || end + 4 > n) {
      problem = 'question';
      break;
    }
    if (i === 0) {
      const wire = walk.compressed ? expandName(buf, pos, walk.wireLength) : view(buf, pos, end - pos);
      const name = textScratch.toString('latin1', 0, walk.textLength);
      question = { wire, name, type: u16(buf, end), class: u16(buf, end + 2), compressed: walk.compressed };
    }
    pos = end + 4;
  }
  // Records: only OPT is read; the rest are stepped over by RDLENGTH.
  const records = ancount + nscount + arcount;
  for (let i = 0; problem === null && i < records; i++) {
    const end = walkName(buf, pos, false, false);
    if (end < 0 || end + 10 > n) {
      problem = 'record';
      break;
    }
    const type = u16(buf, end);
    const rdlength = u16(buf, end + 8);
    const rdata = end + 10;
    if (rdata + rdlength > n) {
      problem = 'record';
      break;
    }
    if (type === 6 && authoritySerial === null && i >= ancount && i < ancount + nscount) {
      authoritySerial = soaSerial(buf, rdata, rdata + rdlength);
    }
    if (type === 41) {
      if (i < ancount + nscount) problem = 'opt-section';
      else if (edns !== null) problem = 'multiple-opt';
      else {
        const options = readOptions(buf, rdata, rdata + rdlength);
        if (options === null) problem = 'opt-options';
        else {
          edns = {
            udpSize: u16(buf, end + 2),
            extendedRcode: buf[end + 4]!,
            version: buf[end + 5]!,
            do: (buf[end + 6]! & 0x80) !== 0,
            options,
          };
          // Set only when a client sets them (few do), so the common query's object keeps one shape.
          if ((buf[end + 6]! & 0x7f) !== 0) edns.z = buf[end + 6]! & 0x7f;
        }
      }
    }
    pos = rdata + rdlength;
  }

  const info: QueryInfo = { id, flags, opcode, question, edns };
  if (opcode !== 0) return { ok: false, reason: 'notimp', info };
  let detail: FormErrDetail | null = null;
  if (qdcount !== 1) detail = 'qdcount';
  else if (ancount > 1) detail = 'ancount';
  else if (nscount > 1) detail = 'nscount';
  else if (arcount > 2) detail = 'arcount';
  else detail = problem;
  if (detail !== null || question === null) return { ok: false, reason: 'formerr', info, detail: detail ?? 'question' };
  const query: ParsedQuery = { id, flags, opcode, question, edns, trailing: n - pos, authoritySerial };
  return { ok: true, query };
}

/** An SOA's SERIAL: after MNAME and RNAME (either may be compressed), or null when the RDATA is too short. */
function soaSerial(buf: Uint8Array, start: number, end: number): number | null {
  const afterMname = walkName(buf, start, false, false);
  if (afterMname < 0 || afterMname >= end) return null;
  const afterRname = walkName(buf, afterMname, false, false);
  if (afterRname < 0 || afterRname + 4 > end) return null;
  return (
    ((buf[afterRname]! << 24) >>> 0) + (buf[afterRname + 1]! << 16) + (buf[afterRname + 2]! << 8) + buf[afterRname + 3]!
  );
}
