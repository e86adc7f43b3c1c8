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
import { COMMENT, type IpvsIpsets, nodePortComment, nodePortMember, setName } from './ipsets.js';
import type { VirtualServerSpec } from './virtual-servers.js';

/** The source-independent part of the nat walk for one virtual server. */
export interface MasqPlan {
  readonly version: number;
  /**
   * Every decision the plan makes, as bits (PlanBit): what a new flow reads instead of the plan, which its virtual
   * server copies beside its other per-flow fields. The plan object itself, more than a cache line, is then reached
   * only for trace steps and on rare paths: reaching it cost a new flow a quarter of its time on a node with 10,000
   * Services.
   */
  readonly bits: number;
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
  /** KUBE-SERVICES's jump to KUBE-LOAD-BALANCER, then the rule there that decides. */
  readonly lb?: { readonly jump: Step; readonly step: Step; readonly mark: boolean };
  /** The destination is in KUBE-CLUSTER-IP. */
  readonly clusterDst: boolean;
  readonly clusterAll?: Step;
  readonly clusterOffCluster?: Step;
  readonly clusterFromPods?: Step;
  /** The rule that marks VIP-sourced node traffic (no detector, no masquerade-all). */
  readonly clusterSrcDst?: Step;
  /**
   * KUBE-EXTERNAL-IP(-LOCAL): the MARK step (the -LOCAL set has none), whether it marks, then the ACCEPT that ends the
   * walk: writeIptablesRules' externalIPRules writes two, one for traffic from off the machine (not bridged, not
   * from a local address), one for a local destination.
   */
  readonly external?: {
    readonly step: Step | null;
    readonly mark: boolean;
    readonly acceptOutside: Step;
    readonly acceptLocal: Step;
  };
  /** KUBE-NODE-PORT (only for local destinations). */
  readonly nodePort?: { readonly step: Step; readonly mark: boolean };
}

