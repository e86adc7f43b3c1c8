/**
 * One Service port → its iptables rules, following kube-proxy's syncProxyRules (pkg/proxy/iptables/proxier.go) rule
 * for rule: which chains exist, which rules each holds, in which order, with which text.
 *
 * Decisions, as upstream makes them (the comments in the code say why each exists):
 * - internal traffic (ClusterIP) goes to KUBE-SVC (KUBE-SVL with iTP=Local); with no usable endpoints the filter
 *   table REJECTs it ("has no endpoints"), or DROPs it under iTP=Local without local endpoints;
 * - external traffic (NodePort, externalIPs, LB IPs) goes through KUBE-EXT, which masquerades (eTP=Cluster) or
 *   short-circuits pod and node traffic and sends the rest to KUBE-SVL (eTP=Local); LB IPs with source ranges go
 *   through KUBE-FW first;
 * - every reachable endpoint gets a KUBE-SEP chain: hairpin masquerade, then DNAT (recording ClientIP affinity).
 */
import type { Protocol } from '../../model/types.js';
import type { EndpointInfo } from '../endpoints.js';
import type { Step } from '../engine.js';
import { type CidrMatcher, cidrMatcher } from '../ip-match.js';
import type { ServicePortEntry } from '../service-table.js';
import { type ServiceChainNames, lowerProtocol, serviceChainNames } from './chain-names.js';
import type { RuleContext } from './context.js';
import { computeProbability, kernelThreshold } from './probability.js';
import {
  ChainRule,
  type CompiledChain,
  type EntryRule,
  type FilterRule,
  type Match,
  type NodePortRule,
  type Target,
} from './rule-types.js';

/** Everything one Service port contributes to the node's rules. */
export interface CompiledService {
  readonly entry: ServicePortEntry;
  readonly names: ServiceChainNames;
  readonly hasEndpoints: boolean;
  readonly hasInternalEndpoints: boolean;
  readonly hasExternalEndpoints: boolean;
  /** nat KUBE-SERVICES rules, in order (cluster IP, external IPs, LB IPs). */
  readonly entryRules: readonly EntryRule[];
  /** nat KUBE-NODEPORTS rules (localhost rule first). */
  readonly nodePortRules: readonly NodePortRule[];
  /** filter rules, per chain, in order. */
  readonly filterRules: readonly FilterRule[];
  /** The Service's own nat chains (KUBE-EXT/FW/SVC/SVL/SEP) by name, in creation order. */
  readonly chains: ReadonlyMap<string, CompiledChain>;
  /** Total endpoints (all conditions), for kube-proxy's large-cluster-mode threshold. */
  readonly endpointCount: number;
}

/** Names of SEP chains are hashes; they are cached per (Service port, protocol, endpoint) across recompiles. */
export type SepNamer = (servicePortName: string, protocol: Protocol, endpoint: string) => string;

/**
 * Compile one Service port. `largeClusterMode` drops the per-endpoint comments as kube-proxy does above 1000
 * endpoints on the node's table.
 */
