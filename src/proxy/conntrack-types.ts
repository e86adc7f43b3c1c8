/**
 * The shapes of conntrack's records: a tracked flow, a lookup hit, the NAT a new flow gets, per-endpoint counts.
 * (conntrack.ts re-exports them; import from there.)
 */
import type { Protocol } from '../model/types.js';
import type { Address } from './packet.js';

/**
 * A flow's state as `-m conntrack --ctstate` sees it: NEW until the first reply, ESTABLISHED after it, CLOSING once
 * `close()` was called (TCP TIME_WAIT / CLOSE_WAIT / CLOSE, SCTP CLOSED after SHUTDOWN) until it expires.
 */
export type ConntrackState = 'NEW' | 'ESTABLISHED' | 'CLOSING';

/** How a flow ends: both sides sent FIN (TIME_WAIT), one side did (CLOSE_WAIT), or a reset (CLOSE). */
export type CloseKind = 'fin' | 'half' | 'rst';

/** One tracked flow. Fields marked readonly never change; the others move with the flow's packets. */
export interface ConntrackEntry {
  /** Creation order, unique per table. */
  readonly id: number;
  readonly proto: Protocol;
  /**
   * The original tuple: the first packet's source and destination, as the client sent it. (The tuples are fields of
   * the entry, not objects of their own: a busy node tracks hundreds of thousands of flows, and each object per
   * flow is one more for the garbage collector to copy.)
   */
  readonly originalSrc: Address;
  readonly originalDst: Address;
  /** The reply tuple: from the DNAT target (or the original destination) to the SNAT source (or the client). */
  readonly replySrc: Address;
  readonly replyDst: Address;
  /** Where DNAT sent the flow, or null when it was not DNATed. */
  readonly dnat: Address | null;
  /**
   * The source the flow was given: MASQUERADE's (node address, port kept unless it clashed), or the client's own
   * address with a remapped port (a flow without SNAT whose reply tuple clashed); null when the source was kept.
   */
  readonly snat: Address | null;
  /** The Service port (`ns/name:port`) the flow was DNATed for, or null. */
  readonly service: string | null;
  /** `hostPort` of the DNAT target, or null: the key per-endpoint counts use. */
  readonly endpoint: string | null;
  readonly created: number;
  state: ConntrackState;
  /** The sysctl whose timeout currently applies, e.g. `nf_conntrack_tcp_timeout_established`. */
  timeout: string;
  /** Simulated time at which the entry expires unless another packet refreshes it. */
  expires: number;
  lastSeen: number;
  /** A reply has been seen (IPS_SEEN_REPLY). */
  seenReply: boolean;
  /**
   * IPS_ASSURED: TCP once its handshake completed, SCTP once answered, UDP once it became a stream (it then keeps the
   * stream timeout).
   */
  assured: boolean;
  packets: number;
  /**
   * In the table: false once the entry has left it (deleted, expired, flushed). Holders of an entry (an engine's
   * per-service flow list, a caller of `entries()`) can ask this instead of looking the tuple up again.
   */
  live: boolean;
  /**
   * Free for the engine that owns the table (the userspace proxy's relay); conntrack never reads it, but tells an
   * engine that asks when entries take and drop memos (`MemoOwner`). Starts null. An engine may reuse a memo no live
   * entry holds (userspace relays, relay-pool.ts): what a finished entry's view still shows is then not its own.
   */
  memo: unknown;
}

/** The result of a lookup: the entry and which way the packet travels in the flow. */
export interface ConntrackHit {
  readonly entry: ConntrackEntry;
  readonly direction: 'original' | 'reply';
}

/** NAT decided for a new flow. */
export interface ConntrackNat {
  /**
   * DNAT target, or null. Kept as given (not copied): pass a plain or keyed address (an endpoint's `destination`),
   * not a richer record.
   */
  readonly dnat?: Address | null;
  /** MASQUERADE source address (the port is kept when free), or null. */
  readonly snatIp?: string | null;
  /** The Service port the flow belongs to (`ns/name:port`), for cleanup and counts. */
  readonly service?: string | null;
  /** `hostPort` of the DNAT target when the caller has it at hand (saves building the string). */
  readonly endpoint?: string | null;
}

/** Connections per endpoint, in IPVS's terms: active = TCP ESTABLISHED, inactive = every other tracked flow. */
export interface EndpointConnections {
  active: number;
  inactive: number;
}
