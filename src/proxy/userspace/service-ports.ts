/**
 * Which Service ports the userspace proxier opens, and what it keeps of each (proxier.go mergeService /
 * unmergeService / sameConfig), built from service-table entries:
 *
 * - It read the v1 Endpoints API: only ready addresses; no EndpointSlice conditions, so no serving-terminating
 *   fallback, no topology hints.
 * - No traffic policies (eTP/iTP), no loadBalancerSourceRanges, no health-check node ports: such fields are noted
 *   for traces but change nothing.
 * - Proxy sockets exist for TCP and UDP only; an SCTP port gets no socket and so no portal.
 * - It ran in one family, its node IP's (no EndpointSlices, one iptables interface), and proxied `spec.clusterIP`
 *   only: a Service whose primary ClusterIP is of the other family got a socket but no portal (the rule failed), so
 *   it is not served at all; a dual-stack Service is served in the node's family only when that is its primary one.
 * - Every LB ingress IP gets a portal: `ipMode` came after the userspace proxier was removed.
 * - It read externalIPs and LB ingress IPs unfiltered, and openPortal opens the ClusterIP's portal, then each
 *   externalIP's, each LB IP's, then the NodePort, returning at the first error: an address of the other family is
 *   one (its iptables rule is malformed), so no portal after it is installed, the NodePort's included. sameConfig
 *   compares the unfiltered lists.
 * - An address of the node (an externalIP or LB IP that is a node address) is claimed for its Service port first
 *   (claimNodePort: port-claims.ts): one another Service port holds is a conflict, and openPortal returns there too.
 *   Rules are added as openPortal reaches them and stay until the port closes (open-portal.ts), so what a port has is
 *   kept in its `rules`, which later syncs extend.
 * - A port the proxy port range has no room for is not opened (upstream logged "failed to allocate proxy port").
 */

import type { IPFamily, Protocol } from '../../model/types.js';
import type { NatRecord } from '../conntrack-store.js';
import { familyOf } from '../packet.js';
import type { ServicePortEntry, ServiceTable } from '../service-table.js';
import type { PortalService } from './portals.js';
import type { BalancerState } from './round-robin.js';

/**
 * What the proxier keeps of one opened Service port. What a new connection reads comes first, copied out of `portal`
 * and the client NAT record: on a node with many Services each object reached is a cache miss of its own.
 */
export interface OpenedPort {
  /** `portal.name`, `.protocol`, `.family` and `.proxyPort`, at hand without reaching the portal. */
  readonly name: string;
  readonly protocol: Protocol;
  readonly family: IPFamily;
  readonly proxyPort: number;
  /**
   * The port's LoadBalancerRR state (the balancer's `state(portal.name)`), set when the port is synced: a connection
   * reads it from the port it hit instead of looking the Service port up by name. Only an open port dials, and an
   * open port's state is the balancer's current one (a port whose state is deleted or recreated is closed first).
   */
  balancer: BalancerState | undefined;
  readonly key: string;
  /** Which proxy socket serves it (engine-wide serial): kept while sameConfig holds, new when the socket reopens. */
  readonly socket: number;
  readonly portal: PortalService;
  /**
   * `spec.externalIPs`, the LB ingress IPs (both families) and the NodePort as configured, which is what sameConfig
   * compares, even when openPortal stopped before the NodePort (`portal.nodePort` 0).
   */
  readonly configNodePort: number;
  readonly configExternalIPs: readonly string[];
  readonly configLoadBalancerIPs: readonly string[];
  readonly affinity: 'None' | 'ClientIP';
  readonly ttlSeconds: number;
  /** Ready endpoints (`ip:port`), in the table's sorted order. */
  readonly endpoints: readonly string[];
  /** Service fields the userspace proxier ignores, for traces. */
  readonly ignored: readonly string[];
  /** The portal rules openPortal has added so far, shared by the port's objects while its socket stays open. */
  readonly rules: PortalRules;
}

/**
 * What openPortal has added for one proxy socket. Rules stand in the order they were added (`ranks`: a counter of the
 * engine's), which is iptables's order within a chain (EnsureRule appends).
 */
export interface PortalRules {
  /** openPortal's addresses after the ClusterIP, in its order (externalIPs, then LB IPs), before any of the other family. */
  readonly addresses: readonly string[];
  /** How many of `addresses` are externalIPs. */
  readonly externalCount: number;
  /** The address of the other family openPortal always fails at (its rule is malformed), or null. */
  readonly familyCut: string | null;
  readonly nodePort: number;
  /** The ClusterIP's rank, then each address's with rules so far: openPortal adds them in order, so a prefix. */
  readonly ranks: number[];
  /** The NodePort's rules' rank, -1 while it has none. */
  nodePortRank: number;
  /**
   * Where the last openPortal stopped early, or null when it got through: `at` (an address, or a claim as
   * `ip:port/PROTO`), and the Service port holding that claim with the claim's key (both null: the other family).
   */
  failure: { readonly at: string; readonly holder: string | null; readonly key: string | null } | null;
}

