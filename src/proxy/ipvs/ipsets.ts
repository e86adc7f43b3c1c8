/**
 * The ipsets and the few iptables rules IPVS mode installs around the kernel's IPVS table, and the packet decisions
 * they make (pkg/proxy/ipvs/proxier.go writeIptablesRules, ipsetWithIptablesChain; ipset names in ipset.go, with the
 * `KUBE-6-` prefix for IPv6 sets):
 *
 * nat KUBE-SERVICES, in order:
 *   1. `-s 127.0.0.0/8 -j RETURN` (`::1/128` for IPv6): loopback-sourced packets are never marked.
 *   2. KUBE-LOAD-BALANCER set (dst,dst) → chain KUBE-LOAD-BALANCER: entries of KUBE-LOAD-BALANCER-LOCAL (eTP=Local)
 *      RETURN; everything else → KUBE-MARK-MASQ.
 *   3. KUBE-CLUSTER-IP (dst,dst) → KUBE-MARK-MASQ: every packet with --masquerade-all; else `! -s <clusterCIDR>` when
 *      the family has a local-traffic detector (its first clusterCIDR); else only packets whose *source* is a
 *      ClusterIP:port (`src,dst`), the node talking to a VIP from the VIP itself.
 *   4. KUBE-EXTERNAL-IP (dst,dst) → KUBE-MARK-MASQ, then ACCEPT; KUBE-EXTERNAL-IP-LOCAL (eTP=Local) → ACCEPT.
 *   5. `-m addrtype --dst-type LOCAL -j KUBE-NODE-PORT`: the destination *port* in KUBE-NODE-PORT-LOCAL-<proto> →
 *      RETURN, else in KUBE-NODE-PORT-<proto> → KUBE-MARK-MASQ. (SCTP sets hold ip,port: KUBE-NODE-PORT-SCTP-HASH.)
 * nat KUBE-POSTROUTING: KUBE-LOOP-BACK (dst,dst,src: a local endpoint talking to itself) → MASQUERADE; marked
 *   packets → MASQUERADE.
 * filter KUBE-PROXY-FIREWALL (INPUT, FORWARD): KUBE-LOAD-BALANCER-FW → KUBE-SOURCE-RANGES-FIREWALL, which RETURNs for
 *   a source in KUBE-LOAD-BALANCER-SOURCE-CIDR, or the LB IP itself when a range contains the node IP
 *   (KUBE-LOAD-BALANCER-SOURCE-IP), and DROPs the rest. The node's own packets never pass INPUT or FORWARD on their
 *   way to an endpoint (IPVS schedules them at LOCAL_OUT), so the ranges do not apply to them.
 * filter KUBE-IPVS-OUT-FILTER (OUTPUT): for each LB IP with source ranges none of which contains the node IP,
 *   `-s <LB IP> -m ipvs --vaddr <LB IP> --vproto <proto> --vport <port> -j DROP`: the node reaching its LB IP sends
 *   from that IP (it is bound on kube-ipvs0), and is refused as the ranges would refuse it (kubernetes#119656).
 * filter KUBE-IPVS-FILTER (INPUT): a NEW connection to an address bound on kube-ipvs0 (KUBE-IPVS-IPS) on a port no
 *   Service set lists (nor a health-check node port) → REJECT.
 */
import type { IPFamily, Protocol } from '../../model/types.js';
import type { Step } from '../engine.js';
import { type CidrMatcher, cidrMatcher } from '../ip-match.js';
import type { VirtualServerSpec } from './virtual-servers.js';

