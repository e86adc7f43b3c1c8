/**
 * `lblc` and `lblcr` (ip_vs_lblc.c, ip_vs_lblcr.c): locality-based least-connection, keyed on the packet's
 * **destination** address. Built for web-cache clusters where the destination is the origin server; under
 * kube-proxy every packet of a virtual server has the same destination (the VIP or node IP), so the cache holds one
 * entry and the scheduler behaves like a sticky wlc.
 *
 * lblc: reuse the cached server while it is available, has weight > 0 and is not "overloaded"
 * (`active > weight` while some server has `2·active < weight`); otherwise pick by weighted least-connection and
 * replace the entry.
 *
 * lblcr: cache a *set* of servers per address (newest first). Use the set's weighted-least-loaded available member;
 * if there is none or it is overloaded, add the wlc-best server of the whole service. When the set has more than
 * one member and has not changed for `expiration`, its most loaded member is dropped.
 */
import { dstFoldOf } from './hash.js';
import { leastWeighted } from './least-conn.js';
import { type LocalityEntry, LocalityTable, localityBucket } from './locality-table.js';
import type { Dest, DestChange, SchedPacket, Scheduler } from './types.js';
import { connOverhead, DestFlags } from './types.js';

/** Options for the locality schedulers (simulated time in milliseconds). */
export interface LocalityOptions {
  /** When the virtual server was created: the GC timer starts then. */
  createdAtMs?: number;
  /** sysctl lblc_expiration / lblcr_expiration; default 24 h. */
  expirationMs?: number;
}

/** The kernel's `is_overloaded` for lblc/lblcr: busy beyond its weight while some server is under half load. */
export function localityOverloaded(dest: Dest, dests: readonly Dest[]): boolean {
  if (dest.activeConns <= dest.weight) return false;
  for (const d of dests) if (d.activeConns * 2 < d.weight) return true;
  return false;
}

function available(d: Dest): boolean {
  return (d.flags & DestFlags.AVAILABLE) !== 0;
}

interface LblcEntry extends LocalityEntry {
  dest: Dest;
}

/** Locality-based least-connection. */
export class Lblc implements Scheduler {
  readonly name = 'lblc' as const;
  readonly table: LocalityTable<LblcEntry>;

  constructor(opts: LocalityOptions = {}) {
    this.table = new LocalityTable(opts.createdAtMs ?? 0, opts.expirationMs);
  }

  destsChanged(_dests: readonly Dest[], _change: DestChange): void {}

  schedule(dests: readonly Dest[], pkt: SchedPacket, nowMs: number, trace?: string[]): Dest | undefined {
    this.table.advance(nowMs);
    const en = this.table.get(pkt.dstIP);
    if (en) {
      en.lastUse = nowMs;
      const d = en.dest;
      if (available(d) && d.weight > 0 && !localityOverloaded(d, dests)) {
        trace?.push(`lblc: cache ${pkt.dstIP} -> ${d.key} still valid`);
        return d;
      }
      trace?.push(`lblc: cached ${d.key} for ${pkt.dstIP} is unavailable or overloaded; rescheduling`);
    }
    const d = leastWeighted('wlc', dests, trace);
    if (!d) return undefined;
    if (en?.dest === d) return d;
    const entry = { addr: pkt.dstIP, bucket: bucketOf(pkt), lastUse: nowMs, dest: d };
    if (en) this.table.replace(en, entry);
    else this.table.insert(entry);
    trace?.push(`lblc: cache ${pkt.dstIP} -> ${d.key}`);
    return d;
  }
}

interface LblcrEntry extends LocalityEntry {
  /** The server set, newest first. */
  set: Dest[];
  lastMod: number;
}

/** Locality-based least-connection with replication. */
export class Lblcr implements Scheduler {
  readonly name = 'lblcr' as const;
  readonly table: LocalityTable<LblcrEntry>;

  constructor(opts: LocalityOptions = {}) {
    this.table = new LocalityTable(opts.createdAtMs ?? 0, opts.expirationMs);
  }

  destsChanged(_dests: readonly Dest[], _change: DestChange): void {}

  schedule(dests: readonly Dest[], pkt: SchedPacket, nowMs: number, trace?: string[]): Dest | undefined {
    this.table.advance(nowMs);
    const en = this.table.get(pkt.dstIP);
    if (!en) {
      const d = leastWeighted('wlc', dests, trace);
      if (!d) return undefined;
      this.table.insert({ addr: pkt.dstIP, bucket: bucketOf(pkt), lastUse: nowMs, set: [d], lastMod: nowMs });
      trace?.push(`lblcr: new set for ${pkt.dstIP}: {${d.key}}`);
      return d;
    }
    en.lastUse = nowMs;
    let d = setMin(en.set);
    if (en.set.length > 1 && nowMs > en.lastMod + this.table.expirationMs) {
      const m = setMax(en.set);
      if (m) {
        en.set.splice(en.set.indexOf(m), 1);
        en.lastMod = nowMs;
        trace?.push(`lblcr: set unchanged for longer than expiration; dropped most loaded ${m.key}`);
      }
    }
    if (d && !localityOverloaded(d, dests)) {
      trace?.push(`lblcr: least loaded member of {${en.set.map((x) => x.key).join(', ')}} is ${d.key}`);
      return d;
    }
    trace?.push('lblcr: no usable member in the set; adding the least loaded server');
    d = leastWeighted('wlc', dests, trace);
    if (!d) return undefined;
    if (!en.set.includes(d)) {
      en.set.unshift(d);
      en.lastMod = nowMs;
    }
    return d;
  }
}

function bucketOf(pkt: SchedPacket): number {
  return localityBucket(dstFoldOf(pkt));
}

// Weighted least-loaded available member (`ip_vs_dest_set_min`).
function setMin(set: readonly Dest[]): Dest | undefined {
  let i = 0;
  for (; i < set.length; i++) {
    const d = set[i]!;
    if ((d.flags & DestFlags.OVERLOAD) === 0 && d.weight > 0 && available(d)) break;
  }
  if (i === set.length) return undefined;
  let least = set[i]!;
  let loh = connOverhead(least);
  for (i++; i < set.length; i++) {
    const d = set[i]!;
    if ((d.flags & DestFlags.OVERLOAD) !== 0) continue;
    const doh = connOverhead(d);
    if (loh * d.weight > doh * least.weight && available(d)) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

// Weighted most-loaded member with weight > 0 (`ip_vs_dest_set_max`).
function setMax(set: readonly Dest[]): Dest | undefined {
  let i = 0;
  while (i < set.length && set[i]!.weight <= 0) i++;
  if (i === set.length) return undefined;
  let most = set[i]!;
  let moh = connOverhead(most);
  for (i++; i < set.length; i++) {
    const d = set[i]!;
    const doh = connOverhead(d);
    if (moh * d.weight < doh * most.weight && d.weight > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}
