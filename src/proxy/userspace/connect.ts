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
import { RangeExhaustedError } from '../../errors.js';
import { portClass } from '../conntrack.js';
import { type NatRecord, NO_NAT, natRecord } from '../conntrack-store.js';
import type { Step, Verdict } from '../engine.js';
import { untrackedFlow } from '../flow-verdict.js';
import { isLoopback } from '../ip-match.js';
import { NEW_FLOW_STEP } from '../nat-entry.js';
import { address, familyOf, hostPort, type Origin, type Packet } from '../packet.js';
import { protoCode } from '../tuple-table.js';
import { portalFailureText } from './open-portal.js';
import { DST_LOCAL, PHYSDEV_NOT_BRIDGE, PORTAL_JUMPS, type PortalChain, portalRule } from './portals.js';
import { RelayVerdict } from './relay-verdict.js';
import { type BalancerState, type NextResult, nextEndpointById } from './round-robin.js';
import type { OpenedPort } from './service-ports.js';
import type { Portal, PortFacts, Relay, Unbound, UserspaceState } from './state.js';

/** The endpoint a dial reached, as NextEndpoint handed it out (text and keyed address). */
type Chosen = Extract<NextResult, { ok: true }>;

/** EndpointDialTimeouts: one dial attempt per entry. */
export const DIAL_TIMEOUTS = [0.25, 0.5, 1, 2] as const;

/** What `portalStep` returns when the engine does not explain (never shown: no step is recorded). */
const UNEXPLAINED: Step = Object.freeze({ where: '', rule: '', decision: '' });

/** The steps of every verdict when the engine does not explain (never pushed to: every push is guarded). */
const NO_STEPS: Step[] = [];

/** The NAT of the client legs `portal` redirects: a REDIRECT (DNAT) to `hostIP`:proxyPort, for its Service port. */
function clientRecord(portal: Portal, hostIP: string): NatRecord {
  const kept = portal.clientNat;
  // The node's address may have changed since the record was made (a Node update keeps the socket open).
  if (kept !== null && portal.clientNatHost === hostIP) return kept;
  const record = natRecord(address(hostIP, portal.proxyPort), null, portal.name);
  portal.clientNat = record;
  portal.clientNatHost = hostIP;
  portal.clientNatEndpoint = record.endpoint!;
  return record;
}

/** The index key of a port and protocol. */
export function portalKey(proto: Packet['proto'], port: number): number {
  return port * 4 + protoCode(proto);
}

/**
 * A portal a new packet hit (it holds its port's balancer and the port's facts a connection reads), and the rule as a
 * trace step. `direct`: no portal rule, the packet is addressed to the proxy socket itself (no REDIRECT on its client
 * leg).
 */
interface PortalHit {
  readonly portal: Portal;
  readonly step: Step;
  readonly direct?: boolean;
}

/**
 * The portal rule a new packet hits (as a trace step; a placeholder when the engine does not explain), or undefined.
 * Host traffic walks OUTPUT, the rest PREROUTING. `dstKey`: `addressKey` of the destination (conntrack's lookup
 * computed it).
 */
