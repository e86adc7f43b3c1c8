/**
 * The nat table for a flow's first packet: PREROUTING (or OUTPUT for node-originated packets) → KUBE-SERVICES →
 * per-Service chains → DNAT; the NodePort jump at the end of KUBE-SERVICES; and POSTROUTING's MASQUERADE.
 *
 * KUBE-SERVICES is one linear chain on a real node; the walk finds the matching rule through an index but counts
 * every rule a kernel would have evaluated before it (its position), so `cost` is the real scan length.
 */
import type { Step } from '../engine.js';
import { isLoopback } from '../ip-match.js';
import { servicesJumpStep } from '../nat-entry.js';
import { addressKey, protoCode } from '../tuple-table.js';
import type { RuleContext } from './context.js';
import { BASE_JUMPS, baseJumpStep, nodePortJumpRules, postroutingRules } from './fixed-rules.js';
import { runJump, runProgram } from './program.js';
import type { EntryRef } from './ruleset.js';
import type { WalkState } from './walk-state.js';

/** Steps for the fixed nat rules of one context, built once. */
interface NatFixed {
  readonly tail: readonly {
    readonly text: string;
    readonly ip: string | null;
    readonly hit: Step;
    readonly miss: Step;
  }[];
  readonly postReturn: Step;
  readonly postUnmarkedMiss: Step;
  readonly postXor: Step;
  readonly masquerade: Step;
}

const fixedByContext = new WeakMap<RuleContext, NatFixed>();
/** The last context asked for: every new flow needs its steps, and one node's engine asks with the same context. */
let lastCtx: RuleContext | null = null;
let lastFixed: NatFixed | null = null;

function fixed(ctx: RuleContext): NatFixed {
  if (ctx === lastCtx) return lastFixed!;
  let f = fixedByContext.get(ctx);
  if (f) {
    lastCtx = ctx;
    lastFixed = f;
    return f;
  }
  const tailTexts = nodePortJumpRules(ctx);
  const [ret, xor, masq] = postroutingRules(ctx);
  const w = 'nat/KUBE-SERVICES';
  const p = 'nat/KUBE-POSTROUTING';
  f = {
    tail: tailTexts.map((text, i) => ({
      text,
      ip: ctx.nodePortsMatchAll ? null : ctx.nodePortIPs[i]!,
      hit: { where: w, rule: text, decision: 'destination is a NodePort address: jump KUBE-NODEPORTS' },
      miss: { where: w, rule: text, decision: 'destination is not a NodePort address: not matched' },
    })),
    postReturn: { where: p, rule: ret, decision: 'no masquerade mark: RETURN (source kept)' },
    postUnmarkedMiss: { where: p, rule: ret, decision: 'marked: not matched' },
    postXor: { where: p, rule: xor, decision: 'clear the mark so the packet is not masqueraded twice' },
    masquerade: {
      where: p,
      rule: masq,
      decision: ctx.nodeIP
        ? `MASQUERADE: source becomes ${ctx.nodeIP}`
        : 'MASQUERADE (the node has no address of this family)',
    },
  };
  fixedByContext.set(ctx, f);
  lastCtx = ctx;
  lastFixed = f;
  return f;
}

/** nat PREROUTING/OUTPUT for a new flow. Afterwards `st.dnat` holds the chosen endpoint, if any. */
export function natPrerouting(st: WalkState): void {
  const rs = st.env.ruleset;
  const ctx = rs.context;
  const p = st.packet;
  const explain = st.explain;
  if (explain) st.steps.push(servicesJumpStep(st.origin));
  st.cost++;
  const lengths = rs.chainLengths();
  const dstKey = st.dstAddressKey >= 0 ? st.dstAddressKey : addressKey(p.dst.ip);
  const entries = rs.entries;
  const slot = entries.find(protoCode(p.proto), dstKey, p.dst.port);
  if (slot >= 0) {
    // The rule a linear scan of KUBE-SERVICES would reach after `pos` others: counted, not scanned. The jump comes
    // from the index slot; the rule object is read only for the trace.
    const pos = rs.entrySlotPosition(slot);
    st.cost += pos + 1;
    st.entrySlot = slot;
    const ref = explain ? entries.refAt(slot) : null;
    if (ref !== null) st.steps.push(entryStep(ref, pos));
    const base = entries.baseAt(slot);
    if (runProgram(rs.arena.code, base, ref?.program ?? null, entries.startAt(slot), entries.endAt(slot), st)) return;
    // The Service's chain ended without DNAT (a firewall or Local policy refused it): back in KUBE-SERVICES.
    const rest = lengths.natServices - pos - 1;
    st.cost += rest;
    if (ref !== null)
      st.steps.push({
        where: 'nat/KUBE-SERVICES',
        rule: `(${rest} later Service rules)`,
        decision: `returned from ${ref.rule.target} without DNAT; no later Service rule matches`,
        skipped: rest,
      });
  } else {
    st.cost += lengths.natServices;
    if (explain)
      st.steps.push({
        where: 'nat/KUBE-SERVICES',
        rule: `(${lengths.natServices} Service rules)`,
        decision: `no Service rule matches ${p.proto} ${p.dst.ip} port ${p.dst.port}`,
        skipped: lengths.natServices,
      });
  }
  nodePortTail(st, ctx);
}

