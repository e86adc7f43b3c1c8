/**
 * The state one IPVS engine shares between its parts: the live virtual servers (the kernel's IPVS table), the
 * ipsets, the graceful-termination list, the specs each service-table entry produced, and the options.
 */
import type { Rng } from '../../util/rng.js';
import type { Conntrack } from '../conntrack.js';
import type { DestIndex } from '../dest-index.js';
import type { ProxyConfig } from '../engine.js';
import type { ServiceTable } from '../service-table.js';
import type { GracefulTermination } from './graceful.js';
import type { IpvsIpsets } from './ipsets.js';
import type { DestTable } from './schedulers/dest-table.js';
import type { CreateSchedulerOptions } from './schedulers/index.js';
import type { SchedPacket, SchedulerName } from './schedulers/types.js';
import type { LiveVirtualServer } from './virtual-server.js';
import type { VirtualServerSpec } from './virtual-servers.js';
import type { VsTable } from './vs-table.js';

/** IPVS-specific knobs beyond ProxyConfig. */
export interface IpvsEngineOptions extends CreateSchedulerOptions {
  /**
   * Order in which new real servers are added (and so the kernel list order): `random` replays Go's map iteration
   * (`sets.UnsortedList`) with the engine's seeded stream; `sorted` adds them in kube-proxy's endpoint order.
   */
  addOrder?: 'random' | 'sorted';
  /** sysctl net/ipv4/vs/expire_quiescent_template (kube-proxy sets 1). */
  expireQuiescentTemplate?: boolean;
  /** Graceful-termination check interval, seconds (kube-proxy: 60). */
  gracefulCheckInterval?: number;
  /** Include per-destination scheduler reasoning in traces (default true). */
  explainScheduler?: boolean;
}

/** Everything the engine's parts read and update. */
export interface IpvsState {
  readonly table: ServiceTable;
  readonly config: ProxyConfig;
  readonly opts: IpvsEngineOptions;
  readonly rng: Rng;
  readonly conntrack: Conntrack;
  readonly scheduler: SchedulerName;
  readonly ipsets: IpvsIpsets;
  readonly graceful: GracefulTermination;
  /** Live virtual servers by `vsKey`. */
  readonly vs: Map<string, LiveVirtualServer>;
  /**
   * The same, for packet lookups, as numbers in `servers`: by (protocol, address key, port), one numeric probe and no
   * string per packet.
   */
  readonly byDestination: DestIndex<number>;
  /** The live virtual servers' numbers (vs-table.ts): what a new flow reads of them. */
  readonly servers: VsTable;
  /** Their real servers' numbers (dest-table.ts). */
  readonly dests: DestTable;
  /** Specs per `family|entryKey`, to diff against on the next change. */
  readonly specsByEntry: Map<string, VirtualServerSpec[]>;
  /** Health-check node port per `family|entryKey`. */
  readonly healthCheck: Map<string, number>;
  /** The node's own addresses (both families). */
  nodeAddrs: ReadonlySet<string>;
  /** The masquerade mark as kube-proxy prints it (`0x4000`). */
  readonly mark: string;
  /** Record verdict steps (EngineInit.explain). */
  readonly explain: boolean;
  /** The scheduler's view of the packet being scheduled, reused (schedulers read it, never keep it). */
  readonly schedPacket: SchedPacket;
  /**
   * Virtual servers that deleted a real server since the kernel's last expire_nodest_conn flush: the flush, which
   * the kernel queues on every deletion, expires their connections to it (LiveVirtualServer.expireNodestConns).
   */
  readonly nodest: Set<LiveVirtualServer>;
}
