/**
 * A live IPVS virtual server: its real servers in kernel list order, its scheduler instance, the connections it
 * scheduled (for ActiveConn/InActConn), and its persistence templates.
 *
 * Connection counts are per (virtual server, real server), as the kernel keeps them in `ip_vs_dest`: a pod behind both
 * a ClusterIP and a NodePort virtual server has separate counters in each. They are recomputed from the flows this
 * virtual server created, as those flows stand in conntrack at the time asked: a TCP or SCTP flow in ESTABLISHED is
 * active, every other live flow (SYN_RECV, closing, all UDP) inactive.
 *
 * Persistence (`ip_vs_sched_persist`): a template keyed by client address (netmask /32, /128) pins new connections to
 * one real server. Each new connection through it re-arms its timer to `timeout`; when the timer fires while the
 * template still controls live connections it is re-armed again, otherwise it expires. A template whose real server
 * was deleted, or has weight 0 while `expire_quiescent_template` = 1 (kube-proxy sets it), is dropped and the client
 * rescheduled: affinity to a terminating pod ends at once.
 */
import type { Conntrack, ConntrackEntry } from '../conntrack.js';
import type { EndpointInfo } from '../endpoints.js';
import type { Step } from '../engine.js';
import { serviceLine } from './render.js';
import type { DestTable } from './schedulers/dest-table.js';
import type { CreateSchedulerOptions } from './schedulers/index.js';
import { createScheduler, newDest, setDestWeight } from './schedulers/index.js';
import type { Dest, Scheduler, SchedulerName } from './schedulers/types.js';
import { DestFlags, SvcFlags } from './schedulers/types.js';
import type { VirtualServerSpec } from './virtual-servers.js';
import type { VsTable } from './vs-table.js';

/** Where a virtual server keeps its numbers and its connections: the engine's tables. */
export interface VirtualServerTables {
  readonly conntrack: Conntrack;
  readonly servers: VsTable;
  readonly dests: DestTable;
}

/** ip_vs_conn_expire: a template that still controls connections when its timer fires is re-armed for 60 s. */
export const EXPIRE_LATER = 60;

/** A persistence template. */
export interface PersistTemplate {
  readonly client: string;
  readonly dest: Dest;
  /** Simulated seconds at which the template's timer fires next. */
  expires: number;
  /**
   * What a use re-arms the timer by: the persistence timeout, until the timer once fires while the template still
   * controls connections; from then on 60 s (ip_vs_conn_expire's expire_later).
   */
  timeout: number;
  /** Connections created through the template. */
  readonly controls: Set<ConntrackEntry>;
}

/** Schedulers that read connection counts. */
/**
 * The templates of a virtual server that has none. Maps a virtual server rarely fills (templates, trash, trace steps)
 * are made on first use: empty, they were three of its five Maps, about 180 bytes each, copied by every collection
 * that promotes a new engine's objects (a build at 10,000 Services spent 40% of its time collecting).
 */
const NO_TEMPLATES: ReadonlyMap<string, PersistTemplate> = new Map();

const COUNTING: ReadonlySet<SchedulerName> = new Set(['lc', 'wlc', 'sed', 'nq', 'lblc', 'lblcr']);

