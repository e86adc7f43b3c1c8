/**
 * IP and CIDR fields of manifests: strict syntax (see net.ts), Kubernetes' messages, and the "non-special IP" rule
 * the API server applies to externalIPs and EndpointSlice addresses (ValidateNonSpecialIP).
 */
import type { FieldPath } from '../source.js';
import {
  CIDR_MESSAGE,
  formatCIDR,
  hostBitsSet,
  IP_MESSAGE,
  ipHint,
  type ParsedCIDR,
  type ParsedIP,
  parseCIDR,
  parseIP,
} from './net.js';
import type { Reporter } from './reporter.js';

/** Check an IP field; returns the parsed address when valid. */
export function checkIP(path: FieldPath, value: string, report: Reporter): ParsedIP | undefined {
  const ip = parseIP(value);
  if (!ip) report.invalid(path, value, IP_MESSAGE, { hint: ipHint(value) });
  return ip;
}

/** Check an IP field of a given family (EndpointSlice addresses). */
export function checkIPOfFamily(path: FieldPath, value: string, family: 'IPv4' | 'IPv6', report: Reporter): boolean {
  const ip = parseIP(value);
  if (!ip || ip.family !== family) {
    report.invalid(path, value, `must be a valid ${family} address`, { hint: ip ? '' : ipHint(value) });
    return false;
  }
  return true;
}

/**
 * Check a CIDR field. Host bits set (`10.0.0.1/24`) are accepted with a warning, as the API server does for these
 * legacy fields; the value means the network (`10.0.0.0/24`).
 */
export function checkCIDR(path: FieldPath, value: string, report: Reporter): ParsedCIDR | undefined {
  const cidr = parseCIDR(value);
  if (!cidr) {
    const slash = value.indexOf('/');
    report.invalid(path, value, CIDR_MESSAGE, { hint: slash > 0 ? ipHint(value.slice(0, slash)) : '' });
    return undefined;
  }
  if (hostBitsSet(cidr)) {
    report.warn(path, `CIDR value ${JSON.stringify(value)} has host bits set: it is read as ${formatCIDR(cidr)}`);
  }
  return cidr;
}

const LOOPBACK_V4 = 127n << 24n;
const LINK_LOCAL_V4 = (169n << 24n) | (254n << 16n);
const MULTICAST_LL_V4 = 224n << 24n;

/** The special ranges an externalIP or endpoint address may not be in; empty when it is ordinary. */
export function specialIPProblem(ip: ParsedIP): string {
  if (ip.family === 'IPv4') {
    if (ip.value === 0n) return 'may not be unspecified (0.0.0.0)';
    if (ip.value >> 24n === LOOPBACK_V4 >> 24n) return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
    if (ip.value >> 16n === LINK_LOCAL_V4 >> 16n)
      return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
    if (ip.value >> 8n === MULTICAST_LL_V4 >> 8n) {
      return 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)';
    }
    return '';
  }
  if (ip.value === 0n) return 'may not be unspecified (::)';
  if (ip.value === 1n) return 'may not be in the loopback range (127.0.0.0/8, ::1/128)';
  if (ip.value >> 118n === 0x3fan) return 'may not be in the link-local range (169.254.0.0/16, fe80::/10)';
  // Go's IsLinkLocalMulticast: ff0X::/16 with scope 2, for any flags X.
  if (ip.value >> 120n === 0xffn && ((ip.value >> 112n) & 0x0fn) === 2n)
    return 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)';
  return '';
}

/** An IP that must also be an ordinary unicast address (externalIPs, EndpointSlice addresses). */
export function checkNonSpecialIP(path: FieldPath, value: string, ip: ParsedIP, report: Reporter): void {
  const problem = specialIPProblem(ip);
  if (problem) report.invalid(path, value, problem);
}
