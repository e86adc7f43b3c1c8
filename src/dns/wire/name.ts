/**
 * Domain names: validation, text ↔ wire, case-insensitive comparison.
 *
 * Text form is the presentation form dig prints and miekg/dns uses: labels joined by `.`, absolute, trailing dot
 * optional on input (`a.b` means `a.b.`), the root written `.`. Inside a label `\.` is a literal dot, `\X` is X and
 * `\DDD` is the octet with that decimal value. Unescaped characters must be printable ASCII (0x21–0x7E): a space,
 * control or non-ASCII character has to be escaped (IDNs travel as punycode), so every text name has one wire form.
 *
 * Limits (RFC 1035 §2.3.4, §3.1): a label is 1–63 octets; a name is at most 255 octets on the wire, which is 253
 * characters of unescaped text without the trailing dot. Empty labels (`a..b`, `.a`) are invalid; the only empty
 * label is the root's. Underscores and other non-LDH characters are allowed: `_http._tcp` names need them and
 * neither miekg/dns nor CoreDNS restricts names to LDH.
 *
 * Comparison folds ASCII A–Z only (RFC 4343 §3): bytes above 0x7F are never case-folded.
 */
import { ErrorCodes, KubeNetsimError } from '../../errors.js';

/** Longest name on the wire, length octets and the root's 0 included. */
export const MAX_NAME_WIRE = 255;
export const MAX_LABEL = 63;

/** A name split into labels, with where each label starts in the text (compression keys are text suffixes). */
export interface ParsedName {
  /** Label octets, root excluded. */
  labels: Uint8Array[];
  /** Index in the text where each label starts. */
  starts: number[];
  /** Length of the text without its trailing dot. */
  textEnd: number;
  /** Octets on the wire when written without compression. */
  wireLength: number;
}

function invalid(name: string, why: string): KubeNetsimError {
  const shown = name.length > 300 ? `${JSON.stringify(name.slice(0, 300))}…` : JSON.stringify(name);
  return new KubeNetsimError(ErrorCodes.DNS_NAME_INVALID, `invalid DNS name ${shown}: ${why}`);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Split and validate; throws KubeNetsimError(DNS_NAME_INVALID). */
export function parseName(name: string): ParsedName {
  if (name.length === 0) throw invalid(name, 'empty (write the root as ".")');
  const labels: Uint8Array[] = [];
  const starts: number[] = [];
  if (name === '.') return { labels, starts, textEnd: 0, wireLength: 1 };
  const label = new Uint8Array(MAX_LABEL + 1);
  let len = 0;
  let start = 0;
  let wire = 1;
  let i = 0;
  const end = name.length;
  const close = (at: number): void => {
    if (len === 0) throw invalid(name, `empty label at character ${at}`);
    labels.push(label.slice(0, len));
    starts.push(start);
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) throw invalid(name, `longer than ${MAX_NAME_WIRE} octets on the wire`);
    len = 0;
  };
  while (i < end) {
    let c = name.charCodeAt(i);
    if (c === 46) {
      close(i);
      i++;
      start = i;
      if (i === end) return { labels, starts, textEnd: end - 1, wireLength: wire };
      continue;
    }
    if (c === 92) {
      const d1 = name.charCodeAt(i + 1);
      if (Number.isNaN(d1)) throw invalid(name, 'dangling backslash');
      if (isDigit(d1)) {
        const d2 = name.charCodeAt(i + 2);
        const d3 = name.charCodeAt(i + 3);
        if (!isDigit(d2) || !isDigit(d3)) throw invalid(name, `bad \\DDD escape at character ${i}`);
        c = (d1 - 48) * 100 + (d2 - 48) * 10 + (d3 - 48);
        if (c > 255) throw invalid(name, `\\DDD escape above 255 at character ${i}`);
        i += 4;
      } else {
        if (d1 < 0x20 || d1 > 0x7e) throw invalid(name, `escaped non-printable character at ${i}`);
        c = d1;
        i += 2;
      }
    } else {
      if (c < 0x21 || c > 0x7e) throw invalid(name, `character ${JSON.stringify(name[i])} must be escaped`);
      i++;
    }
    if (len === MAX_LABEL) throw invalid(name, `label longer than ${MAX_LABEL} octets`);
    label[len++] = c;
  }
  close(end);
  return { labels, starts, textEnd: end, wireLength: wire };
}

/** Throws KubeNetsimError(DNS_NAME_INVALID) when `name` cannot be encoded. */
export function validateName(name: string): void {
  parseName(name);
}

/** Whether `name` can be encoded. */
export function isValidName(name: string): boolean {
  try {
    parseName(name);
    return true;
  } catch {
    return false;
  }
}

/** Uncompressed wire form (length-prefixed labels, then 0). */
export function nameToWire(name: string): Uint8Array {
  const parsed = parseName(name);
  const out = new Uint8Array(parsed.wireLength);
  let off = 0;
  for (const label of parsed.labels) {
    out[off++] = label.length;
    out.set(label, off);
    off += label.length;
  }
  out[off] = 0;
  return out;
}

