/**
 * IPVS mode's masquerade decisions (the nat rules listed in ipsets.ts), split for speed: what depends only on the
 * virtual server (which sets its address:port is in, whether its address is local) is compiled once into a plan and
 * kept until the ipsets change; per packet only the source is examined (loopback, the cluster-CIDR detector, a
 * VIP source) and precomputed trace steps are pushed.
 */
import type { IPFamily, Protocol } from '../../model/types.js';
import type { Step } from '../engine.js';
import { isLoopback } from '../ip-match.js';
import { isIPv4Key } from '../tuple-table.js';
import { COMMENT, type IpvsIpsets, nodePortMember, setName } from './ipsets.js';
import type { VirtualServerSpec } from './virtual-servers.js';

/** The source-independent part of the nat walk for one virtual server. */
export interface MasqPlan {
  readonly version: number;
  /**
   * What a new flow reads of the spec, copied here so that it reads one object, not two: the Service port's name,
   * whether source ranges apply, and whether external traffic goes to remote endpoints without SNAT (Local policy
   * without a local endpoint).
   */
  readonly service: string;
  readonly sourceRanges: boolean;
  readonly asymmetric: boolean;
  readonly family: IPFamily;
  readonly proto: Protocol;
  readonly port: number;
  /** KUBE-LOAD-BALANCER: the step and whether it marks. */
  readonly lb?: { readonly step: Step; readonly mark: boolean };
  /** The destination is in KUBE-CLUSTER-IP. */
  readonly clusterDst: boolean;
  readonly clusterAll?: Step;
  readonly clusterOffCluster?: Step;
  readonly clusterFromPods?: Step;
  /** The rule that marks VIP-sourced node traffic (no detector, no masquerade-all). */
  readonly clusterSrcDst?: Step;
  /** KUBE-EXTERNAL-IP(-LOCAL): the step, whether it marks; the ACCEPT that follows ends the walk. */
  readonly external?: { readonly step: Step; readonly mark: boolean };
  /** KUBE-NODE-PORT (only for local destinations). */
  readonly nodePort?: { readonly step: Step; readonly mark: boolean };
}

const LOOPBACK: Record<IPFamily, Step> = {
  IPv4: {
    where: 'nat/KUBE-SERVICES',
    rule: '-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN',
    decision: 'RETURN: loopback-sourced packets are never marked',
  },
  IPv6: {
    where: 'nat/KUBE-SERVICES',
    rule: '-A KUBE-SERVICES -s ::1/128 -j RETURN',
    decision: 'RETURN: loopback-sourced packets are never marked',
  },
};

/** Compile the plan of one virtual server whose destination is (`dstLocal`) or is not a local address. */
export function buildPlan(sets: IpvsIpsets, spec: VirtualServerSpec, dstLocal: boolean): MasqPlan {
  const f = spec.family;
  const plan: { -readonly [K in keyof MasqPlan]: MasqPlan[K] } = {
    version: sets.version,
    service: spec.service,
    sourceRanges: spec.sourceRanges.length > 0,
    asymmetric: spec.localFallback && spec.kind !== 'ClusterIP',
    family: f,
    proto: spec.proto,
    port: spec.port,
    clusterDst: sets.inClusterIP(`${spec.addr} ${spec.proto} ${spec.port}`),
    // Every field present from the start, so all live inside the plan object (fields added later would sit in a
    // separate property store: one more cache miss per new flow).
    lb: undefined,
    clusterAll: undefined,
    clusterOffCluster: undefined,
    clusterFromPods: undefined,
    clusterSrcDst: undefined,
    external: undefined,
    nodePort: undefined,
  };
  if (spec.kind === 'LoadBalancer') {
    plan.lb = spec.localPolicy
      ? {
          mark: false,
          step: {
            where: 'nat/KUBE-LOAD-BALANCER',
            rule: `-A KUBE-LOAD-BALANCER -m comment --comment "${COMMENT.lbLocal}" -m set --match-set ${setName('KUBE-LOAD-BALANCER-LOCAL', f)} dst,dst -j RETURN`,
            decision: 'RETURN: externalTrafficPolicy=Local, source kept',
          },
        }
      : {
          mark: true,
          step: {
            where: 'nat/KUBE-LOAD-BALANCER',
            rule: `-A KUBE-SERVICES -m comment --comment "${COMMENT.lb}" -m set --match-set ${setName('KUBE-LOAD-BALANCER', f)} dst,dst -j KUBE-LOAD-BALANCER; -A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ`,
            decision: 'mark for masquerade',
          },
        };
  }
  const base = `-A KUBE-SERVICES -m comment --comment "${COMMENT.clusterIP}" -m set --match-set ${setName('KUBE-CLUSTER-IP', f)}`;
  if (sets.masqueradeAll) {
    plan.clusterAll = {
      where: 'nat/KUBE-SERVICES',
      rule: `${base} dst,dst -j KUBE-MARK-MASQ`,
      decision: 'mark for masquerade (--masquerade-all)',
    };
  } else if (sets.detector.length > 0) {
    const rule = `${base} dst,dst ! -s ${sets.clusterCIDRText} -j KUBE-MARK-MASQ`;
    plan.clusterOffCluster = {
      where: 'nat/KUBE-SERVICES',
      rule,
      decision: 'mark for masquerade: source outside the cluster CIDR',
    };
    plan.clusterFromPods = { where: 'nat/KUBE-SERVICES', rule, decision: 'no match: the source is pod traffic' };
  } else {
    plan.clusterSrcDst = {
      where: 'nat/KUBE-SERVICES',
      rule: `${base} src,dst -j KUBE-MARK-MASQ`,
      decision: 'mark for masquerade: the node reaches a VIP from the VIP itself',
    };
  }
  if (spec.kind === 'ExternalIP') {
    plan.external = spec.localPolicy
      ? {
          mark: false,
          step: {
            where: 'nat/KUBE-SERVICES',
            rule: `-A KUBE-SERVICES -m comment --comment "${COMMENT.externalIPLocal}" -m set --match-set ${setName('KUBE-EXTERNAL-IP-LOCAL', f)} dst,dst -j ACCEPT`,
            decision: 'ACCEPT: externalTrafficPolicy=Local, source kept',
          },
        }
      : {
          mark: true,
          step: {
            where: 'nat/KUBE-SERVICES',
            rule: `-A KUBE-SERVICES -m comment --comment "${COMMENT.externalIP}" -m set --match-set ${setName('KUBE-EXTERNAL-IP', f)} dst,dst -j KUBE-MARK-MASQ`,
            decision: 'mark for masquerade',
          },
        };
  }
  if (dstLocal) {
    const m = nodePortMember(spec.proto, spec.addr, spec.port);
    const proto = spec.proto.toLowerCase();
    // SCTP's sets are hash:ip,port, named and described as such (the bitmap:port ones are legacy there).
    const sctp = spec.proto === 'SCTP';
    const match = sctp ? 'dst,dst' : 'dst';
    const hashed = sctp ? '-HASH' : '';
    const typed = sctp ? " with type 'hash ip:port'" : '';
    if (sets.inNodePortLocal(m)) {
      plan.nodePort = {
        mark: false,
        step: {
          where: 'nat/KUBE-NODE-PORT',
          rule: `-A KUBE-NODE-PORT -p ${proto} -m comment --comment "Kubernetes nodeport ${spec.proto} port with externalTrafficPolicy=local${typed}" -m set --match-set ${setName(`KUBE-NODE-PORT-LOCAL-${spec.proto}${hashed}`, f)} ${match} -j RETURN`,
          decision: 'RETURN: externalTrafficPolicy=Local, source kept',
        },
      };
    } else if (sets.inNodePort(m)) {
      plan.nodePort = {
        mark: true,
        step: {
          where: 'nat/KUBE-NODE-PORT',
          rule: `-A KUBE-NODE-PORT -p ${proto} -m comment --comment "Kubernetes nodeport ${spec.proto} port for masquerade purpose${typed}" -m set --match-set ${setName(`KUBE-NODE-PORT-${spec.proto}${hashed}`, f)} ${match} -j KUBE-MARK-MASQ`,
          decision: 'mark for masquerade',
        },
      };
    }
  }
  return plan;
}

