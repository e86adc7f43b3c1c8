/**
 * The DNS configuration kubelet gives a pod (pkg/kubelet/network/dns, GetPodDNS), for every dnsPolicy:
 *
 * | dnsPolicy               | hostNetwork | base                                                                      |
 * |-------------------------|-------------|---------------------------------------------------------------------------|
 * | ClusterFirst (default)  | false       | cluster: cluster DNS IPs; `<ns>.svc.<zone> svc.<zone> <zone>` + node search; `ndots:5` only |
 * | ClusterFirst            | true        | host: the node's file as is (kubelet falls back to Default)               |
 * | ClusterFirstWithHostNet | either      | cluster                                                                   |
 * | Default                 | either      | host                                                                      |
 * | None                    | either      | empty                                                                     |
 *
 * Then `spec.dnsConfig` is appended (servers and searches de-duplicated, options merged by name, the pod's value
 * winning), and the limits are applied: 3 nameservers, and 32 search domains / 2048 characters (ExpandedDNSConfig,
 * GA in 1.28; 6 / 256 before), each domain at most 253 characters. kubelet truncates and records a Warning event
 * `DNSConfigForming` on the pod; we return the same as `warnings`.
 */
import type { ObjectMeta, PodSpec } from '../../model/types.js';
import type { ResolvConf, ResolvOption } from './types.js';

export {
  defaultNodeResolvConf,
  formatOption,
  formatResolvConf,
  parseOption,
  parseResolvConf,
} from './resolv-conf-file.js';

/** Most nameservers a pod gets (validation.MaxDNSNameservers; also glibc's and musl's MAXNS). */
export const MAX_DNS_NAMESERVERS = 3;
/** Most search domains, and longest search line, with ExpandedDNSConfig (the only behaviour since 1.28). */
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;
/** The limits before ExpandedDNSConfig, matching old glibc's MAXDNSRCH and its 256-byte buffer. */
export const LEGACY_MAX_DNS_SEARCH_PATHS = 6;
export const LEGACY_MAX_DNS_SEARCH_LIST_CHARS = 256;
/** kubelet drops any single search domain longer than a DNS-1123 subdomain (253), since glibc 2.28 aborted on them. */
export const MAX_SEARCH_DOMAIN_CHARS = 253;

/** The options kubelet gives every cluster-DNS pod (the node's own options are dropped). */
const CLUSTER_OPTIONS: readonly ResolvOption[] = [{ name: 'ndots', value: '5' }];

/** The parts of a Pod kubelet reads for DNS; a full Pod fits. */
export interface PodDnsInput {
  metadata: Pick<ObjectMeta, 'name' | 'namespace'>;
  spec: Pick<PodSpec, 'dnsPolicy' | 'dnsConfig' | 'hostNetwork'>;
}

/** The node-level settings kubelet uses (its --cluster-domain, --cluster-dns and --resolv-conf flags). */
export interface NodeDnsSettings {
  /** The cluster domain, e.g. `cluster.local`. Empty: cluster pods get only the node's search domains. */
  clusterDomain: string;
  /** The kube-dns Service ClusterIP(s). Empty: cluster-policy pods fall back to the node's file (MissingClusterDNS). */
  clusterDNS: readonly string[];
  /** The node's resolv.conf, already parsed. `null` models `--resolv-conf=""`: loopback servers and `search .`. */
  hostResolvConf: ResolvConf | null;
  /** The node's IPs; only used with `hostResolvConf: null`, to pick 127.0.0.1 and/or ::1. */
  nodeIPs?: readonly string[];
  /** false gives the pre-1.28 search limits (6 domains / 256 characters). Default true. */
  expandedDNSConfig?: boolean;
}

/** A Warning event kubelet would record. */
export interface KubeletDnsWarning {
  reason: 'DNSConfigForming' | 'MissingClusterDNS';
  message: string;
}

/** Which base config a pod's policy selects. */
export type PodDnsSource = 'cluster' | 'host' | 'none';

/** A pod's DNS config plus how it was formed. */
export interface PodResolvConf extends ResolvConf {
  source: PodDnsSource;
  warnings: KubeletDnsWarning[];
}

/** The base a dnsPolicy selects. ClusterFirst on the host network becomes Default; an unknown policy, ClusterFirst. */
export function podDnsSource(spec: PodDnsInput['spec']): PodDnsSource {
  switch (spec.dnsPolicy) {
    case 'None':
      return 'none';
    case 'Default':
      return 'host';
    case 'ClusterFirst':
      return spec.hostNetwork === true ? 'host' : 'cluster';
    default:
      // ClusterFirstWithHostNet, and (as kubelet does after logging an error) anything the API server let through.
      return 'cluster';
  }
}

/** Append `extra` to `base`, keeping the first occurrence of each entry (kubelet's omitDuplicates). */
function appendUnique(base: readonly string[], extra: readonly string[]): string[] {
  return [...new Set([...base, ...extra])];
}

/**
 * Merge options by name, the pod's dnsConfig winning. kubelet goes through a Go map, so its output order is random;
 * we keep the base order, replace values in place and append new names in the pod's order, so output is stable.
 */
