/**
 * The address plan of a cluster and its validation, as the control-plane flags it stands for:
 * kube-controller-manager `--cluster-cidr` / `--node-cidr-mask-size-ipv4|ipv6`, kube-apiserver
 * `--service-cluster-ip-range` / `--service-node-port-range`, plus LoadBalancer pools (MetalLB-style).
 *
 * Flags are parsed like Kubernetes parses them (netutils.ParseCIDRSloppy): host bits are masked off, so
 * `10.96.0.5/12` means `10.96.0.0/12`. Everything else is strict (no leading zeros, no IPv4-mapped IPv6).
 */
import { InvalidArgumentError } from '../errors.js';
import { type Cidr, type IPFamily, parseCIDR } from './ip.js';
import type { PortRange } from './node-ports.js';

export interface IpamConfig {
  /** Cluster CIDRs nodes get their pod CIDRs from; one per family, the first is the primary family. */
  podCIDRs: string[];
  /** Service CIDRs ClusterIPs come from; one per family, the first is the primary family. */
  serviceCIDRs: string[];
  /** Node subnet prefix length per family (kube-controller-manager defaults: 24 and 64). */
  nodeCIDRMaskSize: { ipv4: number; ipv6: number };
  nodePortRange: PortRange;
  /** LoadBalancer pools: CIDRs or `first-last` ranges. */
  loadBalancerPools: string[];
}

/** kubeadm-like defaults: single-stack IPv4. */
export const DEFAULT_IPAM_CONFIG: IpamConfig = {
  podCIDRs: ['10.244.0.0/16'],
  serviceCIDRs: ['10.96.0.0/12'],
  nodeCIDRMaskSize: { ipv4: 24, ipv6: 64 },
  nodePortRange: { first: 30000, last: 32767 },
  loadBalancerPools: [],
};

// kube-apiserver refuses service ranges of more than 2^20 addresses (maxCIDRBits).
const MAX_SERVICE_CIDR_BITS = 20;

/** Parse a flag's CIDR list: 1 or 2 entries, distinct families, host bits masked. */
export function parseFlagCidrs(flag: string, texts: readonly string[]): Cidr[] {
  if (texts.length === 0) throw new InvalidArgumentError(`${flag} must contain at least one CIDR`);
  if (texts.length > 2) throw new InvalidArgumentError(`${flag} must not contain more than two entries`);
  const cidrs = texts.map((text) => {
    const cidr = parseCIDR(text.trim());
    if (cidr === undefined) throw new InvalidArgumentError(`${flag}: "${text}" is not a valid CIDR`);
    return cidr;
  });
  if (cidrs.length === 2 && cidrs[0]!.family === cidrs[1]!.family) {
    throw new InvalidArgumentError(`${flag}: ${texts.join(',')} must hold one CIDR of each IP family`);
  }
  return cidrs;
}

/** Service CIDRs, also checked against kube-apiserver's size limit (prefix >= 12 for IPv4, >= 108 for IPv6). */
export function parseServiceCidrs(texts: readonly string[]): Cidr[] {
  const cidrs = parseFlagCidrs('--service-cluster-ip-range', texts);
  for (const cidr of cidrs) {
    if (cidr.bits - cidr.prefix > MAX_SERVICE_CIDR_BITS) {
      throw new InvalidArgumentError(
        `specified --service-cluster-ip-range is too large; for ${cidr.bits}-bit addresses, the mask must be >= ${cidr.bits - MAX_SERVICE_CIDR_BITS} (got ${cidr.text})`,
      );
    }
  }
  return cidrs;
}

/** The node mask size configured for a family. */
export function nodeMaskSizeFor(config: IpamConfig, family: IPFamily): number {
  return family === 'IPv4' ? config.nodeCIDRMaskSize.ipv4 : config.nodeCIDRMaskSize.ipv6;
}
