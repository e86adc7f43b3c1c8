/**
 * The legacy userspace kube-proxy engine (pkg/proxy/userspace, removed in 1.26) for one node.
 *
 * Each TCP/UDP Service port gets a proxy socket on a proxy port and iptables portals that steer its ClusterIP,
 * externalIPs, LB IPs and NodePort to it (portals.ts). The proxy accepts the client's connection and opens its own
 * to an endpoint chosen by LoadBalancerRR: round-robin over a shuffled list, with ClientIP affinity (round-robin.ts,
 * connect.ts). The endpoint always sees the node as the source; traffic policies, source ranges, topology and
 * terminating endpoints are not supported, as upstream.
 *
 * Service-table changes are applied at the simulated time of the next call. `rules()` is the portal chains as
 * `iptables-save` prints them.
 */

import { RangeExhaustedError } from '../../errors.js';
import type { IPFamily } from '../../model/types.js';
import { Conntrack } from '../conntrack.js';
import type { EngineFactory, EngineInit, ProxyConfig, ProxyEngine, Step, Verdict } from '../engine.js';
import { ownAddresses } from '../node-view.js';
import { type Address, address, familyOf, type Origin, type Packet } from '../packet.js';
import type { ServicePortEntry, ServiceTable, TableChange } from '../service-table.js';
import { addressKey } from '../tuple-table.js';
import { connect, continueClient, idleReply, legClosed, matchPortal, rebind, socketClosed } from './connect.js';
import { PortalBook } from './portal-book.js';
import { PortalIndex } from './portal-index.js';
import { ProxyPortAllocator, renderPortals, ruleGroups } from './portals.js';
import { isRelay, RelayPool } from './relay-pool.js';
import { RelayVerdict } from './relay-verdict.js';
import { LoadBalancerRR } from './round-robin.js';
import { type OpenedPort, openedPort, samePortConfig, skipReason } from './service-ports.js';
import type { BackendTarget, Relay, Unbound, UserspaceEngineOptions, UserspaceState } from './state.js';

export type { UserspaceEngineOptions } from './state.js';

export class UserspaceEngine implements ProxyEngine {
  readonly mode = 'userspace';
  readonly nodeName: string;
  readonly config: ProxyConfig;
  readonly conntrack: Conntrack;
  readonly lb: LoadBalancerRR;
  readonly #table: ServiceTable;
  readonly #st: UserspaceState;
  readonly #opened = new Map<string, OpenedPort>();
  readonly #ports: ProxyPortAllocator;
  readonly #syncPeriod: number;
  readonly #unsubscribe: () => void;
  #pending: TableChange[] = [];
  #resyncAll = true;
  #now = 0;
  #nextCleanup = 0;
  #ephemeral: number;
  readonly #localAddresses = new Map<string, (Address | undefined)[]>();
  /** Proxy sockets opened so far: each gets the next number, so a socket reopened on the same port is a new one. */
  #sockets = 0;
  /** The portal rules of the open ports, and their claims (portal-book.ts). */
  readonly #book: PortalBook;
  /** The last host IP whose address key was asked for, and its key (`hostKey`: one host IP per family is current). */
  #hostKeyOf = '';
  #hostKey = -1;