export function matchPortal(st: UserspaceState, packet: Packet, origin: Origin, dstKey: number): PortalHit | undefined {
  const host = origin.from === 'node';
  const chain = host ? 'KUBE-PORTALS-HOST' : 'KUBE-PORTALS-CONTAINER';
  // The portals at this address and port in rule order: the first whose rule matches the packet takes it. A ClusterIP
  // or LB IP portal's rule matches every packet (the common case, decided before the address text is read).
  let hit = st.portals.firstKey(packet.proto, dstKey, packet.dst.port);
  if (hit !== undefined && !hit.external) return hitOf(hit, portalStep(st, hit, chain, ''));
  const dstLocal = st.nodeAddrs.has(packet.dst.ip) || isLoopback(packet.dst.ip);
  for (; hit !== undefined; hit = hit.next) {
    if (!hit.external) return hitOf(hit, portalStep(st, hit, chain, ''));
    if (!host && origin.from === 'external') {
      return hitOf(hit, portalStep(st, hit, 'KUBE-PORTALS-CONTAINER', PHYSDEV_NOT_BRIDGE));
    }
    if (dstLocal) return hitOf(hit, portalStep(st, hit, chain, DST_LOCAL));
  }
  if (!dstLocal) return undefined;
  const key = portalKey(packet.proto, packet.dst.port);
  const np = st.nodePorts.get(key);
  // NodePort rules exist in the proxier's one family only (iptables or ip6tables, not both).
  if (np && familyOf(packet.dst.ip) === np.port.portal.family) {
    return hitOf(np, portalStep(st, np, host ? 'KUBE-NODEPORT-HOST' : 'KUBE-NODEPORT-CONTAINER', ''));
  }
  // No rule at all: a packet to the proxy port itself, on a node address (or, from the node, on loopback), reaches
  // the socket listening on 0.0.0.0 of its family.
  const socket = st.proxySockets.get(key);
  if (!socket || familyOf(packet.dst.ip) !== socket.port.family) return undefined;
  if (!host && !st.nodeAddrs.has(packet.dst.ip)) return undefined;
  return { portal: socket, step: directStep(st, socket.port), direct: true };
}

/** The trace step of a packet addressed to a proxy socket itself. */
function directStep(st: UserspaceState, port: OpenedPort): Step {
  if (!st.explain) return UNEXPLAINED;
  return {
    where: 'userspace',
    rule: `proxy socket ${port.protocol} 0.0.0.0:${port.proxyPort} (${port.name})`,
    decision: 'addressed to the proxy port itself: no portal rule, no REDIRECT',
  };
}

function hitOf(portal: Portal, step: Step): PortalHit {
  return { portal, step };
}

