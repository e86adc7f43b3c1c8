/**
 * The state of one packet's walk through the rules, shared by the nat and filter walkers, and the rule matches the
 * chain interpreter (program.ts) evaluates on rule objects.
 *
 * With `explain` off the walk records no steps (`steps` stays empty) but evaluates, counts and draws exactly as with
 * it on: the verdict, `cost` and the random stream do not depend on it.
 */

import { canonicalIPv4 } from '../../cni/ip.js';
import type { Rng } from '../../util/rng.js';
import type { EndpointInfo } from '../endpoints.js';
import type { CidrMatcher } from '../ip-match.js';
import { ipv4ToInt } from '../ip-match.js';
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
} from './rule-types.js';
import type { RuleSet } from './ruleset.js';
import type { Trace } from './verdict.js';

/** 2^31: the statistic match compares a 31-bit random number with its threshold. */
export const TWO_31 = 0x80000000;

/** An address key no int32 equals: the packet's address is not canonical IPv4. */
const NOT_V4 = 0x1_0000_0000;
/** Not computed yet. */
const UNKNOWN = -0x1_0000_0000;

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
  /** Record steps (the trace); off for bulk runs. */
  readonly explain: boolean;
  /** The trace, recorded compactly (verdict.ts resolves it into steps when read). */
  readonly steps: Trace;
  /** Rules evaluated so far. */
  cost: number;
  /** The packet carries the masquerade mark (0x4000). */
  mark: boolean;
  /**
   * Where the program whose DNAT rule chose the target lies in the rule set's arena (program-arena.ts), -1 until a
   * rule did; and that rule's index in its program.
   */
  dnatBase: number;
  dnatRule: number;
  /** The DNAT target is one of the node's addresses (meaningful once `dnat` is set). */
  dnatLocal: boolean;
  /**
   * The Service whose rules handled the packet (for the verdict's `service`): set by a KUBE-NODEPORTS match; a
   * KUBE-SERVICES match leaves its entry-index slot instead (`entrySlot`), read only if asked (`walkService`).
   */
  service: CompiledService | null;
  entrySlot: number;
  /** The source as an IPv4 integer for CIDR matches, parsed on first use (-2: not yet; -1: not IPv4). */
  srcV4: number;
  /** Source and destination as int32 for address equality (canonical IPv4 only), parsed on first use. */
  srcKey: number;
  dstKey: number;
  /** `addressKey` of the destination as conntrack keyed it, or -1. */
  dstAddressKey: number;
}

/** The trace of a walk that does not explain: always empty, never pushed to. */
const NO_STEPS: Trace = [];

export function newWalk(env: WalkEnv, packet: Packet, origin: Origin, now: number, explain = true): WalkState {
  const steps = explain ? [] : NO_STEPS;
  return {
    env,
    packet,
    origin,
    now,
    explain,
    steps,
    cost: 0,
    mark: false,
    dnatBase: -1,
    dnatRule: -1,
    dnatLocal: false,
    service: null,
    entrySlot: -1,
    srcV4: -2,
    srcKey: UNKNOWN,
    dstKey: UNKNOWN,
    dstAddressKey: -1,
  };
}

/**
 * Take the packet's addresses as conntrack keyed them (`addressKey`: canonical IPv4 below 2^32) instead of parsing
 * them again. Other text keeps the lazy parse (a lenient CIDR parse may still read it as IPv4).
 */
export function seedAddressKeys(st: WalkState, srcAddressKey: number, dstAddressKey: number): void {
  if (srcAddressKey < NOT_V4) {
    st.srcKey = srcAddressKey | 0;
    st.srcV4 = srcAddressKey;
  } else st.srcKey = NOT_V4;
  st.dstKey = dstAddressKey < NOT_V4 ? dstAddressKey | 0 : NOT_V4;
  st.dstAddressKey = dstAddressKey;
}

/**
 * The DNAT target, once a KUBE-SEP rule chose one. Read only where needed (filter rules, a refusal): a new flow
 * takes its NAT from the rule's record (program.ts `trackDnat`), without reaching the endpoint.
 */
export function dnatTarget(st: WalkState): EndpointInfo | null {
  return st.dnatBase < 0 ? null : st.env.ruleset.arena.programAt(st.dnatBase).endpoints[st.dnatRule]!;
}

/** The Service whose rules handled the packet so far, or null. */
export function walkService(st: WalkState): CompiledService | null {
  if (st.service !== null) return st.service;
  return st.entrySlot < 0 ? null : st.env.ruleset.entries.refAt(st.entrySlot).svc;
}

/** The source address as an int32 to compare with a rule's (canonical IPv4) address; NOT_V4 matches none. */
export function srcKey(st: WalkState): number {
  if (st.srcKey === UNKNOWN) st.srcKey = addressInt(st.packet.src.ip);
  return st.srcKey;
}

/** `srcKey` for the destination. */
export function dstKey(st: WalkState): number {
  if (st.dstKey === UNKNOWN) st.dstKey = addressInt(st.packet.dst.ip);
  return st.dstKey;
}

function addressInt(ip: string): number {
  const v = canonicalIPv4(ip);
  return v < 0 ? NOT_V4 : v | 0;
}

/** Whether a rule matches the packet, evaluated on the rule object (every match kind). */
export function matches(rule: ChainRule, st: WalkState): boolean {
  const p = st.packet;
  switch (rule.mk) {
    case M_ALWAYS:
      return true;
    case M_CLUSTER_IP:
      return p.dst.ip === rule.ip && p.dst.port === rule.port && (rule.cidr === null || !srcIn(rule.cidr, st));
    case M_SRC_CIDR:
      return srcIn(rule.cidr!, st);
    case M_SRC_IP:
      return p.src.ip === rule.ip;
    case M_SRC_LOCAL:
      return st.env.ruleset.context.localSources.has(p.src.ip);
    case M_RANDOM:
      // xt_statistic: (get_random_u32() & 0x7FFFFFFF) < lround(p × 2^31).
      return st.env.rng.int(TWO_31) < rule.threshold;
    case M_RECENT:
      return st.env.recent.check(rule.list, p.src.ip, rule.seconds, st.now);
    default:
      return false;
  }
}

/** `-s cidr` for the packet's source; an IPv4 source is parsed once per walk, however many rules test it. */
export function srcIn(cidr: CidrMatcher, st: WalkState): boolean {
  if (cidr.family !== 'IPv4') return cidr.matches(st.packet.src.ip);
  if (st.srcV4 === -2) st.srcV4 = ipv4ToInt(st.packet.src.ip);
  return cidr.containsV4(st.srcV4);
}
