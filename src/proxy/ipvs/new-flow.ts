import type { Step, Verdict } from '../engine.js';
import { FlowVerdict, untrackedFlow } from '../flow-verdict.js';
import { isLoopback } from '../ip-match.js';
import { NEW_FLOW_STEP, servicesJumpStep } from '../nat-entry.js';
import { familyOf, keyOf, type Origin, type Packet } from '../packet.js';
import { applyPlan, buildPlan, isLoopbackSource, PlanBit, postroutingStep } from './masquerade.js';
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

const NO_VIRTUAL_SERVER: Step = {
  where: 'ipvs',
  rule: 'virtual server lookup',
  decision: 'no virtual server: not a Service',
};

/** Where steps go when the engine does not explain: pushed to, never read, emptied per packet. */
const DISCARD: Step[] = [];
const NO_STEPS: readonly Step[] = Object.freeze([]);

/**
 * Decide a new flow and track it when it is DNATed. `srcKey`: `addressKey` of the packet's source (conntrack's
 * lookup computed it).
 */
export function newFlow(st: IpvsState, packet: Packet, origin: Origin, now: number, srcKey: number): Verdict {
  // A length write is a call into the runtime: skipped when nothing was pushed (no trace step is built per packet).
  if (DISCARD.length !== 0) DISCARD.length = 0;
  const explain = st.explain;
  // Constant steps already at hand are pushed either way (cheap); the plan's steps (another object to reach) and steps
  // built per packet only when explaining.
  // A trace starts where the iptables mode's does: conntrack's miss, then the jump into KUBE-SERVICES.
  const steps: Step[] = explain ? [NEW_FLOW_STEP, servicesJumpStep(origin)] : DISCARD;
  const dstKey = keyOf(packet.dst);
  const id = st.byDestination.getKey(packet.proto, dstKey, packet.dst.port);
  if (id === undefined) {
    const reject = st.ipsets.ipvsFilter(packet.dst.ip, packet.dst.port, familyOf(packet.dst.ip));
    if (reject) return { ...passed(packet, explain ? [...steps, reject] : NO_STEPS), verdict: 'REJECT' };
    if (!explain) return passed(packet, NO_STEPS);
    return passed(packet, [...steps, NO_VIRTUAL_SERVER]);
  }
  const servers = st.servers;
  if (servers.planVersion(id) !== st.ipsets.version) {
    const spec = servers.object(id).spec;
    const dstLocal = st.nodeAddrs.has(spec.addr) || st.ipsets.isBound(spec.addr) || isLoopback(spec.addr);
    const built = buildPlan(st.ipsets, spec, dstLocal);
    servers.setPlan(id, built);
  }
  // The plan's decisions are its bits; the plan object is reached only for trace steps.
  const plan = servers.plan(id)!;
  const bits = servers.planBits(id);
  const loopbackSource = origin.from === 'node' && isLoopbackSource(packet.src.ip, srcKey);
  // rr or mh without persistence, source ranges or a trace: scheduled and tracked from the engine's tables alone
  // (vs-table.ts), no object of the virtual server or its destinations reached, in the common case.
  if (!explain && (bits & PlanBit.SOURCE_RANGES) === 0 && !loopbackSource) {
    const dest = servers.fastPick(id, srcKey, packet.src.ip, packet.src.port);
    if (dest >= 0) {
      const mark = applyPlan(st.ipsets, bits, plan, packet.src.ip, srcKey, null);
      return track(st, id, null, dest, packet, mark, srcKey, now, null);
    }
  }
  const vs = servers.object(id);
  const service = vs.service;
  const mark = applyPlan(
    st.ipsets,
    bits,
    plan,
    packet.src.ip,
    srcKey,
    explain ? steps : null,
    origin.from === 'external',
  );
  // Pods and outside clients meet the ranges in filter INPUT/FORWARD, before IPVS (LOCAL_IN) sees the packet; the
  // node's own packets meet KUBE-IPVS-OUT-FILTER in filter OUTPUT, after IPVS (LOCAL_OUT) scheduled them (below).
  const fromNode = origin.from === 'node';
  if ((bits & PlanBit.SOURCE_RANGES) !== 0 && !fromNode) {
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
  // Only an outside client's reply is lost: a pod's or the node's comes back through this node (kubernetes#97081).
  if ((bits & PlanBit.ASYMMETRIC) !== 0 && !mark && origin.from === 'external') steps.push(ASYMMETRIC);
  if (vs.counting) vs.refreshCounts(now);
  const dest = pick(st, vs, packet, srcKey, dstKey, now, steps);
  if (!dest) {
    steps.push({
      where: 'ipvs',
      rule: vs.text,
      decision: `no destination available: ip_vs_leave sends ${vs.spec.family === 'IPv6' ? 'ICMPv6' : 'ICMP'} port-unreachable`,
    });
    return refused('REJECT', packet, service, explain ? steps : NO_STEPS);
  }
  if (loopbackSource && !isLocalAddress(st, dest.addr)) {
    // ip_vs_nat_xmit routes the packet to the real server, and __ip_vs_get_out_rt refuses a route that takes a
    // loopback-sourced packet off the machine (crosses_local_route_boundary): the packet is dropped after scheduling,
    // so the scheduler has moved on but conntrack never confirms the flow. Only a real server on one of the node's
    // own addresses (a hostNetwork endpoint) is reached.
    steps.push({
      where: 'ipvs',
      rule: `ip_vs_nat_xmit to ${dest.key}`,
      decision: `DROP: ${dest.key} is not a local address, and IPVS does not route a loopback-sourced packet (${packet.src.ip}) off the node`,
    });
    return refused('DROP', packet, service, explain ? steps : NO_STEPS);
  }
  if ((bits & PlanBit.SOURCE_RANGES) !== 0 && fromNode) {
    // `-m ipvs --vaddr` matches a packet IPVS has already scheduled: the scheduler moved on (and a persistence
    // template was armed) even when the filter then drops the packet, which leaves no conntrack entry. (The kernel's
    // IPVS connection for it would count as inactive until it timed out; connections here are conntrack's.)
    const out = st.ipsets.nodeOutputFilter(vs.spec, packet.src.ip);
    if (out) {
      steps.push(out);
      if (out.decision.startsWith('DROP')) return refused('DROP', packet, service, explain ? steps : NO_STEPS);
    }
  }
  return track(st, id, vs, dest.id, packet, mark, srcKey, now, explain ? steps : null);
}

/**
 * The LB source-range filter an established packet still meets, when it drops it. kube-proxy's IPVS mode jumps to
 * KUBE-PROXY-FIREWALL from filter INPUT and FORWARD without `--ctstate NEW`, and KUBE-IPVS-OUT-FILTER matches every
 * packet IPVS handles (`-m ipvs`), so once a Service's ranges leave a client out, its open connections are cut at
 * their next packet (only KUBE-IPVS-FILTER is for NEW packets). Call only while some virtual server has ranges.
 */
export function establishedRangeDrop(st: IpvsState, packet: Packet, origin: Origin): Verdict | undefined {
  const id = st.byDestination.getKey(packet.proto, keyOf(packet.dst), packet.dst.port);
  if (id === undefined) return undefined;
  const vs = st.servers.object(id);
  const step =
    origin.from === 'node'
      ? st.ipsets.nodeOutputFilter(vs.spec, packet.src.ip)
      : st.ipsets.sourceRangeFirewall(vs.spec, packet.src.ip);
  if (!step?.decision.startsWith('DROP')) return undefined;
  return { ...refused('DROP', packet, vs.service, st.explain ? [step] : NO_STEPS), conntrack: 'established', cost: 1 };
}

/** Whether the node routes `ip` to itself (RTCF_LOCAL): one of its addresses, or loopback. */
function isLocalAddress(st: IpvsState, ip: string): boolean {
  return st.nodeAddrs.has(ip) || isLoopback(ip);
}

/**
 * Track a new flow of virtual server `id` (its object `vs` when the caller has it) scheduled to destination `dest`
 * (a number in `st.dests`): SNAT when masqueraded (`mark`) or hairpinned, conntrack's entry, the virtual server's
 * connection list, a persistence template's. `steps`: the trace so far (null: not explaining).
 */
function track(
  st: IpvsState,
  id: number,
  vs: LiveVirtualServer | null,
  dest: number,
  packet: Packet,
  mark: boolean,
  srcKey: number,
  now: number,
  steps: Step[] | null,
): Verdict {
  const servers = st.servers;
  const dests = st.dests;
  const destKey = dests.destKey(dest);
  // Hairpin: a pod sent to itself through its Service (the endpoint is local). Rare, so the objects are read then.
  const hairpin = srcKey === destKey && ((vs ?? servers.object(id)).endpointOf(dests.object(dest))?.isLocal ?? false);
  const family = servers.family(id);
  const masqIp = st.table.node.addresses[family][0] ?? null;
  dests.useMasqIp(family, masqIp);
  const masqueraded = hairpin || mark;
  const snatIp = masqueraded ? masqIp : null;
  // The flow is filed with its records' handle in the destination table (dest-table.ts): no record is read here.
  let pair = dests.recordPair(dest);
  if (pair < 0) pair = dests.keepRecordPair(dest, (vs ?? servers.object(id)).service);
  const handle = pair + (snatIp !== null ? 1 : 0);
  const ct = st.conntrack;
  const snatKey = snatIp === null ? -1 : dests.masqKey(family);
  const row = ct.trackNatInBook(packet, dests, handle, destKey, dests.port(dest), snatKey, now);
  if (row < 0) {
    const leaving = { proto: packet.proto, src: packet.src, dst: dests.object(dest).destination };
    return untrackedFlow(leaving, dests.record(handle).service, steps, 3);
  }
  // The virtual server's connections (virtual-server.ts), tagged with the destination's slot.
  ct.join(row, servers.group(id), dests.slot(dest));
  if (vs?.persistent) vs.templates.get(packet.src.ip)?.controls.add(ct.view(row));
  if (steps !== null && vs !== null) {
    const c = vs.cache;
    const d = dests.object(dest);
    c.dnat ??= new Map();
    let dnat = c.dnat.get(d);
    if (!dnat) {
      dnat = { where: 'ipvs', rule: `-> ${d.key} Masq ${d.weight}`, decision: `DNAT to ${d.key}` };
      c.dnat.set(d, dnat);
    }
    steps.push(dnat);
    if (hairpin) {
      c.hairpin ??= postroutingStep(family, true, st.mark, snatIp, st.config.randomFully);
      steps.push(c.hairpin);
    } else if (mark) {
      c.masq ??= postroutingStep(family, false, st.mark, snatIp, st.config.randomFully);
      steps.push(c.masq);
    }
  }
  // The flow's row holds what the verdict reports (DNAT to the destination, the SNAT, the Service).
  return new FlowVerdict(ct, row, 'new', packet, 3, steps);
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
