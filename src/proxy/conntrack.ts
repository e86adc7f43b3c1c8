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
 * Simplifications, because packets carry no TCP flags: a TCP flow is SYN_SENT until its first reply, then
 * ESTABLISHED; `close()` stands for the FIN exchange (TIME_WAIT), a half close (CLOSE_WAIT) or a reset (CLOSE).
 */
import { type ConntrackTimeouts, DEFAULT_CONNTRACK_TIMEOUTS, SYSCTL, UDP_STREAM_AFTER } from './conntrack-timeouts.js';
import type { CloseKind, ConntrackEntry, ConntrackHit, ConntrackNat, EndpointConnections } from './conntrack-types.js';
import { type Address, familyOf, hostPort, type Packet } from './packet.js';
import { addressId, PROTO_CODE, TupleTable } from './tuple-table.js';

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
  readonly #byOriginal = new TupleTable<ConntrackEntry>();
  readonly #byReply = new TupleTable<ConntrackEntry>();
  /** UDP entries by original destination `ip:port` and by original destination port: kube-proxy's cleanup filters. */
  readonly #udpByDst = new Map<string, Set<ConntrackEntry>>();
  readonly #udpByDstPort = new Map<number, Set<ConntrackEntry>>();
  readonly #counts = new Map<string, EndpointConnections>();
  #nextId = 1;
  #lastPacket: Packet | null = null;
  #lastSrc = 0;
  #lastDst = 0;
  /** No entry expires before this time (a lower bound), so most `expire()` calls return at once. */
  #earliestExpiry = Number.POSITIVE_INFINITY;

  constructor(timeouts: Partial<ConntrackTimeouts> = {}) {
    this.timeouts = Object.freeze({ ...DEFAULT_CONNTRACK_TIMEOUTS, ...timeouts });
  }

  /** Number of entries (expired ones not yet swept included). */
  get size(): number {
    return this.#byOriginal.size;
  }

  /** Find the flow a packet belongs to; an expired entry is deleted and not found. Does not refresh timers. */
  lookup(p: Packet, now: number): ConntrackHit | undefined {
    const code = PROTO_CODE[p.proto];
    const s = addressId(p.src.ip);
    const d = addressId(p.dst.ip);
    // A miss is usually followed by track() of the same packet: keep its ids for that.
    this.#lastPacket = p;
    this.#lastSrc = s;
    this.#lastDst = d;
    let entry = this.#byOriginal.getById(code, s, p.src.port, d, p.dst.port);
    let direction: 'original' | 'reply' = 'original';
    if (entry === undefined) {
      entry = this.#byReply.getById(code, s, p.src.port, d, p.dst.port);
      if (entry === undefined) return undefined;
      direction = 'reply';
    }
    if (entry.expires <= now) {
      this.delete(entry);
      return undefined;
    }
    return { entry, direction };
  }

  /**
   * Confirm a new flow for its first packet `p` with the NAT decided for it. MASQUERADE keeps the source port unless
   * another flow already uses the resulting reply tuple; then it takes the next free port from 32768 up (the kernel
   * picks a free one too; which one is an implementation detail).
   */
  track(p: Packet, nat: ConntrackNat, now: number): ConntrackEntry {
    // Copy the DNAT target: callers may pass a richer record (an endpoint) that happens to have ip and port.
    const dnat = nat.dnat ? { ip: nat.dnat.ip, port: nat.dnat.port } : null;
    const replySrc = dnat ?? p.dst;
    let snat: Address | null = null;
    let replyDst: Address = p.src;
    if (nat.snatIp) {
      const ip = nat.snatIp;
      let port = p.src.port;
      if (this.#taken(p, replySrc, ip, port)) {
        port = 32768;
        while (port < 65536 && this.#taken(p, replySrc, ip, port)) port++;
      }
      snat = { ip, port };
      replyDst = snat;
    }
    const entry: ConntrackEntry = {
      id: this.#nextId++,
      proto: p.proto,
      original: { src: p.src, dst: p.dst },
      reply: { src: replySrc, dst: replyDst },
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
      memo: null,
    };
    this.#setTimer(entry, now, p.proto === 'TCP' ? 'tcpSynSent' : p.proto === 'UDP' ? 'udp' : 'sctpCookieWait');
    const code = PROTO_CODE[p.proto];
    const known = this.#lastPacket === p;
    const s = known ? this.#lastSrc : addressId(p.src.ip);
    const d = known ? this.#lastDst : addressId(p.dst.ip);
    this.#byOriginal.setById(code, s, p.src.port, d, p.dst.port, entry);
    const rs = replySrc === p.dst ? d : addressId(replySrc.ip);
    const rd = replyDst === p.src ? s : addressId(replyDst.ip);
    this.#byReply.setById(code, rs, replySrc.port, rd, replyDst.port, entry);
    if (p.proto === 'UDP') {
      addTo(this.#udpByDst, hostPort(p.dst.ip, p.dst.port), entry);
      addTo(this.#udpByDstPort, p.dst.port, entry);
    }
    this.#count(entry, +1);
    return entry;
  }

  /** A later packet of a tracked flow: refresh its timer and move its state as the kernel would. */
  see(hit: ConntrackHit, now: number): void {
    const { entry } = hit;
    entry.packets++;
    entry.lastSeen = now;
    if (entry.state === 'CLOSING') return; // closing timers run out; packets in TIME_WAIT do not extend them
    if (hit.direction === 'reply' && !entry.seenReply) {
      entry.seenReply = true;
      if (entry.proto !== 'UDP') {
        this.#count(entry, -1);
        entry.state = 'ESTABLISHED';
        this.#count(entry, +1);
        this.#setTimer(entry, now, entry.proto === 'TCP' ? 'tcpEstablished' : 'sctpEstablished');
        return;
      }
      entry.state = 'ESTABLISHED';
    }
    if (entry.proto === 'UDP') {
      // nf_conntrack_proto_udp: replied and still going 2 s after the start → stream (assured), longer timeout.
      const stream = entry.seenReply && now >= entry.created + UDP_STREAM_AFTER;
      if (stream) entry.assured = true;
      this.#setTimer(entry, now, stream || entry.assured ? 'udpStream' : 'udp');
      return;
    }
    this.#setTimer(
      entry,
      now,
      entry.state === 'ESTABLISHED'
        ? entry.proto === 'TCP'
          ? 'tcpEstablished'
          : 'sctpEstablished'
        : entry.proto === 'TCP'
          ? 'tcpSynSent'
          : 'sctpCookieWait',
    );
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
    this.#count(entry, -1);
    entry.state = 'CLOSING';
    this.#count(entry, +1);
    if (entry.proto === 'SCTP') this.#setTimer(entry, now, 'sctpShutdown');
    else this.#setTimer(entry, now, kind === 'fin' ? 'tcpTimeWait' : kind === 'half' ? 'tcpCloseWait' : 'tcpClose');
    return true;
  }

  /** Remove one entry (conntrack -D). */
  delete(entry: ConntrackEntry): void {
    const o = entry.original;
    const r = entry.reply;
    if (this.#byOriginal.get(entry.proto, o.src.ip, o.src.port, o.dst.ip, o.dst.port) !== entry) return;
    this.#byOriginal.delete(entry.proto, o.src.ip, o.src.port, o.dst.ip, o.dst.port);
    this.#byReply.delete(entry.proto, r.src.ip, r.src.port, r.dst.ip, r.dst.port);
    if (entry.proto === 'UDP') {
      removeFrom(this.#udpByDst, hostPort(o.dst.ip, o.dst.port), entry);
      removeFrom(this.#udpByDstPort, o.dst.port, entry);
    }
    this.#count(entry, -1);
  }

  /** Delete every entry that has expired by `now`; returns how many. Cheap when nothing can have expired yet. */
  expire(now: number): number {
    if (now < this.#earliestExpiry) return 0;
    let removed = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (const entry of [...this.#byOriginal.values()]) {
      if (entry.expires <= now) {
        this.delete(entry);
        removed++;
      } else if (entry.expires < earliest) earliest = entry.expires;
    }
    this.#earliestExpiry = earliest;
    return removed;
  }

  /** Every entry (expired ones not yet swept included; call `expire(now)` first for an exact view). */
  entries(): IterableIterator<ConntrackEntry> {
    return this.#byOriginal.values();
  }

  /** UDP entries whose original destination is `ip:port` (kube-proxy's `--orig-dst` + `--orig-port-dst` filter). */
  udpEntriesTo(ip: string, port: number): readonly ConntrackEntry[] {
    return [...(this.#udpByDst.get(hostPort(ip, port)) ?? [])];
  }

  /** UDP entries whose original destination port is `port`, any address (the NodePort filter). */
  udpEntriesToPort(port: number): readonly ConntrackEntry[] {
    return [...(this.#udpByDstPort.get(port) ?? [])];
  }

  /** Active and inactive flows per endpoint (`ip:port`), after expiring what has timed out by `now`. */
  endpointConnections(now: number): ReadonlyMap<string, Readonly<EndpointConnections>> {
    this.expire(now);
    return this.#counts;
  }

  /** Active and inactive flows of one endpoint (`ip:port`) at `now`. */
  connectionsOf(endpoint: string, now: number): Readonly<EndpointConnections> {
    this.expire(now);
    return this.#counts.get(endpoint) ?? { active: 0, inactive: 0 };
  }

  /** Remove everything (conntrack -F). */
  flush(): void {
    this.#byOriginal.clear();
    this.#byReply.clear();
    this.#udpByDst.clear();
    this.#udpByDstPort.clear();
    this.#counts.clear();
    this.#earliestExpiry = Number.POSITIVE_INFINITY;
  }

  /** Whether MASQUERADE to `ip:port` would clash with a tracked flow's reply (or original) tuple. */
  #taken(p: Packet, replySrc: Address, ip: string, port: number): boolean {
    return (
      this.#byReply.has(p.proto, replySrc.ip, replySrc.port, ip, port) ||
      this.#byOriginal.has(p.proto, replySrc.ip, replySrc.port, ip, port)
    );
  }

  #setTimer(entry: ConntrackEntry, now: number, name: keyof ConntrackTimeouts): void {
    entry.timeout = SYSCTL[name];
    entry.expires = now + this.timeouts[name];
    if (entry.expires < this.#earliestExpiry) this.#earliestExpiry = entry.expires;
  }

  #count(entry: ConntrackEntry, delta: 1 | -1): void {
    if (entry.endpoint === null) return;
    let c = this.#counts.get(entry.endpoint);
    if (!c) {
      c = { active: 0, inactive: 0 };
      this.#counts.set(entry.endpoint, c);
    }
    if (entry.proto === 'TCP' && entry.state === 'ESTABLISHED') c.active += delta;
    else c.inactive += delta;
    if (c.active === 0 && c.inactive === 0) this.#counts.delete(entry.endpoint);
  }
}

/** The packet after conntrack's NAT for a tracked flow: original direction DNAT+SNAT, reply direction undone. */
export function natPacket(hit: ConntrackHit, p: Packet): Packet {
  const { entry } = hit;
  if (hit.direction === 'original') {
    if (entry.dnat === null && entry.snat === null) return p;
    return { proto: p.proto, src: entry.snat ?? p.src, dst: entry.dnat ?? p.dst };
  }
  if (entry.dnat === null && entry.snat === null) return p;
  return { proto: p.proto, src: entry.original.dst, dst: entry.original.src };
}

/** The family of a flow. */
export function entryFamily(entry: ConntrackEntry): 'IPv4' | 'IPv6' {
  return familyOf(entry.original.dst.ip);
}

function addTo<K>(index: Map<K, Set<ConntrackEntry>>, key: K, entry: ConntrackEntry): void {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(entry);
}

function removeFrom<K>(index: Map<K, Set<ConntrackEntry>>, key: K, entry: ConntrackEntry): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(entry);
  if (set.size === 0) index.delete(key);
}
