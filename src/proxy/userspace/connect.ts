/**
 * A connection through the userspace proxier: the portal rule sends the client to the proxy port, the proxy socket
 * accepts it, asks LoadBalancerRR for an endpoint and dials it from the node (TryConnectEndpoints: up to 4 attempts,
 * dial timeouts 250 ms, 500 ms, 1 s, 2 s; after a failure the affinity record is bypassed). Two conntrack entries
 * result: the client leg (REDIRECT/DNAT to hostIP:proxyPort) and the backend leg (node:ephemeral → endpoint, a
 * locally originated connection). The endpoint therefore always sees the node's address as the source.
 *
 * No endpoint: TCP connections are accepted, then closed at once (the client sees its connect succeed, then EOF);
 * reported as REJECT. UDP datagrams are read and dropped.
 */
import { type ConntrackEntry, originalPacket } from '../conntrack.js';
import type { Step, Verdict } from '../engine.js';
import { isLoopback } from '../ip-match.js';
import { type Address, familyOf, hostPort, type Origin, type Packet, parseHostPort } from '../packet.js';
import { protoCode } from '../tuple-table.js';
import { DST_LOCAL, PHYSDEV_NOT_BRIDGE, type PortalChain, portalRule } from './portals.js';
import type { OpenedPort } from './service-ports.js';
import type { Portal, UserspaceState } from './state.js';

/** EndpointDialTimeouts: one dial attempt per entry. */
export const DIAL_TIMEOUTS = [0.25, 0.5, 1, 2] as const;

/** Memo on the client leg's conntrack entry. */
export interface ClientLeg {
  readonly kind: 'client';
  readonly port: OpenedPort;
  /** The client leg's own entry. */
  readonly client: ConntrackEntry;
  backend: ConntrackEntry;
  endpoint: string;
  /** Last packet either way, for the UDP session idle timeout. */
  lastActivity: number;
  verdict?: Verdict;
}

/** Memo on the backend leg's conntrack entry. */
export interface BackendLeg {
  readonly kind: 'backend';
  readonly client: ConntrackEntry;
  reply?: Verdict;
}

/** The steps of every verdict when the engine does not explain (never pushed to: every push is guarded). */
const NO_STEPS: Step[] = [];

/**
 * Endpoint text (`ip:port`, as the balancer hands it out) → address, parsed once per endpoint rather than per
 * connection. Bounded: cleared when it grows past 2^17 endpoints (they churn over a long simulation).
 */
const parsedEndpoints = new Map<string, Address>();
function endpointAddress(endpoint: string): Address {
  let a = parsedEndpoints.get(endpoint);
  if (a === undefined) {
    a = parseHostPort(endpoint)!;
    if (parsedEndpoints.size >= 1 << 17) parsedEndpoints.clear();
    parsedEndpoints.set(endpoint, a);
  }
  return a;
}

/** The index key of a port and protocol. */
export function portalKey(proto: Packet['proto'], port: number): number {
  return port * 4 + protoCode(proto);
}

/** The portal rule a new packet hits (as a trace step), or undefined. Host traffic walks OUTPUT, the rest PREROUTING. */
export function matchPortal(
  st: UserspaceState,
  packet: Packet,
  origin: Origin,
): { port: OpenedPort; step: Step } | undefined {
  const host = origin.from === 'node';
  const dstLocal = st.nodeAddrs.has(packet.dst.ip) || isLoopback(packet.dst.ip);
  const key = portalKey(packet.proto, packet.dst.port);
  const hit = st.portals.get(packet.dst.ip)?.get(key);
  if (hit) {
    if (!hit.external)
      return { port: hit.port, step: portalStep(st, hit, host ? 'KUBE-PORTALS-HOST' : 'KUBE-PORTALS-CONTAINER', '') };
    if (!host && origin.from === 'external') {
      return { port: hit.port, step: portalStep(st, hit, 'KUBE-PORTALS-CONTAINER', PHYSDEV_NOT_BRIDGE) };
    }
    if (dstLocal) {
      return {
        port: hit.port,
        step: portalStep(st, hit, host ? 'KUBE-PORTALS-HOST' : 'KUBE-PORTALS-CONTAINER', DST_LOCAL),
      };
    }
  }
  if (!dstLocal) return undefined;
  const np = st.nodePorts.get(key);
  if (!np) return undefined;
  return { port: np.port, step: portalStep(st, np, host ? 'KUBE-NODEPORT-HOST' : 'KUBE-NODEPORT-CONTAINER', '') };
}

