/**
 * Connection tracking, as Linux's nf_conntrack keeps it for kube-proxy's NAT: one entry per flow, filed under its
 * original tuple (as the client sent it) and its reply tuple (as the endpoint answers it, after DNAT and SNAT), so
 * every later packet of the flow, in either direction, finds the entry with one map lookup and is rewritten the same
 * way. The nat table only ever sees a flow's first packet; that is why an established flow is never re-balanced when
 * endpoints change, and why kube-proxy has to delete stale UDP entries itself (see conntrack-cleanup.ts).
 *
 * Entries are rows of a flow store (conntrack-store.ts), not objects: engines' per-packet paths work on row numbers
 * (`lookupRow`, `seeRow`, `trackRow`); everything else gets an object view of a row (`lookup`, `track`, `entries`).
 *
 * Time is the caller's simulated clock, in seconds. Entries expire lazily (a lookup of an expired entry deletes it)
 * and in sweeps (`expire(now)`, run before counts are read).
 *
 * Simplifications, because packets carry no TCP flags or SCTP chunks: a TCP flow is SYN_SENT (SCTP: CLOSED) until
 * its first reply, its client packets before that being retransmits; the reply is the SYN-ACK (SYN_RECV, 60 s; the
 * server's packets until the ACK are retransmitted SYN-ACKs, ignored) and the client's next packet its ACK
 * (ESTABLISHED); SCTP is ESTABLISHED from the first reply. `close()` stands for the FIN exchange (TIME_WAIT), a half
 * close (CLOSE_WAIT) or a reset (CLOSE; deleted at once if nothing was answered), and for SCTP the SHUTDOWN exchange
 * (CLOSED). A FIN before any answer is invalid and changes nothing. A client packet on a closed TCP flow, or one the
 * client reset, is a new SYN on the tuple.
 */

import { RangeExhaustedError } from '../errors.js';
import { FlowIndex } from './conntrack-index.js';
import {
  ASSURED,
  FlowStore,
  type MemoOwner,
  type NatBook,
  type NatRecord,
  NO_NAT,
  natRecord,
  OWNER_MARK,
  REOPENABLE,
  SEEN_REPLY,
  STATE_CLOSING,
  STATE_ESTABLISHED,
  TIMER,
  TIMERS,
} from './conntrack-store.js';
import { type ConntrackTimeouts, DEFAULT_CONNTRACK_TIMEOUTS, SYSCTL, UDP_STREAM_AFTER } from './conntrack-timeouts.js';
import type { CloseKind, ConntrackEntry, ConntrackHit, ConntrackNat, EndpointConnections } from './conntrack-types.js';
import { EntryView } from './conntrack-view.js';
import { type Address, describePacket, familyOf, type Packet } from './packet.js';
import { addressKey, protoCode, tuplePorts } from './tuple-table.js';

export type { MemoOwner, NatBook, NatRecord } from './conntrack-store.js';
export { type ConntrackTimeouts, DEFAULT_CONNTRACK_TIMEOUTS } from './conntrack-timeouts.js';
export type {
  CloseKind,
  ConntrackEntry,
  ConntrackHit,
  ConntrackNat,
  ConntrackState,
  EndpointConnections,
} from './conntrack-types.js';

const UDP = 2;
const TCP = 1;
const SCTP = 3;
const STATE_MASK = 3 << 2;
const TIMER_MASK = 15 << 4;
/** The flag bits that say a flow is in the steady state `seeRow` only renews, and their value then. */
const STEADY_MASK = 3 | STATE_MASK | TIMER_MASK | SEEN_REPLY;
const TCP_STEADY = TCP | (STATE_ESTABLISHED << 2) | (TIMER.tcpEstablished << 4) | SEEN_REPLY;

/** A conntrack table. One per node (the kernel's table is per network namespace). */
export class Conntrack {
  readonly timeouts: Readonly<ConntrackTimeouts>;
  /** Seconds by timer code (conntrack-store.ts TIMER). */
  readonly #seconds: Float64Array;
  readonly #store = new FlowStore();
  /** Rows by original and reply tuple (one probe finds either), and the UDP cleanup indexes. */
  readonly #flows = new FlowIndex(this.#store);
  /**
   * Per-endpoint counts, rebuilt from the rows when read after a change (#countsStale). Only introspection reads
   * them, so new flows and state changes do not pay a string-keyed Map update each.
   */
  readonly #counts = new Map<string, EndpointConnections>();
  #countsStale = false;
  /**
   * For `trackRow` (callers that pass addresses, not records): per DNAT target, the NAT record of the last flow sent
   * there and the SNAT address and Service it was made for, so flows with the same NAT share one record.
   */
  readonly #natRecords = new WeakMap<Address, { record: NatRecord; snatIp: string | null; service: string | null }>();
  #nextId = 1;
  /** No entry expires before this time (a lower bound), so most `expire()` calls return at once. */
  #earliestExpiry = Number.POSITIVE_INFINITY;
  /** Depth of `closing()` calls: packets sent meanwhile are FINs or RSTs. */
  #closingPackets = 0;

