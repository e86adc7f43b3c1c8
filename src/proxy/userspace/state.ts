/** The state the userspace engine's parts share. */
import type { IPFamily, Protocol } from '../../model/types.js';
import type { Conntrack } from '../conntrack.js';
import type { Address } from '../packet.js';
import type { LoadBalancerRR } from './round-robin.js';
import type { OpenedPort } from './service-ports.js';

/** Userspace-specific knobs beyond ProxyConfig. */
export interface UserspaceEngineOptions {
  /** `--udp-timeout` (udpIdleTimeout), seconds: a UDP client session idle this long gets a new backend. Default 0.25. */
  udpIdleTimeout?: number;
  /** `--proxy-port-range`; default Linux's ephemeral range 32768–60999. */
  proxyPortRange?: { first: number; last: number };
  /** Whether dialling an endpoint succeeds (default: always), to exercise TryConnectEndpoints's retries. */
  dialable?: (endpoint: string, now: number) => boolean;
  /** syncPeriod, seconds: stale sticky sessions are cleaned up this often (default 30). */
  syncPeriod?: number;
}

export interface UserspaceState {
  readonly conntrack: Conntrack;
  readonly lb: LoadBalancerRR;
  /** Portals with an address (ClusterIP, LB IPs, externalIPs) by `proto ip port`. */
  readonly portals: Map<string, { port: OpenedPort; external: boolean }>;
  /** NodePorts by `proto port`. */
  readonly nodePorts: Map<string, OpenedPort>;
  nodeAddrs: ReadonlySet<string>;
  readonly udpIdleTimeout: number;
  readonly dialable: (endpoint: string, now: number) => boolean;
  /** The node's host IP of a family (upstream: the default-route interface's address). */
  hostIP(family: IPFamily): string;
  /** A free local port for a new backend connection. */
  ephemeralPort(
    proto: Address extends never ? never : 'TCP' | 'UDP' | 'SCTP',
    hostIP: string,
    dst: Address,
    now: number,
  ): number;
}
