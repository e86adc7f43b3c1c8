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
import { formatIP as formatStrictIP, parseCIDR as parseStrictCIDR, parseIP as parseStrictIP } from '../../cni/ip.js';

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

export function bitsOf(family: Family): number {
  return family === 'IPv4' ? 32 : 128;
}

/** Parse an IP address strictly (the CNI's parser: one notion of "a valid IP" for validation and allocation). */
export function parseIP(text: string): ParsedIP | undefined {
  const ip = parseStrictIP(text);
  // API fields refuse IPv4-mapped IPv6 in any spelling (KEP-4858): the host is an IPv4 one.
  if (!ip || (ip.family === 'IPv6' && ip.value >> 32n === 0xffffn)) return undefined;
  return { family: ip.family, value: ip.value };
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
  if (slash >= 0 && !parseIP(text.slice(0, slash))) return undefined;
  const cidr = parseStrictCIDR(text);
  return cidr && { family: cidr.family, prefix: cidr.prefix, network: cidr.base, address: cidr.address };
}

export function hostBitsSet(cidr: ParsedCIDR): boolean {
  return cidr.network !== cidr.address;
}

/** The canonical text of an address (RFC 5952 for IPv6). */
export function formatIP(family: Family, value: bigint): string {
  return formatStrictIP(value, family);
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