// The rule text and decision of one portal in one chain, built once.
function portalStep(st: UserspaceState, portal: Portal, chain: PortalChain, extra: string): Step {
  const k = chain + extra;
  let step = portal.steps.get(k);
  if (!step) {
    const p = portal.port.portal;
    const hostIP = st.hostIP(p.family);
    const destPort = portal.addr === null ? p.nodePort : p.port;
    step = {
      where: `nat/${chain}`,
      rule: portalRule(chain, p, hostIP, portal.addr, destPort, extra),
      decision: chain.endsWith('CONTAINER')
        ? `REDIRECT to proxy port ${p.proxyPort}`
        : `DNAT to ${hostPort(hostIP, p.proxyPort)}`,
    };
    portal.steps.set(k, step);
  }
  return step;
}

/** The first packet of a client connection that hit a portal. */
export function connect(
  st: UserspaceState,
  packet: Packet,
  portal: { port: OpenedPort; step: Step },
  now: number,
): Verdict {
  const port = portal.port;
  const p = port.portal;
  const hostIP = st.hostIP(p.family);
  const explain = st.explain;
  const steps: Step[] = explain ? [portal.step] : NO_STEPS;
  if (port.ignored.length && explain) {
    steps.push({
      where: 'userspace',
      rule: p.name,
      decision: `not supported by the userspace proxier, ignored: ${port.ignored.join(', ')}`,
    });
  }
  if (explain)
    steps.push({
      where: 'userspace',
      rule: `proxy socket ${p.protocol} :${p.proxyPort} (${p.name})`,
      decision: p.protocol === 'TCP' ? 'accepted the connection' : 'read the datagram',
    });
  const client = st.conntrack.track(packet, { dnat: { ip: hostIP, port: p.proxyPort }, service: p.name }, now);
  const endpoint = dial(st, port, packet.src.ip, now, steps);
  if (endpoint === undefined) {
    if (p.protocol === 'TCP') st.conntrack.close(packet, now);
    const verdict = p.protocol === 'TCP' ? 'REJECT' : 'DROP';
    const what =
      p.protocol === 'TCP'
        ? 'connection accepted, then closed: no endpoint could be dialled'
        : 'datagram dropped: no endpoint';
    if (explain) steps.push({ where: 'userspace', rule: p.name, decision: what });
    return { verdict, endpoint: null, packet, snat: null, service: p.name, conntrack: 'new', steps, cost: 2 };
  }
  const backend = openBackend(st, packet, hostIP, endpoint, now, steps);
  const leg: ClientLeg = { kind: 'client', port, client, backend, endpoint, lastActivity: now };
  client.memo = leg;
  backend.memo = { kind: 'backend', client } satisfies BackendLeg;
  return verdictFor(leg, 'new', steps);
}

