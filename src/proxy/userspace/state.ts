/** The state the userspace engine's parts share. */
import type { IPFamily, Protocol } from '../../model/types.js';
import type { Conntrack, NatRecord } from '../conntrack.js';
import type { Step } from '../engine.js';
import type { Address, Packet } from '../packet.js';
import type { PortalIndex } from './portal-index.js';
import type { RelayPool } from './relay-pool.js';
import type { BalancerState, LoadBalancerRR } from './round-robin.js';
import type { OpenedPort } from './service-ports.js';

/** The endpoint a backend connection dials: its keyed address, and that address's key and port at hand. */
export interface BackendTarget {
  readonly address: Address;
  readonly key: number;
  readonly port: number;
}

/** Userspace-specific knobs beyond ProxyConfig. */
export interface UserspaceEngineOptions {
  /** `--udp-timeout` (udpIdleTimeout), seconds: a UDP client session idle this long gets a new backend. Default 0.25. */
  udpIdleTimeout?: number;
  /** `--proxy-port-range`; default Linux's ephemeral range 32768–60999. */
  proxyPortRange?: { first: number; last: number };
  /**
   * Whether dialling an endpoint over TCP succeeds (default: always), to exercise TryConnectEndpoints's retries. A UDP
   * dial always succeeds, as upstream's: it sends nothing.
   */
  dialable?: (endpoint: string, now: number) => boolean;
  /** syncPeriod, seconds: stale sticky sessions are cleaned up this often (default 30). */
  syncPeriod?: number;
}

/** One portal (an address:port, or a NodePort) and its trace steps per chain, built on first use. */
export interface Portal extends PortFacts {
  readonly port: OpenedPort;
  /**
   * `port.balancer` when the portal was indexed (a port is re-indexed whenever it is synced). A new connection reads
   * neither the port nor, without affinity, the balancer: it reads this portal's copies of their facts (below) and the
   * balancer's cells by `balancerId`. At 10,000 Services each object is a cache miss and a page walk.
   */
  readonly balancer: BalancerState | undefined;
  /** The address for address portals; null for a NodePort. */
  readonly addr: string | null;
  /** An externalIP portal (its CONTAINER rules are split by physdev and local destination). */
  readonly external: boolean;
  /** Made by the first trace through the portal (most portals of a big cluster are never traced). */
  steps: Map<string, Step> | undefined;
  /** When its rules were added (open-portal.ts): a rule added later stands later in its chain. */
  readonly rank: number;
  /** The portal whose rules come next at the same address and port (portal-index.ts), if any. */
  next: Portal | undefined;
  /** `port.family` and `.proxyPort`, copied (as `name` and `protocol` are). */
  readonly family: IPFamily;
  readonly proxyPort: number;
  /** `balancer.id` (-1: none): a connection reads the balancer's cells, not the balancer (round-robin.ts). */
  readonly balancerId: number;
  /**
   * The conntrack NAT record of the client legs this portal redirects (to hostIP:proxyPort), made by its first
   * connection and reused, with the host IP it was made for and its `hostIP:proxyPort` text beside it.
   */
  clientNat: NatRecord | null;
  clientNatHost: string;
  clientNatEndpoint: string;
  /** The record of client legs sent to the proxy port itself (no NAT, this Service port), made on first use. */
  directNat: NatRecord | null;
}

/** What a connection needs to know of its Service port: its name (`ns/name:port`) and protocol. */
export interface PortFacts {
  readonly name: string;
  readonly protocol: Protocol;
}

export interface UserspaceState {
  readonly conntrack: Conntrack;
  readonly lb: LoadBalancerRR;
  /** Relays to reuse once conntrack lets go of them (conntrack tells the pool: `ownMemos`). */
  readonly relays: RelayPool;
  /** Portals with an address (ClusterIP, LB IPs, externalIPs), by protocol, address and port, in rule order. */
  readonly portals: PortalIndex;
  /** NodePorts by `port·4 + protocol code`. */
  readonly nodePorts: Map<number, Portal>;
  /**
   * The proxy sockets by `proxyPort·4 + protocol code`: each listens on every address of its family (ListenIP
   * 0.0.0.0), so a packet sent to a node address on that port reaches it with no portal rule at all, as upstream's
   * proxier tests reach their Services.
   */
  readonly proxySockets: Map<number, Portal>;
  nodeAddrs: ReadonlySet<string>;
  readonly udpIdleTimeout: number;
  readonly dialable: (endpoint: string, now: number) => boolean;
  /** Record verdict steps (EngineInit.explain). */
  readonly explain: boolean;
  /** The node's host IP of a family (upstream: the default-route interface's address). */
  hostIP(family: IPFamily): string;
  /** `addressKey(hostIP)`, kept for the latest host IP asked. */
  hostKey(hostIP: string): number;
  /**
   * The first packet of a new backend connection from `hostIP` to the endpoint `dst` (its address, with the address's
   * key and port beside it): its local port is free toward `dst`.
   */
  backendTuple(proto: Protocol, hostIP: string, dst: BackendTarget, now: number): Packet;
  /** Whether the proxy socket of `port` is still open (stopProxy closes it when its Service changes or goes). */
  isOpen(port: OpenedPort): boolean;
}

/**
 * A UDP client whose datagram the proxy read but could not relay (no endpoint): it is not an active client, so the
 * proxy dials again for its next datagram. Its conntrack entry (the REDIRECT to the proxy port) carries this memo.
 */
export interface Unbound {
  readonly unbound: OpenedPort;
}

/**
 * One connection through the proxy: the client's leg and the proxy's own leg to the endpoint. Both legs' conntrack
 * entries carry it as their memo (a packet on `client` is the client's; on any other entry, a backend leg's).
 * Relays are reused once no entry holds them (relay-pool.ts): nothing may keep one beyond the packet at hand.
 */
export interface Relay {
  readonly port: OpenedPort;
  /**
   * The Service port (`ns/name:port`, `port.name`), and whether it is UDP: at hand without reaching the port (`udp`
   * is read on every relayed packet; the name on the drop paths).
   */
  readonly service: string;
  readonly udp: boolean;
  readonly proto: Protocol;
  /**
   * The client leg: its conntrack row and the row's generation (rows are reused once a flow ends), and its original
   * tuple. Legs are kept as rows, not entry objects: a connection then costs no objects beyond the relay, and a
   * relayed packet reaches its legs' rows directly.
   */
  readonly clientRow: number;
  readonly clientGeneration: number;
  readonly clientSrc: Address;
  readonly clientDst: Address;
  /** The proxy closed the client's connection (engine.close): what its leg's state says once conntrack forgot it. */
  clientClosed: boolean;
  /** The current backend leg (a UDP session idle past udpIdleTimeout gets a new one): row, generation, tuple. */
  backendRow: number;
  backendGeneration: number;
  backendSrc: Address;
  backendDst: Address;
  endpoint: string;
  /** Last packet either way, for the UDP session idle timeout. */
  lastActivity: number;
  /** How many conntrack entries carry the relay as their memo (relay-pool.ts). */
  readonly holders: number;
}
