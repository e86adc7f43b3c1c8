/**
 * A Service's nat chains (KUBE-EXT/FW/SVC/SVL/SEP) flattened into one Int32Array the packet walk interprets.
 *
 * Why: a node holds tens of thousands of Services and each new flow goes to a different one, so the walk is bound
 * by cache misses, not by work. Walking ChainRule objects touched one or two cache lines per rule (a 10-endpoint
 * random cascade is a dozen rules); the program keeps what the common matches need (thresholds, IPv4 addresses as
 * integers, ports, jump targets as index ranges) in 16 contiguous bytes per rule. The ChainRule objects stay the
 * source of every rule's text and trace steps, and of the matches the program does not encode (recent lists,
 * source ranges, IPv6 addresses), which it hands to the object walk (`matches`).
 *
 * Rules are evaluated in the same order with the same effects as walking the objects: the same cost, the same
 * random draws, the same recent-list updates.
 */
import { canonicalIPv4 } from '../../cni/ip.js';
import type { Conntrack } from '../conntrack.js';
import type { EndpointInfo } from '../endpoints.js';
import type { RuleContext } from './context.js';
import {
  type ChainRule,
  M_ALWAYS,
  M_CLUSTER_IP,
  M_RANDOM,
  M_SRC_IP,
  M_SRC_LOCAL,
  T_DNAT,
  T_JUMP,
  T_MARK,
} from './rule-types.js';
import { dstKey, matches, srcIn, srcKey, TWO_31, type WalkState } from './walk-state.js';

/** Word 0 flag: evaluate the match on the ChainRule object. */
const OBJECT = 0x100;
/** Word 0 flag: a DNAT that also records the client in a recent list (read from the rule object). */
const RECENT_SET = 0x200;
/**
 * Word 0 flag: a DNAT to one of the node's own addresses (a host-network endpoint here). The filter walk routes by
 * it (INPUT or FORWARD); knowing it from the rule saves reading the endpoint's record on every new flow.
 */
const DNAT_LOCAL = 0x400;
/**
 * Word 0 flag: a DNAT rule (matching always) to an IPv4 target, whose address key and port are words 1 and 2, so a
 * new flow files its conntrack row without reading the rule's NAT record.
 */
const DNAT_KEYED = 0x800;

/** Where a chain's rules lie in the program: [start, end). A missing chain is the empty range. */
export interface ChainRange {
  readonly start: number;
  readonly end: number;
}

export interface NatProgram {
  /**
   * Four words per rule: [match code | target code << 4 | OBJECT, arg, arg, arg]. Arguments: M_RANDOM threshold;
   * M_SRC_IP address; M_CLUSTER_IP address, port, and 1 when the `! -s` detector applies; T_JUMP target range in
   * words 2 and 3 (an encoded cluster-ip rule never jumps, so the two uses never meet); DNAT_KEYED target address key
   * and port in words 1 and 2 (a DNAT rule that matches always has no match arguments); every DNAT's word 3 is its
   * index in the program, from which the arena's book of records finds the program (program-arena.ts).
   */
  readonly code: Int32Array;
  /**
   * The rule objects the walk still needs, by rule index (compiled without texts): those evaluated on the object
   * (OBJECT) and DNATs that record a recent list. Null elsewhere, so the rest can be collected young: a node has
   * hundreds of thousands of rules.
   */
  readonly rules: readonly (ChainRule | null)[];
  /** Each DNAT rule's endpoint (null for other rules): the DNAT reads it without touching the rule objects. */
  readonly endpoints: readonly (EndpointInfo | null)[];
  /** The Service port's name (ServicePortName.String()): what its flows' NAT records name. */
  readonly service: string;
  /**
   * Where the rule set placed the program in its arena (program-arena.ts), in rules; -1 until placed. The walk runs
   * the arena's copy, and a DNAT rule's conntrack NAT record lives there too.
   */
  base: number;
  /** Where the chains other rules jump to lie (KUBE-SVC/SVL/EXT/FW: KUBE-SERVICES and KUBE-NODEPORTS targets). */
  readonly ranges: ReadonlyMap<string, ChainRange>;
  /** The same rules with their texts and real chain names, built on first call: what trace steps show. */
  readonly textRules: () => readonly ChainRule[];
}

export const EMPTY_RANGE: ChainRange = Object.freeze({ start: 0, end: 0 });

