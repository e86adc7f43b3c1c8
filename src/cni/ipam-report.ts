/**
 * The shape of `Ipam.report()`, printed by `kube-netsim ipam`. Counts that can exceed 2^53 (IPv6 ranges) are
 * decimal strings so the report survives JSON.stringify exactly; counts of held things are plain numbers.
 */
import type { IPFamily } from './ip.js';
import type { LbPoolReport } from './lb-pools.js';
import type { PortRange } from './node-ports.js';
import type { AddressBand } from './service-ips.js';

/** One cluster CIDR (kube-controller-manager --cluster-cidr) and the node subnets cut from it. */
export interface ClusterCidrReport {
  cidr: string;
  family: IPFamily;
  nodeMaskSize: number;
  capacity: string;
  used: number;
  free: string;
  /** Node subnets in address order, with the Node holding each. */
  nodes: { node: string; cidr: string }[];
}

/** One pod range of one node (host-local). */
export interface PodRangeReport {
  cidr: string;
  gateway: string;
  /** Addresses pods can get: the range minus network, gateway and (IPv4) broadcast. */
  capacity: string;
  used: number;
  free: string;
  /** Where the next round-robin walk starts after; absent before the first pod. */
  lastReserved?: string;
}

export interface NodeIpamReport {
  node: string;
  ranges: PodRangeReport[];
}

/** One service CIDR (kube-apiserver --service-cluster-ip-range). */
export interface ServiceCidrReport {
  cidr: string;
  family: IPFamily;
  /** Allocatable addresses (network and IPv4 broadcast excluded, IPv6 capped at 65535). */
  size: string;
  used: number;
  free: string;
  /** KEP-3070 lower band, left for requested IPs; null when the range is too small for one. */
  staticBand: AddressBand | null;
}

export interface NodePortReport {
  range: string;
  size: string;
  used: number;
  free: string;
  staticBand: PortRange | null;
}

export interface IpamReport {
  clusterCIDRs: ClusterCidrReport[];
  nodes: NodeIpamReport[];
  serviceCIDRs: ServiceCidrReport[];
  nodePorts: NodePortReport;
  loadBalancerPools: LbPoolReport[];
}
