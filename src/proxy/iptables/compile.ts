/**
 * One Service port → its iptables rules, following kube-proxy's syncProxyRules (pkg/proxy/iptables/proxier.go) rule
 * for rule: which chains exist, which rules each holds, in which order, with which text.
 *
 * - plan.ts makes upstream's decisions (which chains, which traffic has endpoints, REJECT vs DROP);
 * - compile-shared.ts writes the Service's rules in the shared chains (KUBE-SERVICES, KUBE-NODEPORTS, filter);
 * - compile-chains.ts writes its own chains (KUBE-EXT/FW/SVC/SVL/SEP).
 */
import type { ServicePortEntry } from '../service-table.js';
import { chainBlock } from './chain-block.js';
import type { ServiceChainNames } from './chain-names.js';
import { type SepNamer, serviceChains } from './compile-chains.js';
import { sharedRules } from './compile-shared.js';
import type { RuleContext } from './context.js';
import { planService, type ServicePlan } from './plan.js';
import { compileProgram, type NatProgram } from './program.js';
import type { ChainRule, CompiledChain, EntryRule, FilterRule, NodePortRule } from './rule-types.js';

export type { SepNamer } from './compile-chains.js';

/** Everything one Service port contributes to the node's rules. */
export interface CompiledService {
  readonly entry: ServicePortEntry;
  /** `entry.info.name` (ServicePortName.String()), at hand for verdicts. */
  readonly name: string;
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
  /**
   * The Service's own nat chains (KUBE-EXT/FW/SVC/SVL/SEP) by name, in creation order, with their rule texts. Built
   * on first use (rendering, a trace): naming a KUBE-SEP chain takes a SHA-256, and the walk needs neither names nor
   * texts.
   */
  readonly chains: ReadonlyMap<string, CompiledChain>;
  /** The same chains flattened for the packet walk (program.ts), compiled eagerly without texts. */
  readonly program: NatProgram;
  /**
   * Each chain as one block of text (chain-block.ts), for rendering: from `chains` when a trace has built them, else
   * generated without keeping the rule objects (a render of 10,000 Services should not leave 300,000 of them behind).
   */
  chainBlocks(): string[];
  /** Total endpoints (all conditions), for kube-proxy's large-cluster-mode threshold. */
  readonly endpointCount: number;
  /**
   * The xt_recent lists its rules name (ClientIP affinity: each endpoint's KUBE-SEP chain's, `--set` there and
   * `--rcheck` in KUBE-SVC/SVL); none without affinity. The kernel frees a list with the last rule naming it.
   */
  readonly recentLists: readonly string[];
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
  return new Compiled(entry, ctx, sepName, largeClusterMode);
}

/** A class (not a literal with a getter, which V8 keeps in dictionary mode): `svc.program` is read per packet. */
class Compiled implements CompiledService {
  readonly entry: ServicePortEntry;
  readonly name: string;
  readonly names: ServiceChainNames;
  readonly hasEndpoints: boolean;
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  readonly entryRules: readonly EntryRule[];
  readonly nodePortRules: readonly NodePortRule[];
  readonly filterRules: readonly FilterRule[];
  readonly program: NatProgram;
  readonly endpointCount: number;
  readonly recentLists: readonly string[];
  readonly #plan: ServicePlan;
  readonly #ctx: RuleContext;
  readonly #sepName: SepNamer;
  readonly #largeClusterMode: boolean;
  #chains: ReadonlyMap<string, CompiledChain> | null = null;
  #textRules: readonly ChainRule[] | null = null;

  constructor(entry: ServicePortEntry, ctx: RuleContext, sepName: SepNamer, largeClusterMode: boolean) {
    const plan = planService(entry);
    const shared = sharedRules(plan, ctx);
    this.entry = entry;
    this.name = entry.info.name;
    this.names = plan.names;
    this.hasEndpoints = plan.hasEndpoints;
    this.hasInternalEndpoints = plan.hasInternalEndpoints;
    this.hasExternalEndpoints = plan.hasExternalEndpoints;
    this.entryRules = shared.entryRules;
    this.nodePortRules = shared.nodePortRules;
    this.filterRules = shared.filterRules;
    this.endpointCount = entry.endpoints.length;
    this.#plan = plan;
    this.#ctx = ctx;
    this.#sepName = sepName;
    this.#largeClusterMode = largeClusterMode;
    // The same generator twice: without texts now (rule i of the program is rule i of the named chains), with
    // texts and real KUBE-SEP names when someone reads them.
    const rules = serviceChains(plan, ctx, sepName, largeClusterMode, false);
    this.program = compileProgram(rules, ctx, this.name, () => this.#flatTextRules());
    this.recentLists = entry.info.affinityTimeoutSeconds === null ? NO_LISTS : recentListsOf(rules);
  }

  chainBlocks(): string[] {
    const out: string[] = [];
    if (this.#chains) for (const c of this.#chains.values()) out.push(chainBlock(c.name, textsOf(c.rules)));
    else for (const [name, rules] of this.#generate(true)) out.push(chainBlock(name, textsOf(rules)));
    return out;
  }

  get chains(): ReadonlyMap<string, CompiledChain> {
    if (this.#chains === null) {
      const chains = new Map<string, CompiledChain>();
      for (const [name, rules] of this.#generate(true)) chains.set(name, { name, rules });
      this.#chains = chains;
    }
    return this.#chains;
  }

  #generate(withText: boolean): Map<string, ChainRule[]> {
    return serviceChains(this.#plan, this.#ctx, this.#sepName, this.#largeClusterMode, withText);
  }

  #flatTextRules(): readonly ChainRule[] {
    this.#textRules ??= [...this.chains.values()].flatMap((c) => c.rules);
    return this.#textRules;
  }
}

const NO_LISTS: readonly string[] = Object.freeze([]);

/** Every recent list the chains set or check, once each. */
function recentListsOf(chains: ReadonlyMap<string, readonly ChainRule[]>): string[] {
  const lists = new Set<string>();
  for (const rules of chains.values())
    for (const r of rules) {
      if (r.recentSet !== null) lists.add(r.recentSet);
      if (r.list !== '') lists.add(r.list);
    }
  return [...lists];
}

function textsOf(rules: readonly ChainRule[]): string[] {
  return rules.map((r) => r.text);
}
