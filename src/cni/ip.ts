/**
 * IP and CIDR helpers, strict at the boundary: every address the allocators see went through `parseIP`/`parseCIDR`.
 *
 * Values are bigints (an IPv6 /64 has 2^64 addresses, beyond a Number), formatted back the way Go prints them, so
 * text we produce compares equal to what Kubernetes would store.
 *
 * Strictness follows Kubernetes' KEP-4858 rules for API fields (StrictIPCIDRValidation):
 * - IPv4 only as four decimal parts without leading zeros: `010.0.0.1` is ambiguous (Go reads 10, libc reads 8),
 *   `10.1` and hex parts are classful/legacy forms ipaddr.js would accept.
 * - IPv6 without a zone (`fe80::1%eth0`); an embedded IPv4 tail only in strict decimal (`64:ff9b::192.0.2.33`), and
 *   never IPv4-mapped (`::ffff:1.2.3.4` is an IPv4 host: write it as IPv4; API fields reject the hex form too, see
 *   model/validate/net.ts).
 * - A CIDR with host bits set (`10.96.0.5/12`) parses, but `isCanonical` is false so each caller can decide: flags such
 *   as --service-cluster-ip-range mask it to the network, strict API fields reject it.
 */
import ipaddr from 'ipaddr.js';
import { ErrorCodes, InvalidArgumentError, KubeNetsimError } from '../errors.js';

export type IPFamily = 'IPv4' | 'IPv6';

/** An address that passed strict parsing. `text` is its canonical form. */
export interface ParsedIP {
  family: IPFamily;
  value: bigint;
  text: string;
}

const IPV4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
const IPV4_STRICT = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);
// Hex groups of at most four digits, 2 to 8 colons (`1:2:3:4:5:6:7::` has 8); ipaddr.js then checks the structure (one `::`, 8 groups).
const IPV6_SHAPE = /^(?:[0-9A-Fa-f]{0,4}:){2,8}[0-9A-Fa-f]{0,4}$/;
const PREFIX_DIGITS = /^(?:0|[1-9][0-9]{0,2})$/;

/** Number of bits in an address of the family. */
export function bitsOf(family: IPFamily): 32 | 128 {
  return family === 'IPv4' ? 32 : 128;
}

/**
 * `64:ff9b::192.0.2.33` → `64:ff9b::c000:221`: an embedded IPv4 tail (RFC 4291 §2.2), itself strict four-part
 * decimal, rewritten as two hex groups; text without a dotted tail comes back unchanged, a bad tail as undefined.
 */
