/**
 * `iptables-save` / `ip6tables-save` text for kube-proxy's chains, byte for byte in the shape kube-proxy's own tests
 * compare against (proxier_test.go, after its sortIPTablesRules): `*filter` then `*nat`; in each table KUBE-NODEPORTS
 * and KUBE-SERVICES first, then every other chain alphabetically; Services in `ns/name` order inside the shared
 * chains; the NodePort jump last in nat KUBE-SERVICES; probabilities as kube-proxy writes them (`%0.10f`).
 *
 * With `{ builtin: true }` the built-in chains (PREROUTING, INPUT, …) and the jumps kube-proxy ensures in them are
 * included, as `iptables-save` on a node also prints them.
 */

import { blockName, blockRules, chainBlock, sortBlocks } from './chain-block.js';
import type { CompiledService } from './compile.js';
import {
  BASE_JUMPS,
  forwardRules,
  LOCALNET_GUARD_RULE,
  markMasqRule,
  nodePortJumpRules,
  postroutingRules,
} from './fixed-rules.js';
import type { FilterChainName, RuleSet } from './ruleset.js';

export interface RenderOptions {
  /** Also print the built-in chains and kube-proxy's jumps in them. */
  readonly builtin?: boolean;
}

export function renderIptablesSave(ruleset: RuleSet, options: RenderOptions = {}): string {
  const ctx = ruleset.context;
  const services = ruleset.services();
  const out: string[] = [];
  const builtin = options.builtin === true;
  const guard = ctx.family === 'IPv4' && ctx.localhostNodePorts;

  // ---- filter
  out.push('*filter');
  if (builtin) out.push(':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]');
  out.push(':KUBE-NODEPORTS - [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-EXTERNAL-SERVICES - [0:0]');
  // kube-proxy's restore data declares KUBE-FIREWALL only with its guard rule; the chain itself, and the INPUT and
  // OUTPUT jumps to it, are ensured on every full sync, so the full view (`builtin`) always has them.
  if (guard || builtin) out.push(':KUBE-FIREWALL - [0:0]');
  out.push(':KUBE-FORWARD - [0:0]', ':KUBE-PROXY-FIREWALL - [0:0]');
  if (builtin)
    for (const key of ['filter/INPUT', 'filter/FORWARD', 'filter/OUTPUT'])
      for (const r of BASE_JUMPS[key]!) out.push(r);
  for (const chain of ['KUBE-NODEPORTS', 'KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES'] as FilterChainName[])
    pushFilter(out, services, chain);
  if (guard) out.push(LOCALNET_GUARD_RULE);
  out.push(...forwardRules(ctx));
  pushFilter(out, services, 'KUBE-PROXY-FIREWALL');
  out.push('COMMIT');

  // ---- nat
  out.push('*nat');
  if (builtin)
    out.push(':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]');
  // Chains sorted by name, each chain a block of text (chain-block.ts) so that the built-in sort orders them.
  const blocks = [
    chainBlock('KUBE-MARK-MASQ', [markMasqRule(ctx)]),
    chainBlock('KUBE-POSTROUTING', postroutingRules(ctx)),
  ];
  for (const svc of services) for (const b of svc.chainBlocks()) blocks.push(b);
  const sorted = sortBlocks(blocks);
  out.push(':KUBE-NODEPORTS - [0:0]', ':KUBE-SERVICES - [0:0]');
  for (const b of sorted) out.push(`:${blockName(b)} - [0:0]`);
  if (builtin) for (const key of ['nat/PREROUTING', 'nat/OUTPUT', 'nat/POSTROUTING']) out.push(...BASE_JUMPS[key]!);
  for (const svc of services) for (const r of svc.nodePortRules) out.push(r.text);
  for (const svc of services) for (const r of svc.entryRules) out.push(r.text);
  out.push(...nodePortJumpRules(ctx));
  for (const b of sorted) {
    const rules = blockRules(b);
    if (rules !== '') out.push(rules);
  }
  out.push('COMMIT');
  return `${out.join('\n')}\n`;
}

function pushFilter(out: string[], services: readonly CompiledService[], chain: FilterChainName): void {
  for (const svc of services) for (const r of svc.filterRules) if (r.chain === chain) out.push(r.text);
}
