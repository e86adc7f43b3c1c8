import { type NatRecord, natRecord } from '../conntrack-store.js';
import type { Step, Verdict } from '../engine.js';
import { FlowVerdict, untrackedFlow } from '../flow-verdict.js';
import { isLoopback } from '../ip-match.js';
import { familyOf, keyOf, type Packet } from '../packet.js';
import { applyPlan, buildPlan, PlanBit, postroutingStep } from './masquerade.js';
import type { Dest, SchedulerName } from './schedulers/types.js';
import { DestFlags } from './schedulers/types.js';
import type { IpvsState } from './state.js';
import type { LiveVirtualServer } from './virtual-server.js';

const ASYMMETRIC: Step = {
  where: 'ipvs',
  rule: 'externalTrafficPolicy: Local',
  decision:
    'external traffic is sent to a remote endpoint without SNAT; its reply bypasses this node and is lost (kubernetes#97081)',
};

/** Where steps go when the engine does not explain: pushed to, never read, emptied per packet. */
const DISCARD: Step[] = [];
const NO_STEPS: readonly Step[] = Object.freeze([]);

/**
 * Decide a new flow and track it when it is DNATed. `srcKey`: `addressKey` of the packet's source (conntrack's
 * lookup computed it).
 */
export function newFlow(st: IpvsState, packet: Packet, now: number, srcKey: number): Verdict {
  // A length write is a call into the runtime: skipped when nothing was pushed (no trace step is built per packet).
  if (DISCARD.length !== 0) DISCARD.length = 0;
  const explain = st.explain;
  // Constant steps already at hand are pushed either way (cheap); the plan's steps (another object to reach) and steps
  // built per packet only when explaining.
  const steps: Step[] = explain ? [] : DISCARD;
  const dstKey = keyOf(packet.dst);
  const vs = st.byDestination.getKey(packet.proto, dstKey, packet.dst.port);
  if (!vs) {
    const reject = st.ipsets.ipvsFilter(packet.dst.ip, packet.dst.port, familyOf(packet.dst.ip));
    if (reject) return { ...passed(packet, explain ? [reject] : NO_STEPS), verdict: 'REJECT' };
    if (!explain) return passed(packet, NO_STEPS);
    return passed(packet, [
      { where: 'ipvs', rule: 'virtual server lookup', decision: 'no virtual server: not a Service' },
    ]);
  }
  if (vs.planVersion !== st.ipsets.version) {
    const spec = vs.spec;
    const dstLocal = st.nodeAddrs.has(spec.addr) || st.ipsets.isBound(spec.addr) || isLoopback(spec.addr);
    const built = buildPlan(st.ipsets, spec, dstLocal);
    vs.plan = built;
    vs.planBits = built.bits;
    vs.planVersion = built.version;
  }
  // The plan's decisions are its bits; the plan object is reached only for trace steps (see LiveVirtualServer).
  const plan = vs.plan!;
  const bits = vs.planBits;
  const service = vs.service;
  const mark = applyPlan(st.ipsets, bits, plan, packet.src.ip, srcKey, explain ? steps : null);
  if ((bits & PlanBit.SOURCE_RANGES) !== 0) {
    const fw = st.ipsets.sourceRangeFirewall(vs.spec, packet.src.ip);
    if (fw) {
      steps.push(fw);
      if (fw.decision.startsWith('DROP')) return refused('DROP', packet, service, explain ? steps : NO_STEPS);
    }
  }
  const c = vs.cache;
  if (explain) {
    c.describe ??= { where: 'ipvs', rule: vs.text, decision: describe(vs) };
    steps.push(c.describe);
  }
  if ((bits & PlanBit.ASYMMETRIC) !== 0 && !mark) steps.push(ASYMMETRIC);
  if (vs.counting) vs.refreshCounts(now);
  const dest = pick(st, vs, packet, srcKey, dstKey, now, steps);
  if (!dest) {
    steps.push({
      where: 'ipvs',
      rule: vs.text,
      decision: 'no destination available: ip_vs_leave sends ICMP port-unreachable',
    });
    return refused('REJECT', packet, service, explain ? steps : NO_STEPS);
  }
  const hairpin = srcKey === dest.destKey && (vs.endpointOf(dest)?.isLocal ?? false);
  // The family is the virtual server's (it was found by the destination), read from its spec only for SNAT: the
  // destination's address text would be one more object to reach on every flow.
  const snatIp = hairpin || mark ? (st.table.node.addresses[vs.spec.family][0] ?? null) : null;
  const ct = st.conntrack;
  const record = destRecord(dest, snatIp, service);
  const row = ct.trackNat(packet, record, dest.key, dest.destKey, dest.port, dest.natSnatKey, now);
  if (row < 0) {
    const leaving = { proto: packet.proto, src: packet.src, dst: dest.destination };
    return untrackedFlow(leaving, service, explain ? steps : null, 3);
  }
  vs.addFlow(row, dest);
  if (vs.persistent) vs.templates.get(packet.src.ip)?.controls.add(ct.view(row));
  if (explain) {
    let dnat = c.dnat.get(dest);
    if (!dnat) {
      dnat = { where: 'ipvs', rule: `-> ${dest.key} Masq ${dest.weight}`, decision: `DNAT to ${dest.key}` };
      c.dnat.set(dest, dnat);
    }
    steps.push(dnat);
  }
  if (hairpin) {
    c.hairpin ??= postroutingStep(vs.spec.family, true, st.mark, snatIp);
    steps.push(c.hairpin);
  } else if (mark) {
    c.masq ??= postroutingStep(vs.spec.family, false, st.mark, snatIp);
    steps.push(c.masq);
  }
  // The flow's row holds what the verdict reports (DNAT to dest.key, the SNAT, the Service).
  return new FlowVerdict(ct, row, 'new', packet, 3, explain ? steps : null);
}