/** The bits of `MasqPlan.bits`: which parts the plan has, and what each decides. */
export const PlanBit = {
  LB: 1 << 0,
  LB_MARK: 1 << 1,
  CLUSTER_DST: 1 << 2,
  CLUSTER_ALL: 1 << 3,
  CLUSTER_OFF_CLUSTER: 1 << 4,
  CLUSTER_SRC_DST: 1 << 5,
  EXTERNAL: 1 << 6,
  EXTERNAL_MARK: 1 << 7,
  NODE_PORT: 1 << 8,
  NODE_PORT_MARK: 1 << 9,
  SOURCE_RANGES: 1 << 10,
  ASYMMETRIC: 1 << 11,
  IPV6: 1 << 12,
} as const;

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
    bits: 0,
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
    const jump: Step = {
      where: 'nat/KUBE-SERVICES',
      rule: `-A KUBE-SERVICES -m comment --comment "${COMMENT.lb}" -m set --match-set ${setName('KUBE-LOAD-BALANCER', f)} dst,dst -j KUBE-LOAD-BALANCER`,
      decision: 'jump KUBE-LOAD-BALANCER',
    };
    plan.lb = spec.localPolicy
      ? {
          jump,
          mark: false,
          step: {
            where: 'nat/KUBE-LOAD-BALANCER',
            rule: `-A KUBE-LOAD-BALANCER -m comment --comment "${COMMENT.lbLocal}" -m set --match-set ${setName('KUBE-LOAD-BALANCER-LOCAL', f)} dst,dst -j RETURN`,
            decision: 'RETURN: externalTrafficPolicy=Local, source kept',
          },
        }
      : {
          jump,
          mark: true,
          step: {
            where: 'nat/KUBE-LOAD-BALANCER',
            rule: '-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ',
            decision: 'mark for masquerade',
          },
        };
  }
  const base = `-A KUBE-SERVICES -m comment --comment "${COMMENT.clusterIP}" -m set --match-set ${setName('KUBE-CLUSTER-IP', f)}`;
  const detector = sets.detectorFor(f);
  if (sets.masqueradeAll) {
    plan.clusterAll = {
      where: 'nat/KUBE-SERVICES',
      rule: `${base} dst,dst -j KUBE-MARK-MASQ`,
      decision: 'mark for masquerade (--masquerade-all)',
    };
  } else if (detector !== undefined) {
    const rule = `${base} dst,dst ! -s ${detector.text} -j KUBE-MARK-MASQ`;
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
    const local = spec.localPolicy;
    const set = `-A KUBE-SERVICES -m comment --comment "${local ? COMMENT.externalIPLocal : COMMENT.externalIP}" -m set --match-set ${setName(local ? 'KUBE-EXTERNAL-IP-LOCAL' : 'KUBE-EXTERNAL-IP', f)} dst,dst`;
    const kept = local ? ': externalTrafficPolicy=Local, source kept' : '';
    plan.external = {
      mark: !local,
      step: local
        ? null
        : { where: 'nat/KUBE-SERVICES', rule: `${set} -j KUBE-MARK-MASQ`, decision: 'mark for masquerade' },
      acceptOutside: {
        where: 'nat/KUBE-SERVICES',
        rule: `${set} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`,
        decision: `ACCEPT: traffic from off the machine${kept}`,
      },
      acceptLocal: {
        where: 'nat/KUBE-SERVICES',
        rule: `${set} -m addrtype --dst-type LOCAL -j ACCEPT`,
        decision: `ACCEPT: the external IP is local (${sets.isBound(spec.addr) ? 'bound to kube-ipvs0' : 'a node address'})${kept}`,
      },
    };
  }
  if (dstLocal) {
    const m = nodePortMember(spec.proto, spec.addr, spec.port, spec.family);
    const proto = spec.proto.toLowerCase();
    // SCTP's sets are hash:ip,port, named and described as such (the bitmap:port ones are legacy there).
    const sctp = spec.proto === 'SCTP';
    const match = sctp ? 'dst,dst' : 'dst';
    const hashed = sctp ? '-HASH' : '';
    if (sets.inNodePortLocal(m)) {
      plan.nodePort = {
        mark: false,
        step: {
          where: 'nat/KUBE-NODE-PORT',
          rule: `-A KUBE-NODE-PORT -p ${proto} -m comment --comment "${nodePortComment(spec.proto, true)}" -m set --match-set ${setName(`KUBE-NODE-PORT-LOCAL-${spec.proto}${hashed}`, f)} ${match} -j RETURN`,
          decision: 'RETURN: externalTrafficPolicy=Local, source kept',
        },
      };
    } else if (sets.inNodePort(m)) {
      plan.nodePort = {
        mark: true,
        step: {
          where: 'nat/KUBE-NODE-PORT',
          rule: `-A KUBE-NODE-PORT -p ${proto} -m comment --comment "${nodePortComment(spec.proto, false)}" -m set --match-set ${setName(`KUBE-NODE-PORT-${spec.proto}${hashed}`, f)} ${match} -j KUBE-MARK-MASQ`,
          decision: 'mark for masquerade',
        },
      };
    }
  }
  plan.bits = planBits(plan);
  return plan;
}

/** `MasqPlan.bits`, read off the plan's own fields (so the two cannot disagree). */
function planBits(plan: MasqPlan): number {
  const B = PlanBit;
  let bits = 0;
  if (plan.lb) bits |= B.LB | (plan.lb.mark ? B.LB_MARK : 0);
  if (plan.clusterDst) bits |= B.CLUSTER_DST;
  if (plan.clusterAll) bits |= B.CLUSTER_ALL;
  if (plan.clusterOffCluster) bits |= B.CLUSTER_OFF_CLUSTER;
  if (plan.clusterSrcDst) bits |= B.CLUSTER_SRC_DST;
  if (plan.external) bits |= B.EXTERNAL | (plan.external.mark ? B.EXTERNAL_MARK : 0);
  if (plan.nodePort) bits |= B.NODE_PORT | (plan.nodePort.mark ? B.NODE_PORT_MARK : 0);
  if (plan.sourceRanges) bits |= B.SOURCE_RANGES;
  if (plan.asymmetric) bits |= B.ASYMMETRIC;
  if (plan.family === 'IPv6') bits |= B.IPV6;
  return bits;
}

