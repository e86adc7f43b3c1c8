/**
 * The decisions kube-proxy's syncProxyRules makes for one Service port before writing any rule: which chains it
 * uses, whether internal and external traffic have usable endpoints, and what the filter table does otherwise.
 */
import type { ServicePortEntry } from '../service-table.js';
import { lowerProtocol, type ServiceChainNames, serviceChainNames } from './chain-names.js';
import type { FilterRule } from './rule-types.js';

export interface ServicePlan {
  readonly entry: ServicePortEntry;
  /** ServicePortName.String(). */
  readonly spn: string;
  readonly names: ServiceChainNames;
  /** `-m tcp -p tcp` (or udp, sctp). */
  readonly m: string;
  /** Some endpoint anywhere is usable (else: REJECT everything). */
  readonly hasEndpoints: boolean;
  /** ClusterIP traffic has endpoints (false: iTP=Local without local endpoints, or none at all). */
  readonly hasInternalEndpoints: boolean;
  /** External traffic has endpoints (false: eTP=Local without local endpoints, or none at all). */
  readonly hasExternalEndpoints: boolean;
  readonly usesClusterPolicyChain: boolean;
  readonly usesLocalPolicyChain: boolean;
  /** KUBE-SVC (or KUBE-SVL under iTP=Local): where ClusterIP traffic goes. */
  readonly internalChain: string;
  /** KUBE-SVC (or KUBE-SVL under eTP=Local): where KUBE-EXT ends. */
  readonly externalPolicyChain: string;
  readonly usesExternalChain: boolean;
  readonly usesFirewallChain: boolean;
  /** KUBE-FW when source ranges apply, else KUBE-EXT. */
  readonly lbChain: string;
  /** Filter verdict for ClusterIP traffic without endpoints, or null. */
  readonly internalFilter: FilterRule['verdict'] | null;
  /** Filter verdict for external traffic without endpoints, or null. */
  readonly externalFilter: FilterRule['verdict'] | null;
  /** `"<spn> has no endpoints"` or `"<spn> has no local endpoints"`, quoted. */
  readonly filterComment: string;
}

export function planService(entry: ServicePortEntry): ServicePlan {
  const info = entry.info;
  const cat = entry.categorized;
  const spn = info.name;
  const proto = lowerProtocol(info.protocol);
  const names = serviceChainNames(spn, info.protocol);
  const clusterCount = cat.cluster?.length ?? 0;
  const localCount = cat.local?.length ?? 0;
  const hasEndpoints = cat.hasAnyEndpoints;
  const hasInternalEndpoints = hasEndpoints && !(info.internalPolicyLocal && localCount === 0);
  const hasExternalEndpoints = hasEndpoints && !(info.externalPolicyLocal && localCount === 0);
  // The EXT chain is needed whenever there are endpoints anywhere: its short-circuit rules serve pod and node
  // traffic even when this node has no local endpoint for external traffic.
  const usesFirewallChain =
    hasEndpoints && info.loadBalancerVIPs.length > 0 && info.loadBalancerSourceRanges.length > 0;
  let internalFilter: FilterRule['verdict'] | null = null;
  let externalFilter: FilterRule['verdict'] | null = null;
  if (!hasEndpoints) internalFilter = externalFilter = 'REJECT';
  else {
    if (!hasInternalEndpoints) internalFilter = 'DROP';
    if (!hasExternalEndpoints) externalFilter = 'DROP';
  }
  return {
    entry,
    spn,
    names,
    m: `-m ${proto} -p ${proto}`,
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
    usesClusterPolicyChain: clusterCount > 0 && info.usesClusterEndpoints,
    usesLocalPolicyChain: localCount > 0 && info.usesLocalEndpoints,
    internalChain: info.internalPolicyLocal ? names.local : names.cluster,
    externalPolicyChain: info.externalPolicyLocal ? names.local : names.cluster,
    usesExternalChain: hasEndpoints && info.externallyAccessible,
    usesFirewallChain,
    lbChain: usesFirewallChain ? names.firewall : names.external,
    internalFilter,
    externalFilter,
    filterComment: hasEndpoints ? `"${spn} has no local endpoints"` : `"${spn} has no endpoints"`,
  };
}