function dottedTailToHex(text: string): string | undefined {
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (!tail.includes('.')) return text;
  if (lastColon < 0 || !IPV4_STRICT.test(tail)) return undefined;
  const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
  return `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

/**
 * Canonical dotted-quad IPv4 → unsigned 32-bit value; -1 for anything else. The same addresses as IPV4_STRICT, read
 * without a regular expression, a split or a BigInt: every Service and endpoint address of a cluster goes through here.
 */
export function canonicalIPv4(ip: string): number {
  const n = ip.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let lead = 0;
  for (let i = 0; i < n; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      // '.': the octet before it must be 1-3 digits, ≤ 255, without a leading zero ("01" is not canonical).
      if (digits === 0 || octet > 255 || (lead === 48 && digits > 1)) return -1;
      value = (value << 8) | octet;
      octet = 0;
      digits = 0;
      dots++;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return -1;
    if (digits === 0) lead = c;
    octet = octet * 10 + d;
    digits++;
  }
  if (dots !== 3 || digits === 0 || octet > 255 || (lead === 48 && digits > 1)) return -1;
  return ((value << 8) | octet) >>> 0;
}

/** Parse one address strictly; `undefined` when it is not an address we accept. */
export function parseIP(text: string): ParsedIP | undefined {
  const v4 = canonicalIPv4(text);
  if (v4 >= 0) return { family: 'IPv4', value: BigInt(v4), text };
  const hex = dottedTailToHex(text);
  if (hex === undefined || !IPV6_SHAPE.test(hex) || !ipaddr.IPv6.isValid(hex)) return undefined;
  let value = 0n;
  for (const group of ipaddr.IPv6.parse(hex).parts) value = (value << 16n) | BigInt(group);
  // ::ffff:a.b.c.d names an IPv4 host: Kubernetes wants it written as IPv4 (KEP-4858).
  if (hex !== text && value >> 32n === 0xffffn) return undefined;
  return { family: 'IPv6', value, text: formatIP(value, 'IPv6') };
}

/** The family of an address, or `undefined` when it does not parse strictly. */
export function ipFamilyOf(text: string): IPFamily | undefined {
  return parseIP(text)?.family;
}

/** The canonical text of an address (`FD00:0::1` → `fd00::1`), or `undefined` when it does not parse. */
export function canonicalIP(text: string): string | undefined {
  return parseIP(text)?.text;
}

/**
 * Canonical text of an address value. IPv6 follows RFC 5952 as Go prints it: lower-case, no leading zeros, the
 * longest run of two or more zero groups (the first on a tie) becomes `::`, a lone zero group stays `0`.
 */
export function formatIP(value: bigint, family: IPFamily): string {
  if (family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1; // a run must be at least 2 groups long to be compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLength).join(':');
  return `${head}::${tail}`;
}

/** A block of addresses: network `base`, `prefix` bits, `size` addresses. Build with `parseCIDR` or `Cidr.of`. */
export class Cidr {
  readonly family: IPFamily;
  readonly bits: 32 | 128;
  readonly prefix: number;
  /** The network address (host bits cleared). */
  readonly base: bigint;
  /** The address as written; differs from `base` when host bits were set. */
  readonly address: bigint;
  readonly size: bigint;
  /** Canonical `network/prefix` text. */
  readonly text: string;
  /** False when the text had host bits set (`10.96.0.5/12`); strict API fields reject such values. */
  readonly isCanonical: boolean;

  private constructor(family: IPFamily, address: bigint, prefix: number) {
    this.family = family;
    this.bits = bitsOf(family);
    this.prefix = prefix;
    const hostBits = BigInt(this.bits - prefix);
    this.size = 1n << hostBits;
    this.address = address;
    this.base = (address >> hostBits) << hostBits;
    this.isCanonical = this.base === address;
    this.text = `${formatIP(this.base, family)}/${prefix}`;
  }

  /** A CIDR from parts; throws on a prefix outside 0..bits or an address wider than the family. */
  static of(family: IPFamily, address: bigint, prefix: number): Cidr {
    const bits = bitsOf(family);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
      throw new InvalidArgumentError(`prefix /${prefix} is not valid for ${family}`);
    }
    if (address < 0n || address >= 1n << BigInt(bits)) {
      throw new InvalidArgumentError(`address value ${address} does not fit ${family}`);
    }
    return new Cidr(family, address, prefix);
  }

  /** The last address of the block (the IPv4 broadcast address). */
  get last(): bigint {
    return this.base + this.size - 1n;
  }

  /** Whether an address value of this family lies in the block. */
  containsValue(value: bigint): boolean {
    return value >= this.base && value <= this.last;
  }

  /** Whether the address lies in the block; text that does not parse, or another family, is simply not contained. */
  contains(ip: string | ParsedIP): boolean {
    const parsed = typeof ip === 'string' ? parseIP(ip) : ip;
    return parsed !== undefined && parsed.family === this.family && this.containsValue(parsed.value);
  }

  /** Whether `other` lies entirely inside this block (same family). */
  covers(other: Cidr): boolean {
    return other.family === this.family && other.prefix >= this.prefix && this.containsValue(other.base);
  }

  /** Whether the two blocks share any address. */
  overlaps(other: Cidr): boolean {
    return other.family === this.family && this.base <= other.last && other.base <= this.last;
  }

  /** Position of the address in the block (0 = network address), or `undefined` when outside. */
  indexOf(ip: string | ParsedIP): bigint | undefined {
    const parsed = typeof ip === 'string' ? parseIP(ip) : ip;
    if (parsed === undefined || parsed.family !== this.family || !this.containsValue(parsed.value)) return undefined;
    return parsed.value - this.base;
  }

  /** The address at position `index` (0 = network address) as canonical text. */
  nth(index: bigint): string {
    if (index < 0n || index >= this.size) {
      throw new KubeNetsimError(
        ErrorCodes.OUT_OF_RANGE,
        `index ${index} is outside ${this.text} (${this.size} addresses)`,
      );
    }
    return formatIP(this.base + index, this.family);
  }

  toString(): string {
    return this.text;
  }
}

/**
 * Parse `address/prefix` strictly (see the module comment). The prefix is decimal without leading zeros.
 * Host bits are allowed here and reported through `isCanonical`.
 */
export function parseCIDR(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (ip === undefined || !PREFIX_DIGITS.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bitsOf(ip.family)) return undefined;
  return Cidr.of(ip.family, ip.value, prefix);
}

function parseOrThrow(ip: string | ParsedIP): ParsedIP {
  if (typeof ip !== 'string') return ip;
  const parsed = parseIP(ip);
  if (parsed === undefined) throw new InvalidArgumentError(`"${ip}" is not a valid IP address`);
  return parsed;
}

/** The PTR owner name of an address, without the trailing dot: `10.0.96.10.in-addr.arpa`, 32-nibble `ip6.arpa`. */
export function reverseName(ip: string | ParsedIP): string {
  const { family, value } = parseOrThrow(ip);
  const labels: string[] = [];
  if (family === 'IPv4') {
    for (let shift = 0n; shift < 32n; shift += 8n) labels.push(String((value >> shift) & 0xffn));
    return `${labels.join('.')}.in-addr.arpa`;
  }
  for (let shift = 0n; shift < 128n; shift += 4n) labels.push(((value >> shift) & 0xfn).toString(16));
  return `${labels.join('.')}.ip6.arpa`;
}

const V4_REVERSE = /^(.*)\.in-addr\.arpa\.?$/i;
const V6_REVERSE = /^(.*)\.ip6\.arpa\.?$/i;

/**
 * The address a full reverse name stands for (canonical text), or `undefined`. Only complete names are addresses:
 * four decimal octets, or 32 single-hex-digit nibbles, as CoreDNS requires; a partial name like
 * `96.10.in-addr.arpa` is a zone cut, not an address. A trailing dot and any letter case are accepted.
 */
export function parseReverseName(name: string): string | undefined {
  const v4 = V4_REVERSE.exec(name);
  if (v4) {
    const octets = v4[1]!.split('.');
    if (octets.length !== 4) return undefined;
    return parseIP(octets.reverse().join('.'))?.text;
  }
  const v6 = V6_REVERSE.exec(name);
  if (!v6) return undefined;
  const nibbles = v6[1]!.split('.');
  if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/i.test(n))) return undefined;
  const value = BigInt(`0x${nibbles.reverse().join('')}`);
  // An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address, as Go prints it (CoreDNS dnsutil reverse6): its
  // ip6.arpa name finds what the in-addr.arpa name does.
  if (value >> 32n === 0xffffn) return formatIP(value & 0xffffffffn, 'IPv4');
  return formatIP(value, 'IPv6');
}

/**
 * The hostname CoreDNS gives an endpoint that has no hostname of its own (plugin/kubernetes `endpointHostname`):
 * dots become dashes (`10.244.1.40` → `10-244-1-40`); for IPv6, colons become dashes and a `0` is appended when the
 * result would end in a dash, since a DNS label cannot (`fd00::` → `fd00--0`, coredns/coredns#7430).
 *
 * It works on the text as stored in the EndpointSlice, so pass canonical text (`parseIP(...).text`): the expanded
 * and compressed spellings of one address give different names.
 */
export function dashedIP(ip: string): string {
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  if (!ip.includes(':')) return '';
  const dashed = ip.replaceAll(':', '-');
  return dashed.endsWith('-') ? `${dashed}0` : dashed;
}