  constructor(init: EngineInit, opts: UserspaceEngineOptions = {}) {
    this.nodeName = init.table.nodeName;
    this.config = init.config;
    this.#table = init.table;
    this.conntrack = new Conntrack(init.config.conntrack);
    this.lb = new LoadBalancerRR(init.rng.fork('userspace/shuffle'));
    const ports = init.rng.fork('userspace/ports');
    this.#ports = new ProxyPortAllocator((n) => ports.int(n), opts.proxyPortRange);
    this.#ephemeral = 32768 + ports.int(28232);
    this.#syncPeriod = opts.syncPeriod ?? 30;
    const table = init.table;
    const relays = new RelayPool();
    this.conntrack.ownMemos(relays);
    this.#st = {
      conntrack: this.conntrack,
      lb: this.lb,
      relays,
      portals: new PortalIndex(),
      nodePorts: new Map(),
      proxySockets: new Map(),
      nodeAddrs: new Set(),
      udpIdleTimeout: opts.udpIdleTimeout ?? 0.25,
      dialable: opts.dialable ?? (() => true),
      explain: init.explain ?? true,
      hostIP: (family) => table.node.addresses[family][0] ?? (family === 'IPv6' ? '::' : '0.0.0.0'),
      hostKey: (hostIP) => {
        if (hostIP !== this.#hostKeyOf) {
          this.#hostKeyOf = hostIP;
          this.#hostKey = addressKey(hostIP);
        }
        return this.#hostKey;
      },
      backendTuple: (proto, hostIP, dst, now) => this.#backendTuple(proto, hostIP, dst, now),
      isOpen: (port) => this.#opened.get(port.key)?.socket === port.socket,
    };
    this.#book = new PortalBook(this.#st, this.#opened);
    this.#unsubscribe = table.subscribe((changes) => {
      for (const c of changes) {
        if (c.kind === 'node') this.#resyncAll = true;
        else this.#pending.push(c);
      }
    });
  }

  dispose(): void {
    this.#unsubscribe();
  }

  /** Apply pending service-table changes; clean stale sticky sessions every syncPeriod. */
  sync(now: number = this.#now): void {
    if (now > this.#now) this.#now = now;
    if (this.#resyncAll) {
      this.#resyncAll = false;
      this.#pending = [];
      const node = this.#table.node;
      const own = ownAddresses(node);
      this.#st.nodeAddrs = new Set(own);
      this.conntrack.setNodeAddresses(own);
      const keys = new Set(this.#opened.keys());
      for (const family of this.#table.families) {
        // Ports not yet open are opened Service by Service in name order (upstream's order was a Go map's, so any
        // fixed order is as faithful; this one reads well), each Service's in its spec order (mergeService's loop:
        // the table files a Service's ports in that order).
        const entries = [...this.#table.ports(family)].sort((a, b) =>
          a.serviceKey < b.serviceKey ? -1 : a.serviceKey > b.serviceKey ? 1 : 0,
        );
        for (const entry of entries) keys.add(`${family}|${entry.key}`);
      }
      this.#syncKeys(keys);
      this.#book.ensure(this.#table.node, true);
    } else if (this.#pending.length > 0) {
      const changes = this.#pending;
      this.#pending = [];
      const keys = new Set<string>();
      for (const c of changes) if (c.kind === 'service-port') keys.add(`${c.family}|${c.key}`);
      // An IPv4 port appearing or going changes whether the Service's IPv6 ports are served.
      for (const k of [...keys])
        if (k.startsWith('IPv4|')) for (const o of this.#opened.keys()) if (o.startsWith('IPv6|')) keys.add(o);
      this.#syncKeys(keys);
      this.#book.ensure(this.#table.node, false);
    }
    if (now >= this.#nextCleanup) {
      this.lb.cleanupStaleStickySessions(now);
      this.#nextCleanup = now + this.#syncPeriod;
    }
  }

  /** The opened Service ports (for introspection and tests). */
  openedPorts(): OpenedPort[] {
    this.sync();
    return [...this.#opened.values()];
  }

  rules(family: IPFamily = 'IPv4'): string {
    this.sync();
    // The proxier has one iptables interface, of its node IP's family: the other family's tables hold nothing of it.
    if (family !== (this.#table.node.primaryFamily ?? 'IPv4')) return renderPortals(null, '');
    // The chains list the rules in the order openPortal appended them.
    const groups = [...this.#opened.values()]
      .filter((o) => o.portal.family === family)
      .flatMap((o) => ruleGroups(o.portal, o.rules.ranks, o.rules.nodePortRank));
    return renderPortals(groups, this.#st.hostIP(family));
  }

  send(packet: Packet, origin: Origin, now: number): Verdict {
    this.sync(now);
    const ct = this.conntrack;
    // By row: an established packet reads the flow's row and memo, not an entry object.
    const row = ct.lookupRow(packet, now);
    if (row >= 0) {
      const direction = ct.lastDirection;
      const memo = ct.memoOf(row) as Relay | Unbound | null;
      ct.seeRow(row, direction, now);
      if (memo !== null && 'unbound' in memo) {
        if (direction === 'original') return rebind(this.#st, row, memo, packet, now);
        return passed(packet, 'established', 'tracked flow without a userspace proxy');
      }
      const relay = memo;
      if (relay !== null) {
        // The client leg's own packets go on to the endpoint; a backend leg's replies go back to the client. (A row
        // whose memo is the relay is one of its live legs: a freed row loses its memo.)
        const onClientLeg = relay.clientRow === row;
        if (onClientLeg && direction === 'original') return continueClient(this.#st, relay, packet, now);
        if (!onClientLeg && direction === 'reply') return this.#relayReply(relay, row, packet, now);
      }
      return passed(packet, 'established', 'tracked flow without a userspace proxy');
    }
    const portal = matchPortal(this.#st, packet, origin, ct.lastDstKey);
    if (!portal) return passed(packet, 'none', 'no portal rule matches: not a proxied Service');
    return connect(this.#st, packet, portal, now);
  }

  reply(packet: Packet, now: number): Verdict {
    this.sync(now);
    const ct = this.conntrack;
    const row = ct.findRow(packet, now);
    if (row < 0) return passed(packet, 'none', 'no tracked flow');
    const direction = ct.lastDirection;
    const relay = relayOfMemo(ct.memoOf(row));
    ct.seeRow(row, direction, now);
    if (relay !== null && relay.clientRow !== row && direction === 'reply')
      return this.#relayReply(relay, row, packet, now);
    return passed(packet, 'reply', 'reply of a flow the proxy does not relay');
  }

  close(packet: Packet, now: number): boolean {
    this.sync(now);
    const row = this.conntrack.findRow(packet, now);
    if (row < 0) return false;
    const relay = relayOfMemo(this.conntrack.memoOf(row));
    if (!relay) return this.conntrack.close(packet, now);
    // The proxy closes its side of both connections together.
    relay.clientClosed = true;
    this.conntrack.close({ proto: relay.proto, src: relay.clientSrc, dst: relay.clientDst }, now);
    this.conntrack.close({ proto: relay.proto, src: relay.backendSrc, dst: relay.backendDst }, now);
    return true;
  }

  // The proxy writes the endpoint's answer back to the client from the portal address it connected to. A UDP
  // session idle past udpIdleTimeout, or whose socket was closed, has no reader left: the answer goes nowhere.
  #relayReply(relay: Relay, leg: number, packet: Packet, now: number): Verdict {
    const ct = this.conntrack;
    // The client leg's state, or once conntrack forgot the flow, whether the proxy closed it.
    const clientLive = ct.holds(relay.clientRow, relay.clientGeneration);
    const clientClosing = clientLive ? ct.closingRow(relay.clientRow) : relay.clientClosed;
    // An earlier backend leg (replaced after an idle timeout) or a closed connection: the proxy's socket is closed.
    if (leg !== relay.backendRow || clientClosing) return legClosed(this.#st, relay, packet);
    if (relay.udp) {
      if (!this.#st.isOpen(relay.port)) return socketClosed(this.#st, relay.service, packet);
      if (now - relay.lastActivity >= this.#st.udpIdleTimeout) return idleReply(this.#st, relay, packet, now);
    }
    relay.lastActivity = now;
    // The proxy writes the answer to the client: a reply on the client's own leg.
    if (clientLive) ct.seeRow(relay.clientRow, 'reply', now);
    return new RelayVerdict(relay, 'reply', 1, this.#st.explain ? relayReplySteps : null);
  }

  /**
   * Table keys carry the protocol, upstream's ServicePortName does not: a port that keeps its name and changes protocol
   * is one key gone and one new here, but one changed port to mergeService, which closes the old socket (its proxy
   * port and claims released) before it opens the new one, and keeps the name's balancer state and affinity
   * (unmergeService never sees the name). So such an old key closes first, then the keys still in the table are
   * merged, and the other keys gone are unmerged last, leaving the balancer and conntrack alone when another opened
   * port serves their name.
   */
  #syncKeys(keys: Iterable<string>): void {
    const gone: string[] = [];
    const present: string[] = [];
    for (const k of keys) (this.#entryOf(k) === undefined ? gone : present).push(k);
    for (const k of gone) {
      const before = this.#opened.get(k);
      if (before !== undefined && this.#nameKeptIn(k)) {
        this.#close(before);
        this.#opened.delete(k);
      }
    }
    for (const k of present) this.#syncKey(k);
    for (const k of gone) this.#syncKey(k);
  }

  /** The table entry of a key (`FAMILY|ns/name:port/PROTO`), if it has one. */
  #entryOf(k: string): ServicePortEntry | undefined {
    const bar = k.indexOf('|');
    return this.#table.get(k.slice(0, bar) as IPFamily, k.slice(bar + 1));
  }

  /** Whether the table still has key `k`'s port name under another protocol, in its family (the Service keeps it). */
  #nameKeptIn(k: string): boolean {
    return sameNameKeys(k, [k.slice(0, k.indexOf('|'))]).some((other) => this.#entryOf(other) !== undefined);
  }

  /**
   * Whether an opened port other than key `except`'s serves the same Service port name (balancers are keyed by name):
   * the same table key under another protocol, in either family. A few map lookups, not a scan of every opened port:
   * a deleted Service's keys each ask.
   */
  #nameServed(except: string): boolean {
    return sameNameKeys(except, ['IPv4', 'IPv6']).some((other) => this.#opened.has(other));
  }

  // mergeService / unmergeService and the balancer's endpoint update for one table entry.
  #syncKey(k: string): void {
    const family = k.slice(0, k.indexOf('|')) as IPFamily;
    const entry = this.#entryOf(k);
    const before = this.#opened.get(k);
    const served = entry !== undefined && skipReason(this.#table, family, entry) === null;
    if (!served) {
      if (before) {
        this.#close(before);
        this.#opened.delete(k);
        // Only a port name no longer served is unmerged (its balancer deleted, its UDP flows cleared).
        if (this.#nameServed(k)) return;
        this.lb.deleteService(before.portal.name);
        if (entry === undefined && before.portal.protocol === 'UDP') this.#clearUdpEntriesFor(before.portal.clusterIP);
      }
      return;
    }
    let next = openedPort(family, entry, before?.portal.proxyPort ?? 0, before?.socket ?? 0);
    if (before && samePortConfig(before, next)) {
      // Nothing changed for mergeService: the socket keeps the rules openPortal has added.
      next = { ...next, portal: before.portal, rules: before.rules };
    } else {
      if (before) this.#close(before);
      const proxyPort = this.#ports.allocate();
      if (proxyPort === null) {
        // mergeService logs "failed to allocate proxy port" and goes on without this port. (A port reopening never
        // gets here: closing it gave its own proxy port back first.)
        return;
      }
      next = this.#book.open(openedPort(family, entry, proxyPort, ++this.#sockets));
      this.lb.newService(next.portal.name, next.affinity, next.ttlSeconds);
    }
    if (before) this.#book.unindex(before);
    this.#opened.set(k, next);
    this.lb.setEndpoints(next.portal.name, next.endpoints);
    next.balancer = this.lb.state(next.portal.name);
    this.#book.index(next);
  }

  /** stopProxy and closePortal: the port's rules and claims go (portal-book.ts), and its proxy port is free again. */
  #close(o: OpenedPort): void {
    this.#book.close(o);
    this.#ports.release(o.portal.proxyPort);
  }

  /** unmergeService's conntrack.ClearEntriesForIP(serviceIP, UDP): every UDP flow to the deleted ClusterIP. */
  #clearUdpEntriesFor(ip: string): void {
    const doomed = [...this.conntrack.entries()].filter((e) => e.proto === 'UDP' && e.originalDst.ip === ip);
    for (const e of doomed) this.conntrack.delete(e);
  }

  // The kernel picks a free local port for the proxy's dial; here the next one whose tuple is not in use.
  // The probe that missed is the tuple returned: tracking that same packet reuses the keys its lookup computed. Its
  // source is a plain address (building a keyed one costs more than the one parse conntrack makes of it).
  /**
   * The node's `hostIP`:`port` as a keyed address (packet.ts `address()`), made once per port: conntrack keys the
   * proxy's connections by it, and reading the address text again for every connection cost more than the rest.
   */
  #localAddress(hostIP: string, port: number): Address {
    let byPort = this.#localAddresses.get(hostIP);
    if (byPort === undefined) {
      // One node address per family is current; keep no more than a few retired ones.
      if (this.#localAddresses.size >= 4) this.#localAddresses.clear();
      // Sized up front: the first port used is anywhere in the range, and a sparse write would make a dictionary.
      byPort = new Array<Address | undefined>(60999 - 32768 + 1).fill(undefined);
      this.#localAddresses.set(hostIP, byPort);
    }
    let a = byPort[port - 32768];
    if (a === undefined) {
      a = address(hostIP, port);
      byPort[port - 32768] = a;
    }
    return a;
  }

  // The endpoint's key and port come with it: the probe does not read the endpoint's address object (a cache miss).
  #backendTuple(proto: Packet['proto'], hostIP: string, dst: BackendTarget, now: number): Packet {
    const hostKey = this.#st.hostKey(hostIP);
    for (let tries = 0; tries < 28232; tries++) {
      const port = this.#ephemeral;
      this.#ephemeral = port >= 60999 ? 32768 : port + 1;
      const probe: Packet = { proto, src: this.#localAddress(hostIP, port), dst: dst.address };
      if (this.conntrack.lookupRowKeyed(probe, hostKey, dst.key, dst.port, now) < 0) return probe;
    }
    throw new RangeExhaustedError(`local port toward ${dst.address.ip}:${dst.port}`, '32768-60999');
  }
}

/** The other keys of key `k`'s port name (`FAMILY|ns/name:port/PROTO`): each protocol, in `families`. */
function sameNameKeys(k: string, families: readonly string[]): string[] {
  const name = k.slice(k.indexOf('|') + 1, k.lastIndexOf('/'));
  const keys: string[] = [];
  for (const family of families)
    for (const proto of ['TCP', 'UDP', 'SCTP'])
      if (`${family}|${name}/${proto}` !== k) keys.push(`${family}|${name}/${proto}`);
  return keys;
}

/** The relay a flow's memo names, or null (no relay, or an unbound UDP client). */
function relayOfMemo(memo: unknown): Relay | null {
  return isRelay(memo) ? memo : null;
}

function passed(packet: Packet, conntrack: Verdict['conntrack'], why: string): Verdict {
  return {
    verdict: 'ACCEPT',
    endpoint: null,
    packet,
    snat: null,
    service: null,
    conntrack,
    steps: [{ where: 'userspace', rule: familyOf(packet.dst.ip), decision: why }],
    cost: 1,
  };
}

/** Build a userspace engine with userspace-specific options. */
export function createUserspaceEngine(init: EngineInit, opts: UserspaceEngineOptions = {}): UserspaceEngine {
  return new UserspaceEngine(init, opts);
}

/** The EngineFactory for `mode: userspace`. */
export const userspaceEngine: EngineFactory = (init) => new UserspaceEngine(init);

/** The step of a relayed reply. */
function relayReplySteps(verdict: RelayVerdict): Step[] {
  const portal = verdict.openedPort.portal;
  const to = verdict.packet.src;
  return [
    {
      where: 'userspace',
      rule: `proxy socket ${portal.protocol} :${portal.proxyPort}`,
      decision: `copied the endpoint's reply to the client from ${to.ip}:${to.port}`,
    },
  ];
}
