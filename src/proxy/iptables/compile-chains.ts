/**
 * One Service port's own nat chains: KUBE-EXT (masquerade or eTP=Local short-circuits), KUBE-FW (source ranges),
 * KUBE-SVC / KUBE-SVL (ClusterIP masquerade, ClientIP affinity checks, the random cascade) and one KUBE-SEP per
 * reachable endpoint (hairpin masquerade, then DNAT). Rules in upstream's order and text.
 */
import type { Protocol } from '../../model/types.js';
import type { EndpointInfo } from '../endpoints.js';
import { type CidrMatcher, cidrMatcher } from '../ip-match.js';
import type { RuleContext } from './context.js';
import type { ServicePlan } from './plan.js';
import { computeProbability, kernelThreshold } from './probability.js';
import { ChainRule, type Match, type Target } from './rule-types.js';

/** Names of SEP chains are hashes; they are cached per (Service port, protocol, endpoint) across recompiles. */
export type SepNamer = (servicePortName: string, protocol: Protocol, endpoint: string) => string;

/** The Service port's chains by name, in creation order (EXT, FW, SVC, SVL, SEPs). */
export function serviceChains(
  plan: ServicePlan,
  ctx: RuleContext,
  sepName: SepNamer,
  largeClusterMode: boolean,
  withText = true,
): Map<string, ChainRule[]> {
  const info = plan.entry.info;
  const cat = plan.entry.categorized;
  const { spn, names, m, hasInternalEndpoints, hasExternalEndpoints, internalChain, externalPolicyChain } = plan;
  const { usesExternalChain, usesFirewallChain, usesClusterPolicyChain, usesLocalPolicyChain } = plan;
  const clusterEndpoints = cat.cluster ?? [];
  const localEndpoints = cat.local ?? [];
  const w = new ChainWriter(plan, sepName, largeClusterMode, withText);
  const chains = w.chains;
  // Chain creation order as upstream writes them (EXT, FW, SVC, SVL, SEPs); rendering sorts them anyway.
  if (usesExternalChain) chains.set(names.external, []);
  if (usesFirewallChain) chains.set(names.firewall, []);
  if (usesClusterPolicyChain) chains.set(names.cluster, []);
  if (usesLocalPolicyChain) chains.set(names.local, []);

  // ClusterIP masquerade: off-cluster sources (per the local detector), or everything with --masquerade-all. The
  // idea upstream: a static route for the Service range to any node lets outsiders in, and the reply must come back.
  if (hasInternalEndpoints && (ctx.config.masqueradeAll || ctx.localDetector)) {
    const notLocal = ctx.config.masqueradeAll ? null : ctx.localDetector;
    w.add(
      internalChain,
      rule(
        withText &&
          (() =>
            `-A ${internalChain} -m comment --comment "${spn} cluster IP" ${m} -d ${info.clusterIP} --dport ${info.port}${notLocal ? ` ! -s ${notLocal.text}` : ''} -j KUBE-MARK-MASQ`),
        { kind: 'cluster-ip', ip: info.clusterIP, port: info.port, notLocal },
        { kind: 'mark-masq' },
      ),
    );
  }

  if (usesExternalChain) {
    const ext = names.external;
    if (!info.externalPolicyLocal) {
      // Endpoints may be on other nodes: masquerade so replies come back through this node.
      w.add(
        ext,
        rule(
          withText &&
            (() =>
              `-A ${ext} -m comment --comment "masquerade traffic for ${spn} external destinations" -j KUBE-MARK-MASQ`),
          ALWAYS,
          MARK_MASQ,
        ),
      );
    } else {
      // Pod → external destination acts as if it went out to the LB and back: neither policy applies.
      const detector = ctx.localDetector;
      if (detector)
        w.add(
          ext,
          rule(
            withText &&
              (() =>
                `-A ${ext} -m comment --comment "pod traffic for ${spn} external destinations" -s ${detector.text} -j ${names.cluster}`),
            { kind: 'src-cidr', cidr: detector },
            { kind: 'jump', chain: names.cluster },
          ),
        );
      // Node-originated traffic: its source would be the LB IP itself (a local address), so masquerade it ...
      w.add(
        ext,
        rule(
          withText &&
            (() =>
              `-A ${ext} -m comment --comment "masquerade LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`),
          SRC_LOCAL,
          MARK_MASQ,
        ),
      );
      // ... and send it to the cluster-wide chain.
      w.add(
        ext,
        rule(
          withText &&
            (() =>
              `-A ${ext} -m comment --comment "route LOCAL traffic for ${spn} external destinations" -m addrtype --src-type LOCAL -j ${names.cluster}`),
          SRC_LOCAL,
          { kind: 'jump', chain: names.cluster },
        ),
      );
    }
    if (hasExternalEndpoints)
      w.add(
        ext,
        rule(withText && (() => `-A ${ext} -j ${externalPolicyChain}`), ALWAYS, {
          kind: 'jump',
          chain: externalPolicyChain,
        }),
      );
  }

  if (usesFirewallChain) {
    const fw = names.firewall;
    let allowFromNode = false;
    for (const range of info.loadBalancerSourceRanges) {
      const cidr = cidrOf(range);
      w.add(
        fw,
        rule(
          withText && (() => `-A ${fw} -m comment --comment "${spn} loadbalancer IP" -s ${range} -j ${names.external}`),
          { kind: 'src-cidr', cidr },
          { kind: 'jump', chain: names.external },
        ),
      );
      if (cidr.matches(ctx.proxierNodeIP)) allowFromNode = true;
    }
    // The node reaching its own LB IP loops back with the LB IP as source: let that in when the node is allowed.
    if (allowFromNode)
      for (const ip of info.loadBalancerVIPs)
        w.add(
          fw,
          rule(
            withText && (() => `-A ${fw} -m comment --comment "${spn} loadbalancer IP" -s ${ip} -j ${names.external}`),
            { kind: 'src-ip', ip },
            { kind: 'jump', chain: names.external },
          ),
        );
    // Falling off the end means "not DNATed": filter KUBE-PROXY-FIREWALL drops it.
    w.add(
      fw,
      rule(
        withText &&
          (() => `-A ${fw} -m comment --comment "other traffic to ${spn} will be dropped by KUBE-PROXY-FIREWALL"`),
        ALWAYS,
        NONE,
      ),
    );
  }

  const affinity = info.affinityTimeoutSeconds;
  if (usesClusterPolicyChain) w.toEndpoints(names.cluster, clusterEndpoints);
  if (usesLocalPolicyChain) w.toEndpoints(names.local, localEndpoints);

  for (const ep of cat.allReachable) {
    const sep = w.sepOf(ep);
    chains.set(sep, []);
    // Hairpin: an endpoint reaching its own Service and landing on itself must see another source.
    w.add(
      sep,
      rule(
        withText && (() => `${sepHead(sep, spn, largeClusterMode)} -s ${ep.ip} -j KUBE-MARK-MASQ`),
        { kind: 'src-ip', ip: ep.ip },
        MARK_MASQ,
      ),
    );
    w.add(
      sep,
      rule(
        withText &&
          (() =>
            `${sepHead(sep, spn, largeClusterMode)}${affinity !== null ? ` -m recent --name ${sep} --set` : ''} ${m} -j DNAT --to-destination ${ep.address}`),
        ALWAYS,
        {
          kind: 'dnat',
          endpoint: ep,
          recentSet: affinity !== null ? sep : null,
        },
      ),
    );
  }

  return chains;
}

