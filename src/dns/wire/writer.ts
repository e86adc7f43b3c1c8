/**
 * A reusable output buffer with RFC 1035 §4.1.4 name compression, the engine under encode.ts.
 *
 * Compression follows miekg/dns (what CoreDNS sends), read from its msg.go `packDomainName`:
 * - Suffixes match on their exact octets (miekg keys its map by the suffix text), so matching is case-SENSITIVE: a
 *   pointer always reproduces the bytes that were asked for, and `Web.X.` never points at `web.x.`. A 0x20 query's
 *   answer owners, spelled like the question, still point at the question.
 * - Every written suffix is remembered (offset < 0x4000 only, the pointer has 14 bits), even in RDATA that may not be
 *   compressed itself, so later names can point into an SRV target, as Knot and miekg both do.
 * - Whether a name may be replaced by a pointer is the caller's choice per field (owners and CNAME/NS/PTR/SOA RDATA
 *   yes; SRV target no, RFC 2782 and RFC 3597 §4).
 *
 * `caseDependent` tracks whether the bytes written so far could change if the query were spelled in another case,
 * for the response cache (cached-response.ts): it turns true when a name outside the question either repeats a suffix
 * of the question literally in any case, or points into the question at all, except for one case: an answer-section
 * owner equal to the question, written as a pointer to offset 12, is taken to be the query's own spelling, because
 * CoreDNS copies the qname into answer owners (dns.md §10.1).
 */
import { ErrorCodes, KubeNetsimError } from '../../errors.js';
import { CompressionTable, hashSuffixes } from './compression-table.js';
import { MAX_LABEL, parseName } from './name.js';

/** Largest DNS message: the TCP length prefix is 16 bits (RFC 1035 §4.2.2). */
export const MAX_MESSAGE = 65535;
const MAX_POINTER_TARGET = 0x3fff;

function invalidName(name: string, why: string): KubeNetsimError {
  return new KubeNetsimError(ErrorCodes.DNS_NAME_INVALID, `invalid DNS name ${JSON.stringify(name)}: ${why}`);
}

/** A point to roll back to when an RRset turns out not to fit. */
export interface Checkpoint {
  off: number;
  entries: number;
  caseDependent: boolean;
}

/** The scratch buffer and compression state one encode works in; encode.ts keeps a single instance and resets it. */
export class WireWriter {
  buf: Buffer = Buffer.allocUnsafe(4096);
  off = 0;
  caseDependent = false;
  private compress = true;
  /** Suffixes written so far, for pointers; see compression-table.ts. */
  private readonly table = new CompressionTable();
  /** Per-name scratch: label start indexes in the text, and the hash of the suffix starting at each. */
  private readonly starts = new Int32Array(128);
  private readonly suffixHashes = new Int32Array(128);
  /** The last whole name written and where it starts: owners repeat (60 A records, one owner), skip the hashing. */
  private lastName = '';
  private lastAt = -1;
  private inQuestion = false;
  /** Question text without its trailing dot, and where its wire form sits. */
  private qText = '';
  private qStart = -1;
  private qEnd = -1;

  reset(compress: boolean): void {
    this.off = 0;
    this.compress = compress;
    this.caseDependent = false;
    this.table.reset();
    this.qText = '';
    this.qStart = -1;
    this.qEnd = -1;
    this.lastName = '';
  }

  /** Make room for `n` more octets. Growth is unbounded here; callers enforce the message limit. */
  ensure(n: number): void {
    const need = this.off + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    if (size > 4 * MAX_MESSAGE) throw new KubeNetsimError(ErrorCodes.DNS_MALFORMED, 'DNS message too large to encode');
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): void {
    this.buf[this.off++] = v;
  }

  u16(v: number): void {
    this.buf[this.off] = v >>> 8;
    this.buf[this.off + 1] = v & 0xff;
    this.off += 2;
  }

  u32(v: number): void {
    const b = this.buf;
    const o = this.off;
    b[o] = v >>> 24;
    b[o + 1] = (v >>> 16) & 0xff;
    b[o + 2] = (v >>> 8) & 0xff;
    b[o + 3] = v & 0xff;
    this.off = o + 4;
  }

  mark(): Checkpoint {
    return { off: this.off, entries: this.table.size, caseDependent: this.caseDependent };
  }

  rollback(cp: Checkpoint): void {
    this.table.truncate(cp.entries);
    this.off = cp.off;
    this.caseDependent = cp.caseDependent;
    this.lastName = '';
  }

  /** Write the question name; it becomes the reference for `caseDependent`. */
  questionName(name: string): void {
    this.qStart = this.off;
    this.inQuestion = true;
    try {
      this.name(name, true);
    } finally {
      this.inQuestion = false;
    }
    this.qEnd = this.off;
    const n = name.length;
    this.qText = n > 1 && name.charCodeAt(n - 1) === 46 && name.charCodeAt(n - 2) !== 92 ? name.slice(0, n - 1) : name;
  }

