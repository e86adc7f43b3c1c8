/**
 * The compiled form of kube-proxy's iptables rules: every rule keeps its `iptables-save` text (for rendering and
 * traces) next to a small, precomputed description of what it matches and where it goes (for the packet walk).
 * Rules are built once per Service change (compile.ts) and never mutated.
 */
import type { Protocol } from '../../model/types.js';
import type { EndpointInfo } from '../endpoints.js';
import type { Step } from '../engine.js';
import type { CidrMatcher } from '../ip-match.js';
import { hostPort } from '../packet.js';
import { savedProbability } from './probability.js';

/** What a rule inside a per-Service chain matches. */
export type Match =
  | { readonly kind: 'always' }
  /** `-d clusterIP --dport port [! -s clusterCIDR]`: the ClusterIP masquerade rule (notLocal null = masqueradeAll). */
  | { readonly kind: 'cluster-ip'; readonly ip: string; readonly port: number; readonly notLocal: CidrMatcher | null }
  /** `-s <cidr>`: pod traffic (local detector) or a loadBalancerSourceRange. */
  | { readonly kind: 'src-cidr'; readonly cidr: CidrMatcher }
  /** `-s <ip>`: hairpin (endpoint IP) or node → own LB IP. */
  | { readonly kind: 'src-ip'; readonly ip: string }
  /** `-m addrtype --src-type LOCAL`. */
  | { readonly kind: 'src-local' }
  /** `-m statistic --mode random --probability p`: matches when a 31-bit random draw is below `threshold`. */
  | { readonly kind: 'random'; readonly probability: string; readonly threshold: number }
  /** `-m recent --name list --rcheck --seconds T --reap`. */
  | { readonly kind: 'recent'; readonly list: string; readonly seconds: number };

/** Where a rule sends a matching packet. */
export type Target =
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'mark-masq' }
  /** `[-m recent --name <recentSet> --set] -j DNAT --to-destination ep`. */
  | { readonly kind: 'dnat'; readonly endpoint: EndpointInfo; readonly recentSet: string | null }
  /** A comment-only rule (the end of KUBE-FW-*): the packet continues. */
  | { readonly kind: 'none' };

/** Match codes for the walk: one small integer field on every rule keeps the hot loop monomorphic. */
export const M_ALWAYS = 0;
export const M_CLUSTER_IP = 1;
export const M_SRC_CIDR = 2;
export const M_SRC_IP = 3;
export const M_SRC_LOCAL = 4;
export const M_RANDOM = 5;
export const M_RECENT = 6;
/** Target codes. */
export const T_JUMP = 0;
export const T_MARK = 1;
export const T_DNAT = 2;
export const T_NONE = 3;

/**
 * A rule inside a per-Service nat chain (KUBE-EXT/FW/SVC/SVL/SEP): its text, what it matches and where it goes. A
 * node holds hundreds of thousands of these, so the object keeps only those (and its trace steps, built the first
 * time a packet needs them: most rules never appear in a trace); the flat accessors below derive from `match` and
 * `target` for the rule program's compiler (program.ts) and the rare matches it leaves to the object walk.
 */
export class ChainRule {
  /** The `-A CHAIN …` line. */
  readonly text: string;
  readonly match: Match;
  readonly target: Target;
  #hit: Step | undefined;
  #miss: Step | undefined;

  constructor(text: string, match: Match, target: Target) {
    // Texts are built by template literals: trees of a few cons-string cells each. Reading a character flattens the
    // tree into one string now, so the cells die young instead of being copied and kept (a third of the rule set's
    // memory at 10,000 Services), and rendering reads flat strings.
    if (text !== '') text.charCodeAt(0);
    this.text = text;
    this.match = match;
    this.target = target;
  }

  /** Match code (M_*). */
  get mk(): number {
    return MATCH_CODES[this.match.kind];
  }
  /** Target code (T_*). */
  get tk(): number {
    return TARGET_CODES[this.target.kind];
  }
  /** The address of a cluster-ip or src-ip match, else ''. */
  get ip(): string {
    const m = this.match;
    return m.kind === 'cluster-ip' || m.kind === 'src-ip' ? m.ip : '';
  }
  get port(): number {
    return this.match.kind === 'cluster-ip' ? this.match.port : 0;
  }
  /** The CIDR of a src-cidr match, the detector of a cluster-ip match (null: masqueradeAll), else null. */
  get cidr(): CidrMatcher | null {
    const m = this.match;
    return m.kind === 'cluster-ip' ? m.notLocal : m.kind === 'src-cidr' ? m.cidr : null;
  }
  get threshold(): number {
    return this.match.kind === 'random' ? this.match.threshold : 0;
  }
  get list(): string {
    return this.match.kind === 'recent' ? this.match.list : '';
  }
  get seconds(): number {
    return this.match.kind === 'recent' ? this.match.seconds : 0;
  }
  /** A jump's target chain, else ''. */
  get chain(): string {
    return this.target.kind === 'jump' ? this.target.chain : '';
  }
  get endpoint(): EndpointInfo | null {
    return this.target.kind === 'dnat' ? this.target.endpoint : null;
  }
  get recentSet(): string | null {
    return this.target.kind === 'dnat' ? this.target.recentSet : null;
  }

