/**
 * A pod's view of DNS: the resolv.conf kubelet forms for it, and what its glibc or musl stub resolver sends for a
 * name. Entry point for the CLI's `resolve` command.
 */
export { formatWalk, type WalkJSON, walkToJSON } from './format.js';
export {
  clusterSearches,
  defaultNodeResolvConf,
  fitNameserverLimit,
  fitSearchLimits,
  formatOption,
  formatResolvConf,
  type KubeletDnsWarning,
  LEGACY_MAX_DNS_SEARCH_LIST_CHARS,
  LEGACY_MAX_DNS_SEARCH_PATHS,
  MAX_DNS_NAMESERVERS,
  MAX_DNS_SEARCH_LIST_CHARS,
  MAX_DNS_SEARCH_PATHS,
  MAX_SEARCH_DOMAIN_CHARS,
  mergeOptions,
  type NodeDnsSettings,
  type PodDnsInput,
  type PodDnsSource,
  type PodResolvConf,
  parseOption,
  parseResolvConf,
  podDnsSource,
  podResolvConf,
} from './resolv-conf.js';
export { type HostsEntry, type ResolveFromPodOptions, resolveFromPod } from './search-walk.js';
export { MAX_NDOTS, MUSL_MAX_LINE_CHARS, type StubSettings, stubSettings } from './stub-config.js';
export type * from './types.js';