  /**
   * Write a name, as a pointer when `compressible` and an identical suffix was written before. `answerOwner` marks
   * the owner of an answer-section record: only there does a name equal to the question stand for the query's own
   * spelling (CoreDNS copies the qname into answer owners), so only there is a pointer to offset 12 case-safe.
   */
  name(name: string, compressible: boolean, answerOwner = false): void {
    this.ensure(256);
    let end = name.length;
    if (end === 0) throw invalidName(name, 'empty (write the root as ".")');
    if (name.indexOf('\\') !== -1) {
      this.escapedName(name);
      return;
    }
    if (name.charCodeAt(end - 1) === 46) end--;
    if (end === 0) {
      this.buf[this.off++] = 0;
      return;
    }
    if (end > 253) throw invalidName(name, 'longer than 255 octets on the wire');
    if (compressible && this.compress && name === this.lastName) {
      this.pointer(this.lastAt, 0, answerOwner);
      return;
    }
    const nameAt = this.off;
    const starts = this.starts;
    let labels = 0;
    for (let s = 0; ; ) {
      starts[labels++] = s;
      let stop = name.indexOf('.', s);
      if (stop === -1 || stop > end) stop = end;
      const len = stop - s;
      if (len === 0) throw invalidName(name, `empty label at character ${s}`);
      if (len > MAX_LABEL) throw invalidName(name, `label longer than ${MAX_LABEL} octets`);
      if (stop === end) break;
      s = stop + 1;
    }
    const hashes = this.suffixHashes;
    if (this.compress) hashSuffixes(name, starts, labels, end, hashes);
    const buf = this.buf;
    for (let i = 0; i < labels; i++) {
      const from = starts[i]!;
      const to = i + 1 < labels ? starts[i + 1]! - 1 : end;
      if (this.compress) {
        if (compressible) {
          const at = this.table.find(buf, hashes[i]!, name, from, end);
          if (at >= 0) {
            if (i === 0) this.remember(name, at);
            this.pointer(at, i, answerOwner);
            return;
          }
          if (this.off <= MAX_POINTER_TARGET) this.table.insert(hashes[i]!, this.off);
        } else if (this.off <= MAX_POINTER_TARGET && !this.table.hasHash(hashes[i]!)) {
          this.table.insert(hashes[i]!, this.off);
        }
      }
      if (!this.inQuestion && !this.caseDependent) this.checkLiteral(name, from, end);
      let off = this.off;
      buf[off++] = to - from;
      for (let j = from; j < to; j++) {
        const c = name.charCodeAt(j);
        if (c < 0x21 || c > 0x7e) throw invalidName(name, `character ${JSON.stringify(name[j])} must be escaped`);
        buf[off++] = c;
      }
      this.off = off;
    }
    buf[this.off++] = 0;
    this.remember(name, nameAt);
  }

  private remember(name: string, at: number): void {
    if (at > MAX_POINTER_TARGET) return;
    this.lastName = name;
    this.lastAt = at;
  }

  /** Write a pointer to `at` for the suffix starting at label `label` of the current name. */
  private pointer(at: number, label: number, answerOwner: boolean): void {
    // Only an answer owner equal to the question stands for the query's spelling; any other pointer into the
    // question keeps the case of whoever spelled this name.
    if (!this.inQuestion && at >= this.qStart && at < this.qEnd && (label > 0 || !answerOwner)) {
      this.caseDependent = true;
    }
    this.buf[this.off] = 0xc0 | (at >>> 8);
    this.buf[this.off + 1] = at & 0xff;
    this.off += 2;
  }

  /** Copy an already encoded, uncompressed wire name (a query's question, case intact). */
  rawName(wire: Uint8Array): void {
    this.ensure(wire.length);
    this.buf.set(wire, this.off);
    this.off += wire.length;
  }

  /**
   * Names with `\` escapes: written in full and not offered for compression (their text is not their bytes, which
   * the table compares against). They are rare enough that the lost octets do not matter.
   */
  private escapedName(name: string): void {
    const parsed = parseName(name);
    for (let i = 0; i < parsed.labels.length; i++) {
      if (!this.inQuestion && !this.caseDependent) this.checkLiteral(name, parsed.starts[i]!, parsed.textEnd);
      const label = parsed.labels[i]!;
      this.buf[this.off++] = label.length;
      this.buf.set(label, this.off);
      this.off += label.length;
    }
    this.buf[this.off++] = 0;
  }

  /** Flag a literal label run whose text matches a question suffix in some case (see the file comment). */
  private checkLiteral(name: string, start: number, end: number): void {
    const q = this.qText;
    const at = q.length - (end - start);
    if (this.qStart < 0 || at < 0 || (at > 0 && q.charCodeAt(at - 1) !== 46)) return;
    for (let i = 0; i < end - start; i++) {
      let a = name.charCodeAt(start + i);
      let b = q.charCodeAt(at + i);
      if (a >= 65 && a <= 90) a |= 0x20;
      if (b >= 65 && b <= 90) b |= 0x20;
      if (a !== b) return;
    }
    this.caseDependent = true;
  }

  /** A copy of the octets written so far. */
  copyOut(from = 0, to = this.off): Buffer {
    const out = Buffer.allocUnsafe(to - from);
    this.buf.copy(out, 0, from, to);
    return out;
  }
}