  /** The trace step when this rule matches. */
  get hit(): Step {
    if (this.#hit === undefined) {
      const where = whereOf(this.text);
      const decision = hitDecision(this.match, this.target);
      this.#hit =
        this.match.kind === 'random'
          ? { where, rule: this.text, decision, probability: Number(this.match.probability) }
          : { where, rule: this.text, decision };
    }
    return this.#hit;
  }

  /** The trace step when it does not. */
  get miss(): Step {
    if (this.#miss === undefined) this.#miss = missStep(whereOf(this.text), this.text, this.match);
    return this.#miss;
  }
}

const MATCH_CODES: Record<Match['kind'], number> = {
  always: M_ALWAYS,
  'cluster-ip': M_CLUSTER_IP,
  'src-cidr': M_SRC_CIDR,
  'src-ip': M_SRC_IP,
  'src-local': M_SRC_LOCAL,
  random: M_RANDOM,
  recent: M_RECENT,
};
const TARGET_CODES: Record<Target['kind'], number> = { jump: T_JUMP, 'mark-masq': T_MARK, dnat: T_DNAT, none: T_NONE };

function whereOf(text: string): string {
  const end = text.indexOf(' ', 3);
  return `nat/${end < 0 ? text.slice(3) : text.slice(3, end)}`;
}

function hitDecision(match: Match, target: Target): string {
  const to =
    target.kind === 'jump'
      ? `jump ${target.chain}`
      : target.kind === 'mark-masq'
        ? 'jump KUBE-MARK-MASQ: mark 0x4000 for SNAT in POSTROUTING'
        : target.kind === 'dnat'
          ? `DNAT to ${target.endpoint.address}${target.recentSet ? ` (client recorded in recent list ${target.recentSet})` : ''}`
          : 'comment only: continue';
  if (match.kind === 'random')
    return `random draw below ${match.probability} (kernel threshold ${savedProbability(match.probability)}): matched, ${to}`;
  if (match.kind === 'recent') return `client seen within ${match.seconds}s (ClientIP affinity): ${to}`;
  if (match.kind === 'cluster-ip')
    return match.notLocal ? `source outside ${match.notLocal.text} (off-cluster): ${to}` : `masqueradeAll: ${to}`;
  if (match.kind === 'src-cidr') return `source in ${match.cidr.text}: ${to}`;
  if (match.kind === 'src-ip') return `source is ${match.ip}: ${to}`;
  if (match.kind === 'src-local') return `source is a local address: ${to}`;
  return to;
}

function missStep(where: string, text: string, match: Match): Step {
  let decision = 'not matched';
  if (match.kind === 'random') decision = `random draw not below ${match.probability}: not matched`;
  else if (match.kind === 'recent') decision = `client not in ${match.list} within ${match.seconds}s: not matched`;
  else if (match.kind === 'cluster-ip')
    // One step text serves every packet that misses this rule (steps are built once per rule), so it names both
    // reasons: a packet that reached the chain through a NodePort, LB or external IP is not addressed to the ClusterIP.
    decision = match.notLocal
      ? `not matched: not addressed to ${hostPort(match.ip, match.port)}, or the source is inside ${match.notLocal.text} (pod traffic): no masquerade here`
      : `not matched: not addressed to ${hostPort(match.ip, match.port)}`;
  else if (match.kind === 'src-cidr') decision = `source not in ${match.cidr.text}: not matched`;
  else if (match.kind === 'src-ip') decision = `source is not ${match.ip}: not matched`;
  else if (match.kind === 'src-local') decision = 'source is not a local address: not matched';
  const step: Step = { where, rule: text, decision };
  return match.kind === 'random' ? { ...step, probability: Number(match.probability) } : step;
}

export interface CompiledChain {
  readonly name: string;
  readonly rules: readonly ChainRule[];
}

/** A nat KUBE-SERVICES rule: `-d ip --dport port -p proto` → chain. */
export interface EntryRule {
  readonly kind: 'cluster IP' | 'external IP' | 'loadbalancer IP';
  readonly ip: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly target: string;
  readonly text: string;
}

/** A nat KUBE-NODEPORTS rule: `[-d 127.0.0.0/8] --dport nodePort -p proto` → KUBE-EXT-*. */
export interface NodePortRule {
  readonly loopbackOnly: boolean;
  readonly port: number;
  readonly protocol: Protocol;
  readonly target: string;
  readonly text: string;
}

/** A filter-table rule of one Service (KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS, KUBE-PROXY-FIREWALL). */
export interface FilterRule {
  readonly chain: 'KUBE-SERVICES' | 'KUBE-EXTERNAL-SERVICES' | 'KUBE-NODEPORTS' | 'KUBE-PROXY-FIREWALL';
  /** `-d ip`, or null for a NodePort rule (`-m addrtype --dst-type LOCAL`) or a health-check port. */
  readonly ip: string | null;
  readonly port: number;
  readonly protocol: Protocol;
  readonly verdict: 'REJECT' | 'DROP' | 'ACCEPT';
  readonly text: string;
  readonly step: Step;
}
