/**
 * One Service port → its iptables rules, following kube-proxy's syncProxyRules (pkg/proxy/iptables/proxier.go) rule
 * for rule: which chains exist, which rules each holds, in which order, with which text.
 *
 * - plan.ts makes upstream's decisions (which chains, which traffic has endpoints, REJECT vs DROP);
 * - compile-shared.ts writes the Service's rules in the shared chains (KUBE-SERVICES, KUBE-NODEPORTS, filter);
 * - compile-chains.ts writes its own chains (KUBE-EXT/FW/SVC/SVL/SEP).
 */
import type { ServicePortEntry } from '../service-table.js';
import type { ServiceChainNames } from './chain-names.js';
import { type SepNamer, serviceChains } from './compile-chains.js';
import { sharedRules } from './compile-shared.js';
import type { RuleContext } from './context.js';
import { planService } from './plan.js';
import { compileProgram, type NatProgram } from './program.js';
import type { CompiledChain, EntryRule, FilterRule, NodePortRule } from './rule-types.js';

export type { SepNamer } from './compile-chains.js';

/** Everything one Service port contributes to the node's rules. */
export interface CompiledService {
  readonly entry: ServicePortEntry;
  readonly names: ServiceChainNames;
  readonly hasEndpoints: boolean;
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  /** nat KUBE-SERVICES rules, in order (cluster IP, external IPs, LB IPs). */
  readonly entryRules: readonly EntryRule[];
  /** nat KUBE-NODEPORTS rules (localhost rule first). */
  readonly nodePortRules: readonly NodePortRule[];
  /** filter rules, per chain, in order. */
  readonly filterRules: readonly FilterRule[];
  /** The Service's own nat chains (KUBE-EXT/FW/SVC/SVL/SEP) by name, in creation order. */
  readonly chains: ReadonlyMap<string, CompiledChain>;
  /** The same chains flattened for the packet walk (program.ts). */
  readonly program: NatProgram;
  /** Total endpoints (all conditions), for kube-proxy's large-cluster-mode threshold. */
  readonly endpointCount: number;
}

/**
 * Compile one Service port. `largeClusterMode` drops the per-endpoint comments as kube-proxy does above 1000
 * endpoints on the node's table.
 */
export function compileService(
  entry: ServicePortEntry,
  ctx: RuleContext,
  sepName: SepNamer,
  largeClusterMode: boolean,
): CompiledService {
  const plan = planService(entry);
  const shared = sharedRules(plan, ctx);
  const chains = serviceChains(plan, ctx, sepName, largeClusterMode);
  return {
    entry,
    names: plan.names,
    hasEndpoints: plan.hasEndpoints,
    hasInternalEndpoints: plan.hasInternalEndpoints,
    hasExternalEndpoints: plan.hasExternalEndpoints,
    entryRules: shared.entryRules,
    nodePortRules: shared.nodePortRules,
    filterRules: shared.filterRules,
    chains,
    program: compileProgram(chains, ctx),
    endpointCount: entry.endpoints.length,
  };
}
