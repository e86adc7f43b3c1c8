/**
 * The filter table for a flow's first packet, after nat has (or has not) DNATed it. Which built-in chain runs
 * follows routing: a packet for a local address goes to INPUT, others are FORWARDed; node-originated packets pass
 * OUTPUT (and INPUT too when they loop back to a local address). kube-proxy's jumps in those chains are prepended,
 * so they run in reverse order of upstream's iptablesJumpChains list:
 *
 *   INPUT:   KUBE-FIREWALL, KUBE-PROXY-FIREWALL (NEW), KUBE-NODEPORTS, KUBE-EXTERNAL-SERVICES (NEW)
 *   FORWARD: KUBE-PROXY-FIREWALL (NEW), KUBE-FORWARD, KUBE-SERVICES (NEW), KUBE-EXTERNAL-SERVICES (NEW)
 *   OUTPUT:  KUBE-FIREWALL, KUBE-PROXY-FIREWALL (NEW), KUBE-SERVICES (NEW)
 *
 * Filter rules see the packet after DNAT, so only packets nat left alone can match the per-Service REJECT/DROP rules.
 */
import type { Step } from '../engine.js';
import { isLoopback } from '../ip-match.js';
import { isIPv4Key } from '../tuple-table.js';
import type { CompiledService } from './compile.js';
import type { RuleContext } from './context.js';
import { BASE_JUMPS, baseJumpStep, forwardMarkRule, LOCALNET_GUARD_RULE } from './fixed-rules.js';
import type { FilterChainName, FilterRef } from './ruleset.js';
import { dnatTarget, type WalkState } from './walk-state.js';

export interface FilterOutcome {
  readonly verdict: 'REJECT' | 'DROP';
  readonly service: CompiledService | null;
}

type Hook = 'INPUT' | 'FORWARD' | 'OUTPUT';

/** Run the filter hooks for the packet's (post-DNAT) destination. Returns a refusal, or null when it passes. */
export function filterNewFlow(st: WalkState): FilterOutcome | null {
  const ctx = st.env.ruleset.context;
  const local = destinationIsLocal(st, ctx);
  if (st.origin.from !== 'node') return runHook(st, local ? 'INPUT' : 'FORWARD');
  return runHook(st, 'OUTPUT') ?? (local ? runHook(st, 'INPUT') : null);
}

/** Chains the hooks jump to, as small codes (the walk switches on numbers, not on strings). */
const FIREWALL = 0;
const FORWARD = 1;
const NODEPORTS = 2;
/** Codes from here on are per-Service filter chains (FilterChainName). */
const SERVICE_CHAIN = 3;

interface HookJump {
  readonly code: number;
  /** The chain's name as a literal: a key of `chainLengths().filter` (a sliced string would not be internalized). */
  readonly chain: FilterChainName;
  readonly step: Step;
}

/** Whether the (post-DNAT) destination is a local address, from its IPv4 value when the walk has it. */
function destinationIsLocal(st: WalkState, ctx: RuleContext): boolean {
  if (st.dnatBase >= 0) return st.dnatLocal;
  return st.dstAddressKey >= 0
    ? isLocalKey(ctx, st.dstAddressKey, st.packet.dst.ip)
    : ctx.localAddresses.has(st.packet.dst.ip);
}

/** Whether an address (its `addressKey` and text) is the node's: by value when it is IPv4, else by text. */
function isLocalKey(ctx: RuleContext, key: number, ip: string): boolean {
  return isIPv4Key(key) ? ctx.localAddresses.hasV4(key) : ctx.localAddresses.has(ip);
}

/** kube-proxy's jumps in each built-in filter chain, with their trace steps, built once. */
const HOOK_JUMPS: Record<Hook, readonly HookJump[]> = {
  INPUT: jumpsOf('INPUT'),
  FORWARD: jumpsOf('FORWARD'),
  OUTPUT: jumpsOf('OUTPUT'),
};

function jumpsOf(hook: Hook): HookJump[] {
  const literal: Record<string, [number, FilterChainName]> = {
    'KUBE-FIREWALL': [FIREWALL, 'KUBE-SERVICES'],
    'KUBE-FORWARD': [FORWARD, 'KUBE-SERVICES'],
    'KUBE-NODEPORTS': [NODEPORTS, 'KUBE-NODEPORTS'],
    'KUBE-SERVICES': [SERVICE_CHAIN, 'KUBE-SERVICES'],
    'KUBE-EXTERNAL-SERVICES': [SERVICE_CHAIN, 'KUBE-EXTERNAL-SERVICES'],
    'KUBE-PROXY-FIREWALL': [SERVICE_CHAIN, 'KUBE-PROXY-FIREWALL'],
  };
  return BASE_JUMPS[`filter/${hook}`]!.map((rule) => {
    const [code, chain] = literal[rule.slice(rule.lastIndexOf(' ') + 1)]!;
    return { code, chain, step: baseJumpStep(`filter/${hook}`, rule) };
  });
}