/**
 * A rule outside a Service's program that jumps into it (KUBE-SERVICES, KUBE-NODEPORTS): the program, where it lies
 * in the arena and the target chain's range, held on the rule itself, so the jump goes straight to the arena's
 * rules without reading the Service or the program (each a cache miss on a node with many Services).
 */
export interface ProgramJump {
  readonly program: NatProgram;
  readonly base: number;
  readonly start: number;
  readonly end: number;
}

/** The jump from outside into chain `name` of a placed `program` (an empty range when it has no such chain). */
export function programJump(program: NatProgram, name: string): ProgramJump {
  const range = program.ranges.get(name) ?? EMPTY_RANGE;
  return { program, base: program.base, start: range.start, end: range.end };
}

/** Run the chain a jump from outside targets. */
export function runJump(jump: ProgramJump, st: WalkState): boolean {
  return runProgram(st.env.ruleset.arena.code, jump.base, jump.program, jump.start, jump.end, st);
}

/** Flatten a Service's chains (in creation order) for `ctx`. */
export function compileProgram(
  chains: ReadonlyMap<string, readonly ChainRule[]>,
  ctx: RuleContext,
  service: string,
  textRules: () => readonly ChainRule[],
): NatProgram {
  // Each chain's first rule index, in creation order; a chain's range is [its start, the next one's start).
  const names: string[] = [];
  const starts: number[] = [];
  const rules: ChainRule[] = [];
  for (const [name, chain] of chains) {
    names.push(name);
    starts.push(rules.length);
    for (const r of chain) rules.push(r);
  }
  starts.push(rules.length);
  const kept: (ChainRule | null)[] = new Array(rules.length).fill(null);
  const code = new Int32Array(rules.length * 4);
  const endpoints = rules.map((rule) => rule.endpoint);
  rules.forEach((rule, i) => {
    const at = i * 4;
    let op = rule.mk | (rule.tk << 4);
    if (rule.recentSet !== null) op |= RECENT_SET;
    if (rule.tk === T_DNAT && rule.endpoint !== null && ctx.localAddresses.has(rule.endpoint.ip)) op |= DNAT_LOCAL;
    const target = rule.tk === T_DNAT && rule.mk === M_ALWAYS ? rule.endpoint?.destination : undefined;
    const targetKey = target === undefined ? -1 : canonicalIPv4(target.ip);
    if (target !== undefined && targetKey >= 0) {
      op |= DNAT_KEYED;
      code[at + 1] = targetKey;
      code[at + 2] = target.port;
    }
    let keep = rule.recentSet !== null;
    if (rule.tk === T_DNAT) code[at + 3] = i;
    if (rule.tk === T_JUMP) {
      const k = names.indexOf(rule.chain);
      code[at + 2] = k < 0 ? 0 : starts[k]!;
      code[at + 3] = k < 0 ? 0 : starts[k + 1]!;
    }
    switch (rule.mk) {
      case M_ALWAYS:
      case M_SRC_LOCAL:
        break;
      case M_RANDOM:
        if (rule.threshold > 0x7fffffff) op |= OBJECT;
        else code[at + 1] = rule.threshold;
        break;
      case M_SRC_IP: {
        const v = canonicalIPv4(rule.ip);
        if (v < 0) op |= OBJECT;
        else code[at + 1] = v;
        break;
      }
      case M_CLUSTER_IP: {
        const v = canonicalIPv4(rule.ip);
        // Encodable: IPv4, not a jump or a DNAT (word 3 is theirs), and no detector or exactly the context's (read from
        // there at walk time).
        if (
          v < 0 ||
          rule.tk === T_JUMP ||
          rule.tk === T_DNAT ||
          (rule.cidr !== null && rule.cidr !== ctx.localDetector)
        )
          op |= OBJECT;
        else {
          code[at + 1] = v;
          code[at + 2] = rule.port;
          code[at + 3] = rule.cidr === null ? 0 : 1;
        }
        break;
      }
      default:
        op |= OBJECT;
    }
    code[at] = op;
    if ((op & OBJECT) !== 0 || (op & 15) === M_SRC_LOCAL) keep = true;
    if (keep) kept[i] = rule;
  });
  // Only chains named KUBE-… are jumped to from outside the program (SEP chains may be keyed by placeholders).
  const outside = new Map<string, ChainRange>();
  names.forEach((name, k) => {
    if (name.startsWith('KUBE-') && !name.startsWith('KUBE-SEP-'))
      outside.set(name, { start: starts[k]!, end: starts[k + 1]! });
  });
  return { code, rules: kept, endpoints, service, base: -1, ranges: outside, textRules };
}

