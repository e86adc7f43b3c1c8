/**
 * Strict IP and CIDR parsing for manifests and the ClusterConfig.
 *
 * Kubernetes' own parser (netutils.ParseIPSloppy) still accepts `010.0.0.1` and reads it as 10.0.0.1, while other
 * tools read it as octal 8.0.0.1; upstream warns that such values "will be considered invalid in a future release".
 * We are that future release: an IPv4 address is four decimal parts without leading zeros, an IPv6 address is what
 * ipaddr.js accepts minus zone ids (`%eth0`) and IPv4-mapped forms (`::ffff:1.2.3.4`, whose family is ambiguous).
 * Addresses are kept as bigints so containment and overlap are plain arithmetic.
 */
import ipaddr from 'ipaddr.js';

export type Family = 'IPv4' | 'IPv6';

export interface ParsedIP {
  family: Family;
  /** The address as an unsigned integer (32 or 128 bits). */
  value: bigint;
}

export interface ParsedCIDR {
  family: Family;
  prefix: number;
  /** The network address (host bits cleared). */
  network: bigint;
  /** The address as written, which differs from `network` when host bits were set. */
  address: bigint;
}

/** Kubernetes' wording for an invalid IP (k8s.io/apimachinery IsValidIP). */
export const IP_MESSAGE = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
/** Kubernetes' wording for an invalid CIDR (k8s.io/apimachinery IsValidCIDR). */
export const CIDR_MESSAGE = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;

export function bitsOf(family: Family): number {
  return family === 'IPv4' ? 32 : 128;
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  // A dotted tail must itself be a strict IPv4 address (ipaddr.js reads `::ffff:010.0.0.1` leniently).
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.') && parseIPv4(tail) === undefined) return undefined;
  const parsed = ipaddr.IPv6.parse(text);
  if (parsed.isIPv4MappedAddress()) return undefined;
  let value = 0n;
  for (const byte of parsed.toByteArray()) value = (value << 8n) | BigInt(byte);
  return value;
}

/** Parse an IP address strictly; undefined when it is not one. */
export function parseIP(text: string): ParsedIP | undefined {
  if (text.includes(':')) {
    const value = parseIPv6(text);
    return value === undefined ? undefined : { family: 'IPv6', value };
  }
  const value = parseIPv4(text);
  return value === undefined ? undefined : { family: 'IPv4', value };
}

/** Why `text` is not a strict IP address, as a hint for the user (empty when there is nothing useful to add). */
export function ipHint(text: string): string {
  if (text.includes('%')) return 'zone ids are not accepted';
  if (/^[0-9.]+$/.test(text) && text.split('.').some((p) => /^0[0-9]/.test(p))) {
    return 'leading zeros are ambiguous (octal or decimal?): write each part in plain decimal';
  }
  if (text.includes(':') && ipaddr.IPv6.isValid(text.replace(/%.*$/, ''))) {
    const parsed = ipaddr.IPv6.parse(text.replace(/%.*$/, ''));
    if (parsed.isIPv4MappedAddress())
      return `IPv4-mapped IPv6 addresses are not accepted: write ${parsed.toIPv4Address()}`;
  }
  return '';
}

/** Parse a CIDR strictly (`10.0.0.0/8`, `fd00::/64`); host bits may be set (see `hostBitsSet`). */
export function parseCIDR(text: string): ParsedCIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9][0-9]{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  const bits = bitsOf(ip.family);
  if (prefix > bits) return undefined;
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  return { family: ip.family, prefix, network: ip.value & ~hostMask, address: ip.value };
}

export function hostBitsSet(cidr: ParsedCIDR): boolean {
  return cidr.network !== cidr.address;
}

/** The canonical text of an address (RFC 5952 for IPv6). */
export function formatIP(family: Family, value: bigint): string {
  if (family === 'IPv4') {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 255n)).join('.');
  }
  const bytes: number[] = [];
  for (let shift = 120n; shift >= 0n; shift -= 8n) bytes.push(Number((value >> shift) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

export function formatCIDR(cidr: ParsedCIDR): string {
  return `${formatIP(cidr.family, cidr.network)}/${cidr.prefix}`;
}

/** The last address of a CIDR. */
export function lastAddress(cidr: ParsedCIDR): bigint {
  return cidr.network | ((1n << BigInt(bitsOf(cidr.family) - cidr.prefix)) - 1n);
}

/** Whether `inner` lies entirely inside `outer` (same family). */
export function cidrContains(outer: ParsedCIDR, inner: ParsedCIDR): boolean {
  return (
    outer.family === inner.family &&
    outer.prefix <= inner.prefix &&
    inner.network >= outer.network &&
    lastAddress(inner) <= lastAddress(outer)
  );
}

/** Whether two inclusive address ranges of the same family share an address. */
export function rangesOverlap(a: { first: bigint; last: bigint }, b: { first: bigint; last: bigint }): boolean {
  return a.first <= b.last && b.first <= a.last;
}