  constructor(timeouts: Partial<ConntrackTimeouts> = {}) {
    this.timeouts = Object.freeze({ ...DEFAULT_CONNTRACK_TIMEOUTS, ...timeouts });
    this.#seconds = new Float64Array(TIMERS.length + 1);
    TIMERS.forEach((name, i) => {
      this.#seconds[i + 1] = this.timeouts[name];
    });
  }

  /** Number of entries (expired ones not yet swept included). */
  get size(): number {
    return this.#store.live;
  }

  /**
   * The node's own addresses. The index keeps the keys with one of them at either end apart from the rest (two
   * tables, a tuple decides which), so the flows the node forwards are looked up in a table of their own: a userspace
   * proxy's three other keys per connection (its REDIRECT's reply, its own connection to the endpoint) are all to or
   * from the node. Any set is correct; it only decides where keys are kept.
   */
  setNodeAddresses(ips: readonly string[]): void {
    this.#flows.setNodeKeys(ips.map(addressKey));
  }

  /** Slots in each of the index's two tables (conntrack-index.ts; two keys per flow), 4 bytes each. */
  get indexCapacity(): { readonly node: number; readonly transit: number } {
    return this.#flows.capacity;
  }

  // ---- rows: the per-packet interface

  /**
   * The row of the flow a packet belongs to, or -1; its direction is in `lastDirection` until the next lookup. An
   * expired flow is deleted and not found; a client SYN on a closed tuple deletes it too (see #reopens).
   */
  lookupRow(p: Packet, now: number): number {
    return this.#find(p, now, this.#closingPackets === 0);
  }

  /**
   * `lookupRow` with the packet's address keys and destination port given (conntrack-index.ts `findKeyed`): `track`
   * of the same packet next reuses them.
   */
  lookupRowKeyed(p: Packet, srcKey: number, dstKey: number, dstPort: number, now: number): number {
    return this.#settle(this.#flows.findKeyed(p, srcKey, dstKey, dstPort), now, this.#closingPackets === 0);
  }

  /** `lookupRow` for a packet that cannot be a SYN (an answer, a FIN): a closed tuple is found, not reopened. */
  findRow(p: Packet, now: number): number {
    return this.#find(p, now, false);
  }

  /**
   * Confirm a new flow for its first packet `p` with the NAT decided for it; returns its row, or -1 when it cannot be
   * tracked: its reply tuple is another live flow's and every source port of its class is taken too (`trackNat`).
   * The kernel drops such a packet; the engines do too.
   */
  trackRow(p: Packet, nat: ConntrackNat, now: number): number {
    const dnat = nat.dnat ?? null;
    const snatIp = nat.snatIp ?? null;
    const service = nat.service ?? null;
    if (dnat === null && snatIp === null && service === null) return this.trackRecord(p, NO_NAT, now);
    // Flows to one endpoint with one SNAT address and Service share a record (#natRecords).
    const cached = dnat === null ? undefined : this.#natRecords.get(dnat);
    let record: NatRecord;
    if (cached !== undefined && cached.snatIp === snatIp && cached.service === service) record = cached.record;
    else {
      record = natRecord(dnat, snatIp, service, nat.endpoint ?? null);
      if (dnat !== null) this.#natRecords.set(dnat, { record, snatIp, service });
    }
    // A caller's own endpoint text wins over the record's (shared) one for this flow, as it always did.
    return this.trackRecord(p, record, now, dnat === null ? null : (nat.endpoint ?? record.endpoint));
  }

  /**
   * `trackRow` with the flow's NAT record at hand (an engine that keeps one per DNAT rule): everything the entry
   * needs is read from the record, so no address object is reached on the way.
   */
  trackRecord(p: Packet, record: NatRecord, now: number, endpoint: string | null = record.endpoint): number {
    const dnatKey = record.dnat !== null ? record.dnatKey : -1;
    return this.trackNat(p, record, endpoint, dnatKey, record.dnatPort, record.snatKey, now);
  }

  /**
   * `trackRecord` with the record's fields passed beside it: the DNAT target's key and port (dnatKey -1: no DNAT)
   * and the SNAT address's key (-1: none). An engine that keeps them where its walk already reads (iptables: in the
   * DNAT rule) files a flow without reaching the record, which on a node with many endpoints is a cache miss.
   */
  trackNat(
    p: Packet,
    record: NatRecord,
    endpoint: string | null,
    dnatKey: number,
    dnatPort: number,
    snatKey: number,
    now: number,
  ): number {
    return this.#file(p, record, endpoint, false, dnatKey, dnatPort, snatKey, now);
  }

