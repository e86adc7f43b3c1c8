/**
 * What one Service port adds to the chains all Services share: nat KUBE-SERVICES (its ClusterIP, externalIP and LB
 * IP rules) and KUBE-NODEPORTS, and the filter table's KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS and
 * KUBE-PROXY-FIREWALL rules. Written in upstream's order and text.
 */
import type { IPFamily } from '../../model/types.js';
import type { Step } from '../engine.js';
import type { RuleContext } from './context.js';
import type { ServicePlan } from './plan.js';
import type { EntryRule, FilterRule, NodePortRule } from './rule-types.js';

export interface SharedRules {
  readonly entryRules: EntryRule[];
  readonly nodePortRules: NodePortRule[];
  readonly filterRules: FilterRule[];
}

export function sharedRules(plan: ServicePlan, ctx: RuleContext): SharedRules {
  const info = plan.entry.info;
  const { spn, names, m, hasEndpoints, hasInternalEndpoints, hasExternalEndpoints, usesFirewallChain } = plan;
  const { internalChain, lbChain, internalFilter, externalFilter, filterComment } = plan;
  const entryRules: EntryRule[] = [];
  const nodePortRules: NodePortRule[] = [];
  const filterRules: FilterRule[] = [];
  const filter = (
    chain: FilterRule['chain'],
    ip: string | null,
    port: number,
    verdict: FilterRule['verdict'],
    text: string,
    protocol = info.protocol,
  ) =>
    filterRules.push({ chain, ip, port, protocol, verdict, text, step: filterStep(chain, text, verdict, info.family) });
  const entryRule = (kind: EntryRule['kind'], ip: string, target: string) =>
    entryRules.push({
      kind,
      ip,
      port: info.port,
      protocol: info.protocol,
      target,
      text: `-A KUBE-SERVICES -m comment --comment "${spn} ${kind}" ${m} -d ${ip} --dport ${info.port} -j ${target}`,
    });

  // ClusterIP.
  if (hasInternalEndpoints) entryRule('cluster IP', info.clusterIP, internalChain);
  else
    filter(
      'KUBE-SERVICES',
      info.clusterIP,
      info.port,
      internalFilter!,
      `-A KUBE-SERVICES -m comment --comment ${filterComment} ${m} -d ${info.clusterIP} --dport ${info.port} -j ${internalFilter}`,
    );
  // externalIPs: no addrtype restriction; they need not be local addresses.
  for (const ip of info.externalIPs) {
    if (hasEndpoints) entryRule('external IP', ip, names.external);
    if (!hasExternalEndpoints)
      filter(
        'KUBE-EXTERNAL-SERVICES',
        ip,
        info.port,
        externalFilter!,
        `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${filterComment} ${m} -d ${ip} --dport ${info.port} -j ${externalFilter}`,
      );
  }
  // LoadBalancer ingress IPs.
  for (const ip of info.loadBalancerVIPs) {
    if (hasEndpoints) entryRule('loadbalancer IP', ip, lbChain);
    if (usesFirewallChain)
      filter(
        'KUBE-PROXY-FIREWALL',
        ip,
        info.port,
        'DROP',
        `-A KUBE-PROXY-FIREWALL -m comment --comment "${spn} traffic not accepted by ${names.firewall}" ${m} -d ${ip} --dport ${info.port} -j DROP`,
      );
  }
  if (!hasExternalEndpoints)
    for (const ip of info.loadBalancerVIPs)
      filter(
        'KUBE-EXTERNAL-SERVICES',
        ip,
        info.port,
        externalFilter!,
        `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${filterComment} ${m} -d ${ip} --dport ${info.port} -j ${externalFilter}`,
      );
  // NodePorts: not subject to loadBalancerSourceRanges (upstream: "for better or for worse").
  if (info.nodePort !== 0) {
    if (hasEndpoints) {
      if (ctx.localhostNodePorts)
        nodePortRules.push({
          loopbackOnly: true,
          port: info.nodePort,
          protocol: info.protocol,
          target: names.external,
          text: `-A KUBE-NODEPORTS -m comment --comment ${spn} ${m} -d 127.0.0.0/8 --dport ${info.nodePort} -m nfacct --nfacct-name localhost_nps_accepted_pkts -j ${names.external}`,
        });
      nodePortRules.push({
        loopbackOnly: false,
        port: info.nodePort,
        protocol: info.protocol,
        target: names.external,
        text: `-A KUBE-NODEPORTS -m comment --comment ${spn} ${m} --dport ${info.nodePort} -j ${names.external}`,
      });
    }
    if (!hasExternalEndpoints)
      filter(
        'KUBE-EXTERNAL-SERVICES',
        null,
        info.nodePort,
        externalFilter!,
        `-A KUBE-EXTERNAL-SERVICES -m comment --comment ${filterComment} -m addrtype --dst-type LOCAL ${m} --dport ${info.nodePort} -j ${externalFilter}`,
      );
  }
  // Health-check NodePort: accepted whether or not this node has local endpoints (the answer carries that).
  if (info.healthCheckNodePort !== 0)
    filter(
      'KUBE-NODEPORTS',
      null,
      info.healthCheckNodePort,
      'ACCEPT',
      `-A KUBE-NODEPORTS -m comment --comment "${spn} health check node port" -m tcp -p tcp --dport ${info.healthCheckNodePort} -j ACCEPT`,
      'TCP',
    );

  return { entryRules, nodePortRules, filterRules };
}

// REJECT's default answer is the family's port-unreachable: icmp-port-unreachable, or icmp6-port-unreachable.
function filterStep(chain: string, text: string, verdict: string, family: IPFamily): Step {
  const decision =
    verdict === 'REJECT'
      ? `REJECT (${family === 'IPv6' ? 'icmp6' : 'icmp'} port-unreachable): the Service has no endpoints`
      : verdict === 'DROP'
        ? 'DROP'
        : 'ACCEPT (health-check port)';
  return { where: `filter/${chain}`, rule: text, decision };
}
