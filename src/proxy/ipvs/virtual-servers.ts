/**
 * What kube-proxy's IPVS proxier programs for one Service port (pkg/proxy/ipvs/proxier.go, syncProxyRules and
 * syncEndpoint), as plain specs the engine reconciles against its live virtual servers:
 *
 * - one virtual server per ClusterIP:port; real servers follow internalTrafficPolicy;
 * - one per externalIP:port and per LoadBalancer ingress IP:port (ipMode VIP); real servers follow
 *   externalTrafficPolicy;
 * - one per (node IP, nodePort) for every node address (loopback never; `--nodeport-addresses` narrows the set).
 *
 * Local policy (`onlyNodeLocalEndpoints`): the node's local endpoints when it has any, **otherwise the cluster
 * endpoints** (the comment cites kubernetes#97081: pods on the node must still reach the Service; external traffic
 * is routed to remote pods without SNAT and its replies are lost). Cluster endpoints are only computed for ports
 * that use them, so a plain ClusterIP Service with iTP=Local and no local endpoint gets a virtual server with no real
 * servers at all.
 *
 * Flags: ClientIP affinity sets `persistent` with the affinity timeout; the `mh` scheduler gets `FlagSourceHash`
 * (0x10, mh-port) on every virtual server.
 */
import { parseCIDR } from '../../cni/ip.js';
import type { IPFamily, Protocol } from '../../model/types.js';
import type { EndpointInfo } from '../endpoints.js';
import { type CidrMatcher, cidrMatcher } from '../ip-match.js';
import { proxierNodeIP } from '../node-view.js';
import type { NodeView, ServicePortEntry } from '../service-table.js';
import { SvcFlags } from './schedulers/types.js';

export type VirtualServerKind = 'ClusterIP' | 'ExternalIP' | 'LoadBalancer' | 'NodePort';

/** One virtual server kube-proxy wants, with the real servers it wants behind it. */
export interface VirtualServerSpec {
  /** `TCP 10.96.0.1 80`: the IPVS service lookup key. */
  readonly key: string;
  readonly kind: VirtualServerKind;
  readonly proto: Protocol;
  readonly addr: string;
  readonly port: number;
  readonly family: IPFamily;
  /** The service-table entry key (`ns/name:port/TCP`). */
  readonly entryKey: string;
  /** ServicePortName.String(). */
  readonly service: string;
  readonly flags: number;
  /** Persistence timeout in seconds (0 without affinity). */
  readonly timeout: number;
  /** The virtual server follows a Local traffic policy. */
  readonly localPolicy: boolean;
  /** Local policy, but the node has no local endpoint: the cluster endpoints were used instead. */
  readonly localFallback: boolean;
  /** The real servers wanted, in kube-proxy's (sorted) order. */
  readonly endpoints: readonly EndpointInfo[];
  /** LoadBalancer only: loadBalancerSourceRanges as matchers (empty = no firewall). */
  readonly sourceRanges: readonly CidrMatcher[];
  /** LoadBalancer with source ranges: some range contains the node IP (KUBE-LOAD-BALANCER-SOURCE-IP entry). */
  readonly allowFromNode: boolean;
}

/** The IPVS lookup key of a packet's destination. */
export function vsKey(proto: Protocol, addr: string, port: number): string {
  return `${proto} ${addr} ${port}`;
}

/**
 * The node addresses that get NodePort virtual servers: all of the node's addresses of the family (the proxier uses
 * every local address except those on kube-ipvs0 and loopback), or those inside `--nodeport-addresses` CIDRs;
 * `primary` selects the node's first address of the family. As NewNodePortAddresses does, CIDRs of the other family
 * are ignored, and when none of this family is left every address qualifies (a zero CIDR).
 */
export function nodePortIPs(node: NodeView, family: IPFamily, nodePortAddresses: readonly string[]): string[] {
  const all = node.addresses[family];
  const out = new Set<string>();
  let ofFamily = 0;
  for (const spec of nodePortAddresses) {
    if (spec.trim() === 'primary') {
      // kube-proxy turns `primary` into the node IP's /32 or /128, for the families the node has an IP in.
      if (all[0] !== undefined) {
        ofFamily++;
        out.add(all[0]);
      }
      continue;
    }
    const cidr = parseCIDR(spec.trim());
    if (!cidr || cidr.family !== family) continue;
    ofFamily++;
    for (const a of all) if (cidr.contains(a)) out.add(a);
  }
  if (ofFamily === 0) return [...all];
  return all.filter((a) => out.has(a));
}

/** Everything kube-proxy would program for one service-table entry on this node. */
export function virtualServersOf(
  entry: ServicePortEntry,
  node: NodeView,
  scheduler: string,
  nodePortAddresses: readonly string[],
): VirtualServerSpec[] {
  const info = entry.info;
  let flags = 0;
  let timeout = 0;
  if (info.affinityTimeoutSeconds !== null) {
    flags |= SvcFlags.PERSISTENT;
    timeout = info.affinityTimeoutSeconds;
  }
  if (scheduler === 'mh') flags |= SvcFlags.SCHED2;

  const cluster = entry.categorized.cluster ?? [];
  const local = entry.categorized.local ?? [];
  const pick = (onlyLocal: boolean): { endpoints: readonly EndpointInfo[]; fallback: boolean } => {
    if (!onlyLocal) return { endpoints: cluster, fallback: false };
    if (local.length > 0) return { endpoints: local, fallback: false };
    return { endpoints: cluster, fallback: true };
  };

  const specs: VirtualServerSpec[] = [];
  const add = (
    kind: VirtualServerKind,
    addr: string,
    port: number,
    onlyLocal: boolean,
    ranges: readonly CidrMatcher[] = [],
  ) => {
    const { endpoints, fallback } = pick(onlyLocal);
    const nodeIP = proxierNodeIP(node, info.family);
    specs.push({
      key: vsKey(info.protocol, addr, port),
      kind,
      proto: info.protocol,
      addr,
      port,
      family: info.family,
      entryKey: entry.key,
      service: info.name,
      flags,
      timeout,
      localPolicy: onlyLocal,
      localFallback: fallback,
      endpoints,
      sourceRanges: ranges,
      allowFromNode: ranges.some((r) => r.matches(nodeIP)),
    });
  };

  add('ClusterIP', info.clusterIP, info.port, info.internalPolicyLocal);
  for (const ip of info.externalIPs) add('ExternalIP', ip, info.port, info.externalPolicyLocal);
  const ranges = info.loadBalancerSourceRanges.map((r) => cidrMatcher(r));
  for (const ip of info.loadBalancerVIPs) add('LoadBalancer', ip, info.port, info.externalPolicyLocal, ranges);
  if (info.nodePort !== 0) {
    for (const ip of nodePortIPs(node, info.family, nodePortAddresses)) {
      add('NodePort', ip, info.nodePort, info.externalPolicyLocal);
    }
  }
  return specs;
}
