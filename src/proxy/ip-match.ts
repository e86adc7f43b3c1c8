/**
 * Fast address tests for packet paths: "is this source in that CIDR", "is this a local address". Packet addresses
 * are canonical text; IPv4 is matched on 32-bit integers parsed by hand (no allocation), IPv6 through the strict
 * parser in cni/ip.ts (rare in the hot paths we measure, and correct first).
 */
import { parseCIDR, parseIP } from '../cni/ip.js';
import type { IPFamily } from '../model/types.js';

/** A CIDR test: `matches(ip)` for canonical address text of any family (other families never match). */
export interface CidrMatcher {
  /** Canonical `net/prefix` text, as rules print it. */
  readonly text: string;
  readonly family: IPFamily;
  matches(ip: string): boolean;
  /** `matches` for an address already parsed by `ipv4ToInt` (-1, not IPv4, never matches; IPv6 CIDRs never do). */
  containsV4(value: number): boolean;
}

/** An IPv4 address as an unsigned 32-bit integer, or -1 when the text is not dotted-quad IPv4. */
export function ipv4ToInt(ip: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || octet > 255) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0 || octet > 255) return -1;
  return value * 256 + octet;
}

/** A matcher for one CIDR; throws on text that is not a CIDR. */
export function cidrMatcher(text: string): CidrMatcher {
  const cidr = parseCIDR(text.trim());
  if (!cidr) throw new Error(`not a CIDR: ${text}`);
  if (cidr.family === 'IPv4') {
    const base = Number(cidr.base);
    const size = 2 ** (32 - cidr.prefix);
    return {
      text: cidr.text,
      family: 'IPv4',
      matches(ip: string): boolean {
        const v = ipv4ToInt(ip);
        return v >= base && v < base + size;
      },
      containsV4(v: number): boolean {
        return v >= base && v < base + size;
      },
    };
  }
  return { text: cidr.text, family: 'IPv6', matches: (ip: string) => cidr.contains(ip), containsV4: () => false };
}

/** Whether the address is loopback: 127.0.0.0/8 or ::1. */
export function isLoopback(ip: string): boolean {
  if (ip.startsWith('127.')) return ipv4ToInt(ip) >= 0;
  return ip === '::1';
}

/**
 * The node's local addresses as `-m addrtype --src-type/--dst-type LOCAL` sees them: the node's own addresses and
 * loopback. (A real node also counts bridge and other interface addresses; the model knows the node's addresses only.)
 */
export class LocalAddresses {
  readonly #set: ReadonlySet<string>;
  /** The IPv4 members as 32-bit values, for `hasV4`. */
  readonly #v4: readonly number[];
  constructor(addresses: Iterable<string>) {
    const set = new Set<string>();
    for (const a of addresses) set.add(parseIP(a)?.text ?? a);
    this.#set = set;
    this.#v4 = [...set].map(ipv4ToInt).filter((v) => v >= 0);
  }
  has(ip: string): boolean {
    return this.#set.has(ip) || isLoopback(ip);
  }
  /**
   * `has` for a canonical IPv4 address already parsed to its value (no string hashing: the packet walk has the
   * value from conntrack): one of the node's IPv4 addresses, or 127/8.
   */
  hasV4(value: number): boolean {
    return value >>> 24 === 127 || this.#v4.includes(value);
  }
}