  /**
   * `trackNat` with the record's book and its handle there (`NatBook`) in place of the record and its text: the
   * record is asked for when the flow's NAT is first read (`natOf`, `endpointOf`, a verdict's fields).
   */
  trackNatInBook(
    p: Packet,
    book: NatBook,
    handle: number,
    dnatKey: number,
    dnatPort: number,
    snatKey: number,
    now: number,
  ): number {
    return this.#file(p, book, handle, true, dnatKey, dnatPort, snatKey, now);
  }

  #file(
    p: Packet,
    nat: NatRecord | NatBook,
    endpoint: string | number | null,
    inBook: boolean,
    dnatKey: number,
    dnatPort: number,
    snatKey: number,
    now: number,
  ): number {
    const store = this.#store;
    const s = this.#flows.srcKeyOf(p);
    const d = this.#flows.dstKeyOf(p);
    const dstPort = this.#flows.dstPortOf(p);
    const natted = dnatKey >= 0;
    const masqueraded = snatKey >= 0;
    // The reply tuple: from the DNAT target (or the original destination) to the SNAT source (or the client).
    const replySrcKey = natted ? dnatKey : d;
    const replySrcPort = natted ? dnatPort : dstPort;
    const replyDstKey = masqueraded ? snatKey : s;
    // The reply tuple must be unique. The source port stays unless another live flow already has the reply tuple;
    // then it is remapped to a free port of its class (remapRange). MASQUERADE does this, and so does the kernel for
    // a flow without SNAT (the NAT null binding: two flows from one client port DNATed to one endpoint); such a flow
    // keeps its address, and only its port changes. snatPort 0: the source port is kept.
    let snatPort = masqueraded ? p.src.port : 0;
    const holder = this.#liveHolder(p, replySrcKey, replySrcPort, replyDstKey, p.src.port, now);
    // A flow with `p`'s own original tuple is the one `p` replaces (tracked again), not a clash.
    const own = holder < 0 ? -1 : this.#ownRow(p);
    if (holder >= 0 && holder !== own) {
      snatPort = this.#freePort(p, replySrcKey, replySrcPort, replyDstKey, own, now);
      // Every port of the class is taken: the kernel cannot bind the NAT, and the packet is dropped untracked.
      if (snatPort === 0) return -1;
    }
    const code = protoCode(p.proto);
    const ports = tuplePorts(p.src.port, dstPort);
    const replyPorts = tuplePorts(replySrcPort, snatPort !== 0 ? snatPort : p.src.port);
    const id = this.#nextId++;
    const row = store.add(
      id,
      code,
      p.src,
      p.dst,
      s,
      d,
      replySrcKey,
      replyDstKey,
      ports,
      replyPorts,
      nat,
      endpoint,
      inBook,
      snatPort,
      now,
    );
    // An SCTP INIT moves the entry from NONE to CLOSED (10 s) until it is answered.
    this.#setTimer(row, now, code === TCP ? TIMER.tcpSynSent : code === UDP ? TIMER.udp : TIMER.sctpClosed);
    // The same tuple tracked twice (engines never do; a caller of `track` may): the new flow replaces the old one.
    const displaced = this.#flows.insert(row);
    if (displaced >= 0) store.free(displaced);
    this.#countsStale = true;
    return row;
  }

  /**
   * The first port of the source port's class (remapRange) that gives the reply tuple `replySrc → replyDst:port` to
   * no live flow, or 0 when every one is taken. The kernel gives up sooner (after a few hundred random tries); we
   * search the whole class, so a flow is refused only when no port is left.
   */
  #freePort(
    p: Packet,
    replySrcKey: number,
    replySrcPort: number,
    replyDstKey: number,
    own: number,
    now: number,
  ): number {
    const [min, max, first] = remapRange(p.src.port);
    const size = max - min + 1;
    for (let k = 0; k < size; k++) {
      const port = min + ((first - min + k) % size);
      const holder = this.#liveHolder(p, replySrcKey, replySrcPort, replyDstKey, port, now);
      if (holder < 0 || holder === own) return port;
    }
    return 0;
  }

  /** The row filed under `p`'s original tuple (a flow `p` would replace), or -1. */
  #ownRow(p: Packet): number {
    const row = this.#flows.find(p);
    return row >= 0 && this.#flows.direction === 'original' ? row : -1;
  }

  /**
   * The live flow that has the reply tuple `replySrc → replyDst:port` (as its reply or its original tuple), or -1.
   * As the kernel's nf_conntrack_tuple_taken, an expired flow found there is reaped, not counted.
   */
  #liveHolder(
    p: Packet,
    replySrcKey: number,
    replySrcPort: number,
    replyDstKey: number,
    port: number,
    now: number,
  ): number {
    const row = this.#flows.holderOf(p, replySrcKey, replySrcPort, replyDstKey, port);
    if (row < 0) return -1;
    if (this.#store.expires(row) <= now) {
      this.deleteRow(row);
      return -1;
    }
    return row;
  }

  /** A later packet of a tracked flow: refresh its timer and move its state as the kernel would. */
  seeRow(row: number, direction: 'original' | 'reply', now: number): void {
    const store = this.#store;
    store.touch(row, now);
    const flags = store.flags(row);
    // Nearly every packet is one of an established TCP connection, which only renews its timer. That case is kept
    // apart so this function stays small enough for the optimizing compiler to inline into every engine's `send`.
    if ((flags & STEADY_MASK) !== TCP_STEADY) {
      this.#transition(row, flags, direction, now);
      return;
    }
    this.#renew(row, now, TIMER.tcpEstablished);
  }

  /** `seeRow` for a packet that may move its flow's state or timer: the kernel's rules, case by case. */
  #transition(row: number, flags: number, direction: 'original' | 'reply', now: number): void {
    const store = this.#store;
    const code = flags & 3;
    const timer = (flags & TIMER_MASK) >> 4;
    if (code === UDP) {
      // nf_conntrack_udp_packet runs before nf_conntrack_in sets the seen-reply bit, so the first reply still gets
      // the unreplied timeout; a stream (assured, longer timeout) is a replied flow still going more than 2 s in.
      const replied = (flags & SEEN_REPLY) !== 0;
      let next = flags;
      if (direction === 'reply' && !replied) next = (next & ~STATE_MASK) | SEEN_REPLY | (STATE_ESTABLISHED << 2);
      if (replied && now > store.created(row) + UDP_STREAM_AFTER) next |= ASSURED;
      store.setFlags(row, next);
      this.#setTimer(row, now, (next & ASSURED) !== 0 ? TIMER.udpStream : TIMER.udp);
      return;
    }
    if ((flags & STATE_MASK) === STATE_CLOSING << 2) {
      // In CLOSE_WAIT packets keep the flow alive. In TIME_WAIT and CLOSE a server packet is valid and renews the
      // state's timer (tcp_packet refreshes with the new state's timeout); a client packet there reopens the tuple
      // (lookupRow). SCTP's CLOSED after a shutdown runs out (a new INIT does not renew it).
      if (timer === TIMER.tcpCloseWait) this.#setTimer(row, now, TIMER.tcpCloseWait);
      else if ((timer === TIMER.tcpTimeWait || timer === TIMER.tcpClose) && direction === 'reply')
        this.#setTimer(row, now, timer);
      return;
    }
    if ((flags & SEEN_REPLY) === 0) {
      // Unanswered, a client packet is a retransmitted SYN (or INIT): since Linux 5.14 it does not renew SYN_SENT,
      // and an INIT on a CLOSED SCTP entry does not renew it either.
      if (direction !== 'reply') return;
      // SCTP is assured once answered (the model has no COOKIE_ECHOED); TCP when its handshake completes (below).
      const assured = code === SCTP ? ASSURED : 0;
      store.setFlags(row, (flags & ~STATE_MASK) | SEEN_REPLY | (STATE_ESTABLISHED << 2) | assured);
      this.#countsStale = true;
      // TCP: the answer is the SYN-ACK; SYN_RECV until the client's ACK (its next packet).
      this.#setTimer(row, now, code === TCP ? TIMER.tcpSynRecv : TIMER.sctpEstablished);
      return;
    }
    const next = code === SCTP ? TIMER.sctpEstablished : TIMER.tcpEstablished;
    if (code === TCP && timer === TIMER.tcpSynRecv) {
      // The server's packets in SYN_RECV are retransmitted SYN-ACKs, which tcp_conntracks ignores (REPLY synack in
      // sSR is sIG): the packet passes and the timer is not renewed, so SYN_RECV runs out 60 s after the first
      // answer. The client's next packet completes the handshake.
      if (direction === 'reply') return;
      // The valid ACK after SYN_RECV assures the flow (tcp_packet sets IPS_ASSURED here).
      store.setFlags(row, flags | ASSURED);
      this.#countsStale = true;
    }
    this.#setTimer(row, now, next);
  }

  /** The NAT a row's flow got. */
  natOf(row: number): NatRecord {
    return this.#store.nat(row);
  }

  /** `natOf(row).endpoint`, without reaching the record. */
  endpointOf(row: number): string | null {
    return this.#store.endpoint(row);
  }

  /** Whether the row holds its record's book and handle, the record not asked for yet (`trackNatInBook`). */
  natInBookOf(row: number): boolean {
    return this.#store.natInBook(row);
  }

  /** The row's NAT as filed: its record, or the book it is in (`natInBookOf`; then `endpointSlotOf` is its handle). */
  natSlotOf(row: number): NatRecord | NatBook {
    return this.#store.natSlot(row);
  }

  /** The row's endpoint text as filed, or its record's handle in the book `natSlotOf` gives. */
  endpointSlotOf(row: number): string | number | null {
    return this.#store.endpointSlot(row);
  }

  /**
   * The source port a row's flow leaves with: MASQUERADE's when its NAT has an SNAT address; else 0 (the client's
   * port kept) or the port a reply-tuple clash remapped it to (`trackNat`).
   */
  snatPortOf(row: number): number {
    return this.#store.snatPort(row);
  }

  /** The flow's creation number (`ConntrackEntry.id`). */
  idOf(row: number): number {
    return this.#store.id(row);
  }

  createdOf(row: number): number {
    return this.#store.created(row);
  }

  expiresOf(row: number): number {
    return this.#store.expires(row);
  }

  /** Whether a row holds a flow, and that flow is the one of `generation` (rows are reused). */
  holds(row: number, generation: number): boolean {
    return this.#store.isLive(row) && this.#store.generation(row) === generation;
  }

  generationOf(row: number): number {
    return this.#store.generation(row);
  }

  /**
   * Groups of rows an owner keeps track of (an IPVS virtual server's connections): a row joins one group with a tag
   * of the owner's, and leaves it when the flow is deleted or expires and is collected, so a walk from `groupFirst`
   * along `groupNext` visits exactly the group's rows still in the table, newest first. A row in a group may have
   * expired without having been collected yet: walkers check `expiresOf`. `counted`: also keep the group's active
   * and inactive counts per tag (`groupCount`).
   */
  newGroup(counted = false): number {
    return this.#store.newGroup(counted);
  }

  releaseGroup(group: number): void {
    this.#store.releaseGroup(group);
  }

  join(row: number, group: number, tag: number): void {
    this.#store.join(row, group, tag);
  }

  groupFirst(group: number): number {
    return this.#store.groupFirst(group);
  }

  groupNext(row: number): number {
    return this.#store.groupNext(row);
  }

  groupTag(row: number): number {
    return this.#store.groupTag(row);
  }

  /**
   * How many rows of `group` with `tag` are active connections (`active`: a handshake done, not UDP) or inactive
   * ones, kept as rows join, leave and change state. Rows that expired but were not yet collected still count.
   */
  groupCount(group: number, tag: number, active: boolean): number {
    return this.#store.groupCount(group, tag, active);
  }

  /** Take a row out of its group without deleting its flow (an owner done with an expired one). */
  leaveGroup(row: number): void {
    this.#store.leaveGroup(row);
  }

  /** The original tuple's source and destination of a row's flow, as its first packet carried them. */
  originalSrcOf(row: number): Address {
    return this.#store.src[row]!;
  }

  originalDstOf(row: number): Address {
    return this.#store.dst[row]!;
  }

  /**
   * One bit of the owning engine's (IPVS: the flow's real server was deleted), clear on a new flow. It lives in the
   * row's flags, which a lookup has just read: testing it on every packet costs nothing, where a memo is one more
   * array to reach.
   */
  markRow(row: number, on: boolean): void {
    const flags = this.#store.flags(row);
    this.#store.setFlags(row, on ? flags | OWNER_MARK : flags & ~OWNER_MARK);
  }

  markedRow(row: number): boolean {
    return (this.#store.flags(row) & OWNER_MARK) !== 0;
  }

  /** The owning engine's value for a row (ConntrackEntry.memo), null when none was set. */
  memoOf(row: number): unknown {
    return this.#store.memo[row] ?? null;
  }

  setMemo(row: number, memo: unknown): void {
    this.#store.setMemo(row, memo);
  }

  /** Tell `owner` when rows take and drop memos (conntrack-store.ts `MemoOwner`). */
  ownMemos(owner: MemoOwner): void {
    this.#store.ownMemos(owner);
  }

  /** Whether a row's flow is closing (ConntrackEntry.state 'CLOSING'): FIN or reset seen, or SCTP shut down. */
  closingRow(row: number): boolean {
    return (this.#store.flags(row) & STATE_MASK) === STATE_CLOSING << 2;
  }

  /** Whether a row's flow is UDP. */
  isUdpRow(row: number): boolean {
    return (this.#store.flags(row) & 3) === UDP;
  }

  /** `handshakeComplete` of a row: ESTABLISHED, and for TCP past SYN_RECV. */
  handshakeCompleteRow(row: number): boolean {
    const flags = this.#store.flags(row);
    return (flags & STATE_MASK) === STATE_ESTABLISHED << 2 && (flags & TIMER_MASK) >> 4 !== TIMER.tcpSynRecv;
  }

  /** The object view of a row (one per flow while it lives). */
  view(row: number): ConntrackEntry {
    const views = this.#store.views;
    let v = views[row] as EntryView | undefined;
    if (v === undefined) {
      v = new EntryView(this.#store, row);
      views[row] = v;
    }
    return v;
  }

  /** Remove a row's flow (conntrack -D). */
  deleteRow(row: number): void {
    if (!this.#store.isLive(row)) return;
    if (this.#flows.remove(row)) {
      this.#store.free(row);
      this.#countsStale = true;
    }
  }

  // ---- objects: everything else

  /** Find the flow a packet belongs to; an expired entry is deleted and not found. Does not refresh timers. */
  lookup(p: Packet, now: number): ConntrackHit | undefined {
    const row = this.#find(p, now, false);
    return row < 0 ? undefined : { entry: this.view(row), direction: this.#flows.direction };
  }

  /** `lookup` as an entry, with its direction in `lastDirection` until the next lookup (reopening as `lookupRow`). */
  lookupEntry(p: Packet, now: number): ConntrackEntry | undefined {
    const row = this.lookupRow(p, now);
    return row < 0 ? undefined : this.view(row);
  }

  /**
   * Run `fn` with its packets taken as closing ones (FIN or RST), not data: none of them reopens a closed tuple, as
   * only a SYN does. (A script's `close: true` packet passes through the engine this way.)
   */
  closing<T>(fn: () => T): T {
    this.#closingPackets++;
    try {
      return fn();
    } finally {
      this.#closingPackets--;
    }
  }

  #find(p: Packet, now: number, synMayReopen: boolean): number {
    return this.#settle(this.#flows.find(p), now, synMayReopen);
  }

  /** The row a lookup found, unless it expired or a SYN reopens it (then deleted): -1. */
  #settle(row: number, now: number, synMayReopen: boolean): number {
    if (row < 0) return -1;
    const store = this.#store;
    // Only a closing flow can be reopened: testing the state here spares every other packet the call.
    const flags = store.flags(row);
    const closing = (flags & STATE_MASK) === STATE_CLOSING << 2;
    if (store.expires(row) <= now || (synMayReopen && closing && this.#reopens(flags))) {
      this.deleteRow(row);
      return -1;
    }
    return row;
  }

  /**
   * A client packet on a TCP flow that both sides closed (TIME_WAIT) or that was reset (CLOSE). Without flags it
   * stands for a new SYN on the same tuple, and the kernel kills the old entry so the SYN is tracked (and NATed)
   * anew (nf_conntrack_tcp_packet: "attempt to reopen a closed/aborted connection"). A half-closed flow keeps going.
   * `flags`: those of a closing flow (#find tests the state) that the last lookup found.
   */
  #reopens(flags: number): boolean {
    if ((flags & 3) !== TCP || this.#flows.direction !== 'original') return false;
    // Only from TIME_WAIT or CLOSE, and only once a FIN was seen (either side) or the client itself reset the flow;
    // after a reset by the server alone the SYN goes through on the old entry.
    const timer = (flags & TIMER_MASK) >> 4;
    if (timer === TIMER.tcpCloseWait) return false;
    return timer === TIMER.tcpTimeWait || (flags & REOPENABLE) !== 0;
  }

  /**
   * `addressKey` of the last looked-up packet's source and destination (tuple-table.ts): a walk that follows a miss
   * reads the addresses from here instead of parsing them again.
   */
  get lastSrcKey(): number {
    return this.#flows.lastSrcKey;
  }

  get lastDstKey(): number {
    return this.#flows.lastDstKey;
  }

  /** The direction of the last lookup hit. */
  get lastDirection(): 'original' | 'reply' {
    return this.#flows.direction;
  }

  /** `trackRow` as an entry; a RangeExhaustedError when no source port gives the flow a reply tuple of its own. */
  track(p: Packet, nat: ConntrackNat, now: number): ConntrackEntry {
    const row = this.trackRow(p, nat, now);
    if (row < 0) throw new RangeExhaustedError(`source port for ${describePacket(p)}`, portClass(p.src.port));
    return this.view(row);
  }

  /**
   * A TCP flow whose handshake a local socket completed (the userspace proxy accepting a client, or its own dial
   * answered): ESTABLISHED at once, as the kernel's own packets of the handshake would leave it.
   */
  handshakeDone(entry: ConntrackEntry, now: number): void {
    const row = this.#rowOf(entry);
    if (row >= 0) this.handshakeDoneRow(row, now);
  }

  /** `handshakeDone` for a row. */
  handshakeDoneRow(row: number, now: number): void {
    if ((this.#store.flags(row) & 3) !== TCP) return;
    this.#store.setFlags(row, (this.#store.flags(row) & ~STATE_MASK) | SEEN_REPLY | ASSURED | (STATE_ESTABLISHED << 2));
    this.#countsStale = true;
    this.#setTimer(row, now, TIMER.tcpEstablished);
  }

  /** A later packet of a tracked flow: refresh its timer and move its state as the kernel would. */
  see(hit: ConntrackHit, now: number): void {
    this.seeEntry(hit.entry, hit.direction, now);
  }

  /** `seeRow` for an entry (a flow no longer tracked is left as it is). */
  seeEntry(entry: ConntrackEntry, direction: 'original' | 'reply', now: number): void {
    const row = this.#rowOf(entry);
    if (row >= 0) this.seeRow(row, direction, now);
  }

  /**
   * End the flow `p` belongs to (either direction). TCP and SCTP enter their closing timeout; UDP has no close, so
   * its entry is simply left to expire. Returns whether a flow was found and closed: false also for a TCP FIN (or half
   * close) on a flow nothing answered yet, which the kernel finds invalid and leaves as it was.
   */
  close(p: Packet, now: number, kind: CloseKind = 'fin'): boolean {
    const row = this.#find(p, now, false);
    if (row < 0) return false;
    const store = this.#store;
    const direction = this.#flows.direction;
    const flags = store.flags(row);
    const code = flags & 3;
    // A FIN before any answer is invalid in SYN_SENT (tcp_conntracks: sIV): the flow keeps its state and its timer,
    // and lives out its SYN_SENT timeout. (A socket closed while it connects sends no FIN at all.)
    if (code === TCP && kind !== 'rst' && (flags & SEEN_REPLY) === 0) return false;
    store.setLastSeen(row, now);
    if (code === UDP) return true;
    if (code === TCP && kind === 'rst' && (flags & SEEN_REPLY) === 0) {
      // "If only reply is a RST, we can consider ourselves not to have an established connection": deleted at once.
      this.deleteRow(row);
      return true;
    }
    let next = (flags & ~STATE_MASK) | (STATE_CLOSING << 2);
    if (kind !== 'rst' || direction === 'original') next |= REOPENABLE;
    store.setFlags(row, next);
    this.#countsStale = true;
    // SCTP: the model's close is the whole SHUTDOWN exchange, which ends in CLOSED.
    if (code === SCTP) this.#setTimer(row, now, TIMER.sctpClosed);
    else
      this.#setTimer(
        row,
        now,
        kind === 'fin' ? TIMER.tcpTimeWait : kind === 'half' ? TIMER.tcpCloseWait : TIMER.tcpClose,
      );
    return true;
  }

  /** Remove one entry (conntrack -D). */
  delete(entry: ConntrackEntry): void {
    const row = this.#rowOf(entry);
    if (row >= 0) this.deleteRow(row);
  }

  /** Delete every entry that has expired by `now`; returns how many. Cheap when nothing can have expired yet. */
  expire(now: number): number {
    if (now < this.#earliestExpiry) return 0;
    const store = this.#store;
    let removed = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (const row of [...this.#flows.rows()]) {
      const at = store.expires(row);
      if (at <= now) {
        this.deleteRow(row);
        removed++;
      } else if (at < earliest) earliest = at;
    }
    this.#earliestExpiry = earliest;
    return removed;
  }

  /**
   * Every entry in creation order (expired ones not yet swept included; call `expire(now)` first for an exact view).
   * Sorted rather than in table order so that listings do not depend on the table's layout.
   */
  entries(): IterableIterator<ConntrackEntry> {
    return this.#sortedRows()
      .map((row) => this.view(row))
      .values();
  }

  /** UDP entries whose original destination is `ip:port` (kube-proxy's `--orig-dst` + `--orig-port-dst` filter). */
  udpEntriesTo(ip: string, port: number): readonly ConntrackEntry[] {
    return this.#flows.udpTo(ip, port).map((row) => this.view(row));
  }

  /** UDP entries whose original destination port is `port`, any address (the NodePort filter). */
  udpEntriesToPort(port: number): readonly ConntrackEntry[] {
    return this.#flows.udpToPort(port).map((row) => this.view(row));
  }

  /** Active and inactive flows per endpoint (`ip:port`), after expiring what has timed out by `now`. */
  endpointConnections(now: number): ReadonlyMap<string, Readonly<EndpointConnections>> {
    this.expire(now);
    if (this.#countsStale) this.#recount();
    return this.#counts;
  }

  /** Active and inactive flows of one endpoint (`ip:port`) at `now`. */
  connectionsOf(endpoint: string, now: number): Readonly<EndpointConnections> {
    return this.endpointConnections(now).get(endpoint) ?? { active: 0, inactive: 0 };
  }

  /** Remove everything (conntrack -F). */
  flush(): void {
    this.#flows.clear();
    this.#store.clear();
    this.#counts.clear();
    this.#countsStale = false;
    this.#earliestExpiry = Number.POSITIVE_INFINITY;
  }

  /** The row an entry view stands for, or -1 when its flow is no longer tracked here. */
  #rowOf(entry: ConntrackEntry): number {
    if (!(entry instanceof EntryView) || !entry.live) return -1;
    return this.#store.views[entry.row] === entry ? entry.row : -1;
  }

  #setTimer(row: number, now: number, timer: number): void {
    const store = this.#store;
    store.setFlags(row, (store.flags(row) & ~TIMER_MASK) | (timer << 4));
    this.#renew(row, now, timer);
  }

  /** The row expires `timer`'s timeout after `now` (the flags already name that timer). */
  #renew(row: number, now: number, timer: number): void {
    const at = now + this.#seconds[timer]!;
    this.#store.setExpires(row, at);
    if (at < this.#earliestExpiry) this.#earliestExpiry = at;
  }

  /** Live rows in creation order. */
  #sortedRows(): number[] {
    const store = this.#store;
    return [...this.#flows.rows()].sort((x, y) => store.id(x) - store.id(y));
  }

  /**
   * Rebuild the per-endpoint counts (in the same Map, so a caller's reference sees them) from the rows, in creation
   * order (endpoints appear in the order their first live flow was created).
   */
  #recount(): void {
    const counts = this.#counts;
    counts.clear();
    for (const row of this.#sortedRows()) {
      const endpoint = this.#store.nat(row).endpoint;
      if (endpoint === null) continue;
      let c = counts.get(endpoint);
      if (!c) {
        c = { active: 0, inactive: 0 };
        counts.set(endpoint, c);
      }
      if ((this.#store.flags(row) & 3) === TCP && this.handshakeCompleteRow(row)) c.active++;
      else c.inactive++;
    }
    this.#countsStale = false;
  }
}

/** The packet after conntrack's NAT for a tracked flow: original direction DNAT+SNAT, reply direction undone. */
export function natPacket(entry: ConntrackEntry, direction: 'original' | 'reply', p: Packet): Packet {
  if (entry.dnat === null && entry.snat === null) return p;
  if (direction === 'original') return { proto: p.proto, src: entry.snat ?? p.src, dst: entry.dnat ?? p.dst };
  return { proto: p.proto, src: entry.originalDst, dst: entry.originalSrc };
}

/** The flow's first packet as the client sent it (its original tuple). */
export function originalPacket(entry: ConntrackEntry): Packet {
  return { proto: entry.proto, src: entry.originalSrc, dst: entry.originalDst };
}

/**
 * The connection is established in the protocol's sense: ESTABLISHED, and for TCP past SYN_RECV (the client has
 * acknowledged the SYN-ACK). What IPVS counts as an active connection.
 */
export function handshakeComplete(entry: ConntrackEntry): boolean {
  return entry.state === 'ESTABLISHED' && entry.timeout !== SYSCTL.tcpSynRecv;
}

/** The family of a flow. */
export function entryFamily(entry: ConntrackEntry): 'IPv4' | 'IPv6' {
  return familyOf(entry.originalDst.ip);
}

/** The class `remapRange` gives a port, as text (`1024-65535`). */
export function portClass(port: number): string {
  const [min, max] = remapRange(port);
  return `${min}-${max}`;
}

/**
 * Where a clashing source port is remapped, as the kernel's nf_nat_l4proto_unique_tuple for a source without a
 * port range: a port below 512 stays below 512, one below 1024 within 600-1023 (a loose convention that low ports
 * carry credentials), any other within 1024-65535. Returns [min, max, first tried]; the kernel starts at a random
 * offset, we at the range's start, or 32768 for the wide range (conntrack's other choices need no seeded draw).
 */
function remapRange(port: number): [number, number, number] {
  if (port < 512) return [1, 511, 1];
  if (port < 1024) return [600, 1023, 600];
  return [1024, 65535, 32768];
}