/** A rule; its text is built only when a thunk is given (the rule program's compile passes none). */
function rule(text: false | (() => string), match: Match, target: Target): ChainRule {
  return new ChainRule(text ? text() : '', match, target);
}

function sepHead(sep: string, spn: string, largeClusterMode: boolean): string {
  return largeClusterMode ? `-A ${sep}` : `-A ${sep} -m comment --comment ${spn}`;
}

/**
 * The chains being written and the per-compile state the rules share. A class rather than closures inside
 * serviceChains: tsx (esbuild keepNames) wraps every named closure in a defineProperty call, which ten thousand
 * Services × a dozen closures made a tenth of a cold build.
 */
class ChainWriter {
  readonly chains = new Map<string, ChainRule[]>();
  /** Each endpoint's KUBE-SEP name, looked up once per compile (the cascade and the SEP chain both need it). */
  #seps: Map<EndpointInfo, string> | null = null;

  constructor(
    private readonly plan: ServicePlan,
    private readonly sepName: SepNamer,
    private readonly largeClusterMode: boolean,
    private readonly withText: boolean,
  ) {}

  add(chain: string, r: ChainRule): void {
    let rules = this.chains.get(chain);
    if (!rules) {
      rules = [];
      this.chains.set(chain, rules);
    }
    rules.push(r);
  }

