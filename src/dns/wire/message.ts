/**
 * The DNS message model the wire layer encodes and decodes (RFC 1035 §4.1, RFC 6891 for OPT).
 *
 * Names are text in presentation form, absolute, conventionally written with the trailing dot
 * (`web.default.svc.cluster.local.`, the root is `.`); the encoder also accepts them without the dot. Labels may carry
 * `\.`, `\\` and `\DDD` escapes (see name.ts). Case is kept exactly as given: DNS is case-insensitive but
 * case-preserving, and 0x20-randomising resolvers compare the echoed question byte for byte.
 *
 * OPT is not a record here: it is the message's `edns` field, because it is hop-by-hop metadata (RFC 6891 §6.1.1),
 * must be unique and is always written last in the additional section.
 */

/** RR type numbers (IANA "Resource Record (RR) TYPEs"). Only the ones the model carries data for, plus query types. */
export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  SVCB: 64,
  HTTPS: 65,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257,
} as const;

/** RR classes (RFC 1035 §3.2.4, RFC 2136 NONE). */
export const RRClass = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;

/** Opcodes (RFC 1035 §4.1.1, RFC 1996 NOTIFY, RFC 2136 UPDATE, RFC 8490 DSO). */
export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5, DSO: 6 } as const;

/**
 * Response codes. Values above 15 are extended rcodes (RFC 6891 §6.1.3): the low 4 bits travel in the header and the
 * high 8 bits in the OPT record, so they can only be sent to a client whose query carried OPT.
 */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
  BADVERS: 16,
  BADCOOKIE: 23,
} as const;

/** EDNS option codes (IANA "DNS EDNS0 Option Codes"). */
export const EdnsOptionCode = {
  NSID: 3,
  CLIENT_SUBNET: 8,
  EXPIRE: 9,
  COOKIE: 10,
  TCP_KEEPALIVE: 11,
  PADDING: 12,
  EXTENDED_ERROR: 15,
} as const;

function invert<T extends Record<string, number>>(table: T): ReadonlyMap<number, string> {
  return new Map(Object.entries(table).map(([name, value]) => [value, name]));
}

const TYPE_NAMES = invert(RRType);
const CLASS_NAMES = invert(RRClass);
const OPCODE_NAMES = invert(Opcode);
const RCODE_NAMES = invert(Rcode);

/** `A`, `SRV`…; unknown numbers print as RFC 3597 `TYPE65`, the way dig and miekg do. */
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

/** `IN`, `CH`…; unknown numbers print as RFC 3597 `CLASS7`. */
export function className(klass: number): string {
  return CLASS_NAMES.get(klass) ?? `CLASS${klass}`;
}

/** `QUERY`, `NOTIFY`…; unknown numbers print as the number. */
export function opcodeName(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? String(opcode);
}

/** `NOERROR`, `NXDOMAIN`, `BADVERS`…; unknown numbers print as `RCODE<n>`. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE${rcode}`;
}

/** The fixed header, with the rcode widened to the full 12-bit value (header bits plus the OPT's upper bits). */
export interface Header {
  id: number;
  opcode: number;
  qr: boolean;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  /** 0–4095. Above 15 the encoder needs `edns` to carry the upper bits and throws without it. */
  rcode: number;
}

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface SoaData {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

interface RecordBase {
  name: string;
  class: number;
  /** Seconds, 0 to 2^32-1. */
  ttl: number;
}

/** IPv4 address in dotted-quad form. */
export interface ARecord extends RecordBase {
  type: typeof RRType.A;
  data: string;
}
/** IPv6 address in any RFC 4291 text form; the decoder returns the RFC 5952 canonical form. */
export interface AaaaRecord extends RecordBase {
  type: typeof RRType.AAAA;
  data: string;
}
export interface CnameRecord extends RecordBase {
  type: typeof RRType.CNAME;
  data: string;
}
export interface PtrRecord extends RecordBase {
  type: typeof RRType.PTR;
  data: string;
}
export interface NsRecord extends RecordBase {
  type: typeof RRType.NS;
  data: string;
}
export interface SrvRecord extends RecordBase {
  type: typeof RRType.SRV;
  data: SrvData;
}
export interface SoaRecord extends RecordBase {
  type: typeof RRType.SOA;
  data: SoaData;
}
/** Character strings, each at most 255 octets once UTF-8 encoded. */
export interface TxtRecord extends RecordBase {
  type: typeof RRType.TXT;
  data: string[];
}

export type ResourceRecord =
  | ARecord
  | AaaaRecord
  | CnameRecord
  | PtrRecord
  | NsRecord
  | SrvRecord
  | SoaRecord
  | TxtRecord;

export type RecordType = ResourceRecord['type'];

export interface EdnsOption {
  code: number;
  data: Uint8Array;
}

/** The OPT pseudo-record (RFC 6891 §6.1.2–6.1.3). */
export interface Edns {
  /** Requestor's UDP payload size (the OPT CLASS field). */
  udpSize: number;
  version: number;
  /** DNSSEC OK (RFC 3225). */
  do: boolean;
  /**
   * The flag bits beside DO in its octet (the Z bits 8-14, 0-0x7f), when any is set: CoreDNS's reply keeps that octet
   * of the query's OPT (`SizeAndDo`: `Ttl &= 0xff00`) and clears the other. Absent means 0.
   */
  z?: number;
  /**
   * The upper 8 bits of the rcode as they sit in the OPT TTL. Filled in by the decoders; the encoder ignores it and
   * derives the bits from `header.rcode`, so the two can never disagree on the wire.
   */
  extendedRcode: number;
  options: EdnsOption[];
}

export interface Message {
  header: Header;
  /** The single question; `null` for a reply to a query whose question could not be read. */
  question: Question | null;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  edns: Edns | null;
}

/** A header with every flag clear, for building messages without spelling out nine fields. */
export function emptyHeader(id = 0): Header {
  return {
    id,
    opcode: Opcode.QUERY,
    qr: false,
    aa: false,
    tc: false,
    rd: false,
    ra: false,
    ad: false,
    cd: false,
    rcode: 0,
  };
}

/** Header flag bits in the second 16-bit word (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD/CD). */
export const HeaderBit = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  Z: 0x0040,
  AD: 0x0020,
  CD: 0x0010,
} as const;

/** The second header word for `header` (rcode's low 4 bits only). */
export function headerFlags(header: Header): number {
  return (
    (header.qr ? HeaderBit.QR : 0) |
    ((header.opcode & 0xf) << 11) |
    (header.aa ? HeaderBit.AA : 0) |
    (header.tc ? HeaderBit.TC : 0) |
    (header.rd ? HeaderBit.RD : 0) |
    (header.ra ? HeaderBit.RA : 0) |
    (header.ad ? HeaderBit.AD : 0) |
    (header.cd ? HeaderBit.CD : 0) |
    (header.rcode & 0xf)
  );
}

/** Inverse of `headerFlags`; `extendedRcode` is the OPT's upper rcode bits (0 without OPT). */
export function headerFromWire(id: number, flags: number, extendedRcode: number): Header {
  return {
    id,
    opcode: (flags >> 11) & 0xf,
    qr: (flags & HeaderBit.QR) !== 0,
    aa: (flags & HeaderBit.AA) !== 0,
    tc: (flags & HeaderBit.TC) !== 0,
    rd: (flags & HeaderBit.RD) !== 0,
    ra: (flags & HeaderBit.RA) !== 0,
    ad: (flags & HeaderBit.AD) !== 0,
    cd: (flags & HeaderBit.CD) !== 0,
    rcode: (extendedRcode << 4) | (flags & 0xf),
  };
}
