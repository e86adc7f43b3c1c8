/**
 * The IPVS kube-proxy engine for one node (pkg/proxy/ipvs/proxier.go over the kernel's IPVS, in NAT mode).
 *
 * A new flow goes: conntrack miss → nat KUBE-SERVICES marks (masquerade.ts, ipsets.ts) → filter source-range firewall
 * (INPUT, FORWARD) → IPVS virtual-server lookup (address, then port and protocol) → persistence template or scheduler
 * → for the node's own packets, KUBE-IPVS-OUT-FILTER (OUTPUT) → DNAT to the real server → KUBE-POSTROUTING MASQUERADE
 * for marked or hairpin traffic. Later packets follow the conntrack entry.
 *
 * Verdicts:
 * - no virtual server: ACCEPT (not a Service), except a NEW packet to an address bound on kube-ipvs0 (a ClusterIP,
 *   an LB or external IP) on a port no Service uses, which KUBE-IPVS-FILTER REJECTs;
 * - virtual server but no usable real server (no endpoints, all quiesced, or an mh/sh slot owned by a quiesced one):
 *   REJECT, because `ip_vs_leave` answers ICMP port-unreachable. kube-proxy keeps the virtual server with no real
 *   servers rather than installing REJECT rules of its own;
 * - source range not allowed: DROP (for the node's own packets: sent from an LB IP whose ranges leave out the node IP),
 *   for established flows too: the filters have no `--ctstate NEW`, so a range change cuts open connections;
 * - established flow whose real server was deleted: DROP (expire_nodest_conn = 1 expires the connection; the next
 *   packet starts a new one).
 *
 * Service-table changes are applied lazily, at the simulated time of the next call (kube-proxy syncs after the event,
 * not inside it), so graceful termination sees the connection counts of that moment.
 *
 * Divergences, on purpose: the connection table used for established flows and for ActiveConn/InActConn is the
 * shared nf_conntrack model (its timeouts), not IPVS's own (900/120/300 s by default).
 *
 * Listings: `rules()` is `ipvsadm -Ln`; `iptablesRules()` the nat and filter rules kube-proxy writes around the IPVS
 * table (render-iptables.ts) and `ipsetSave()` its ipsets (render-ipsets.ts), both from the same state the packet
 * path reads.
 */
import { InvalidArgumentError } from '../../errors.js';
import type { IPFamily } from '../../model/types.js';
import { Conntrack } from '../conntrack.js';
import { cleanStaleUdpEntries } from '../conntrack-cleanup.js';
import { DestIndex } from '../dest-index.js';
import type { EngineFactory, EngineInit, ProxyConfig, ProxyEngine, Step, Verdict } from '../engine.js';
import { FlowVerdict } from '../flow-verdict.js';
import { ownAddresses } from '../node-view.js';
import type { Origin, Packet } from '../packet.js';
import type { ServicePortEntry, TableChange } from '../service-table.js';
import { GracefulTermination } from './graceful.js';
import { ipsetContents } from './ipset-contents.js';
import { IpvsIpsets } from './ipsets.js';
import { establishedRangeDrop, newFlow, passed } from './new-flow.js';
import { syncEntry } from './reconcile.js';
import { type IpvsadmService, renderIpvsadm } from './render.js';
import { renderIpsetSave } from './render-ipsets.js';
import { renderIpvsIptables } from './render-iptables.js';
import { DestTable } from './schedulers/dest-table.js';
import { isSchedulerName, SCHEDULER_NAMES } from './schedulers/index.js';
import { mhTableSize } from './schedulers/maglev.js';
import { MaglevArena } from './schedulers/maglev-arena.js';
import type { SchedulerName } from './schedulers/types.js';
import type { IpvsEngineOptions, IpvsState } from './state.js';
import type { LiveVirtualServer } from './virtual-server.js';
import { vsKey } from './virtual-servers.js';
import { VsTable } from './vs-table.js';

export type { IpvsEngineOptions } from './state.js';

/** The IPVS engine; see the module comment. */
export class IpvsEngine implements ProxyEngine {
  readonly mode = 'ipvs';
  readonly nodeName: string;
  readonly config: ProxyConfig;
  readonly conntrack: Conntrack;
  readonly scheduler: SchedulerName;
  readonly graceful: GracefulTermination;
  readonly #st: IpvsState;
  readonly #unsubscribe: () => void;
  #pending: TableChange[] = [];
  /** Service ports deleted since the last sync (the cleanup flushes their UDP flows). */
  #deleted: { family: IPFamily; entry: ServicePortEntry }[] = [];
  #resyncAll = true;
  #now = 0;
  /** The time of the last `sync`, or -1: a call at that same time with nothing pending has nothing to do. */
  #syncedAt = -1;

