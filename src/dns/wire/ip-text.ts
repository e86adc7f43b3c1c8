/**
 * Address text ↔ octets for A and AAAA RDATA, without allocation on the encode side.
 *
 * IPv4 is strict dotted-quad (four decimal parts 0–255, no leading zeros), as in src/cni/ip.ts: `010.0.0.1` is
 * ambiguous between Go (10) and libc (8), and the resolver only ever hands us canonical text. IPv6 accepts RFC 4291
 * §2.2 text, including one `::` and a trailing dotted quad (`::ffff:10.0.0.1`); output is RFC 5952 canonical.
 */

/** Write the 4 octets of `text` at `off`; false when it is not a strict dotted quad. */
export function writeIPv4(text: string, buf: Uint8Array, off: number): boolean {
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      buf[off + part++] = value;
      digits = 0;
      value = 0;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits > 0 && value === 0) return false;
    value = value * 10 + (c - 48);
    if (++digits > 3 || value > 255) return false;
  }
  return part === 4;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Parse `a:b:c` groups into `out` from index 0; returns the group count, or -1 when malformed. */
function parseGroups(text: string, out: number[], allowQuad: boolean): number {
  if (text.length === 0) return 0;
  let n = 0;
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && text.charCodeAt(i) !== 58) continue;
    const group = text.slice(start, i);
    if (i === text.length && allowQuad && group.includes('.')) {
      const quad = new Uint8Array(4);
      if (!writeIPv4(group, quad, 0)) return -1;
      out[n++] = (quad[0]! << 8) | quad[1]!;
      out[n++] = (quad[2]! << 8) | quad[3]!;
      return n;
    }
    if (group.length === 0 || group.length > 4) return -1;
    let value = 0;
    for (let j = 0; j < group.length; j++) {
      const h = hexValue(group.charCodeAt(j));
      if (h < 0) return -1;
      value = (value << 4) | h;
    }
    out[n++] = value;
    start = i + 1;
  }
  return n;
}

/** Write the 16 octets of `text` at `off`; false when it is not an IPv6 address. */
export function writeIPv6(text: string, buf: Uint8Array, off: number): boolean {
  const gap = text.indexOf('::');
  const head: number[] = [];
  const tail: number[] = [];
  let nh: number;
  let nt: number;
  if (gap === -1) {
    nh = parseGroups(text, head, true);
    nt = 0;
    if (nh !== 8) return false;
  } else {
    if (text.indexOf('::', gap + 1) !== -1) return false;
    nh = parseGroups(text.slice(0, gap), head, false);
    nt = parseGroups(text.slice(gap + 2), tail, true);
    if (nh < 0 || nt < 0 || nh + nt > 7) return false;
  }
  buf.fill(0, off, off + 16);
  for (let i = 0; i < nh; i++) {
    buf[off + 2 * i] = head[i]! >> 8;
    buf[off + 2 * i + 1] = head[i]! & 0xff;
  }
  for (let i = 0; i < nt; i++) {
    const g = 8 - nt + i;
    buf[off + 2 * g] = tail[i]! >> 8;
    buf[off + 2 * g + 1] = tail[i]! & 0xff;
  }
  return true;
}

/** Dotted quad of the 4 octets at `off`. */
export function formatIPv4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 text of the 16 octets at `off`: lower-case hex, no leading zeros, the longest zero run (≥ 2) as `::`. */
export function formatIPv6(buf: Uint8Array, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}