function nodePortTail(st: WalkState, ctx: RuleContext): void {
  const dst = st.packet.dst.ip;
  for (const rule of fixed(ctx).tail) {
    st.cost++;
    const hit =
      rule.ip === null
        ? ctx.localAddresses.has(dst) &&
          !(ctx.family === 'IPv6' && dst === '::1') &&
          !(ctx.family === 'IPv4' && !ctx.localhostNodePorts && isLoopback(dst))
        : dst === rule.ip;
    if (!hit) {
      if (rule.ip === null && st.explain) st.steps.push(rule.miss);
      continue;
    }
    if (st.explain) st.steps.push(rule.hit);
    if (nodePorts(st)) return;
  }
}

/** nat KUBE-NODEPORTS. Returns true when the packet was DNATed. */
function nodePorts(st: WalkState): boolean {
  const rs = st.env.ruleset;
  const p = st.packet;
  const total = rs.chainLengths().natNodePorts;
  const refs = rs.nodePortRules(p.proto, p.dst.port);
  if (refs.length === 0) {
    st.cost += total;
    if (st.explain)
      st.steps.push({
        where: 'nat/KUBE-NODEPORTS',
        rule: `(${total} NodePort rules)`,
        decision: `no Service has NodePort ${p.proto} ${p.dst.port}`,
        skipped: total,
      });
    return false;
  }
  const first = rs.nodePortPosition(refs[0]!);
  st.cost += first;
  let last = first;
  for (const ref of refs) {
    last = rs.nodePortPosition(ref);
    st.cost++;
    if (ref.rule.loopbackOnly && !isLoopback(p.dst.ip)) {
      if (st.explain)
        st.steps.push({
          where: 'nat/KUBE-NODEPORTS',
          rule: ref.rule.text,
          decision: 'not a loopback destination: not matched',
        });
      continue;
    }
    st.service = ref.svc;
    if (st.explain)
      st.steps.push({
        where: 'nat/KUBE-NODEPORTS',
        rule: ref.rule.text,
        decision: `matched: jump ${ref.rule.target}${ref.rule.loopbackOnly ? ' (localhost NodePort, counted by nfacct)' : ''}`,
        skipped: last === first ? first : undefined,
      });
    if (runJump(ref, st)) return true;
  }
  st.cost += total - last - 1;
  return false;
}

/** nat POSTROUTING: MASQUERADE marked packets. Returns the SNAT source address, or null. */
export function natPostrouting(st: WalkState): string | null {
  const ctx = st.env.ruleset.context;
  st.cost++;
  if (!st.mark) {
    st.cost++;
    if (st.explain) st.steps.push(POSTROUTING_JUMP, fixed(ctx).postReturn);
    return null;
  }
  st.cost += 3;
  if (st.explain) {
    const f = fixed(ctx);
    st.steps.push(POSTROUTING_JUMP, f.postUnmarkedMiss, f.postXor, f.masquerade);
  }
  return ctx.nodeIP;
}

const POSTROUTING_JUMP = baseJumpStep('nat/POSTROUTING', BASE_JUMPS['nat/POSTROUTING']![0]!);

/** The trace step of a KUBE-SERVICES rule matched at `pos`, cached on the rule until its position changes. */
function entryStep(ref: EntryRef, pos: number): Step {
  let step = ref.step;
  if (step === null || step.skipped !== pos) {
    step = {
      where: 'nat/KUBE-SERVICES',
      rule: ref.rule.text,
      decision: `matched after ${pos} other rules: jump ${ref.rule.target}`,
      skipped: pos,
    };
    ref.step = step;
  }
  return step;
}
