/**
 * Connection tracking, as Linux's nf_conntrack keeps it for kube-proxy's NAT: one entry per flow, filed under its
 * original tuple (as the client sent it) and its reply tuple (as the endpoint answers it, after DNAT and SNAT), so
 * every later packet of the flow, in either direction, finds the entry with one map lookup and is rewritten the same
 * way. The nat table only ever sees a flow's first packet; that is why an established flow is never re-balanced when
 * endpoints change, and why kube-proxy has to delete stale UDP entries itself (see conntrack-cleanup.ts).
 *
 * Time is the caller's simulated clock, in seconds. Entries expire lazily (a lookup of an expired entry deletes it)
 * and in sweeps (`expire(now)`, run before counts are read).
 *
 * Simplifications, because packets carry no TCP flags or SCTP chunks: a TCP flow is SYN_SENT (SCTP: CLOSED) until
 * its first reply, its client packets before that being retransmits; the reply is the SYN-ACK (SYN_RECV, 60 s) and
 * the client's next packet its ACK (ESTABLISHED); SCTP is ESTABLISHED from the first reply. `close()` stands for the FIN
 * exchange (TIME_WAIT), a half close (CLOSE_WAIT) or a reset (CLOSE; deleted at once if nothing was answered), and
 * for SCTP the SHUTDOWN exchange (CLOSED). A client packet on a closed TCP flow, or one the client reset, is a new
 * SYN on the tuple.
 */

import { FlowIndex } from './conntrack-index.js';
import { type ConntrackTimeouts, DEFAULT_CONNTRACK_TIMEOUTS, SYSCTL, UDP_STREAM_AFTER } from './conntrack-timeouts.js';
import type { CloseKind, ConntrackEntry, ConntrackHit, ConntrackNat, EndpointConnections } from './conntrack-types.js';
import { type Address, familyOf, hostPort, type Packet } from './packet.js';

export { type ConntrackTimeouts, DEFAULT_CONNTRACK_TIMEOUTS } from './conntrack-timeouts.js';
export type {
  CloseKind,
  ConntrackEntry,
  ConntrackHit,
  ConntrackNat,
  ConntrackState,
  EndpointConnections,
} from './conntrack-types.js';

/** A conntrack table. One per node (the kernel's table is per network namespace). */
export class Conntrack {
  readonly timeouts: Readonly<ConntrackTimeouts>;
  /** Entries by original and reply tuple (one probe finds either), and the UDP cleanup indexes. */
  readonly #flows = new FlowIndex();
  /**
   * Per-endpoint counts, rebuilt from the entries when read after a change (#countsStale). Only introspection reads
   * them, so new flows and state changes do not pay a string-keyed Map update each.
   */
  readonly #counts = new Map<string, EndpointConnections>();
  #countsStale = false;
  #nextId = 1;
  /** No entry expires before this time (a lower bound), so most `expire()` calls return at once. */
  #earliestExpiry = Number.POSITIVE_INFINITY;
  /**
   * Closed flows a client SYN may reopen from CLOSE: a FIN was seen (IP_CT_TCP_FLAG_CLOSE_INIT), or the client sent
   * the reset (the kernel's last_dir/last_index).
   */
  readonly #reopenable = new WeakSet<ConntrackEntry>();
  /** Depth of `closing()` calls: packets sent meanwhile are FINs or RSTs. */
  #closingPackets = 0;

  constructor(timeouts: Partial<ConntrackTimeouts> = {}) {
    this.timeouts = Object.freeze({ ...DEFAULT_CONNTRACK_TIMEOUTS, ...timeouts });
  }

  /** Number of entries (expired ones not yet swept included). */
  get size(): number {
    return this.#flows.size;
  }