/** Why a table entry gets no proxy socket, or null when it gets one. */
export function skipReason(table: ServiceTable, family: IPFamily, entry: ServicePortEntry): string | null {
  if (entry.info.protocol === 'SCTP') return 'the userspace proxier has no SCTP proxy socket ("unknown protocol")';
  const proxierFamily = table.node.primaryFamily ?? 'IPv4';
  if (family !== proxierFamily) return `the userspace proxier runs in its node IP's family only (${proxierFamily})`;
  if (!entry.info.primary) return 'the userspace proxier proxies spec.clusterIP only, which is of the other family';
  return null;
}

/** The port as the proxier would open it, on `proxyPort`, before openPortal has added any rule. */
export function openedPort(family: IPFamily, entry: ServicePortEntry, proxyPort: number, socket: number): OpenedPort {
  const info = entry.info;
  const ignored: string[] = [];
  const { addresses, externalCount, cutAt } = portalAddresses(info.allExternalIPs, info.allLoadBalancerIPs, family);
  const rules: PortalRules = {
    addresses,
    externalCount,
    familyCut: cutAt,
    nodePort: info.nodePort,
    ranks: [],
    nodePortRank: -1,
    failure: null,
  };

  if (info.externalPolicyLocal) ignored.push('externalTrafficPolicy: Local');
  if (info.internalPolicyLocal) ignored.push('internalTrafficPolicy: Local');
  if (info.loadBalancerSourceRanges.length) ignored.push('loadBalancerSourceRanges');
  return {
    name: info.name,
    protocol: info.protocol,
    family,
    proxyPort,
    balancer: undefined,
    key: `${family}|${entry.key}`,
    socket,
    portal: installedPortal({ ...info, family, proxyPort }, rules),
    configNodePort: info.nodePort,
    configExternalIPs: info.allExternalIPs,
    configLoadBalancerIPs: info.allLoadBalancerIPs,
    affinity: info.affinityTimeoutSeconds === null ? 'None' : 'ClientIP',
    ttlSeconds: info.affinityTimeoutSeconds ?? 0,
    endpoints: entry.endpoints.filter((ep) => ep.ready).map((ep) => ep.address),
    ignored,
    rules,
  };
}

/** The portals of a port as its rules have them so far (what the chains hold, what packets can hit). */
export function installedPortal(
  base: Pick<PortalService, 'name' | 'protocol' | 'family' | 'clusterIP' | 'port' | 'proxyPort'>,
  rules: PortalRules,
): PortalService {
  const installed = Math.max(0, rules.ranks.length - 1);
  const { name, protocol, family, clusterIP, port, proxyPort } = base;
  return {
    name,
    protocol,
    family,
    clusterIP,
    port,
    nodePort: rules.nodePortRank >= 0 ? rules.nodePort : 0,
    externalIPs: rules.addresses.slice(0, Math.min(installed, rules.externalCount)),
    loadBalancerIPs: rules.addresses.slice(rules.externalCount, Math.max(installed, rules.externalCount)),
    proxyPort,
  };
}

/** sameConfig: the proxy socket and portals stay when none of these changed. */
export function samePortConfig(a: OpenedPort, b: OpenedPort): boolean {
  const p = a.portal;
  const q = b.portal;
  return (
    p.protocol === q.protocol &&
    p.port === q.port &&
    a.configNodePort === b.configNodePort &&
    p.clusterIP === q.clusterIP &&
    sameList(a.configExternalIPs, b.configExternalIPs) &&
    sameList(a.configLoadBalancerIPs, b.configLoadBalancerIPs) &&
    a.affinity === b.affinity
  );
}

/**
 * openPortal's addresses after the ClusterIP, in its order, up to the first of the other family (`cutAt`, or null):
 * that one's rule is malformed, so openPortal always returns there.
 */
function portalAddresses(
  externalIPs: readonly string[],
  loadBalancerIPs: readonly string[],
  family: IPFamily,
): { addresses: readonly string[]; externalCount: number; cutAt: string | null } {
  const all = [...externalIPs, ...loadBalancerIPs];
  const cut = all.findIndex((ip) => familyOf(ip) !== family);
  const addresses = cut < 0 ? all : all.slice(0, cut);
  return {
    addresses,
    externalCount: Math.min(externalIPs.length, addresses.length),
    cutAt: cut < 0 ? null : all[cut]!,
  };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
