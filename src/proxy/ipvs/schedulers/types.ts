/**
 * The contract every IPVS scheduler implements, and the destination ("real server") record they share.
 *
 * Conventions follow the kernel (net/netfilter/ipvs/, include/net/ip_vs.h):
 * - A virtual server's destinations form an ordered list; `ip_vs_ctl.c` inserts a new destination at the **head**,
 *   so the array here is head-first and callers `unshift` on add.
 * - A destination is never chosen for a new connection while its weight is 0 (quiesced) or it is flagged overloaded.
 * - `lastWeight` is the latest non-zero weight (set on add even when 0): Maglev builds its table from it, so a
 *   quiesced destination keeps its table slots and lookups landing there fail.
 */
import type { Protocol } from '../../../model/types.js';
import type { Address } from '../../packet.js';

/** Scheduler names kube-proxy passes through from `--ipvs-scheduler`. */
export type SchedulerName = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sed' | 'nq' | 'lblc' | 'lblcr' | 'dh' | 'sh' | 'mh';

export const SCHEDULER_NAMES: readonly SchedulerName[] = [
  'rr',
  'wrr',
  'lc',
  'wlc',
  'sed',
  'nq',
  'lblc',
  'lblcr',
  'dh',
  'sh',
  'mh',
];

/** Virtual-server flags (include/uapi/linux/ip_vs.h). */
export const SvcFlags = {
  PERSISTENT: 0x0001,
  HASHED: 0x0002,
  ONEPACKET: 0x0004,
  /** sh-fallback / mh-fallback. */
  SCHED1: 0x0008,
  /** sh-port / mh-port. kube-proxy sets this (its `FlagSourceHash`) on every virtual server when the scheduler is mh. */
  SCHED2: 0x0010,
  SCHED3: 0x0020,
} as const;

/** Destination flags. AVAILABLE is cleared when the destination is deleted (moved to the kernel's trash). */
export const DestFlags = {
  AVAILABLE: 0x0001,
  OVERLOAD: 0x0002,
} as const;

/**
 * One real server of a virtual server. Mutable: the engine updates weights and connection counts in place. Its
 * weight, flags and slot live in the engine's DestTable (dest-table.ts), under `id`.
 */
export interface Dest {
  /** The destination's number in its engine's DestTable. */
  readonly id: number;
  readonly addr: string;
  readonly port: number;
  readonly family: 'IPv4' | 'IPv6';
  /** The address folded to 32 bits in host order, as the kernel's hash functions see it (IPv6: XOR of the words). */
  readonly fold: number;
  /** `addr:port`, or `[addr]:port` for IPv6. */
  readonly key: string;
  /** The real server as a packet address (keyed, packet.ts `address()`): what its connections are DNATed to. */
  readonly destination: Address;
  /** `destination`'s address key (tuple-table.ts `keyOf`), at hand without reaching the address. */
  readonly destKey: number;
  weight: number;
  lastWeight: number;
  /** TCP connections in ESTABLISHED. */
  activeConns: number;
  /** Every other connection state (SYN_RECV, FIN_WAIT, TIME_WAIT, all UDP). */
  inactConns: number;
  /** Persistence templates pointing at this destination. */
  persistConns: number;
  flags: number;
  /**
   * The real server's number in its virtual server (-1 until one numbers it): the tag its connections carry in
   * conntrack, so a connection's real server is found from its row (virtual-server.ts).
   */
  slot: number;
}

/** What a scheduler may look at in the first packet of a connection. */
export interface SchedPacket {
  srcIP: string;
  srcPort: number;
  dstIP: string;
  dstPort: number;
  proto: Protocol;
  /**
   * `addressKey` of the source and destination, when the caller has them (the engine does: conntrack's lookup computed
   * them). An IPv4 key is the address's value, which is what the hash schedulers fold it to, so they hash without
   * reading the address text (hash.ts `srcFoldOf`).
   */
  srcKey?: number;
  dstKey?: number;
}

/** How the destination list changed, so order-sensitive schedulers (rr) can fix their cursor. */
export type DestChange =
  | { kind: 'add'; dest: Dest }
  | { kind: 'del'; dest: Dest; index: number }
  | { kind: 'upd'; dest: Dest };

/**
 * A scheduler instance belongs to one virtual server, like the kernel's `svc->sched_data`.
 *
 * `schedule` receives the virtual server's current destination list; when `trace` is given it appends one line per
 * step of reasoning (e.g. each destination's overhead/weight for wlc). Building those strings is skipped otherwise,
 * which keeps the hot path allocation-free.
 */
export interface Scheduler {
  readonly name: SchedulerName;
  /** As the kernel's `init_service`, for a scheduler bound to a virtual server that already has destinations. */
  bind?(dests: readonly Dest[]): void;
  /** Called after the list changed: `add` after the destination was inserted at the head, `del` after removal. */
  destsChanged(dests: readonly Dest[], change: DestChange): void;
  /** The virtual server is being deleted: give back anything kept outside the scheduler (maglev-arena.ts). */
  release?(): void;
  /** Pick a destination for a new connection, or `undefined` ("no destination available"). */
  schedule(dests: readonly Dest[], pkt: SchedPacket, nowMs: number, trace?: string[]): Dest | undefined;
}

/** Options shared by the scheduler factories. */
export interface SchedulerOptions {
  /** The virtual server's flags (SvcFlags). */
  flags?: number;
}

/**
 * Connection overhead used by lc, wlc, lblc and lblcr (`ip_vs_dest_conn_overhead`): an active connection is taken
 * to cost 256 inactive ones.
 */
export function connOverhead(d: Dest): number {
  return d.activeConns * 256 + d.inactConns;
}

/** Eligible for a new connection: weight > 0 and not overloaded (the check rr, wrr, lc, wlc, sed, nq make). */
export function usable(d: Dest): boolean {
  return d.weight > 0 && (d.flags & DestFlags.OVERLOAD) === 0;
}

/** The text ipvsadm and traces use for a destination or virtual address. */
export function hostPort(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}
