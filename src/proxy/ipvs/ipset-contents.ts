/**
 * The ipsets kube-proxy's IPVS proxier fills for one family, entry by entry, as its syncProxyRules computes them
 * (pkg/proxy/ipvs/proxier.go; set names, types and comments from its `ipsetInfo` table, in that order). Entries are
 * spelled as kube-proxy's `Entry.String()` spells them (`10.96.0.1,tcp:443`; protocols in lower case; bitmap:port
 * entries the port alone), which `ipset` prints back the same way, except that a source range of a whole address
 * (`/32`, `/128`) prints without its prefix length.
 *
 * What goes in, per Service port of the family:
 * - KUBE-LOOP-BACK: every endpoint on this node, ready or not (`ip,proto:port,ip`: a pod reaching itself through a
 *   Service is masqueraded).
 * - KUBE-CLUSTER-IP: the ClusterIP; KUBE-EXTERNAL-IP(-LOCAL): each externalIP, -LOCAL with externalTrafficPolicy Local.
 * - KUBE-LOAD-BALANCER(-LOCAL): each ingress IP; with source ranges also KUBE-LOAD-BALANCER-FW, one
 *   KUBE-LOAD-BALANCER-SOURCE-CIDR entry per range, and KUBE-LOAD-BALANCER-SOURCE-IP (`lb,proto:port,lb`) when a range
 *   holds the node IP (otherwise the node's own access is dropped in KUBE-IPVS-OUT-FILTER: `noNodeAccess`).
 * - KUBE-NODE-PORT-TCP/UDP(-LOCAL): the node port (bitmap:port); SCTP: KUBE-NODE-PORT(-LOCAL)-SCTP-HASH, one
 *   `nodeIP,sctp:port` per node address that serves NodePorts.
 * - KUBE-HEALTH-CHECK-NODE-PORT: the health-check node port; KUBE-IPVS-IPS: every address bound to kube-ipvs0
 *   (ClusterIPs, and externalIPs and LB IPs that are not already the node's own).
 */
import type { IPFamily } from '../../model/types.js';
import type { ServiceTable } from '../service-table.js';
import { COMMENT, nodePortComment } from './ipsets.js';
import type { VirtualServerSpec } from './virtual-servers.js';

export type IpsetType = 'hash:ip' | 'hash:ip,port' | 'hash:ip,port,ip' | 'hash:ip,port,net' | 'bitmap:port';

