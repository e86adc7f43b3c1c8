/**
 * The stateless "least load" family: lc, wlc, sed, nq (ip_vs_lc.c, ip_vs_wlc.c, ip_vs_sed.c, ip_vs_nq.c).
 * They read each destination's active/inactive connection counts, which the engine copies from its connection table
 * before scheduling.
 *
 * - lc: least `overhead = active·256 + inactive` among usable destinations; weight only matters as 0 = skip.
 * - wlc: least overhead/weight. The kernel compares by cross-multiplication, `loh·w(d) > doh·w(least)`, with the
 *   first usable destination as the starting candidate. Later destinations are compared even at weight 0, but with
 *   weight 0 the left side is 0 and they can never win.
 * - sed: like wlc with `overhead = active + 1` (inactive ignored).
 * - nq: scans in list order and returns the first usable destination with no active connection at once; otherwise
 *   the sed rule.
 * Every comparison is strict, so ties keep the destination earlier in the list.
 */
import type { Dest, DestChange, SchedPacket, Scheduler, SchedulerName } from './types.js';
import { connOverhead, DestFlags, usable } from './types.js';

type Kind = 'lc' | 'wlc' | 'sed' | 'nq';

function overheadOf(kind: Kind, d: Dest): number {
  return kind === 'lc' || kind === 'wlc' ? connOverhead(d) : d.activeConns + 1;
}

/** One of lc / wlc / sed / nq. No state of its own: the decision is a function of the destination list. */
export class LeastConnection implements Scheduler {
  readonly name: SchedulerName;
  readonly #kind: Kind;

  constructor(kind: Kind) {
    this.name = kind;
    this.#kind = kind;
  }

  destsChanged(_dests: readonly Dest[], _change: DestChange): void {}

  schedule(dests: readonly Dest[], _pkt: SchedPacket, _nowMs: number, trace?: string[]): Dest | undefined {
    switch (this.#kind) {
      case 'lc':
        return leastConn(dests, trace);
      case 'nq':
        return neverQueue(dests, trace);
      default:
        return leastWeighted(this.#kind, dests, trace);
    }
  }
}

function note(trace: string[] | undefined, kind: Kind, d: Dest, oh: number): void {
  if (!trace) return;
  const formula = kind === 'lc' || kind === 'wlc' ? `${d.activeConns}*256+${d.inactConns}` : `${d.activeConns}+1`;
  trace.push(`${kind}: ${d.key} overhead ${formula}=${oh} weight ${d.weight}`);
}

function leastConn(dests: readonly Dest[], trace?: string[]): Dest | undefined {
  let least: Dest | undefined;
  let loh = 0;
  for (const d of dests) {
    if (!usable(d)) {
      trace?.push(`lc: skip ${d.key} (weight ${d.weight})`);
      continue;
    }
    const doh = connOverhead(d);
    note(trace, 'lc', d, doh);
    if (least === undefined || doh < loh) {
      least = d;
      loh = doh;
    }
  }
  trace?.push(least ? `lc: least overhead ${loh} at ${least.key}` : 'lc: no destination available');
  return least;
}

/** wlc and sed: first usable destination, then strict cross-multiplied comparison against every later one. */
export function leastWeighted(kind: 'wlc' | 'sed', dests: readonly Dest[], trace?: string[]): Dest | undefined {
  let i = 0;
  while (i < dests.length && !usable(dests[i]!)) {
    trace?.push(`${kind}: skip ${dests[i]!.key} (weight ${dests[i]!.weight})`);
    i++;
  }
  if (i === dests.length) {
    trace?.push(`${kind}: no destination available`);
    return undefined;
  }
  let least = dests[i]!;
  let loh = overheadOf(kind, least);
  note(trace, kind, least, loh);
  for (i++; i < dests.length; i++) {
    const d = dests[i]!;
    if ((d.flags & DestFlags.OVERLOAD) !== 0) continue;
    const doh = overheadOf(kind, d);
    note(trace, kind, d, doh);
    if (loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  trace?.push(`${kind}: least overhead/weight ${loh}/${least.weight} at ${least.key}`);
  return least;
}

function neverQueue(dests: readonly Dest[], trace?: string[]): Dest | undefined {
  let least: Dest | undefined;
  let loh = 0;
  for (const d of dests) {
    if ((d.flags & DestFlags.OVERLOAD) !== 0 || d.weight === 0) {
      trace?.push(`nq: skip ${d.key} (weight ${d.weight})`);
      continue;
    }
    const doh = d.activeConns + 1;
    if (d.activeConns === 0) {
      trace?.push(`nq: ${d.key} has no active connections: chosen at once`);
      return d;
    }
    note(trace, 'nq', d, doh);
    if (least === undefined || loh * d.weight > doh * least.weight) {
      least = d;
      loh = doh;
    }
  }
  trace?.push(
    least ? `nq: no idle destination; least (active+1)/weight at ${least.key}` : 'nq: no destination available',
  );
  return least;
}
