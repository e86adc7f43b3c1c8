/**
 * kube-netsim as a library: `import { Cluster } from 'kube-netsim'`. The cluster (load manifests, apply, delete,
 * watch), its kube-proxy engines per node, the DNS server, and the typed errors every entry point throws.
 */
export { Cluster, type ClusterOptions, type DeleteOptions, type ObjectRef } from './cluster/cluster.js';
export { dnsOptionsOf } from './cluster/config-sections.js';
export { NodeProxy } from './cluster/node-proxy.js';
export { originOf } from './cluster/packet-origin.js';
export type { DnsOptions } from './dns/config.js';
export { resolve } from './dns/resolve/resolve.js';
export type { Question, ResolveResult, Rr } from './dns/resolve/types.js';
export { DnsServer, type DnsServerOptions } from './dns/server/server.js';
export * from './errors.js';
export type * from './model/types.js';
export { conntrackSummary, renderConntrackList } from './proxy/conntrack-list.js';
export {
  type EngineInit,
  type ProxyConfig,
  type ProxyConfigInput,
  type ProxyEngine,
  proxyConfig,
  type Step,
  type Verdict,
  type VerdictKind,
} from './proxy/engine.js';
export { IpvsEngine } from './proxy/ipvs/engine.js';
export {
  type Address,
  address,
  formatAddress,
  hostPort,
  type Origin,
  type Packet,
  packet,
  parseHostPort,
  reversed,
} from './proxy/packet.js';
