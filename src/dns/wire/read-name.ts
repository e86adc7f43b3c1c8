/**
 * Walking a possibly compressed name in a received message, shared by both decoders.
 *
 * Rules, the stricter of miekg/dns and dns-packet:
 * - A pointer must point strictly before the start of the run of labels that contains it (dns-packet's rule; RFC
 *   1035 §4.1.4 speaks of a "prior occurrence"). Each jump therefore lands lower than the last, so a loop is
 *   impossible and no hop counter is needed.
 * - Label types 0x40 and 0x80 are reserved (RFC 6891 §5 retired extended labels): rejected.
 * - The expanded name may not exceed 255 octets (RFC 1035 §3.1; miekg's ErrLongDomain).
 *
 * Results go into the exported `walk` object instead of a fresh object per call: the query parser runs per packet.
 */
import { MAX_NAME_WIRE, writeLabelText } from './name.js';

export const walk = {
  /** Offset just past the name in the stream (past the first pointer if it jumped), or -1 when malformed. */
  end: -1,
  /** Octets of presentation text written to the scratch (trailing dot included; 1 for the root). */
  textLength: 0,
  /** Octets of the expanded wire form, terminating 0 included. */
  wireLength: 0,
  compressed: false,
};

/** Room for the longest presentation text (`\DDD` per octet). */
export const textScratch = Buffer.allocUnsafe(MAX_NAME_WIRE * 4 + 1);

/**
 * Walk the name at `pos`. With `text`, its presentation form goes into `textScratch` (A–Z folded when `lower`).
 * Returns `walk.end`.
 */
export function walkName(buf: Uint8Array, pos: number, text: boolean, lower: boolean): number {
  const n = buf.length;
  let p = pos;
  let segment = pos;
  let end = -1;
  let wire = 1;
  let t = 0;
  walk.compressed = false;
  walk.end = -1;
  for (;;) {
    if (p >= n) return -1;
    const len = buf[p]!;
    if (len === 0) {
      if (end < 0) end = p + 1;
      break;
    }
    if (len >= 0xc0) {
      if (p + 1 >= n) return -1;
      const target = ((len & 0x3f) << 8) | buf[p + 1]!;
      if (target >= segment) return -1;
      if (end < 0) end = p + 2;
      walk.compressed = true;
      p = segment = target;
      continue;
    }
    if (len > 63) return -1;
    if (p + 1 + len > n) return -1;
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) return -1;
    if (text) {
      // Inline the common case (letters, digits, '-', '_'); anything else goes through the escaping writer.
      const stop = p + 1 + len;
      let i = p + 1;
      for (; i < stop; i++) {
        let b = buf[i]!;
        if (b >= 65 && b <= 90) {
          if (lower) b |= 0x20;
        } else if (!((b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b === 45 || b === 95)) break;
        textScratch[t++] = b;
      }
      if (i < stop) t = writeLabelText(buf, i, stop - i, textScratch, t, lower);
      textScratch[t++] = 46;
    }
    p += 1 + len;
  }
  if (text && t === 0) textScratch[t++] = 46;
  walk.textLength = t;
  walk.wireLength = wire;
  walk.end = end;
  return end;
}

/** The expanded wire form of a name already accepted by `walkName` (case intact). */
export function expandName(buf: Uint8Array, pos: number, wireLength: number): Buffer {
  const out = Buffer.allocUnsafe(wireLength);
  let p = pos;
  let o = 0;
  for (;;) {
    const len = buf[p]!;
    if (len >= 0xc0) {
      p = ((len & 0x3f) << 8) | buf[p + 1]!;
      continue;
    }
    out[o++] = len;
    if (len === 0) return out;
    for (let i = 1; i <= len; i++) out[o++] = buf[p + i]!;
    p += 1 + len;
  }
}