/** A later client packet; UDP sessions idle for udpIdleTimeout get a new backend connection. */
export function continueClient(st: UserspaceState, leg: ClientLeg, packet: Packet, now: number): Verdict {
  if (leg.port.portal.protocol === 'UDP' && now - leg.lastActivity >= st.udpIdleTimeout) {
    const hostIP = st.hostIP(familyOf(packet.dst.ip));
    const steps: Step[] = st.explain
      ? [
          {
            where: 'userspace',
            rule: `UDP session ${hostPort(packet.src.ip, packet.src.port)} (${leg.port.portal.name})`,
            decision: `idle for ${(now - leg.lastActivity).toFixed(3)} s >= udpIdleTimeout ${st.udpIdleTimeout} s: new backend connection`,
          },
        ]
      : NO_STEPS;
    const endpoint = dial(st, leg.port, packet.src.ip, now, steps);
    if (endpoint === undefined) {
      if (st.explain)
        steps.push({ where: 'userspace', rule: leg.port.portal.name, decision: 'datagram dropped: no endpoint' });
      return {
        verdict: 'DROP',
        endpoint: null,
        packet,
        snat: null,
        service: leg.port.portal.name,
        conntrack: 'established',
        steps,
        cost: 2,
      };
    }
    const backend = openBackend(st, packet, hostIP, endpoint, now, steps);
    backend.memo = { kind: 'backend', client: leg.client } satisfies BackendLeg;
    leg.backend = backend;
    leg.endpoint = endpoint;
    leg.lastActivity = now;
    leg.verdict = undefined;
    return verdictFor(leg, 'established', steps);
  }
  leg.lastActivity = now;
  // The proxy forwards the bytes on its own connection: that leg's timer moves too (no lookup: the entry is known).
  st.conntrack.seeEntry(leg.backend, 'original', now);
  if (!leg.verdict) {
    const step: Step = {
      where: 'conntrack',
      rule: 'client leg',
      decision: `established: relayed over the proxy's connection to ${leg.endpoint}`,
    };
    leg.verdict = verdictFor(leg, 'established', st.explain ? [step] : NO_STEPS);
  }
  return leg.verdict;
}

function verdictFor(leg: ClientLeg, conntrack: Verdict['conntrack'], steps: Step[]): Verdict {
  const b = leg.backend;
  return {
    verdict: 'DNAT',
    endpoint: leg.endpoint,
    packet: originalPacket(b),
    snat: b.originalSrc.ip,
    service: leg.port.portal.name,
    conntrack,
    steps,
    cost: conntrack === 'new' ? 3 : 1,
  };
}

// TryConnectEndpoints: NextEndpoint, then dial; a failed dial bypasses affinity for the next attempt.
function dial(st: UserspaceState, port: OpenedPort, clientIP: string, now: number, steps: Step[]): string | undefined {
  let reset = false;
  for (const timeout of DIAL_TIMEOUTS) {
    const next = st.lb.nextEndpoint(port.portal.name, clientIP, reset, now);
    if (!next.ok) {
      if (st.explain)
        steps.push({ where: 'userspace/round-robin', rule: port.portal.name, decision: `NextEndpoint: ${next.error}` });
      return undefined;
    }
    if (st.explain)
      steps.push({
        where: 'userspace/round-robin',
        rule: st.lb.state(port.portal.name)?.listText ?? '',
        decision:
          next.how === 'affinity'
            ? `ClientIP affinity: ${clientIP} -> ${next.endpoint}`
            : `index ${next.index} -> ${next.endpoint}`,
      });
    if (st.dialable(next.endpoint, now)) return next.endpoint;
    if (st.explain)
      steps.push({
        where: 'userspace',
        rule: `dial ${next.endpoint}`,
        decision: `failed after ${timeout * 1000} ms; trying again`,
      });
    reset = true;
  }
  return undefined;
}

function openBackend(
  st: UserspaceState,
  packet: Packet,
  hostIP: string,
  endpoint: string,
  now: number,
  steps: Step[],
): ConntrackEntry {
  const dst = endpointAddress(endpoint);
  const src = { ip: hostIP, port: st.ephemeralPort(packet.proto, hostIP, dst, now) };
  const entry = st.conntrack.track({ proto: packet.proto, src, dst }, {}, now);
  if (st.explain)
    steps.push({
      where: 'userspace',
      rule: `dial ${endpoint}`,
      decision: `connected from ${hostPort(src.ip, src.port)}: the endpoint sees the node as the client`,
    });
  return entry;
}