  comment(ep: EndpointInfo): string {
    return this.largeClusterMode ? '' : ` -m comment --comment "${this.plan.spn} -> ${ep.address}"`;
  }

  /**
   * Without texts the SEP chain is only a jump target, so its key is the endpoint address (no hash; it cannot clash
   * with a KUBE- name); with ClientIP affinity the name is also the recent list's, a runtime identity, so it is always
   * real.
   */
  sepOf(ep: EndpointInfo): string {
    const info = this.plan.entry.info;
    if (!this.withText && info.affinityTimeoutSeconds === null) return ep.address;
    this.#seps ??= new Map();
    let name = this.#seps.get(ep);
    if (name === undefined) {
      name = this.sepName(this.plan.spn, info.protocol, ep.address);
      this.#seps.set(ep, name);
    }
    return name;
  }

  /** KUBE-SVC / KUBE-SVL: affinity checks, then the random cascade to the endpoints' SEP chains. */
  toEndpoints(chain: string, endpoints: readonly EndpointInfo[]): void {
    const affinity = this.plan.entry.info.affinityTimeoutSeconds;
    const withText = this.withText;
    if (affinity !== null)
      for (const ep of endpoints) {
        const sep = this.sepOf(ep);
        this.add(
          chain,
          rule(
            withText &&
              (() =>
                `-A ${chain}${this.comment(ep)} -m recent --name ${sep} --rcheck --seconds ${affinity} --reap -j ${sep}`),
            { kind: 'recent', list: sep, seconds: affinity },
            { kind: 'jump', chain: sep },
          ),
        );
      }
    const n = endpoints.length;
    for (let i = 0; i < n; i++) {
      const ep = endpoints[i]!;
      const sep = this.sepOf(ep);
      if (i < n - 1) {
        const p = computeProbability(n - i);
        this.add(
          chain,
          rule(
            withText &&
              (() => `-A ${chain}${this.comment(ep)} -m statistic --mode random --probability ${p} -j ${sep}`),
            randomMatch(p),
            { kind: 'jump', chain: sep },
          ),
        );
      } else
        this.add(
          chain,
          rule(withText && (() => `-A ${chain}${this.comment(ep)} -j ${sep}`), ALWAYS, { kind: 'jump', chain: sep }),
        );
    }
  }
}

/** `-m statistic` matches, one per probability: every Service's cascade uses the same few. */
const randomMatches = new Map<string, Match>();
function randomMatch(probability: string): Match {
  let m = randomMatches.get(probability);
  if (m === undefined) {
    m = { kind: 'random', probability, threshold: kernelThreshold(probability) };
    randomMatches.set(probability, m);
  }
  return m;
}

const ALWAYS: Match = { kind: 'always' };
const SRC_LOCAL: Match = { kind: 'src-local' };
const MARK_MASQ: Target = { kind: 'mark-masq' };
const NONE: Target = { kind: 'none' };

const cidrCache = new Map<string, CidrMatcher>();
function cidrOf(text: string): CidrMatcher {
  let c = cidrCache.get(text);
  if (!c) {
    c = cidrMatcher(text);
    cidrCache.set(text, c);
  }
  return c;
}