/** kube-proxy's `ipsetInfo`, in its order: the base name (IPv4; IPv6 sets are `KUBE-6-…`), type and comment. */
export const IPSET_INFO: readonly { readonly base: string; readonly type: IpsetType; readonly comment: string }[] = [
  { base: 'KUBE-LOOP-BACK', type: 'hash:ip,port,ip', comment: COMMENT.loopBack },
  { base: 'KUBE-CLUSTER-IP', type: 'hash:ip,port', comment: COMMENT.clusterIP },
  { base: 'KUBE-EXTERNAL-IP', type: 'hash:ip,port', comment: COMMENT.externalIP },
  { base: 'KUBE-EXTERNAL-IP-LOCAL', type: 'hash:ip,port', comment: COMMENT.externalIPLocal },
  { base: 'KUBE-LOAD-BALANCER', type: 'hash:ip,port', comment: COMMENT.lb },
  { base: 'KUBE-LOAD-BALANCER-FW', type: 'hash:ip,port', comment: COMMENT.lbFW },
  { base: 'KUBE-LOAD-BALANCER-LOCAL', type: 'hash:ip,port', comment: COMMENT.lbLocal },
  { base: 'KUBE-LOAD-BALANCER-SOURCE-IP', type: 'hash:ip,port,ip', comment: COMMENT.lbSourceIP },
  { base: 'KUBE-LOAD-BALANCER-SOURCE-CIDR', type: 'hash:ip,port,net', comment: COMMENT.lbSourceCIDR },
  { base: 'KUBE-NODE-PORT-TCP', type: 'bitmap:port', comment: nodePortComment('TCP', false) },
  { base: 'KUBE-NODE-PORT-LOCAL-TCP', type: 'bitmap:port', comment: nodePortComment('TCP', true) },
  { base: 'KUBE-NODE-PORT-UDP', type: 'bitmap:port', comment: nodePortComment('UDP', false) },
  { base: 'KUBE-NODE-PORT-LOCAL-UDP', type: 'bitmap:port', comment: nodePortComment('UDP', true) },
  { base: 'KUBE-NODE-PORT-SCTP-HASH', type: 'hash:ip,port', comment: nodePortComment('SCTP', false) },
  { base: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH', type: 'hash:ip,port', comment: nodePortComment('SCTP', true) },
  { base: 'KUBE-HEALTH-CHECK-NODE-PORT', type: 'bitmap:port', comment: 'Kubernetes health check node port' },
  { base: 'KUBE-IPVS-IPS', type: 'hash:ip', comment: 'Addresses on the ipvs interface' },
];

/** A LoadBalancer address the node itself may not reach (no source range holds the node IP). */
export interface NoNodeAccess {
  readonly ip: string;
  /** Lower case, as `--vproto` takes it. */
  readonly proto: string;
  readonly port: number;
}

/** One family's sets: entries by base name (every set of IPSET_INFO present), and the KUBE-IPVS-OUT-FILTER list. */
export interface IpsetContents {
  readonly family: IPFamily;
  readonly entries: ReadonlyMap<string, ReadonlySet<string>>;
  readonly noNodeAccess: readonly NoNodeAccess[];
}

/** Where the contents come from: the engine's state (ipvs/state.ts), read only. */
export interface IpsetSources {
  readonly table: ServiceTable;
  /** The virtual servers of every service-table entry (`family|entryKey` → specs). */
  readonly specsByEntry: ReadonlyMap<string, readonly VirtualServerSpec[]>;
  /** Health-check node port per `family|entryKey`. */
  readonly healthCheck: ReadonlyMap<string, number>;
  /** The node's own addresses: an externalIP or LB IP among them is not bound to kube-ipvs0. */
  readonly nodeAddrs: ReadonlySet<string>;
}

/** The sets of `family` as kube-proxy's IPVS proxier would have them after its latest sync. */
export function ipsetContents(src: IpsetSources, family: IPFamily): IpsetContents {
  const entries = new Map<string, Set<string>>(IPSET_INFO.map((s) => [s.base, new Set<string>()]));
  const add = (base: string, entry: string) => entries.get(base)!.add(entry);
  const noNodeAccess: NoNodeAccess[] = [];

  for (const entry of src.table.ports(family)) {
    const proto = entry.info.protocol.toLowerCase();
    for (const ep of entry.endpoints) if (ep.isLocal) add('KUBE-LOOP-BACK', `${ep.ip},${proto}:${ep.port},${ep.ip}`);
  }
  for (const [key, specs] of src.specsByEntry) {
    if (!key.startsWith(`${family}|`)) continue;
    for (const spec of specs) addSpec(spec, add, noNodeAccess, src.nodeAddrs);
  }
  for (const [key, port] of src.healthCheck) {
    if (key.startsWith(`${family}|`)) add('KUBE-HEALTH-CHECK-NODE-PORT', String(port));
  }
  return { family, entries, noNodeAccess };
}

function addSpec(
  spec: VirtualServerSpec,
  add: (base: string, entry: string) => void,
  noNodeAccess: NoNodeAccess[],
  nodeAddrs: ReadonlySet<string>,
): void {
  const proto = spec.proto.toLowerCase();
  const ipPort = `${spec.addr},${proto}:${spec.port}`;
  const local = spec.localPolicy ? '-LOCAL' : '';
  switch (spec.kind) {
    case 'ClusterIP':
      add('KUBE-CLUSTER-IP', ipPort);
      add('KUBE-IPVS-IPS', spec.addr);
      return;
    case 'ExternalIP':
      add(`KUBE-EXTERNAL-IP${local}`, ipPort);
      if (!nodeAddrs.has(spec.addr)) add('KUBE-IPVS-IPS', spec.addr);
      return;
    case 'LoadBalancer':
      add('KUBE-LOAD-BALANCER', ipPort);
      if (spec.localPolicy) add('KUBE-LOAD-BALANCER-LOCAL', ipPort);
      if (spec.sourceRanges.length > 0) {
        add('KUBE-LOAD-BALANCER-FW', ipPort);
        for (const range of spec.sourceRanges) add('KUBE-LOAD-BALANCER-SOURCE-CIDR', `${ipPort},${range.text}`);
        if (spec.allowFromNode) add('KUBE-LOAD-BALANCER-SOURCE-IP', `${ipPort},${spec.addr}`);
        else noNodeAccess.push({ ip: spec.addr, proto, port: spec.port });
      }
      if (!nodeAddrs.has(spec.addr)) add('KUBE-IPVS-IPS', spec.addr);
      return;
    case 'NodePort':
      if (spec.proto === 'SCTP') {
        add('KUBE-NODE-PORT-SCTP-HASH', ipPort);
        if (spec.localPolicy) add('KUBE-NODE-PORT-LOCAL-SCTP-HASH', ipPort);
      } else {
        add(`KUBE-NODE-PORT-${spec.proto}`, String(spec.port));
        if (spec.localPolicy) add(`KUBE-NODE-PORT-LOCAL-${spec.proto}`, String(spec.port));
      }
      return;
  }
}