/**
 * Walk the plan for one packet source (its text and `addressKey`: canonical IPv4 is tested by value); pushes the
 * steps that decided and returns whether the packet is marked.
 */
export function applyPlan(sets: IpvsIpsets, plan: MasqPlan, srcIP: string, srcKey: number, steps: Step[]): boolean {
  const v4 = isIPv4Key(srcKey);
  if (v4 ? srcKey >>> 24 === 127 : isLoopback(srcIP)) {
    steps.push(LOOPBACK[plan.family]);
    return false;
  }
  let mark = false;
  if (plan.lb) {
    steps.push(plan.lb.step);
    mark = plan.lb.mark;
  }
  if (plan.clusterAll) {
    if (plan.clusterDst) {
      steps.push(plan.clusterAll);
      mark = true;
    }
  } else if (plan.clusterOffCluster) {
    if (plan.clusterDst) {
      let fromPods = false;
      for (const d of sets.detector)
        if (d.family === plan.family && (v4 ? d.containsV4(srcKey) : d.matches(srcIP))) fromPods = true;
      steps.push(fromPods ? plan.clusterFromPods! : plan.clusterOffCluster);
      if (!fromPods) mark = true;
    }
  } else if (plan.clusterSrcDst && sets.isBound(srcIP) && sets.inClusterIP(`${srcIP} ${plan.proto} ${plan.port}`)) {
    steps.push(plan.clusterSrcDst);
    mark = true;
  }
  if (plan.external) {
    steps.push(plan.external.step);
    return mark || plan.external.mark; // the ACCEPT rules that follow end the chain
  }
  if (plan.nodePort) {
    steps.push(plan.nodePort.step);
    if (plan.nodePort.mark) mark = true;
  }
  return mark;
}

/** KUBE-POSTROUTING for the DNATed packet: hairpin (KUBE-LOOP-BACK) or the mark → MASQUERADE. */
export function postroutingStep(family: IPFamily, hairpin: boolean, mark: string, snatIp: string | null): Step {
  const to = `: source becomes ${snatIp ?? '(no node address)'}`;
  if (hairpin) {
    return {
      where: 'nat/KUBE-POSTROUTING',
      rule: `-A KUBE-POSTROUTING -m comment --comment "${COMMENT.loopBack}" -m set --match-set ${setName('KUBE-LOOP-BACK', family)} dst,dst,src -j MASQUERADE`,
      decision: `MASQUERADE: hairpin, the endpoint reached itself through the Service${to}`,
    };
  }
  return {
    where: 'nat/KUBE-POSTROUTING',
    rule: '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE',
    decision: `MASQUERADE (mark ${mark} set)${to}`,
  };
}