export function mergeOptions(base: readonly ResolvOption[], extra: readonly ResolvOption[]): ResolvOption[] {
  const merged = new Map<string, string>();
  for (const option of [...base, ...extra]) merged.set(option.name, option.value ?? '');
  return [...merged].map(([name, value]) => (value === '' ? { name } : { name, value }));
}

/** The cluster search domains, then the node's, de-duplicated (generateSearchesForDNSClusterFirst). */
export function clusterSearches(namespace: string, clusterDomain: string, hostSearches: readonly string[]): string[] {
  if (clusterDomain === '') return [...hostSearches];
  return appendUnique([`${namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain], hostSearches);
}

/** The loopback servers kubelet uses with `--resolv-conf=""`: ::1 for each IPv6 node IP, else 127.0.0.1. */
function loopbackServers(nodeIPs: readonly string[]): string[] {
  const servers = nodeIPs.map((ip) => (ip.includes(':') ? '::1' : '127.0.0.1'));
  return servers.length > 0 ? servers : ['127.0.0.1'];
}

/**
 * Apply the search limits in kubelet's order: keep the first N domains, then drop domains over 253 characters, then
 * drop domains from the end until the space-joined line fits. Any change is reported once.
 */
export function fitSearchLimits(
  searches: readonly string[],
  limits: { maxPaths: number; maxChars: number },
): { searches: string[]; warning?: KubeletDnsWarning } {
  let exceeded = searches.length > limits.maxPaths;
  let kept = searches.slice(0, limits.maxPaths);
  const short = kept.filter((domain) => domain.length <= MAX_SEARCH_DOMAIN_CHARS);
  if (short.length !== kept.length) exceeded = true;
  kept = short;
  while (kept.length > 0 && kept.join(' ').length > limits.maxChars) {
    kept = kept.slice(0, -1);
    exceeded = true;
  }
  if (!exceeded) return { searches: kept };
  return {
    searches: kept,
    warning: {
      reason: 'DNSConfigForming',
      // kubelet's event text, word for word (dns.go formDNSSearchFitsLimits): users grep `kubectl describe` for it.
      message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${kept.join(' ')}`,
    },
  };
}

/** Keep the first 3 nameservers, reporting any cut. */
export function fitNameserverLimit(nameservers: readonly string[]): {
  nameservers: string[];
  warning?: KubeletDnsWarning;
} {
  if (nameservers.length <= MAX_DNS_NAMESERVERS) return { nameservers: [...nameservers] };
  const kept = nameservers.slice(0, MAX_DNS_NAMESERVERS);
  return {
    nameservers: kept,
    warning: {
      reason: 'DNSConfigForming',
      message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${kept.join(' ')}`,
    },
  };
}

/** The DNS config kubelet forms for `pod` on a node with `node`'s settings. */
export function podResolvConf(pod: PodDnsInput, node: NodeDnsSettings): PodResolvConf {
  const warnings: KubeletDnsWarning[] = [];
  const host = node.hostResolvConf;
  let source = podDnsSource(pod.spec);
  let base: ResolvConf = {
    nameservers: [...(host?.nameservers ?? [])],
    searches: [...(host?.searches ?? [])],
    options: [...(host?.options ?? [])],
  };

  if (source === 'none') {
    base = { nameservers: [], searches: [], options: [] };
  } else if (source === 'cluster') {
    if (node.clusterDNS.length > 0) {
      const namespace = pod.metadata.namespace ?? 'default';
      base = {
        nameservers: [...node.clusterDNS],
        searches: clusterSearches(namespace, node.clusterDomain, base.searches),
        options: [...CLUSTER_OPTIONS],
      };
    } else {
      warnings.push({
        reason: 'MissingClusterDNS',
        // kubelet's pod event, word for word: format.Pod is name_namespace(uid), with no uid here (the model keeps
        // none), and it names "ClusterFirst" whichever cluster policy the pod has. (kubelet records the same text,
        // without the pod, on the Node.)
        message: `pod: "${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}()". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`,
      });
      source = 'host';
    }
  }
  if (source === 'host' && host === null) {
    base = { nameservers: loopbackServers(node.nodeIPs ?? []), searches: ['.'], options: [...base.options] };
  }

  const extra = pod.spec.dnsConfig;
  if (extra !== undefined) {
    base = {
      nameservers: appendUnique(base.nameservers, extra.nameservers ?? []),
      searches: appendUnique(base.searches, extra.searches ?? []),
      options: mergeOptions(base.options, extra.options ?? []),
    };
  }

  const expanded = node.expandedDNSConfig ?? true;
  const servers = fitNameserverLimit(base.nameservers);
  const search = fitSearchLimits(base.searches, {
    maxPaths: expanded ? MAX_DNS_SEARCH_PATHS : LEGACY_MAX_DNS_SEARCH_PATHS,
    maxChars: expanded ? MAX_DNS_SEARCH_LIST_CHARS : LEGACY_MAX_DNS_SEARCH_LIST_CHARS,
  });
  if (servers.warning) warnings.push(servers.warning);
  if (search.warning) warnings.push(search.warning);
  return { nameservers: servers.nameservers, searches: search.searches, options: base.options, source, warnings };
}