export const COMMENT = {
  loopBack: 'Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose',
  clusterIP: 'Kubernetes service cluster ip + port for masquerade purpose',
  externalIP: 'Kubernetes service external ip + port for masquerade and filter purpose',
  externalIPLocal: 'Kubernetes service external ip + port with externalTrafficPolicy=local',
  lb: 'Kubernetes service lb portal',
  lbLocal: 'Kubernetes service load balancer ip + port with externalTrafficPolicy=local',
  lbFW: 'Kubernetes service load balancer ip + port for load balancer with sourceRange',
  lbSourceCIDR: 'Kubernetes service load balancer ip + port + source cidr for packet filter purpose',
  lbSourceIP: 'Kubernetes service load balancer ip + port + source IP for packet filter purpose',
} as const;

/**
 * The comment of a KUBE-NODE-PORT set (ipset.go), by protocol and policy: SCTP's sets are hash:ip,port and say so.
 */
export function nodePortComment(proto: Protocol, local: boolean): string {
  const purpose = local ? 'with externalTrafficPolicy=local' : 'for masquerade purpose';
  return `Kubernetes nodeport ${proto} port ${purpose}${proto === 'SCTP' ? " with type 'hash ip:port'" : ''}`;
}

/**
 * ipset name for a family: IPv6 sets are `KUBE-6-…`, cut to ipset's 31 characters (NewIPSet in kube-proxy's
 * ipset.go), so `KUBE-6-LOAD-BALANCER-SOURCE-CID`.
 */
export function setName(base: string, family: IPFamily): string {
  return family === 'IPv6' ? base.replace(/^KUBE-/, 'KUBE-6-').slice(0, 31) : base;
}

/**
 * The member a NodePort virtual server puts in its KUBE-NODE-PORT sets: the port alone (TCP and UDP: bitmap:port
 * sets), or the node address with it (SCTP: hash:ip,port sets, KUBE-NODE-PORT-SCTP-HASH). Each family's proxier has
 * sets of its own (KUBE-6-NODE-PORT-TCP…), so a port-only member carries its family: an IPv4 Service's NodePort is
 * not in the IPv6 sets.
 */
export function nodePortMember(proto: string, addr: string, port: number, family: IPFamily): string {
  return proto === 'SCTP' ? `${addr} ${proto} ${port}` : `${family} ${proto} ${port}`;
}

/** A refcounted multiset: several virtual servers can put the same member in a set. */
class Members {
  readonly #counts = new Map<string, number>();
  add(m: string): void {
    this.#counts.set(m, (this.#counts.get(m) ?? 0) + 1);
  }
  remove(m: string): void {
    const n = (this.#counts.get(m) ?? 0) - 1;
    if (n <= 0) this.#counts.delete(m);
    else this.#counts.set(m, n);
  }
  has(m: string): boolean {
    return this.#counts.has(m);
  }
}

/** The ipset contents kube-proxy keeps in step with its virtual servers. */
export class IpvsIpsets {
  readonly #clusterIP = new Members();
  readonly #externalIP = new Members();
  readonly #externalIPLocal = new Members();
  readonly #nodePort = new Members();
  readonly #nodePortLocal = new Members();
  readonly #healthCheck = new Members();
  /** KUBE-IPVS-IPS, part one: ClusterIPs, always bound to kube-ipvs0. */
  readonly #clusterBound = new Members();
  /**
   * Part two: externalIPs and LB IPs, bound unless the node has the address itself. Which of them are node
   * addresses is decided when asked (`#nodeAddrs` of now), not when they were added: kube-proxy rebuilds the set on
   * every sync, so an address the node gains or loses leaves or joins it then.
   */
  readonly #externalBound = new Members();
  #nodeAddrs: ReadonlySet<string> = new Set();
  /** The local-traffic detector of each family: the first `clusterCIDR` of that family (server.go getLocalDetectors). */
  readonly #detectors = new Map<IPFamily, CidrMatcher>();
  readonly #masqueradeAll: boolean;
  #version = 0;
  /** LoadBalancer virtual servers with source ranges: while there are none, established packets meet no firewall. */
  #rangedLoadBalancers = 0;

