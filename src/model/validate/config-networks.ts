/**
 * The network fields of a ClusterConfig: CIDR lists (one per family), node CIDR mask sizes, the NodePort range and
 * LoadBalancer pools, with the limits the real control plane enforces on its flags:
 * - kube-apiserver --service-cluster-ip-range: at most 20 host bits ("the mask must be >= 12" for IPv4);
 * - kube-controller-manager --node-cidr-mask-size: not shorter than the cluster CIDR's prefix, and for IPv6 at most
 *   16 bits longer (the CIDR allocator's bitmap limit, clusterSubnetMaxDiff);
 * - --service-node-port-range: `first-last`, inside 1..65535.
 * Unlike manifests, configuration CIDRs must be written as network addresses: a host part here is always a typo.
 */
import { type FieldPath, formatPath } from '../source.js';
import {
  bitsOf,
  CIDR_MESSAGE,
  type Family,
  formatCIDR,
  hostBitsSet,
  IP_MESSAGE,
  ipHint,
  lastAddress,
  type ParsedCIDR,
  parseCIDR,
  parseIP,
} from './net.js';
import type { Reporter } from './reporter.js';

/** An address range with where it was written, for overlap checks across fields. */
export interface NamedRange {
  family: Family;
  first: bigint;
  last: bigint;
  path: FieldPath;
  /** The value as written. */
  text: string;
}

/** A list of 1 or 2 CIDRs of different families; returns the parsed ones in order (undefined where invalid). */
export function checkCIDRList(
  values: readonly string[],
  path: FieldPath,
  report: Reporter,
): (ParsedCIDR | undefined)[] {
  if (values.length === 0 || values.length > 2) {
    report.invalid(path, values, 'must hold one CIDR, or two of different families for dual-stack');
  }
  const parsed = values.map((value, i) => checkNetworkCIDR(value, [...path, i], report));
  if (parsed.length === 2 && parsed[0] && parsed[1] && parsed[0].family === parsed[1].family) {
    report.invalid(path, values, 'may specify no more than one CIDR for each IP family');
  }
  return parsed;
}

/** A CIDR written as a network address. */
export function checkNetworkCIDR(value: string, path: FieldPath, report: Reporter): ParsedCIDR | undefined {
  const cidr = parseCIDR(value);
  if (!cidr) {
    const slash = value.indexOf('/');
    report.invalid(path, value, CIDR_MESSAGE, { hint: slash > 0 ? ipHint(value.slice(0, slash)) : '' });
    return undefined;
  }
  if (hostBitsSet(cidr)) {
    report.invalid(path, value, 'must be a network address (host bits set)', {
      hint: `did you mean ${formatCIDR(cidr)}?`,
    });
    return undefined;
  }
  return cidr;
}

const MAX_SERVICE_HOST_BITS = 20;

/** kube-apiserver's limit on service CIDR size. */
export function checkServiceCIDRSize(cidr: ParsedCIDR, value: string, path: FieldPath, report: Reporter): void {
  const bits = bitsOf(cidr.family);
  if (bits - cidr.prefix > MAX_SERVICE_HOST_BITS) {
    report.invalid(
      path,
      value,
      `is too large; for ${bits}-bit addresses, the mask must be >= ${bits - MAX_SERVICE_HOST_BITS}`,
    );
  }
}

const MAX_NODE_MASK_DIFF_IPV6 = 16;

/** A node CIDR mask size against the pod CIDR of its family. */
export function checkNodeMask(
  mask: number,
  cidr: ParsedCIDR,
  path: FieldPath,
  podPath: FieldPath,
  report: Reporter,
): void {
  const bits = bitsOf(cidr.family);
  const where = `${formatPath(podPath)} (${formatCIDR(cidr)})`;
  if (mask < cidr.prefix || mask > bits) {
    report.invalid(path, mask, `must be between ${cidr.prefix} and ${bits}`, {
      hint: `the node CIDRs are carved out of ${where}`,
    });
  } else if (cidr.family === 'IPv6' && mask - cidr.prefix > MAX_NODE_MASK_DIFF_IPV6) {
    report.invalid(path, mask, `must be at most ${MAX_NODE_MASK_DIFF_IPV6} bits longer than the IPv6 pod CIDR prefix`, {
      hint: `kube-controller-manager cannot allocate more than 2^16 node CIDRs from ${where}`,
    });
  }
}

/** `"30000-32767"` or `{ first, last }`; returns the range when valid. */
export function checkPortRange(
  value: unknown,
  path: FieldPath,
  report: Reporter,
): { first: number; last: number } | undefined {
  let first: unknown;
  let last: unknown;
  if (typeof value === 'string') {
    const m = /^(\d{1,5})-(\d{1,5})$/.exec(value);
    if (!m) {
      report.invalid(path, value, 'must be a port range written first-last', { hint: 'e.g. "30000-32767"' });
      return undefined;
    }
    first = Number(m[1]);
    last = Number(m[2]);
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      if (key !== 'first' && key !== 'last')
        report.at([...path, key], `unknown field ${JSON.stringify(key)} (known fields: first, last)`);
    }
    first = obj.first;
    last = obj.last;
  } else {
    report.invalid(path, value, 'must be a port range: "first-last" or a mapping with first and last');
    return undefined;
  }
  let ok = true;
  for (const [name, port] of [
    ['first', first],
    ['last', last],
  ] as const) {
    const at: FieldPath = typeof value === 'string' ? path : [...path, name];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      report.invalid(at, port, `${name} port must be an integer between 1 and 65535, inclusive`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  if ((first as number) > (last as number)) {
    report.invalid(path, value, 'first port must not be greater than last port');
    return undefined;
  }
  return { first: first as number, last: last as number };
}

/** A LoadBalancer pool: a CIDR or an inclusive `first-last` address range of one family. */
export function checkPool(
  value: string,
  path: FieldPath,
  report: Reporter,
): Omit<NamedRange, 'path' | 'text'> | undefined {
  if (value.includes('/')) {
    const cidr = checkNetworkCIDR(value, path, report);
    return cidr && { family: cidr.family, first: cidr.network, last: lastAddress(cidr) };
  }
  const parts = value.split('-');
  const first = parts.length === 2 ? parseIP(parts[0]!.trim()) : undefined;
  const last = parts.length === 2 ? parseIP(parts[1]!.trim()) : undefined;
  if (!first || !last) {
    const bad = parts.length === 2 ? (first ? parts[1]! : parts[0]!).trim() : value;
    report.invalid(
      path,
      value,
      `must be a CIDR or a range first-last of two IP addresses (each ${IP_MESSAGE.replace(/^must be /, '')})`,
      {
        hint: ipHint(bad),
      },
    );
    return undefined;
  }
  if (first.family !== last.family) {
    report.invalid(path, value, 'must not mix IPv4 and IPv6 addresses');
    return undefined;
  }
  if (first.value > last.value) {
    report.invalid(path, value, 'first address must not be greater than last address');
    return undefined;
  }
  return { family: first.family, first: first.value, last: last.value };
}