// The rule text and decision of one portal in one chain, built once.
function portalStep(st: UserspaceState, portal: Portal, chain: PortalChain, extra: string): Step {
  if (!st.explain) return UNEXPLAINED;
  const k = chain + extra;
  portal.steps ??= new Map();
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

/** Each portal chain's jump from its built-in chain, as a trace step. */
const JUMP_STEPS = new Map<string, Step>(
  Object.entries(PORTAL_JUMPS).map(([chain, jump]) => [
    `nat/${chain}`,
    Object.freeze({ where: jump.where, rule: jump.rule, decision: `jump ${chain}` }),
  ]),
);

/** The steps before a portal's own: conntrack's miss, and the jump to its chain (none for the proxy port itself). */
function entrySteps(portal: PortalHit): Step[] {
  const jump = JUMP_STEPS.get(portal.step.where);
  return jump === undefined ? [NEW_FLOW_STEP] : [NEW_FLOW_STEP, jump];
}

/** The first packet of a client connection that hit a portal. */
export function connect(st: UserspaceState, packet: Packet, hit: PortalHit, now: number): Verdict {
  // The port is reached only for a trace and on the uncommon paths: its facts are the portal's.
  const via = hit.portal;
  const port = via.port;
  const hostIP = st.hostIP(via.family);
  const explain = st.explain;
  // A trace starts as the other modes' do: conntrack's miss, then the built-in chain's jump to the portal chain.
  const steps: Step[] = explain ? [...entrySteps(hit), hit.step] : NO_STEPS;
  if (explain) {
    const p = port.portal;
    const failure = portalFailureText(port.rules);
    if (failure !== null) steps.push({ where: 'userspace', rule: p.name, decision: failure });
    if (port.ignored.length) {
      steps.push({
        where: 'userspace',
        rule: p.name,
        decision: `not supported by the userspace proxier, ignored: ${port.ignored.join(', ')}`,
      });
    }
    steps.push({
      where: 'userspace',
      rule: `proxy socket ${p.protocol} :${p.proxyPort} (${p.name})`,
      decision: p.protocol === 'TCP' ? 'accepted the connection' : 'read the datagram',
    });
  }
  const ct = st.conntrack;
  let clientRow: number;
  let redirect: NatRecord | null = null;
  if (hit.direct) {
    // Already addressed to the socket: the client leg is tracked as it is, under its Service port.
    via.directNat ??= natRecord(null, null, via.name);
    clientRow = ct.trackRecord(packet, via.directNat, now);
  } else {
    redirect = clientRecord(via, hostIP);
    // No SNAT on the client leg (key -1): the proxy's socket answers the client from the portal address.
    clientRow = ct.trackNat(packet, redirect, via.clientNatEndpoint, st.hostKey(hostIP), via.proxyPort, -1, now);
  }
  if (clientRow < 0) {
    // Read only here: a tracked flow never reads its record (one Service's object among thousands: a cache miss).
    const reached = redirect === null ? packet.dst : redirect.dnat!;
    const leaving = { proto: packet.proto, src: packet.src, dst: reached };
    return untrackedFlow(leaving, via.name, explain ? steps : null, 2);
  }
  const chosen = dial(st, via, via.balancer, via.balancerId, packet.src.ip, now, steps);
  if (chosen === undefined) {
    const tcp = via.protocol === 'TCP';
    if (tcp) {
      // The proxy's socket accepted the connection (the handshake completed), then closes it: a valid FIN exchange.
      ct.handshakeDoneRow(clientRow, now);
      ct.close(packet, now);
    } else ct.setMemo(clientRow, { unbound: port } satisfies Unbound);
    const verdict = tcp ? 'REJECT' : 'DROP';
    const what = tcp
      ? 'connection accepted, then closed: no endpoint could be dialled'
      : 'datagram dropped: no endpoint (the next one is dialled again)';
    if (explain) steps.push({ where: 'userspace', rule: via.name, decision: what });
    return { verdict, endpoint: null, packet, snat: null, service: via.name, conntrack: 'new', steps, cost: 2 };
  }
  return relayed(st, port, via, clientRow, packet, hostIP, chosen, now, steps, 'new');
}

/** A new relay from the client leg `client` to the `chosen` endpoint, the proxy's connection opened. */
function relayed(
  st: UserspaceState,
  port: OpenedPort,
  facts: PortFacts,
  clientRow: number,
  packet: Packet,
  hostIP: string,
  chosen: Chosen,
  now: number,
  steps: Step[],
  kind: 'new' | 'established',
): Verdict {
  const ct = st.conntrack;
  const backendRow = openBackend(st, packet, hostIP, chosen, now, steps);
  // TCP: the proxy's socket accepted the client and its dial was answered; both handshakes are done.
  ct.handshakeDoneRow(clientRow, now);
  ct.handshakeDoneRow(backendRow, now);
  const relay = st.relays.open(
    {
      port,
      service: facts.name,
      udp: facts.protocol === 'UDP',
      proto: packet.proto,
      clientRow,
      clientGeneration: ct.generationOf(clientRow),
      clientSrc: ct.originalSrcOf(clientRow),
      clientDst: ct.originalDstOf(clientRow),
      backendRow,
      backendGeneration: ct.generationOf(backendRow),
      backendSrc: ct.originalSrcOf(backendRow),
      backendDst: ct.originalDstOf(backendRow),
      endpoint: chosen.endpoint,
    },
    now,
  );
  ct.setMemo(clientRow, relay);
  ct.setMemo(backendRow, relay);
  return new RelayVerdict(relay, kind, 3, st.explain ? steps : null);
}

/** The next datagram of an unbound UDP client (its leg in `clientRow`): the proxy dials again, if its socket is open. */
export function rebind(st: UserspaceState, clientRow: number, unbound: Unbound, packet: Packet, now: number): Verdict {
  const port = unbound.unbound;
  const p = port.portal;
  if (!st.isOpen(port)) return socketClosed(st, p.name, packet);
  const steps: Step[] = st.explain
    ? [
        {
          where: 'userspace',
          rule: `proxy socket ${p.protocol} :${p.proxyPort} (${p.name})`,
          decision: 'read the datagram',
        },
      ]
    : NO_STEPS;
  const chosen = dial(st, port, port.balancer, -1, packet.src.ip, now, steps);
  if (chosen === undefined) {
    if (st.explain) steps.push({ where: 'userspace', rule: p.name, decision: 'datagram dropped: no endpoint' });
    return dropped(packet, p.name, 'established', steps);
  }
  return relayed(st, port, port, clientRow, packet, st.hostIP(p.family), chosen, now, steps, 'established');
}

/** A UDP packet for a proxy socket stopProxy closed: nothing reads it. */
export function socketClosed(st: UserspaceState, service: string, packet: Packet): Verdict {
  const steps: Step[] = st.explain
    ? [
        {
          where: 'userspace',
          rule: service,
          decision: 'the proxy socket was closed (its Service changed or was deleted): the datagram is dropped',
        },
      ]
    : NO_STEPS;
  return dropped(packet, service, 'established', steps);
}

/** An endpoint's UDP answer after the session went idle: proxyClient closed that connection at its read deadline. */
export function idleReply(st: UserspaceState, relay: Relay, packet: Packet, now: number): Verdict {
  const steps: Step[] = st.explain
    ? [
        {
          where: 'userspace',
          rule: `UDP session ${hostPort(relay.clientSrc.ip, relay.clientSrc.port)} (${relay.service})`,
          decision: `idle for ${(now - relay.lastActivity).toFixed(3)} s >= udpIdleTimeout ${st.udpIdleTimeout} s: the proxy closed this connection, nothing reads the answer`,
        },
      ]
    : NO_STEPS;
  return dropped(packet, relay.service, 'reply', steps);
}

/** An endpoint's packet to a proxy connection that is closed (replaced after an idle timeout, or closed): no reader. */
export function legClosed(st: UserspaceState, relay: Relay, packet: Packet): Verdict {
  const steps: Step[] = st.explain
    ? [
        {
          where: 'userspace',
          rule: `proxy connection ${hostPort(packet.dst.ip, packet.dst.port)} (${relay.service})`,
          decision: 'closed by the proxy: nothing reads this packet, it is not relayed to the client',
        },
      ]
    : NO_STEPS;
  return dropped(packet, relay.service, 'reply', steps);
}

function dropped(packet: Packet, service: string, conntrack: 'established' | 'reply', steps: Step[]): Verdict {
  return { verdict: 'DROP', endpoint: null, packet, snat: null, service, conntrack, steps, cost: 2 };
}

/**
 * A later client packet; UDP sessions idle for udpIdleTimeout get a new backend connection. The verdict still says
 * `established`: `conntrack` reports the kernel's view, and the client's entry to the proxy port lives on (the new
 * endpoint choice is in the steps).
 */
export function continueClient(st: UserspaceState, relay: Relay, packet: Packet, now: number): Verdict {
  // A closed UDP socket breaks its sessions; accepted TCP connections outlive their listener. The client leg still
  // leads to the proxy port, so a socket opened on that port since (the allocator gave it out again) reads the
  // datagram as a new client's: a new session, through whatever Service that socket now serves.
  if (relay.udp && !st.isOpen(relay.port)) {
    const successor = st.proxySockets.get(portalKey(relay.proto, relay.port.proxyPort));
    if (successor && st.isOpen(successor.port))
      return rebind(st, relay.clientRow, { unbound: successor.port }, packet, now);
    return socketClosed(st, relay.service, packet);
  }
  if (relay.udp && now - relay.lastActivity >= st.udpIdleTimeout) {
    const hostIP = st.hostIP(familyOf(packet.dst.ip));
    const steps: Step[] = st.explain
      ? [
          {
            where: 'userspace',
            rule: `UDP session ${hostPort(packet.src.ip, packet.src.port)} (${relay.service})`,
            decision: `idle for ${(now - relay.lastActivity).toFixed(3)} s >= udpIdleTimeout ${st.udpIdleTimeout} s: new backend connection`,
          },
        ]
      : NO_STEPS;
    const chosen = dial(st, relay.port, relay.port.balancer, -1, packet.src.ip, now, steps);
    if (chosen === undefined) {
      if (st.explain)
        steps.push({ where: 'userspace', rule: relay.service, decision: 'datagram dropped: no endpoint' });
      return dropped(packet, relay.service, 'established', steps);
    }
    const ct = st.conntrack;
    const backendRow = openBackend(st, packet, hostIP, chosen, now, steps);
    ct.setMemo(backendRow, relay);
    relay.backendRow = backendRow;
    relay.backendGeneration = ct.generationOf(backendRow);
    relay.backendSrc = ct.originalSrcOf(backendRow);
    relay.backendDst = ct.originalDstOf(backendRow);
    relay.endpoint = chosen.endpoint;
    relay.lastActivity = now;
    return new RelayVerdict(relay, 'established', 1, st.explain ? steps : null);
  }
  relay.lastActivity = now;
  // The proxy forwards the bytes on its own connection: that leg's timer moves too (no lookup: the entry is known).
  const ct = st.conntrack;
  if (ct.holds(relay.backendRow, relay.backendGeneration)) ct.seeRow(relay.backendRow, 'original', now);
  return new RelayVerdict(relay, 'established', 1, st.explain ? relayedStep : null);
}

function relayedStep(verdict: Verdict): Step[] {
  return [
    {
      where: 'conntrack',
      rule: 'client leg',
      decision: `established: relayed over the proxy's connection to ${verdict.endpoint}`,
    },
  ];
}

// TryConnectEndpoints: NextEndpoint, then dial; a failed dial bypasses affinity for the next attempt. `balancer`:
// `port.balancer`, which the caller may have at hand without reaching the port, and `balancerId` its id (a portal's
// copy), or -1 to read the balancer itself.
function dial(
  st: UserspaceState,
  port: PortFacts,
  balancer: BalancerState | undefined,
  balancerId: number,
  clientIP: string,
  now: number,
  steps: Step[],
): Chosen | undefined {
  let reset = false;
  for (const timeout of DIAL_TIMEOUTS) {
    const next = nextEndpointById(st.lb, balancerId, balancer, clientIP, reset, now);
    if (!next.ok) {
      if (st.explain)
        steps.push({ where: 'userspace/round-robin', rule: port.name, decision: `NextEndpoint: ${next.error}` });
      return undefined;
    }
    if (st.explain)
      steps.push({
        where: 'userspace/round-robin',
        rule: balancer?.listText ?? '',
        decision:
          next.how === 'affinity'
            ? `ClientIP affinity: ${clientIP} -> ${next.endpoint}`
            : `index ${next.index} -> ${next.endpoint}`,
      });
    // A UDP "dial" only makes a connected socket and sends nothing (net.DialTimeout("udp")): it cannot fail.
    if (port.protocol === 'UDP' || st.dialable(next.endpoint, now)) return next;
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
  chosen: Chosen,
  now: number,
  steps: Step[],
): number {
  const endpoint = chosen.endpoint;
  const tuple = st.backendTuple(packet.proto, hostIP, chosen, now);
  const row = st.conntrack.trackRecord(tuple, NO_NAT, now);
  // The engine picked a local port no tracked flow uses, so this fails only if the leg's reply tuple is another
  // flow's and conntrack's remap finds no free port of its class either: the dial fails as a socket would.
  if (row < 0) throw new RangeExhaustedError(`local port toward ${endpoint}`, portClass(tuple.src.port));
  const src = tuple.src;
  if (st.explain)
    steps.push({
      where: 'userspace',
      rule: `dial ${endpoint}`,
      decision: `connected from ${hostPort(src.ip, src.port)}: the endpoint sees the node as the client`,
    });
  return row;
}