/** Returns a refusal, or null when the hook accepted the packet or let it fall through. */
function runHook(st: WalkState, hook: Hook): FilterOutcome | null {
  const ctx = st.env.ruleset.context;
  const guard = ctx.family === 'IPv4' && ctx.localhostNodePorts;
  const jumps = HOOK_JUMPS[hook];
  for (let i = 0; i < jumps.length; i++) {
    const { code, chain, step } = jumps[i]!;
    st.cost++;
    if (st.explain) st.steps.push(step);
    switch (code) {
      case FIREWALL: {
        // The chain and the jumps to it exist on every node (kube-proxy ensures them on each full sync); the guard
        // rule in it only where localhost NodePorts are in effect. Without it the chain is empty and returns.
        if (!guard) break;
        st.cost++;
        const p = st.packet;
        // CVE-2020-8558: nothing but loopback may reach 127/8 unless it was DNATed (localhost NodePorts).
        if (isLoopback(p.dst.ip) && !isLoopback(p.src.ip) && st.dnatBase < 0) {
          if (st.explain) st.steps.push(GUARD_DROP);
          return { verdict: 'DROP', service: null };
        }
        break;
      }
      case FORWARD: {
        st.cost += ctx.config.tcpBeLiberal ? 1 : 2; // INVALID (a new flow is not; no such rule when liberal), the mark
        if (st.mark) {
          if (st.explain) st.steps.push(forwardAccept(ctx));
          return null;
        }
        st.cost++; // RELATED,ESTABLISHED: not for a new flow
        if (st.explain) st.steps.push(ctx.config.tcpBeLiberal ? FORWARD_PASS_LIBERAL : FORWARD_PASS);
        break;
      }
      case NODEPORTS: {
        // Health-check NodePorts: ACCEPT ends the hook; the health server answers.
        if (findFilter(st, 'KUBE-NODEPORTS', HEALTH_CHECK)) return null;
        break;
      }
      default: {
        const ref = findFilter(st, chain, REFUSAL);
        if (ref && ref.rule.verdict !== 'ACCEPT') return { verdict: ref.rule.verdict, service: ref.svc };
      }
    }
  }
  return null;
}

/** What `findFilter` looks for: a health-check ACCEPT (protocol and port), or a REJECT/DROP for the destination. */
const HEALTH_CHECK = 0;
const REFUSAL = 1;

const GUARD_DROP: Step = {
  where: 'filter/KUBE-FIREWALL',
  rule: LOCALNET_GUARD_RULE,
  decision: 'martian to 127/8: DROP',
};
const FORWARD_PASS: Step = {
  where: 'filter/KUBE-FORWARD',
  rule: '(3 rules)',
  decision: 'not INVALID, not marked, not yet ESTABLISHED: continue',
};
const FORWARD_PASS_LIBERAL: Step = {
  where: 'filter/KUBE-FORWARD',
  rule: '(2 rules)',
  decision: 'not marked, not yet ESTABLISHED: continue',
};
const forwardAcceptSteps = new WeakMap<object, Step>();
function forwardAccept(ctx: RuleContext): Step {
  let step = forwardAcceptSteps.get(ctx);
  if (!step) {
    step = { where: 'filter/KUBE-FORWARD', rule: forwardMarkRule(ctx), decision: 'marked for masquerade: ACCEPT' };
    forwardAcceptSteps.set(ctx, step);
  }
  return step;
}

function dstPort(st: WalkState): number {
  const dnat = dnatTarget(st);
  return dnat ? dnat.port : st.packet.dst.port;
}

/** The first rule (in chain order) of a filter chain that `kind` selects for the packet; counts the scan. */
function findFilter(st: WalkState, chain: FilterChainName, kind: number): FilterRef | null {
  const rs = st.env.ruleset;
  const total = rs.chainLengths().filter[chain];
  if (total === 0) return null; // an empty chain: nothing to evaluate (the common case)
  const proto = st.packet.proto;
  const dnat = dnatTarget(st);
  const dst = dnat ? dnat.ip : st.packet.dst.ip;
  const local = st.env.ruleset.context.localAddresses;
  let best: FilterRef | null = null;
  let bestPos = Number.POSITIVE_INFINITY;
  for (const ref of rs.filterRules(chain, dstPort(st))) {
    const r = ref.rule;
    if (r.protocol !== proto) continue;
    if (kind === REFUSAL && ((r.ip === null ? !local.has(dst) : r.ip !== dst) || r.verdict === 'ACCEPT')) continue;
    const pos = rs.filterPosition(ref);
    if (pos < bestPos) {
      best = ref;
      bestPos = pos;
    }
  }
  if (!best) {
    st.cost += total;
    if (st.explain) st.steps.push(noMatch(chain, total));
    return null;
  }
  st.cost += bestPos + 1;
  if (st.explain) st.steps.push(bestPos > 0 ? { ...best.rule.step, skipped: bestPos } : best.rule.step);
  return best;
}

const noMatchSteps = new Map<string, Step>();
function noMatch(chain: string, total: number): Step {
  const key = `${chain} ${total}`;
  let step = noMatchSteps.get(key);
  if (!step) {
    step = {
      where: `filter/${chain}`,
      rule: `(${total} rules)`,
      decision: 'no rule matches: continue',
      skipped: total,
    };
    if (noMatchSteps.size > 10_000) noMatchSteps.clear();
    noMatchSteps.set(key, step);
  }
  return step;
}