  constructor(init: EngineInit, opts: IpvsEngineOptions = {}) {
    this.nodeName = init.table.nodeName;
    this.config = init.config;
    this.conntrack = new Conntrack(init.config.conntrack);
    const name = init.config.scheduler === '' ? 'rr' : init.config.scheduler;
    if (!isSchedulerName(name))
      throw new InvalidArgumentError(`unknown IPVS scheduler "${name}" (known: ${SCHEDULER_NAMES.join(', ')})`);
    this.scheduler = name;
    this.graceful = new GracefulTermination(opts.gracefulCheckInterval);
    const dests = new DestTable();
    // The mh tables of every virtual server in one arena (maglev-arena.ts), unless the caller brought one.
    const options =
      name === 'mh' && opts.mhArena === undefined
        ? { ...opts, mhArena: new MaglevArena(mhTableSize(opts.mhTabIndex)) }
        : opts;
    this.#st = {
      table: init.table,
      config: init.config,
      opts: options,
      rng: init.rng,
      conntrack: this.conntrack,
      scheduler: name,
      ipsets: new IpvsIpsets(init.config.clusterCIDR, init.config.masqueradeAll),
      graceful: this.graceful,
      vs: new Map(),
      byDestination: new DestIndex(),
      servers: new VsTable(dests, options.mhArena),
      dests,
      specsByEntry: new Map(),
      healthCheck: new Map(),
      nodeAddrs: new Set(),
      mark: `0x${(1 << init.config.masqueradeBit).toString(16)}`,
      explain: init.explain ?? true,
      schedPacket: { srcIP: '', srcPort: 0, dstIP: '', dstPort: 0, proto: 'TCP', srcKey: 0, dstKey: 0 },
      nodest: new Set(),
    };
    this.#unsubscribe = init.table.subscribe((changes) => {
      for (const c of changes) {
        if (c.kind === 'node') this.#resyncAll = true;
        else {
          this.#pending.push(c);
          if (!c.current && c.previous) this.#deleted.push({ family: c.family, entry: c.previous });
        }
      }
    });
  }

  dispose(): void {
    this.#unsubscribe();
  }

  /** Apply pending service-table changes and run the graceful-termination checks due by `now` (seconds). */
  sync(now: number = this.#now): void {
    const st = this.#st;
    // Real servers deleted at an earlier time: the kernel's delayed flush has expired their connections since.
    if (st.nodest.size > 0 && now > this.#syncedAt) {
      for (const vs of st.nodest) vs.expireNodestConns();
      st.nodest.clear();
    }
    this.#syncedAt = now;
    if (now > this.#now) this.#now = now;
    const synced = this.#resyncAll || this.#pending.length > 0;
    if (this.#resyncAll) {
      this.#resyncAll = false;
      this.#pending = [];
      const node = st.table.node;
      const own = ownAddresses(node);
      st.nodeAddrs = new Set(own);
      this.conntrack.setNodeAddresses(own);
      st.ipsets.setNodeAddresses(st.nodeAddrs);
      const seen = new Set<string>();
      for (const family of st.table.families) {
        for (const entry of st.table.ports(family)) {
          seen.add(`${family}|${entry.key}`);
          syncEntry(st, family, entry.key, now);
        }
      }
      for (const k of [...st.specsByEntry.keys()]) {
        if (seen.has(k)) continue;
        const bar = k.indexOf('|');
        syncEntry(st, k.slice(0, bar) as IPFamily, k.slice(bar + 1), now);
      }
    } else if (this.#pending.length > 0) {
      const changes = this.#pending;
      this.#pending = [];
      const done = new Set<string>();
      for (const c of changes) {
        if (c.kind !== 'service-port') continue;
        const k = `${c.family}|${c.key}`;
        if (done.has(k)) continue;
        done.add(k);
        syncEntry(st, c.family, c.key, now);
      }
    }
    if (synced) this.#cleanStaleUdp();
    this.graceful.advance(now);
  }

  /**
   * `sync`, unless it already ran at this time and nothing changed since: packets of one simulated instant (a burst,
   * a bench round) skip it, while a packet at a new time still runs the graceful-termination checks due by then (at
   * an instant already synced, none is due: `advance` moved the next check past it).
   */
  #syncIfDue(now: number): void {
    if (now !== this.#syncedAt || this.#resyncAll || this.#pending.length > 0) this.sync(now);
  }

  /** kube-proxy's UDP conntrack cleanup after a sync: every live UDP port, and those deleted since the last sync. */
  #cleanStaleUdp(): void {
    const table = this.#st.table;
    const deleted = this.#deleted;
    this.#deleted = [];
    for (const family of table.families) {
      const gone = deleted.filter((d) => d.family === family && !table.get(family, d.entry.key)).map((d) => d.entry);
      cleanStaleUdpEntries(this.#st.conntrack, table.udpPorts(family), gone);
    }
  }

  /** The live virtual servers (for introspection and tests). */
  virtualServers(family?: IPFamily): LiveVirtualServer[] {
    this.sync();
    return [...this.#st.vs.values()].filter((v) => family === undefined || v.spec.family === family);
  }

  virtualServer(proto: Packet['proto'], addr: string, port: number): LiveVirtualServer | undefined {
    this.sync();
    return this.#st.vs.get(vsKey(proto, addr, port));
  }

  /**
   * `ipvsadm -Ln` for the virtual servers of one family, or of both (IPv4 first, as libipvs sorts them), counts as of
   * the latest time seen.
   */
  rules(family?: IPFamily): string {
    this.sync();
    const services: IpvsadmService[] = [];
    for (const vs of this.#st.vs.values()) {
      if (family !== undefined && vs.spec.family !== family) continue;
      vs.refreshCounts(this.#now);
      const { proto, addr, port, flags, timeout } = vs.spec;
      services.push({
        proto,
        addr,
        port,
        scheduler: vs.schedulerName,
        flags,
        timeout,
        dests: vs.dests.map((d) => ({
          addr: d.addr,
          port: d.port,
          forward: 'Masq',
          weight: d.weight,
          activeConns: d.activeConns,
          inactConns: d.inactConns,
        })),
      });
    }
    return renderIpvsadm(services);
  }

  /** The ipsets of one family, or of every family the proxier runs (IPv4 first), as `ipset save` lists them. */
  ipsetSave(family?: IPFamily): string {
    this.sync();
    const families = family === undefined ? this.#st.table.families : [family];
    return families.map((f) => renderIpsetSave(ipsetContents(this.#st, f))).join('');
  }

  /** The nat and filter rules kube-proxy's IPVS proxier of `family` restores, in iptables mode's form. */
  iptablesRules(family: IPFamily = 'IPv4'): string {
    this.sync();
    const st = this.#st;
    return renderIpvsIptables(ipsetContents(st, family), {
      masqueradeAll: st.config.masqueradeAll,
      detector: st.ipsets.detectorFor(family),
      mark: st.mark,
      randomFully: st.config.randomFully,
    });
  }

  send(packet: Packet, origin: Origin, now: number): Verdict {
    // IPVS sees every packet at LOCAL_IN/LOCAL_OUT and its source decides masquerading; the origin matters only to
    // the LB source-range filters (the node's own packets meet KUBE-IPVS-OUT-FILTER, not KUBE-PROXY-FIREWALL).
    this.#syncIfDue(now);
    const ct = this.conntrack;
    const row = ct.lookupRow(packet, now);
    if (row < 0) return newFlow(this.#st, packet, origin, now, ct.lastSrcKey);
    if (ct.lastDirection === 'reply') return this.#reply(row, packet, now);
    if (ct.markedRow(row)) return this.#noDest(row, packet);
    // Conntrack sees the packet (PREROUTING, OUTPUT) before the filter table can drop it.
    ct.seeRow(row, 'original', now);
    if (this.#st.ipsets.hasSourceRanges) {
      const dropped = establishedRangeDrop(this.#st, packet, origin);
      if (dropped) return dropped;
    }
    return new FlowVerdict(ct, row, 'established', packet, 1, this.#st.explain ? trackedSteps : null);
  }

  reply(packet: Packet, now: number): Verdict {
    this.sync(now);
    const row = this.conntrack.findRow(packet, now);
    if (row < 0)
      return { ...passed(packet, [{ where: 'conntrack', rule: 'lookup', decision: 'no tracked flow' }]), cost: 1 };
    return this.#reply(row, packet, now);
  }

  close(packet: Packet, now: number): boolean {
    this.sync(now);
    return this.conntrack.close(packet, now);
  }

  #reply(row: number, packet: Packet, now: number): Verdict {
    this.conntrack.seeRow(row, 'reply', now);
    return new FlowVerdict(this.conntrack, row, 'reply', packet, 1, this.#st.explain ? trackedSteps : null);
  }

  // expire_nodest_conn: the real server was deleted; the connection is expired and this packet dropped.
  #noDest(row: number, packet: Packet): Verdict {
    // Conntrack forgets the flow; the virtual server's flow list drops it at its next sweep (the row is freed).
    const { endpoint, service } = this.conntrack.natOf(row);
    this.conntrack.deleteRow(row);
    return {
      verdict: 'DROP',
      endpoint,
      packet,
      snat: null,
      service,
      conntrack: 'established',
      steps: [
        {
          where: 'ipvs',
          rule: `connection to ${endpoint}`,
          decision: 'DROP: real server deleted (expire_nodest_conn=1); the connection is expired',
        },
      ],
      cost: 1,
    };
  }
}

/** The one step of a packet IPVS's connection table carries (no scheduling). */
function trackedSteps(flow: FlowVerdict): Step[] {
  return [
    {
      where: 'conntrack',
      rule: `flow #${flow.flowId}`,
      decision:
        flow.conntrack === 'reply'
          ? 'reply: source restored to the virtual server'
          : `established: IPVS connection to ${flow.endpoint ?? 'no NAT'} (no scheduling)${flow.remappedPort !== 0 ? `, source port remapped to ${flow.remappedPort}` : ''}`,
    },
  ];
}

/** Build an IPVS engine with IPVS-specific options. */
export function createIpvsEngine(init: EngineInit, opts: IpvsEngineOptions = {}): IpvsEngine {
  return new IpvsEngine(init, opts);
}

/** The EngineFactory for `mode: ipvs`. */
export const ipvsEngine: EngineFactory = (init) => new IpvsEngine(init);