function describe(vs: LiveVirtualServer): string {
  const spec = vs.spec;
  let policy = '';
  if (spec.localPolicy) {
    policy = spec.localFallback
      ? ', Local policy but no local endpoint: cluster endpoints (#97081)'
      : ', local endpoints only';
  }
  return `${spec.kind} virtual server of ${spec.service}: ${vs.dests.length} real server(s)${policy}`;
}

// Persistence template first (ip_vs_sched_persist), then the scheduler. `srcKey`, `dstKey`: the packet's address keys.
function pick(
  st: IpvsState,
  vs: LiveVirtualServer,
  packet: Packet,
  srcKey: number,
  dstKey: number,
  now: number,
  steps: Step[],
): Dest | undefined {
  // Read only for persistence: the spec is one more object to reach on every new flow.
  const timeout = vs.persistent ? vs.spec.timeout : 0;
  if (vs.persistent) {
    const t = vs.template(packet.src.ip, now);
    if (t) {
      const d = t.dest;
      const quiesced = (st.opts.expireQuiescentTemplate ?? true) && d.weight === 0;
      if ((d.flags & DestFlags.AVAILABLE) !== 0 && !quiesced) {
        // ip_vs_conn_put: a use re-arms the template by its own timeout (60 s once it has outlived its first).
        t.expires = now + t.timeout;
        if (st.explain)
          steps.push({
            where: 'ipvs/persistence',
            rule: `persistent ${timeout}`,
            decision: `template ${packet.src.ip} -> ${d.key}; timer re-armed to ${t.timeout} s`,
          });
        return d;
      }
      vs.dropTemplate(t);
      const why = quiesced ? 'weight 0, expire_quiescent_template=1' : 'real server deleted';
      if (st.explain)
        steps.push({
          where: 'ipvs/persistence',
          rule: `persistent ${timeout}`,
          decision: `template ${packet.src.ip} -> ${d.key} invalidated (${why})`,
        });
    }
  }
  const trace = !st.explain || st.opts.explainScheduler === false ? undefined : ([] as string[]);
  const sp = st.schedPacket;
  sp.srcIP = packet.src.ip;
  sp.srcKey = srcKey;
  sp.dstKey = dstKey;
  sp.srcPort = packet.src.port;
  sp.dstIP = packet.dst.ip;
  sp.dstPort = packet.dst.port;
  sp.proto = packet.proto;
  const d = vs.scheduler.schedule(vs.dests, sp, now * 1000, trace);
  const where = schedulerWhere(vs.schedulerName);
  if (trace) for (const line of trace) steps.push({ where, rule: vs.schedulerName, decision: line });
  else if (d && st.explain) steps.push({ where, rule: vs.schedulerName, decision: `-> ${d.key}` });
  if (d && vs.persistent) {
    vs.newTemplate(packet.src.ip, d, now);
    if (st.explain)
      steps.push({
        where: 'ipvs/persistence',
        rule: `persistent ${timeout}`,
        decision: `new template ${packet.src.ip} -> ${d.key} for ${timeout} s`,
      });
  }
  return d;
}

/** `ipvs/rr`, … (built once per scheduler name, not per packet). */
const WHERE = new Map<SchedulerName, string>();
function schedulerWhere(name: SchedulerName): string {
  let where = WHERE.get(name);
  if (where === undefined) {
    where = `ipvs/${name}`;
    WHERE.set(name, where);
  }
  return where;
}

function refused(kind: 'REJECT' | 'DROP', packet: Packet, service: string, steps: readonly Step[]): Verdict {
  return {
    verdict: kind,
    endpoint: null,
    packet,
    snat: null,
    service,
    conntrack: 'none',
    steps,
    cost: 2,
  };
}

/** A packet no Service rewrites. */
export function passed(packet: Packet, steps: readonly Step[]): Verdict {
  return { verdict: 'ACCEPT', endpoint: null, packet, snat: null, service: null, conntrack: 'none', steps, cost: 2 };
}

/**
 * The NAT record of a connection to `dest`, SNATed to `snatIp` (or not), for `service`: the one the destination
 * keeps when it fits (most connections of a virtual server are all masqueraded or all not), else a fresh one, kept.
 * The fit is read from the destination's copies of the record's fields, and so is what conntrack files the flow by
 * (its DNAT target is the destination itself): the record is passed on, never read.
 */
function destRecord(dest: Dest, snatIp: string | null, service: string): NatRecord {
  const kept = dest.natRecord;
  if (kept !== null && dest.natSnatIp === snatIp && dest.natService === service) return kept;
  const record = natRecord(dest.destination, snatIp, service, dest.key);
  dest.natRecord = record;
  dest.natSnatIp = snatIp;
  dest.natService = service;
  dest.natSnatKey = record.snatKey;
  return record;
}