  constructor(clusterCIDR: string, masqueradeAll: boolean) {
    for (const part of clusterCIDR.split(',')) {
      if (part.trim() === '') continue;
      const matcher = cidrMatcher(part);
      if (!this.#detectors.has(matcher.family)) this.#detectors.set(matcher.family, matcher);
    }
    this.#masqueradeAll = masqueradeAll;
  }

  /** The node's own addresses changed (a full resync follows). */
  setNodeAddresses(addresses: ReadonlySet<string>): void {
    this.#version++;
    this.#nodeAddrs = addresses;
  }

  /** Add (+1) or remove (−1) the members one virtual server contributes. */
  apply(spec: VirtualServerSpec, delta: 1 | -1): void {
    this.#version++;
    const op = (m: Members, v: string) => (delta > 0 ? m.add(v) : m.remove(v));
    const ipPort = `${spec.addr} ${spec.proto} ${spec.port}`;
    switch (spec.kind) {
      case 'ClusterIP':
        op(this.#clusterIP, ipPort);
        op(this.#clusterBound, spec.addr);
        break;
      case 'ExternalIP':
        op(spec.localPolicy ? this.#externalIPLocal : this.#externalIP, ipPort);
        op(this.#externalBound, spec.addr);
        break;
      case 'LoadBalancer':
        op(this.#externalBound, spec.addr);
        if (spec.sourceRanges.length > 0) this.#rangedLoadBalancers += delta;
        break;
      case 'NodePort': {
        const m = nodePortMember(spec.proto, spec.addr, spec.port, spec.family);
        op(this.#nodePort, m);
        if (spec.localPolicy) op(this.#nodePortLocal, m);
        break;
      }
    }
  }

  /** Health-check node ports (KUBE-HEALTH-CHECK-NODE-PORT, KUBE-6-HEALTH-CHECK-NODE-PORT: one set per family). */
  applyHealthCheck(port: number, family: IPFamily, delta: 1 | -1): void {
    if (port === 0) return;
    this.#version++;
    if (delta > 0) this.#healthCheck.add(`${family} ${port}`);
    else this.#healthCheck.remove(`${family} ${port}`);
  }

  /** Whether an address is bound to kube-ipvs0 (and so "local" to the node). */
  isBound(ip: string): boolean {
    return this.#clusterBound.has(ip) || (this.#externalBound.has(ip) && !this.#nodeAddrs.has(ip));
  }

  /**
   * KUBE-IPVS-FILTER for a NEW packet that matched no virtual server: REJECT when its destination is bound to
   * kube-ipvs0 and its port is not a health-check node port; undefined otherwise.
   */
  ipvsFilter(dstIP: string, dstPort: number, family: IPFamily): Step | undefined {
    if (!this.isBound(dstIP) || this.#healthCheck.has(`${family} ${dstPort}`)) return undefined;
    return {
      where: 'filter/KUBE-IPVS-FILTER',
      rule: `-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${setName('KUBE-IPVS-IPS', family)} dst -j REJECT`,
      decision: `REJECT: ${dstIP} is bound to kube-ipvs0 but port ${dstPort} is no Service port`,
    };
  }

  /** KUBE-PROXY-FIREWALL → KUBE-SOURCE-RANGES-FIREWALL for a LoadBalancer virtual server with source ranges. */
  sourceRangeFirewall(spec: VirtualServerSpec, srcIP: string): Step | undefined {
    if (spec.kind !== 'LoadBalancer' || spec.sourceRanges.length === 0) return undefined;
    const fw = setName('KUBE-LOAD-BALANCER-FW', spec.family);
    const allowed = spec.sourceRanges.find((r) => r.matches(srcIP));
    if (allowed) {
      return {
        where: 'filter/KUBE-SOURCE-RANGES-FIREWALL',
        rule: `-A KUBE-SOURCE-RANGES-FIREWALL -m comment --comment "${COMMENT.lbSourceCIDR}" -m set --match-set ${setName('KUBE-LOAD-BALANCER-SOURCE-CIDR', spec.family)} dst,dst,src -j RETURN`,
        decision: `RETURN: ${srcIP} is in ${allowed.text}`,
      };
    }
    if (spec.allowFromNode && srcIP === spec.addr) {
      return {
        where: 'filter/KUBE-SOURCE-RANGES-FIREWALL',
        rule: `-A KUBE-SOURCE-RANGES-FIREWALL -m comment --comment "${COMMENT.lbSourceIP}" -m set --match-set ${setName('KUBE-LOAD-BALANCER-SOURCE-IP', spec.family)} dst,dst,src -j RETURN`,
        decision: 'RETURN: traffic sourced from the LB IP (a source range contains the node IP)',
      };
    }
    return {
      where: 'filter/KUBE-SOURCE-RANGES-FIREWALL',
      rule: `-A KUBE-PROXY-FIREWALL -m comment --comment "${COMMENT.lbFW}" -m set --match-set ${fw} dst,dst -j KUBE-SOURCE-RANGES-FIREWALL; -A KUBE-SOURCE-RANGES-FIREWALL -j DROP`,
      decision: `DROP: ${srcIP} is in none of ${rangesText(spec)}`,
    };
  }

  /**
   * The node's own packet to a LoadBalancer virtual server with source ranges: KUBE-IPVS-OUT-FILTER drops it when it
   * is sent from the LB IP and no range contains the node IP; otherwise nothing filters it (see the file's comment).
   */
  nodeOutputFilter(spec: VirtualServerSpec, srcIP: string): Step | undefined {
    if (spec.kind !== 'LoadBalancer' || spec.sourceRanges.length === 0) return undefined;
    if (!spec.allowFromNode && srcIP === spec.addr) {
      return {
        where: 'filter/KUBE-IPVS-OUT-FILTER',
        rule: `-A KUBE-IPVS-OUT-FILTER -s ${spec.addr} -m ipvs --vaddr ${spec.addr} --vproto ${spec.proto.toLowerCase()} --vport ${spec.port} -j DROP`,
        decision: `DROP: the node sends to its LB IP from the LB IP, and none of ${rangesText(spec)} contains the node IP`,
      };
    }
    return {
      where: 'filter/OUTPUT',
      rule: '-A OUTPUT -m comment --comment "kubernetes ipvs access filter" -j KUBE-IPVS-OUT-FILTER',
      decision: `no KUBE-IPVS-OUT-FILTER rule matches: loadBalancerSourceRanges (${rangesText(spec)}) are checked in INPUT and FORWARD, which the node's own packets do not pass`,
    };
  }

  /** Bumped on every membership change: cached masquerade plans compare against it. */
  get version(): number {
    return this.#version;
  }

  /** Whether some LoadBalancer virtual server has source ranges (KUBE-LOAD-BALANCER-FW is not empty). */
  get hasSourceRanges(): boolean {
    return this.#rangedLoadBalancers > 0;
  }

  get masqueradeAll(): boolean {
    return this.#masqueradeAll;
  }

  /**
   * A family's local-traffic detector (`--cluster-cidr`), or undefined when no CIDR of that family is configured. Each
   * family's proxier has its own, built from that family's first CIDR; a second CIDR of a family is not used.
   */
  detectorFor(family: IPFamily): CidrMatcher | undefined {
    return this.#detectors.get(family);
  }

  /** Membership tests, members spelled `ip proto port` (ip,port sets) or `proto port` (bitmap:port sets). */
  inClusterIP(member: string): boolean {
    return this.#clusterIP.has(member);
  }

  inNodePort(member: string): boolean {
    return this.#nodePort.has(member);
  }

  inNodePortLocal(member: string): boolean {
    return this.#nodePortLocal.has(member);
  }
}

/** A virtual server's source ranges as a trace prints them. */
function rangesText(spec: VirtualServerSpec): string {
  return spec.sourceRanges.map((r) => r.text).join(', ');
}
