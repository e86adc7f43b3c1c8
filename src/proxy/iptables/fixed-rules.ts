/**
 * The rules kube-proxy writes independently of Services (KUBE-POSTROUTING, KUBE-MARK-MASQ, KUBE-FORWARD,
 * KUBE-FIREWALL, the NodePort jump at the end of nat KUBE-SERVICES), and the base-chain jumps it ensures in the
 * built-in chains (iptablesJumpChains; each is prepended, so a built-in chain lists them in reverse order).
 */
import type { Step } from '../engine.js';
import { OUTPUT_SERVICES_JUMP, PREROUTING_SERVICES_JUMP } from '../nat-entry.js';
import type { RuleContext } from './context.js';

export const NODEPORTS_COMMENT = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';

/** The nat KUBE-SERVICES tail: one `--dst-type LOCAL` rule, or one `-d ip` rule per NodePort address. */
export function nodePortJumpRules(ctx: RuleContext): string[] {
  if (ctx.nodePortsMatchAll) {
    let dest = '-m addrtype --dst-type LOCAL';
    // Localhost NodePorts never work for IPv6, and for IPv4 only with route_localnet (set when enabled).
    if (ctx.family === 'IPv6') dest += ' ! -d ::1/128';
    else if (!ctx.localhostNodePorts) dest += ' ! -d 127.0.0.0/8';
    return [`-A KUBE-SERVICES -m comment --comment ${NODEPORTS_COMMENT} ${dest} -j KUBE-NODEPORTS`];
  }
  return ctx.nodePortIPs.map(
    (ip) => `-A KUBE-SERVICES -m comment --comment ${NODEPORTS_COMMENT} -d ${ip} -j KUBE-NODEPORTS`,
  );
}

export function markMasqRule(ctx: RuleContext): string {
  return `-A KUBE-MARK-MASQ -j MARK --or-mark ${ctx.mark}`;
}

export function postroutingRules(ctx: RuleContext): [string, string, string] {
  const random = ctx.config.randomFully ? ' --random-fully' : '';
  return [
    `-A KUBE-POSTROUTING -m mark ! --mark ${ctx.mark}/${ctx.mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${ctx.mark}`,
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${random}`,
  ];
}

/** KUBE-FORWARD's first rule, unless nf_conntrack_tcp_be_liberal is set (iptables mode only: IPVS mode has none). */
export const INVALID_DROP_RULE =
  '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP';

/** The mark rule of KUBE-FORWARD (what a masqueraded packet's trace shows). */
export function forwardMarkRule(ctx: RuleContext): string {
  return `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${ctx.mark}/${ctx.mark} -j ACCEPT`;
}

export function forwardRules(ctx: RuleContext): string[] {
  const rules = [
    forwardMarkRule(ctx),
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ];
  // INVALID packets would reach the client un-NATed and trigger a reset (#74839): dropped first, unless
  // nf_conntrack_tcp_be_liberal is set (kube-proxy's tcpBeLiberal), when conntrack marks only out-of-window RSTs
  // INVALID and kube-proxy leaves the rule out.
  return ctx.config.tcpBeLiberal ? rules : [INVALID_DROP_RULE, ...rules];
}

/** The CVE-2020-8558 guard, present when localhost NodePorts are on (IPv4). */
export const LOCALNET_GUARD_RULE =
  '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP';

/** Base-chain jump rules, by `table/CHAIN`, in the order a node lists them. */
export const BASE_JUMPS: Readonly<Record<string, readonly string[]>> = {
  'nat/PREROUTING': [PREROUTING_SERVICES_JUMP],
  'nat/OUTPUT': [OUTPUT_SERVICES_JUMP],
  'nat/POSTROUTING': ['-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'],
  'filter/INPUT': [
    '-A INPUT -j KUBE-FIREWALL',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  ],
  'filter/FORWARD': [
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
  ],
  'filter/OUTPUT': [
    '-A OUTPUT -j KUBE-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
  ],
};

/** A step for a base-chain jump (allocated once per rule text). */
const jumpSteps = new Map<string, Step>();
export function baseJumpStep(where: string, rule: string): Step {
  let step = jumpSteps.get(rule);
  if (!step) {
    step = { where, rule, decision: `jump ${rule.slice(rule.lastIndexOf(' ') + 1)}` };
    jumpSteps.set(rule, step);
  }
  return step;
}