export function compileService(
  entry: ServicePortEntry,
  ctx: RuleContext,
  sepName: SepNamer,
  largeClusterMode: boolean,
): CompiledService {
  const info = entry.info;
  const cat = entry.categorized;
  const spn = info.name;
  const proto = lowerProtocol(info.protocol);
  const names = serviceChainNames(spn, info.protocol);
  const m = `-m ${proto} -p ${proto}`;
  const clusterEndpoints = cat.cluster ?? [];
  const localEndpoints = cat.local ?? [];
  const hasEndpoints = cat.hasAnyEndpoints;

  const usesClusterPolicyChain = clusterEndpoints.length > 0 && info.usesClusterEndpoints;
  const usesLocalPolicyChain = localEndpoints.length > 0 && info.usesLocalEndpoints;
  const internalChain = info.internalPolicyLocal ? names.local : names.cluster;
  const hasInternalEndpoints = hasEndpoints && !(info.internalPolicyLocal && localEndpoints.length === 0);
  const externalPolicyChain = info.externalPolicyLocal ? names.local : names.cluster;
  const hasExternalEndpoints = hasEndpoints && !(info.externalPolicyLocal && localEndpoints.length === 0);
  // The EXT chain is needed whenever there are endpoints anywhere: its short-circuit rules serve pod and node
  // traffic even when this node has no local endpoint for external traffic.
  const usesExternalChain = hasEndpoints && info.externallyAccessible;
  const usesFirewallChain =
    hasEndpoints && info.loadBalancerVIPs.length > 0 && info.loadBalancerSourceRanges.length > 0;
  const lbChain = usesFirewallChain ? names.firewall : names.external;

  let internalFilter: FilterRule['verdict'] | null = null;
  let externalFilter: FilterRule['verdict'] | null = null;
  let filterComment = '';
  if (!hasEndpoints) {
    internalFilter = externalFilter = 'REJECT';
    filterComment = `"${spn} has no endpoints"`;
  } else {
    if (!hasInternalEndpoints) internalFilter = 'DROP';
    if (!hasExternalEndpoints) externalFilter = 'DROP';
    filterComment = `"${spn} has no local endpoints"`;
  }

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
  ) => filterRules.push({ chain, ip, port, protocol, verdict, text, step: filterStep(chain, text, verdict) });
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

  const chains = new Map<string, ChainRule[]>();
  const add = (chain: string, rule: ChainRule) => {
    let rules = chains.get(chain);
    if (!rules) {
      rules = [];
      chains.set(chain, rules);
    }
    rules.push(rule);
  };
  // Chain creation order as upstream writes them (EXT, FW, SVC, SVL, SEPs); rendering sorts them anyway.
  if (usesExternalChain) chains.set(names.external, []);
  if (usesFirewallChain) chains.set(names.firewall, []);
  if (usesClusterPolicyChain) chains.set(names.cluster, []);
  if (usesLocalPolicyChain) chains.set(names.local, []);

  // ClusterIP masquerade: off-cluster sources (per the local detector), or everything with --masquerade-all. The
  // idea upstream: a static route for the Service range to any node lets outsiders in, and the reply must come back.
  if (hasInternalEndpoints && (ctx.config.masqueradeAll || ctx.localDetector)) {
    const base = `-A ${internalChain} -m comment --comment "${spn} cluster IP" ${m} -d ${info.clusterIP} --dport ${info.port}`;
    const notLocal = ctx.config.masqueradeAll ? null : ctx.localDetector;
    add(
      internalChain,
      rule(
        notLocal ? `${base} ! -s ${notLocal.text} -j KUBE-MARK-MASQ` : `${base} -j KUBE-MARK-MASQ`,
        { kind: 'cluster-ip', ip: info.clusterIP, port: info.port, notLocal },
        { kind: 'mark-masq' },
      ),
    );
  }

  if (usesExternalChain) {
    const ext = names.external;
    if (!info.externalPolicyLocal) {
      // Endpoints may be on other nodes: masquerade so replies come back through this node.
      add(
        ext,
        rule(
          `-A ${ext} -m comment --comment "masquerade traffic for ${spn} external destinations" -j KUBE-MARK-MASQ`,
          ALWAYS,
          MARK_MASQ,
        ),
      );
    } else {
      // Pod → external destination acts as if it went out to the LB and back: neither policy applies.
      if (ctx.localDetector)
        add(
          ext,
          rule(
            `-A ${ext} -m comment --comment "pod traffic for ${spn} external destinations" -s ${ctx.localDetector.text} -j ${names.cluster}`,
            { kind: 'src-cidr', cidr: ctx.localDetector },
            { kind: 'jump', chain: names.cluster },
          ),
        );
      // Node-originated traffic: its source would be the LB IP itself (a local address), so masquerade it ...
      add(
        ext,
        rule(
          `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
          SRC_LOCAL,
          MARK_MASQ,
        ),
      );
      // ... and send it to the cluster-wide chain.
      add(
        ext,
        rule(
          `-A ${ext} -m comment --comment "route LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${names.cluster}`,
          SRC_LOCAL,
          { kind: 'jump', chain: names.cluster },
        ),
      );
    }
    if (hasExternalEndpoints)
      add(ext, rule(`-A ${ext} -j ${externalPolicyChain}`, ALWAYS, { kind: 'jump', chain: externalPolicyChain }));
  }

  if (usesFirewallChain) {
    const fw = names.firewall;
    const head = `-A ${fw} -m comment --comment "${spn} loadbalancer IP"`;
    let allowFromNode = false;
    for (const range of info.loadBalancerSourceRanges) {
      const cidr = cidrOf(range);
      add(
        fw,
        rule(
          `${head} -s ${range} -j ${names.external}`,
          { kind: 'src-cidr', cidr },
          { kind: 'jump', chain: names.external },
        ),
      );
      if (ctx.nodeIP && cidr.matches(ctx.nodeIP)) allowFromNode = true;
    }
    // The node reaching its own LB IP loops back with the LB IP as source: let that in when the node is allowed.
    if (allowFromNode)
      for (const ip of info.loadBalancerVIPs)
        add(
          fw,
          rule(
            `${head} -s ${ip} -j ${names.external}`,
            { kind: 'src-ip', ip },
            { kind: 'jump', chain: names.external },
          ),
        );
    // Falling off the end means "not DNATed": filter KUBE-PROXY-FIREWALL drops it.
    add(
      fw,
      rule(
        `-A ${fw} -m comment --comment "other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL"`,
        ALWAYS,
        NONE,
      ),
    );
  }

  const affinity = info.affinityTimeoutSeconds;
  const writeToEndpoints = (chain: string, endpoints: readonly EndpointInfo[]) => {
    if (affinity !== null)
      for (const ep of endpoints) {
        const sep = sepName(spn, info.protocol, ep.address);
        const comment = largeClusterMode ? '' : ` -m comment --comment "${spn} -> ${ep.address}"`;
        add(
          chain,
          rule(
            `-A ${chain}${comment} -m recent --name ${sep} --rcheck --seconds ${affinity} --reap -j ${sep}`,
            { kind: 'recent', list: sep, seconds: affinity },
            { kind: 'jump', chain: sep },
          ),
        );
      }
    const n = endpoints.length;
    endpoints.forEach((ep, i) => {
      const sep = sepName(spn, info.protocol, ep.address);
      const comment = largeClusterMode ? '' : ` -m comment --comment "${spn} -> ${ep.address}"`;
      if (i < n - 1) {
        const p = computeProbability(n - i);
        add(
          chain,
          rule(
            `-A ${chain}${comment} -m statistic --mode random --probability ${p} -j ${sep}`,
            { kind: 'random', probability: p, threshold: kernelThreshold(p) },
            { kind: 'jump', chain: sep },
          ),
        );
      } else add(chain, rule(`-A ${chain}${comment} -j ${sep}`, ALWAYS, { kind: 'jump', chain: sep }));
    });
  };
  if (usesClusterPolicyChain) writeToEndpoints(names.cluster, clusterEndpoints);
  if (usesLocalPolicyChain) writeToEndpoints(names.local, localEndpoints);

  for (const ep of cat.allReachable) {
    const sep = sepName(spn, info.protocol, ep.address);
    chains.set(sep, []);
    const head = largeClusterMode ? `-A ${sep}` : `-A ${sep} -m comment --comment ${spn}`;
    // Hairpin: an endpoint reaching its own Service and landing on itself must see another source.
    add(sep, rule(`${head} -s ${ep.ip} -j KUBE-MARK-MASQ`, { kind: 'src-ip', ip: ep.ip }, MARK_MASQ));
    const recent = affinity !== null ? ` -m recent --name ${sep} --set` : '';
    add(
      sep,
      rule(`${head}${recent} ${m} -j DNAT --to-destination ${ep.address}`, ALWAYS, {
        kind: 'dnat',
        endpoint: ep,
        recentSet: affinity !== null ? sep : null,
      }),
    );
  }

  const compiled = new Map<string, CompiledChain>();
  for (const [name, rules] of chains) compiled.set(name, { name, rules });
  return {
    entry,
    names,
    hasEndpoints,
    hasInternalEndpoints,
    hasExternalEndpoints,
    entryRules,
    nodePortRules,
    filterRules,
    chains: compiled,
    endpointCount: entry.endpoints.length,
  };
}

const ALWAYS: Match = { kind: 'always' };
const SRC_LOCAL: Match = { kind: 'src-local' };
const MARK_MASQ: Target = { kind: 'mark-masq' };
const NONE: Target = { kind: 'none' };

function rule(text: string, match: Match, target: Target): ChainRule {
  return new ChainRule(text, match, target);
}

function filterStep(chain: string, text: string, verdict: string): Step {
  const decision =
    verdict === 'REJECT'
      ? 'REJECT (icmp port-unreachable): the Service has no endpoints'
      : verdict === 'DROP'
        ? 'DROP'
        : 'ACCEPT (health-check port)';
  return { where: `filter/${chain}`, rule: text, decision };
}

const cidrCache = new Map<string, CidrMatcher>();
function cidrOf(text: string): CidrMatcher {
  let c = cidrCache.get(text);
  if (!c) {
    c = cidrMatcher(text);
    cidrCache.set(text, c);
  }
  return c;
}