/**
 * Run the program's rules [start, end) (one chain). Returns true when a rule DNATed the packet (a terminal verdict);
 * false when the chain ended, in which case iptables returns to the calling chain and the caller continues after
 * its jump. `prog` may be null (a KUBE-SERVICES jump holds only where the program lies): the few rules that need the
 * program object (matches evaluated on the rule object, recent lists, the trace) fetch it from the arena.
 */
export function runProgram(
  code: Int32Array,
  base: number,
  prog: NatProgram | null,
  start: number,
  end: number,
  st: WalkState,
): boolean {
  const explain = st.explain;
  // The trace records this program, then one number per rule evaluated (verdict.ts turns them into steps).
  if (explain && start < end) st.steps.push(prog ?? st.env.ruleset.arena.programAt(base));
  for (let i = start; i < end; i++) {
    const at = (base + i) << 2;
    const op = code[at]!;
    st.cost++;
    let hit: boolean;
    if ((op & OBJECT) !== 0) hit = matches(ruleOf(prog, base, i, st), st);
    else
      switch (op & 15) {
        case M_ALWAYS:
          hit = true;
          break;
        case M_RANDOM:
          // xt_statistic: (get_random_u32() & 0x7FFFFFFF) < lround(p × 2^31).
          hit = st.env.rng.int(TWO_31) < code[at + 1]!;
          break;
        case M_SRC_IP:
          hit = srcKey(st) === code[at + 1];
          break;
        case M_CLUSTER_IP:
          hit =
            dstKey(st) === code[at + 1] &&
            st.packet.dst.port === code[at + 2] &&
            (code[at + 3] === 0 || !srcIn(st.env.ruleset.context.localDetector!, st));
          break;
        default:
          hit = matches(ruleOf(prog, base, i, st), st);
      }
    if (!hit) {
      if (explain) st.steps.push(i * 2);
      continue;
    }
    if (explain) st.steps.push(i * 2 + 1);
    switch ((op >> 4) & 15) {
      case T_JUMP:
        if (runProgram(code, base, prog, code[at + 2]!, code[at + 3]!, st)) return true;
        break;
      case T_MARK:
        st.cost++; // the MARK rule inside KUBE-MARK-MASQ
        st.mark = true;
        break;
      case T_DNAT: {
        if ((op & RECENT_SET) !== 0) st.env.recent.set(ruleOf(prog, base, i, st).recentSet!, st.packet.src.ip, st.now);
        st.dnatBase = base;
        st.dnatRule = i;
        st.dnatLocal = (op & DNAT_LOCAL) !== 0;
        return true;
      }
    }
  }
  return false;
}

/** Rule i of the program at `base` (`prog`, when the caller holds it). */
function ruleOf(prog: NatProgram | null, base: number, i: number, st: WalkState): ChainRule {
  return (prog ?? st.env.ruleset.arena.programAt(base)).rules[i]!;
}

/**
 * File the walk's new flow in conntrack with its DNAT (runProgram chose the rule), masqueraded to `snatIp` (or not:
 * null). The target's key and port come from the rule's words, so the flow is filed with its rule's handle in the
 * arena's book of records (program-arena.ts `DnatRecords`), and the record is made or read only when the flow's NAT
 * is first read.
 */
export function trackDnat(ct: Conntrack, st: WalkState, snatIp: string | null): number {
  const rs = st.env.ruleset;
  const arena = rs.arena;
  const rule = st.dnatBase + st.dnatRule;
  const records = arena.records;
  const handle = records.handle(rule, snatIp !== null);
  const code = arena.code;
  const word = rule << 2;
  if ((code[word]! & DNAT_KEYED) === 0) return ct.trackRecord(st.packet, records.record(handle), st.now);
  const snatKey = snatIp === null ? -1 : rs.context.nodeKey;
  return ct.trackNatInBook(st.packet, records, handle, code[word + 1]! >>> 0, code[word + 2]!, snatKey, st.now);
}
