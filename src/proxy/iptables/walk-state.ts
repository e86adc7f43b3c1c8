/**
 * The state of one packet's walk through the rules, shared by the nat and filter walkers, and the per-Service chain
 * interpreter (jump, return at chain end, MARK, DNAT) that both use.
 */

import type { Rng } from '../../util/rng.js';
import type { EndpointInfo } from '../endpoints.js';
import type { Step } from '../engine.js';
import type { Origin, Packet } from '../packet.js';
import type { CompiledService } from './compile.js';
import type { RecentLists } from './recent.js';
import {
  type ChainRule,
  M_ALWAYS,
  M_CLUSTER_IP,
  M_RANDOM,
  M_RECENT,
  M_SRC_CIDR,
  M_SRC_IP,
  M_SRC_LOCAL,
  T_DNAT,
  T_JUMP,
  T_MARK,
} from './rule-types.js';
import type { RuleSet } from './ruleset.js';

/** 2^31: the statistic match compares a 31-bit random number with its threshold. */
const TWO_31 = 0x80000000;

export interface WalkEnv {
  readonly ruleset: RuleSet;
  readonly rng: Rng;
  readonly recent: RecentLists;
}

export interface WalkState {
  readonly env: WalkEnv;
  readonly packet: Packet;
  readonly origin: Origin;
  readonly now: number;
  readonly steps: Step[];
  /** Rules evaluated so far. */
  cost: number;
  /** The packet carries the masquerade mark (0x4000). */
  mark: boolean;
  /** The DNAT target, once a KUBE-SEP rule chose one. */
  dnat: EndpointInfo | null;
  /** The Service whose rules handled the packet (for the verdict's `service`). */
  service: CompiledService | null;
}

export function newWalk(env: WalkEnv, packet: Packet, origin: Origin, now: number): WalkState {
  return { env, packet, origin, now, steps: [], cost: 0, mark: false, dnat: null, service: null };
}

/**
 * Run one of a Service's nat chains. Returns true when a rule DNATed the packet (a terminal verdict); false when the
 * chain ended, in which case iptables returns to the calling chain and the caller continues after its jump.
 */
export function runChain(svc: CompiledService, name: string, st: WalkState): boolean {
  const chain = svc.chains.get(name);
  if (!chain) return false;
  const rules = chain.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    st.cost++;
    if (!matches(rule, st)) {
      st.steps.push(rule.miss);
      continue;
    }
    st.steps.push(rule.hit);
    switch (rule.tk) {
      case T_JUMP:
        if (runChain(svc, rule.chain, st)) return true;
        break;
      case T_MARK:
        st.cost++; // the MARK rule inside KUBE-MARK-MASQ
        st.mark = true;
        break;
      case T_DNAT:
        if (rule.recentSet !== null) st.env.recent.set(rule.recentSet, st.packet.src.ip, st.now);
        st.dnat = rule.endpoint;
        return true;
    }
  }
  return false;
}

function matches(rule: ChainRule, st: WalkState): boolean {
  const p = st.packet;
  switch (rule.mk) {
    case M_ALWAYS:
      return true;
    case M_CLUSTER_IP:
      return p.dst.ip === rule.ip && p.dst.port === rule.port && (rule.cidr === null || !rule.cidr.matches(p.src.ip));
    case M_SRC_CIDR:
      return rule.cidr!.matches(p.src.ip);
    case M_SRC_IP:
      return p.src.ip === rule.ip;
    case M_SRC_LOCAL:
      return st.env.ruleset.context.localAddresses.has(p.src.ip);
    case M_RANDOM:
      // xt_statistic: (get_random_u32() & 0x7FFFFFFF) < lround(p × 2^31).
      return st.env.rng.int(TWO_31) < rule.threshold;
    case M_RECENT:
      return st.env.recent.check(rule.list, p.src.ip, rule.seconds, st.now);
    default:
      return false;
  }
}