/** Whether a source address (its text and `addressKey`) is loopback: 127.0.0.0/8 (tested by value) or ::1. */
export function isLoopbackSource(srcIP: string, srcKey: number): boolean {
  return isIPv4Key(srcKey) ? srcKey >>> 24 === 127 : isLoopback(srcIP);
}

/**
 * Walk the plan for one packet source (its text and `addressKey`: canonical IPv4 is tested by value); returns whether
 * the packet is marked, and pushes the steps that decided onto `steps` when given. The decisions are read from the
 * plan's `bits`; the plan itself is reached only for its steps (and for a VIP-sourced packet's set lookup).
 */
export function applyPlan(
  sets: IpvsIpsets,
  bits: number,
  plan: MasqPlan,
  srcIP: string,
  srcKey: number,
  steps: Step[] | null,
  fromOutside = false,
): boolean {
  const B = PlanBit;
  const v4 = isIPv4Key(srcKey);
  if (isLoopbackSource(srcIP, srcKey)) {
    steps?.push(LOOPBACK[plan.family]);
    return false;
  }
  let mark = false;
  if ((bits & B.LB) !== 0) {
    steps?.push(plan.lb!.jump, plan.lb!.step);
    mark = (bits & B.LB_MARK) !== 0;
  }
  if ((bits & B.CLUSTER_ALL) !== 0) {
    if ((bits & B.CLUSTER_DST) !== 0) {
      steps?.push(plan.clusterAll!);
      mark = true;
    }
  } else if ((bits & B.CLUSTER_OFF_CLUSTER) !== 0) {
    if ((bits & B.CLUSTER_DST) !== 0) {
      const family: IPFamily = (bits & B.IPV6) !== 0 ? 'IPv6' : 'IPv4';
      // CLUSTER_OFF_CLUSTER is set only where this family has a detector.
      const d = sets.detectorFor(family)!;
      const fromPods = v4 ? d.containsV4(srcKey) : d.matches(srcIP);
      steps?.push(fromPods ? plan.clusterFromPods! : plan.clusterOffCluster!);
      if (!fromPods) mark = true;
    }
  } else if (
    (bits & B.CLUSTER_SRC_DST) !== 0 &&
    sets.isBound(srcIP) &&
    sets.inClusterIP(`${srcIP} ${plan.proto} ${plan.port}`)
  ) {
    steps?.push(plan.clusterSrcDst!);
    mark = true;
  }
  if ((bits & B.EXTERNAL) !== 0) {
    if (steps !== null) {
      const external = plan.external!;
      if (external.step !== null) steps.push(external.step);
      steps.push(fromOutside ? external.acceptOutside : external.acceptLocal);
    }
    return mark || (bits & B.EXTERNAL_MARK) !== 0; // the ACCEPT rules end the chain
  }
  if ((bits & B.NODE_PORT) !== 0) {
    steps?.push(plan.nodePort!.step);
    if ((bits & B.NODE_PORT_MARK) !== 0) mark = true;
  }
  return mark;
}

/**
 * KUBE-POSTROUTING for the DNATed packet: hairpin (KUBE-LOOP-BACK) or the mark → MASQUERADE, the latter with
 * `--random-fully` when kube-proxy uses it (writeIptablesRules adds it there only).
 */
export function postroutingStep(
  family: IPFamily,
  hairpin: boolean,
  mark: string,
  snatIp: string | null,
  randomFully: boolean,
): Step {
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
    rule: `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${randomFully ? ' --random-fully' : ''}`,
    decision: `MASQUERADE (mark ${mark} set)${to}`,
  };
}