export class LiveVirtualServer {
  /** This virtual server's number in the engine's VsTable, which keeps its plan, flags, group and scheduler state. */
  readonly id: number;
  readonly #servers: VsTable;
  readonly #destTable: DestTable;
  /** The Service port's name (the spec's), which every new flow's NAT record names: kept here with the spec's. */
  #service: string;
  #spec: VirtualServerSpec;
  #persistent: boolean;
  /** The ipvsadm service line (`TCP  10.96.0.1:80 rr`), cached for traces. */
  #text = '';
  readonly schedulerName: SchedulerName;
  /** The scheduler reads connection counts (lc, wlc, sed, nq, lblc, lblcr), so they are refreshed before it runs. */
  readonly counting: boolean;
  readonly scheduler: Scheduler;
  /** Real servers, head first (the kernel inserts new ones at the head). */
  readonly dests: Dest[] = [];
  readonly #byKey = new Map<string, Dest>();
  /**
   * Deleted real servers by key: the kernel keeps a deleted destination in its trash while connections or templates
   * hold it, and reuses it when the same real server is added again (one never referenced is indistinguishable from
   * a new one, so every deleted one is kept).
   */
  #trash: Map<string, Dest> | undefined;
  /**
   * The connections this virtual server scheduled: a conntrack group (conntrack.ts `join`) whose rows are tagged with
   * their real server's `slot`. The list lives in the rows themselves, so remembering a new connection writes only
   * the row conntrack just filled, and a connection conntrack deletes leaves the list by itself. -1 once the group is
   * given back (its number may be another virtual server's then).
   */
  get #flows(): number {
    return this.#servers.group(this.id);
  }
  /** Every real server this virtual server has had (deleted ones included, as they may come back), by `slot`. */
  readonly #bySlot: Dest[] = [];
  /** The endpoint facts (locality) of each real server, by `slot`. */
  readonly #endpointBySlot: EndpointInfo[] = [];
  /** The moment of the last walk over the connections (`refreshCounts`); NaN before the first. */
  #countedAt = Number.NaN;
  readonly #conntrack: Conntrack;
  /** Where this virtual server enters itself when it deletes a real server (IpvsState.nodest). */
  readonly #nodest: Set<LiveVirtualServer>;
  #templates: Map<string, PersistTemplate> | undefined;
  /** Deleted (`clear`): its connections go at the next flush, and its conntrack group with them. */
  #cleared = false;
  /** Trace steps that stay the same from packet to packet, rebuilt after any change (see new-flow.ts). */
  readonly cache: { describe?: Step; masq?: Step; hairpin?: Step; dnat?: Map<Dest, Step> } = {};

  constructor(
    spec: VirtualServerSpec,
    scheduler: SchedulerName,
    opts: CreateSchedulerOptions,
    tables: VirtualServerTables,
    nodest: Set<LiveVirtualServer>,
  ) {
    this.#spec = spec;
    this.#service = spec.service;
    this.#nodest = nodest;
    this.#persistent = (spec.flags & SvcFlags.PERSISTENT) !== 0;
    this.#conntrack = tables.conntrack;
    this.#servers = tables.servers;
    this.#destTable = tables.dests;
    this.counting = COUNTING.has(scheduler);
    // Counting schedulers read their real servers' connection counts on every new connection: conntrack keeps them.
    this.id = tables.servers.add(this, spec.family, tables.conntrack.newGroup(this.counting));
    this.schedulerName = scheduler;
    this.#text = this.#render();
    this.scheduler = createScheduler(scheduler, {
      ...opts,
      flags: spec.flags,
      rrCursor: tables.servers.cursorCell(this.id),
      mhCell: tables.servers.tableCell(this.id),
    });
    this.scheduler.bind?.(this.dests);
    this.#markFastScheduler();
  }

  get spec(): VirtualServerSpec {
    return this.#spec;
  }

  /**
   * Replace the spec (kube-proxy's UpdateVirtualServer). Persistence templates stay when persistence is switched off:
   * ip_vs_edit_service only sets the flags and timeout, and a template is a connection with its own timer, so one
   * switched back on before its templates ran out finds them again (ip_vs_sched_persist). Each keeps its own timeout.
   */
  set spec(spec: VirtualServerSpec) {
    this.#spec = spec;
    this.#service = spec.service;
    this.#persistent = (spec.flags & SvcFlags.PERSISTENT) !== 0;
    this.#markFastScheduler();
    this.#text = this.#render();
    this.#invalidate();
    // The Service's name may have changed with it: its connections' NAT records are made anew.
    for (const d of this.#bySlot) this.#destTable.forgetRecords(d.id);
  }

  /** What VsTable.fastPick may decide for this virtual server: rr or mh without persistence. */
  #markFastScheduler(): void {
    const name = this.schedulerName;
    const fast = this.#persistent ? null : name === 'rr' || name === 'mh' ? name : null;
    this.#servers.setFastScheduler(this.id, fast, (this.#spec.flags & SvcFlags.SCHED2) !== 0);
  }

  #invalidate(): void {
    this.#servers.setPlan(this.id, undefined);
    this.cache.describe = undefined;
    this.cache.masq = undefined;
    this.cache.hairpin = undefined;
    this.cache.dnat = undefined;
  }

  /** `TCP  10.96.0.1:80 rr`, as ipvsadm lists this virtual server. */
  get text(): string {
    return this.#text;
  }

  #render(): string {
    const s = this.#spec;
    return serviceLine({
      proto: s.proto,
      addr: s.addr,
      port: s.port,
      scheduler: this.schedulerName,
      flags: s.flags,
      timeout: s.timeout,
      dests: [],
    });
  }

  /** The Service port's name (a field, not read from the spec: every new flow asks). */
  get service(): string {
    return this.#service;
  }

  /** ClientIP affinity (a field, not read from the spec: every new flow asks). */
  get persistent(): boolean {
    return this.#persistent;
  }

  dest(key: string): Dest | undefined {
    return this.#byKey.get(key);
  }

  endpointOf(dest: Dest): EndpointInfo | undefined {
    return this.#bySlot[dest.slot] === dest ? this.#endpointBySlot[dest.slot] : undefined;
  }

  /** The persistence templates by client IP. */
  get templates(): ReadonlyMap<string, PersistTemplate> {
    return this.#templates ?? NO_TEMPLATES;
  }

  /**
   * ipvsadm -a: a real server with weight 1 at the head of the list. One deleted earlier comes back out of the
   * kernel's trash (ip_vs_add_dest → ip_vs_trash_get_dest): the same destination, so the connections and persistence
   * templates that still point at it carry on with their counts.
   */
  addDest(ep: EndpointInfo): Dest {
    const key = ep.address;
    let d = this.#trash?.get(key);
    if (d) {
      this.#trash!.delete(key);
      d.flags |= DestFlags.AVAILABLE;
      setDestWeight(d, 1);
      this.#markFlows(d, false);
    } else {
      // The endpoint's `ip:port` text is the real server's key (one string for both).
      d = newDest(ep.ip, ep.port, 1, ep.destination, this.#destTable, ep.address);
      d.slot = this.#bySlot.length;
      this.#bySlot.push(d);
    }
    this.dests.unshift(d);
    this.#servers.listChanged(this.id);
    this.#byKey.set(d.key, d);
    this.#endpointBySlot[d.slot] = ep;
    this.scheduler.destsChanged(this.dests, { kind: 'add', dest: d });
    this.#invalidate();
    return d;
  }

  /** Keep the endpoint facts (locality) current for a real server that stays. */
  refreshEndpoint(d: Dest, ep: EndpointInfo): void {
    this.#endpointBySlot[d.slot] = ep;
  }

  /** ipvsadm -d: the real server leaves the list; established flows to it now find it unavailable. */
  deleteDest(d: Dest): void {
    const index = this.dests.indexOf(d);
    if (index < 0) return;
    this.dests.splice(index, 1);
    this.#servers.listChanged(this.id);
    this.#byKey.delete(d.key);
    this.#trash ??= new Map();
    this.#trash.set(d.key, d);
    d.flags &= ~DestFlags.AVAILABLE;
    this.#markFlows(d, true);
    this.#nodest.add(this);
    this.scheduler.destsChanged(this.dests, { kind: 'del', dest: d, index });
    this.#invalidate();
  }

  /** ipvsadm -e -w: change a weight (graceful termination sets 0). */
  setWeight(d: Dest, weight: number): void {
    setDestWeight(d, weight);
    this.scheduler.destsChanged(this.dests, { kind: 'upd', dest: d });
    this.#invalidate();
  }

  /** Remove every real server (the virtual server is being deleted). */
  clear(): void {
    for (const d of [...this.dests]) this.deleteDest(d);
    this.#templates = undefined;
    this.#trash = undefined;
    this.scheduler.release?.();
    this.#cleared = true;
    this.#nodest.add(this);
  }

  /**
   * Recompute ActiveConn / InActConn of every real server as of `now` (seconds). A connection expired by then leaves
   * the list: conntrack collects expired flows lazily, and lc, wlc, sed and nq refresh on every new connection, so
   * they would otherwise walk every connection the virtual server ever made.
   */
  refreshCounts(now: number): void {
    // At the moment of the last walk nothing more can have expired, so the counts conntrack keeps per real server
    // (as connections join, leave and change state) are exact: a new connection reads them instead of walking every
    // connection, which made lc, wlc, sed and nq quadratic in connections. A later moment walks once, to reap.
    if (this.counting && now === this.#countedAt && this.#flows >= 0) {
      const ct = this.#conntrack;
      for (const d of this.dests) {
        d.activeConns = ct.groupCount(this.#flows, d.slot, true);
        d.inactConns = ct.groupCount(this.#flows, d.slot, false);
      }
      return;
    }
    this.#countedAt = now;
    for (const d of this.dests) {
      d.activeConns = 0;
      d.inactConns = 0;
    }
    const ct = this.#conntrack;
    for (let row = this.#firstFlow(); row >= 0; ) {
      const next = ct.groupNext(row);
      if (ct.expiresOf(row) <= now) ct.leaveGroup(row);
      else if (ct.createdOf(row) <= now) {
        const d = this.#bySlot[ct.groupTag(row)]!;
        if (!ct.isUdpRow(row) && ct.handshakeCompleteRow(row)) d.activeConns++;
        else d.inactConns++;
      }
      row = next;
    }
  }

  /** Connections of one real server alive at `at` (seconds): for the graceful-termination check at a past tick. */
  connectionsAt(d: Dest, at: number): number {
    const ct = this.#conntrack;
    let n = 0;
    for (let row = this.#firstFlow(); row >= 0; row = ct.groupNext(row))
      if (ct.groupTag(row) === d.slot && ct.createdOf(row) <= at && ct.expiresOf(row) > at) n++;
    return n;
  }

  /**
   * ip_vs_expire_nodest_conn_flush (Linux 5.9+, with expire_nodest_conn=1 as kube-proxy sets it): the work the
   * kernel queues on each real-server deletion, run a jiffy later, expires every connection to a real server that
   * is still deleted, and its conntrack entry with it. A packet of such a flow after that is a new connection,
   * scheduled anew; only one that comes before it (at the instant of the deletion) is dropped (engine.ts).
   */
  expireNodestConns(): void {
    const ct = this.#conntrack;
    for (let row = this.#firstFlow(); row >= 0; ) {
      const next = ct.groupNext(row);
      // A real server added back before the flush is available again: its connections carry on.
      if ((this.#bySlot[ct.groupTag(row)]!.flags & DestFlags.AVAILABLE) === 0) ct.deleteRow(row);
      row = next;
    }
    // A virtual server deleted (`clear`) has no connection left now, and gets none: its group number is given back.
    if (this.#cleared && this.#flows >= 0) {
      this.#conntrack.releaseGroup(this.#flows);
      this.#servers.setGroup(this.id, -1);
    }
  }

  /** The newest connection's row, or -1 (always once the group is given back). */
  #firstFlow(): number {
    return this.#flows < 0 ? -1 : this.#conntrack.groupFirst(this.#flows);
  }

  /**
   * Mark every connection to `d` as having lost its real server (conntrack.ts `markRow`), or unmark them when it
   * comes back: the engine's per-packet expire_nodest_conn test is then a bit of the flags its lookup just read,
   * instead of the real server's flags (another object per packet).
   */
  #markFlows(d: Dest, deleted: boolean): void {
    const ct = this.#conntrack;
    for (let row = this.#firstFlow(); row >= 0; row = ct.groupNext(row))
      if (ct.groupTag(row) === d.slot) ct.markRow(row, deleted);
  }

  /**
   * The template for a client, after replaying its timer up to `now`; undefined when there is none or it expired.
   * A firing at time T while some controlled connection is alive re-arms for 60 s (and later uses re-arm by 60 s).
   */
  template(client: string, now: number): PersistTemplate | undefined {
    const t = this.#templates?.get(client);
    if (!t) return undefined;
    const timeout = this.spec.timeout;
    while (t.expires <= now) {
      let alive = false;
      for (const c of t.controls) {
        if (c.expires > t.expires && c.created <= t.expires) alive = true;
        else if (c.expires <= t.expires) t.controls.delete(c);
      }
      if (!alive || timeout <= 0) {
        this.dropTemplate(t);
        return undefined;
      }
      t.timeout = EXPIRE_LATER;
      t.expires += EXPIRE_LATER;
    }
    return t;
  }

  dropTemplate(t: PersistTemplate): void {
    if (this.#templates?.get(t.client) === t) this.#templates.delete(t.client);
    t.dest.persistConns = Math.max(0, t.dest.persistConns - 1);
  }

  newTemplate(client: string, dest: Dest, now: number): PersistTemplate {
    const timeout = this.spec.timeout;
    const t: PersistTemplate = { client, dest, expires: now + timeout, timeout, controls: new Set() };
    this.#templates ??= new Map();
    this.#templates.set(client, t);
    dest.persistConns++;
    return t;
  }
}