/** miekg/dns's set of label octets written as `\X` in presentation form. */
function isSpecial(b: number): boolean {
  return b === 46 || b === 32 || b === 39 || b === 64 || b === 59 || b === 40 || b === 41 || b === 34 || b === 92;
}

/**
 * Write one label's presentation text into `dst` (ASCII octets) and return the new offset. With `lower`, A–Z are
 * folded, which gives the cache key form CoreDNS uses (`strings.ToLower` of the presentation name). `dst` needs room
 * for 4 octets per label octet.
 */
export function writeLabelText(
  src: Uint8Array,
  start: number,
  len: number,
  dst: Uint8Array,
  off: number,
  lower: boolean,
): number {
  for (let i = start; i < start + len; i++) {
    let b = src[i]!;
    if (b < 0x20 || b > 0x7e) {
      dst[off] = 92;
      dst[off + 1] = 48 + Math.floor(b / 100);
      dst[off + 2] = 48 + (Math.floor(b / 10) % 10);
      dst[off + 3] = 48 + (b % 10);
      off += 4;
      continue;
    }
    if (isSpecial(b)) dst[off++] = 92;
    else if (lower && b >= 65 && b <= 90) b |= 0x20;
    dst[off++] = b;
  }
  return off;
}

/**
 * Text of an uncompressed wire name at `offset` (exact case, trailing dot). Throws KubeNetsimError(DNS_MALFORMED) on
 * a pointer, a reserved label type, an overrun or a name over 255 octets.
 */
export function nameFromWire(buf: Uint8Array, offset = 0): string {
  const text = new Uint8Array(MAX_NAME_WIRE * 4);
  let t = 0;
  let i = offset;
  for (;;) {
    const len = buf[i];
    if (len === undefined) throw new KubeNetsimError(ErrorCodes.DNS_MALFORMED, 'name runs past the buffer');
    if (len === 0) break;
    if (len > MAX_LABEL) throw new KubeNetsimError(ErrorCodes.DNS_MALFORMED, 'compressed or reserved label type');
    if (i + 1 + len > buf.length) throw new KubeNetsimError(ErrorCodes.DNS_MALFORMED, 'label runs past the buffer');
    if (i + 1 + len - offset >= MAX_NAME_WIRE) throw new KubeNetsimError(ErrorCodes.DNS_MALFORMED, 'name too long');
    t = writeLabelText(buf, i + 1, len, text, t, false);
    text[t++] = 46;
    i += 1 + len;
  }
  return t === 0 ? '.' : Buffer.from(text.buffer, 0, t).toString('latin1');
}

/** ASCII-only lower-casing: non-ASCII and escapes are left alone (RFC 4343). */
export function toLowerName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  }
  return name;
}

/** Whether the text ends in a label separator (a final `.` not escaped by an odd run of backslashes). */
export function hasTrailingDot(name: string): boolean {
  let i = name.length - 1;
  if (i < 0 || name.charCodeAt(i) !== 46) return false;
  let slashes = 0;
  while (--i >= 0 && name.charCodeAt(i) === 92) slashes++;
  return slashes % 2 === 0;
}

/** Absolute form with the trailing dot (`a.b` → `a.b.`); the root stays `.`. Does not validate. */
export function fqdn(name: string): string {
  return hasTrailingDot(name) ? name : `${name}.`;
}

/**
 * The cache-key form of a text name: lower case, trailing dot. For a valid name it equals the `name` the query
 * parser returns for the same wire bytes, provided escapes are written the canonical way (`\.`, `\DDD` below 0x20).
 */
export function canonicalName(name: string): string {
  return fqdn(toLowerName(name));
}

function foldAscii(c: number): number {
  return c >= 65 && c <= 90 ? c | 0x20 : c;
}

/** Case-insensitive equality of two text names, ignoring whether each has its trailing dot. */
export function namesEqual(a: string, b: string): boolean {
  const la = a.length > 1 && hasTrailingDot(a) ? a.length - 1 : a.length;
  const lb = b.length > 1 && hasTrailingDot(b) ? b.length - 1 : b.length;
  if (la !== lb) return false;
  for (let i = 0; i < la; i++) {
    if (foldAscii(a.charCodeAt(i)) !== foldAscii(b.charCodeAt(i))) return false;
  }
  return true;
}

/** Whether `name` equals `zone` or lies below it, case-insensitively and on label boundaries. */
export function isSubdomain(name: string, zone: string): boolean {
  const n = fqdn(name);
  const z = fqdn(zone);
  if (z === '.') return true;
  if (n.length < z.length) return false;
  const at = n.length - z.length;
  if (at > 0 && n.charCodeAt(at - 1) !== 46) return false;
  return namesEqual(n.slice(at), z);
}
