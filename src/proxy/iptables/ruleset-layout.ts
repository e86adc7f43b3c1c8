/**
 * The rule set's references from its indexes to compiled rules, and its layout: where each Service's rules start in
 * the chains all Services share, computed as prefix sums over the render order (ruleset.ts recomputes it lazily
 * after a change). Positions are what the walk's `cost` counts: the rules a kernel scans before the one that matches.
 */
import type { Step } from '../engine.js';
import type { CompiledService } from './compile.js';
import type { ProgramJump } from './program.js';
import type { EntryRule, FilterRule, NodePortRule } from './rule-types.js';

/** A nat KUBE-SERVICES rule and the Service it belongs to. */
/** A KUBE-SERVICES rule; its jump target's program fields are its own (one object to read, not three). */
export interface EntryRef extends ProgramJump {
  readonly svc: CompiledService;
  readonly rule: EntryRule;
  /** Index among this Service's KUBE-SERVICES rules. */
  readonly index: number;
  /** The walk's cached trace step for this rule (rebuilt when the rule's position changes). */
  step: Step | null;
  /** The next rule for the same destination (another Service's, later in KUBE-SERVICES), or null. */
  next: EntryRef | null;
}

export interface NodePortRef extends ProgramJump {
  readonly svc: CompiledService;
  readonly rule: NodePortRule;
  readonly index: number;
}

export interface FilterRef {
  readonly svc: CompiledService;
  readonly rule: FilterRule;
  /** Index among this Service's rules in the same filter chain. */
  readonly index: number;
}

export type FilterChainName = FilterRule['chain'];

/** Where each Service's rules start inside the shared chains, and how long those chains are. */
export interface Layout {
  readonly offsets: Map<CompiledService, Offsets>;
  readonly natServices: number;
  readonly natNodePorts: number;
  readonly filter: Record<FilterChainName, number>;
}

interface Offsets {
  natServices: number;
  natNodePorts: number;
  filter: Record<FilterChainName, number>;
}

export const FILTER_CHAINS: readonly FilterChainName[] = [
  'KUBE-SERVICES',
  'KUBE-EXTERNAL-SERVICES',
  'KUBE-NODEPORTS',
  'KUBE-PROXY-FIREWALL',
];

/** Offsets of every Service's rules in the shared chains, and the chains' lengths, for Services in `order`. */
export function computeLayout(order: readonly CompiledService[]): Layout {
  const offsets = new Map<CompiledService, Offsets>();
  let natServices = 0;
  let natNodePorts = 0;
  const filter: Record<FilterChainName, number> = {
    'KUBE-SERVICES': 0,
    'KUBE-EXTERNAL-SERVICES': 0,
    'KUBE-NODEPORTS': 0,
    'KUBE-PROXY-FIREWALL': 0,
  };
  for (const svc of order) {
    offsets.set(svc, { natServices, natNodePorts, filter: { ...filter } });
    natServices += svc.entryRules.length;
    natNodePorts += svc.nodePortRules.length;
    for (const r of svc.filterRules) filter[r.chain]++;
  }
  return { offsets, natServices, natNodePorts, filter };
}