  /** Find the flow a packet belongs to; an expired entry is deleted and not found. Does not refresh timers. */
  lookup(p: Packet, now: number): ConntrackHit | undefined {
    const entry = this.#find(p, now, false);
    return entry === undefined ? undefined : { entry, direction: this.#flows.direction };
  }

  /**
   * `lookup` without allocating the hit: the entry, with its direction in `lastDirection` until the next lookup.
   * Engines use it on the per-packet path.
   */
  lookupEntry(p: Packet, now: number): ConntrackEntry | undefined {
    return this.#find(p, now, this.#closingPackets === 0);
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

  #find(p: Packet, now: number, synMayReopen: boolean): ConntrackEntry | undefined {
    const entry = this.#flows.find(p);
    if (entry === undefined) return undefined;
    if (entry.expires <= now || (synMayReopen && this.#reopens(entry))) {
      this.delete(entry);
      return undefined;
    }
    return entry;
  }

  /**
   * A client packet on a TCP flow that both sides closed (TIME_WAIT) or that was reset (CLOSE). Without flags it
   * stands for a new SYN on the same tuple, and the kernel kills the old entry so the SYN is tracked (and NATed)
   * anew (nf_conntrack_tcp_packet: "attempt to reopen a closed/aborted connection"). A half-closed flow keeps going.
   */
  #reopens(entry: ConntrackEntry): boolean {
    if (entry.state !== 'CLOSING' || entry.proto !== 'TCP' || this.#flows.direction !== 'original') return false;
    // Only from TIME_WAIT or CLOSE, and only once a FIN was seen (either side) or the client itself reset the flow;
    // after a reset by the server alone the SYN goes through on the old entry.
    if (entry.timeout === SYSCTL.tcpCloseWait) return false;
    return entry.timeout === SYSCTL.tcpTimeWait || this.#reopenable.has(entry);
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

  /** The direction of the last `lookupEntry` hit. */
  get lastDirection(): 'original' | 'reply' {
    return this.#flows.direction;
  }

  /**
   * Confirm a new flow for its first packet `p` with the NAT decided for it. MASQUERADE keeps the source port unless
   * another flow already uses the resulting reply tuple; then it takes the next free port from 32768 up (the kernel
   * picks a free one too; which one is an implementation detail).
   */
  track(p: Packet, nat: ConntrackNat, now: number): ConntrackEntry {
    const dnat = nat.dnat ?? null;
    const replySrc = dnat ?? p.dst;
    let snat: Address | null = null;
    let replyDst: Address = p.src;
    if (nat.snatIp) {
      const ip = nat.snatIp;
      let port = p.src.port;
      if (this.#flows.taken(p, replySrc, ip, port)) {
        port = 32768;
        while (port < 65536 && this.#flows.taken(p, replySrc, ip, port)) port++;
      }
      snat = { ip, port };
      replyDst = snat;
    }
    const entry: ConntrackEntry = {
      id: this.#nextId++,
      proto: p.proto,
      originalSrc: p.src,
      originalDst: p.dst,
      replySrc,
      replyDst,
      dnat,
      snat,
      service: nat.service ?? null,
      endpoint: dnat ? (nat.endpoint ?? hostPort(dnat.ip, dnat.port)) : null,
      created: now,
      state: 'NEW',
      timeout: '',
      expires: now,
      lastSeen: now,
      seenReply: false,
      assured: false,
      packets: 1,
      live: true,
      memo: null,
    };
    // An SCTP INIT moves the entry from NONE to CLOSED (10 s) until it is answered.
    this.#setTimer(entry, now, p.proto === 'TCP' ? 'tcpSynSent' : p.proto === 'UDP' ? 'udp' : 'sctpClosed');
    this.#flows.insert(p, entry);
    this.#countsStale = true;
    return entry;
  }

  /**
   * A TCP flow whose handshake a local socket completed (the userspace proxy accepting a client, or its own dial
   * answered): ESTABLISHED at once, as the kernel's own packets of the handshake would leave it.
   */
  handshakeDone(entry: ConntrackEntry, now: number): void {
    if (entry.proto !== 'TCP') return;
    entry.seenReply = true;
    entry.state = 'ESTABLISHED';
    this.#countsStale = true;
    this.#setTimer(entry, now, 'tcpEstablished');
  }

  /** A later packet of a tracked flow: refresh its timer and move its state as the kernel would. */
  see(hit: ConntrackHit, now: number): void {
    this.seeEntry(hit.entry, hit.direction, now);
  }

  /** `see` for an entry and direction (from `lookupEntry`), without a hit object. */
  seeEntry(entry: ConntrackEntry, direction: 'original' | 'reply', now: number): void {
    entry.packets++;
    entry.lastSeen = now;
    if (entry.proto === 'UDP') {
      // nf_conntrack_udp_packet runs before nf_conntrack_in sets the seen-reply bit, so the first reply still gets
      // the unreplied timeout; a stream (assured, longer timeout) is a replied flow still going more than 2 s in.
      const replied = entry.seenReply;
      if (direction === 'reply' && !replied) {
        entry.seenReply = true;
        entry.state = 'ESTABLISHED';
      }
      const stream = replied && now > entry.created + UDP_STREAM_AFTER;
      if (stream) entry.assured = true;
      this.#setTimer(entry, now, stream || entry.assured ? 'udpStream' : 'udp');
      return;
    }
    if (entry.state === 'CLOSING') {
      // In CLOSE_WAIT packets keep the flow alive; TIME_WAIT and CLOSE run out (a client packet there reopens the
      // tuple: lookupEntry), and so does SCTP's CLOSED after a shutdown (a new INIT does not renew it).
      if (entry.timeout === SYSCTL.tcpCloseWait) this.#setTimer(entry, now, 'tcpCloseWait');
      else if (entry.timeout === SYSCTL.tcpTimeWait && direction === 'reply') this.#setTimer(entry, now, 'tcpTimeWait');
      return;
    }
    if (direction === 'reply' && !entry.seenReply) {
      entry.seenReply = true;
      entry.state = 'ESTABLISHED';
      this.#countsStale = true;
      // TCP: the answer is the SYN-ACK; SYN_RECV until the client's ACK (its next packet).
      this.#setTimer(entry, now, entry.proto === 'TCP' ? 'tcpSynRecv' : 'sctpEstablished');
      return;
    }
    // Unanswered, a client packet is a retransmitted SYN (or INIT): since Linux 5.14 it does not renew SYN_SENT, and
    // an INIT on a CLOSED SCTP entry does not renew it either.
    if (!entry.seenReply) return;
    let timer: keyof ConntrackTimeouts = entry.proto === 'SCTP' ? 'sctpEstablished' : 'tcpEstablished';
    if (entry.proto === 'TCP' && entry.timeout === SYSCTL.tcpSynRecv) {
      // The server's packets in SYN_RECV are retransmitted SYN-ACKs; the client's next one completes the handshake.
      if (direction === 'reply') timer = 'tcpSynRecv';
      else this.#countsStale = true;
    }
    this.#setTimer(entry, now, timer);
  }

  /**
   * End the flow `p` belongs to (either direction). TCP and SCTP enter their closing timeout; UDP has no close, so
   * its entry is simply left to expire. Returns whether a flow was found.
   */
  close(p: Packet, now: number, kind: CloseKind = 'fin'): boolean {
    const hit = this.lookup(p, now);
    if (!hit) return false;
    const { entry } = hit;
    entry.lastSeen = now;
    if (entry.proto === 'UDP') return true;
    if (entry.proto === 'TCP' && kind === 'rst' && !entry.seenReply) {
      // "If only reply is a RST, we can consider ourselves not to have an established connection": deleted at once.
      this.delete(entry);
      return true;
    }
    entry.state = 'CLOSING';
    this.#countsStale = true;
    if (kind !== 'rst' || hit.direction === 'original') this.#reopenable.add(entry);
    // SCTP: the model's close is the whole SHUTDOWN exchange, which ends in CLOSED.
    if (entry.proto === 'SCTP') this.#setTimer(entry, now, 'sctpClosed');
    else this.#setTimer(entry, now, kind === 'fin' ? 'tcpTimeWait' : kind === 'half' ? 'tcpCloseWait' : 'tcpClose');
    return true;
  }

  /** Remove one entry (conntrack -D). */
  delete(entry: ConntrackEntry): void {
    if (this.#flows.remove(entry)) this.#countsStale = true;
  }

  /** Delete every entry that has expired by `now`; returns how many. Cheap when nothing can have expired yet. */
  expire(now: number): number {
    if (now < this.#earliestExpiry) return 0;
    let removed = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of [...this.#flows.entries()]) {
      if (entry.expires <= now) {
        this.delete(entry);
        removed++;
      } else if (entry.expires < earliest) earliest = entry.expires;
    }
    this.#earliestExpiry = earliest;
    return removed;
  }

  /**
   * Every entry in creation order (expired ones not yet swept included; call `expire(now)` first for an exact view).
   * Sorted rather than in hash-slot order so that listings do not depend on the table's layout.
   */
  entries(): IterableIterator<ConntrackEntry> {
    return [...this.#flows.entries()].sort((x, y) => x.id - y.id).values();
  }

  /** UDP entries whose original destination is `ip:port` (kube-proxy's `--orig-dst` + `--orig-port-dst` filter). */
  udpEntriesTo(ip: string, port: number): readonly ConntrackEntry[] {
    return this.#flows.udpTo(ip, port);
  }

  /** UDP entries whose original destination port is `port`, any address (the NodePort filter). */
  udpEntriesToPort(port: number): readonly ConntrackEntry[] {
    return this.#flows.udpToPort(port);
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
    this.#counts.clear();
    this.#countsStale = false;
    this.#earliestExpiry = Number.POSITIVE_INFINITY;
  }

  #setTimer(entry: ConntrackEntry, now: number, name: keyof ConntrackTimeouts): void {
    entry.timeout = SYSCTL[name];
    entry.expires = now + this.timeouts[name];
    if (entry.expires < this.#earliestExpiry) this.#earliestExpiry = entry.expires;
  }

  /**
   * Rebuild the per-endpoint counts (in the same Map, so a caller's reference sees them) from the entries, in
   * creation order (endpoints appear in the order their first live flow was created).
   */
  #recount(): void {
    const counts = this.#counts;
    counts.clear();
    for (const entry of this.entries()) {
      if (entry.endpoint === null) continue;
      let c = counts.get(entry.endpoint);
      if (!c) {
        c = { active: 0, inactive: 0 };
        counts.set(entry.endpoint, c);
      }
      if (entry.proto === 'TCP' && handshakeComplete(entry)) c.active++;
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
