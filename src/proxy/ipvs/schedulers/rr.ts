/**
 * `rr` (ip_vs_rr.c): a cursor on the destination list. Each new connection walks forward from the last chosen
 * destination (wrapping past the list head) and takes the first one with weight > 0 that is not overloaded. The
 * weight's value is ignored except that 0 means skip.
 *
 * The cursor starts at the list head. Inserting at the head does not move it; deleting the destination it points at
 * moves it to that destination's predecessor (possibly the head), so the walk resumes where it would have.
 *
 * Like the kernel, which keeps its cursor as a list link, a new connection steps from the destination it took last to
 * the next one in the list through the destinations themselves (`Dest.rrNext`, linked here whenever the list
 * changes), without reading the list: at 10,000 virtual servers the list and its elements were two cache misses of
 * every new flow. The list is walked when that next destination is not usable, and whenever a trace is asked for.
 */
import type { Dest, DestChange, SchedPacket, Scheduler } from './types.js';
import { usable } from './types.js';

/** Round-robin over one virtual server's destinations. */
export class RoundRobin implements Scheduler {
  readonly name = 'rr' as const;
  /** Index of the last chosen destination; -1 is the list head (nothing chosen yet). */
  #cursor = -1;
  /** The destination after the cursor (undefined: walk the list), and the list's length, as of the last change. */
  #next: Dest | undefined = undefined;
  #count = 0;

  bind(dests: readonly Dest[]): void {
    this.#link(dests);
  }

  destsChanged(dests: readonly Dest[], change: DestChange): void {
    this.#next = undefined;
    if (change.kind === 'add') {
      if (this.#cursor >= 0) this.#cursor++;
    } else if (change.kind === 'del') {
      if (this.#cursor >= change.index) this.#cursor--;
    }
    this.#link(dests);
  }

  /** Link each destination to the next in the list, the last to the first (a change is rare: the whole list). */
  #link(dests: readonly Dest[]): void {
    const n = dests.length;
    for (let i = 0; i < n; i++) dests[i]!.rrNext = dests[i + 1 === n ? 0 : i + 1];
    this.#count = n;
  }

  /** Where the cursor points, for traces and tests (-1 = list head). */
  get cursor(): number {
    return this.#cursor;
  }

  schedule(dests: readonly Dest[], _pkt: SchedPacket, _nowMs: number, trace?: string[]): Dest | undefined {
    const next = this.#next;
    if (next !== undefined && trace === undefined && usable(next)) {
      const i = this.#cursor + 1;
      this.#cursor = i === this.#count ? 0 : i;
      this.#next = next.rrNext;
      return next;
    }
    const n = dests.length;
    // A list handed over without a change announced (a caller of the scheduler alone) is linked on first use.
    if (n !== this.#count) this.#link(dests);
    const start = this.#cursor;
    // From the cursor's successor to the end, then (only if the cursor is not the head) from the first destination
    // back round to the cursor itself, which is examined last.
    for (let k = 1; k <= n; k++) {
      const i = (start + k) % n;
      const d = dests[i]!;
      if (usable(d)) {
        if (trace) {
          const from = start < 0 ? 'list head' : dests[start]!.key;
          trace.push(`rr: cursor after ${from}; next usable destination ${d.key}`);
        }
        this.#cursor = i;
        this.#next = d.rrNext;
        return d;
      }
      if (trace) trace.push(`rr: skip ${d.key} (${d.weight > 0 ? 'overloaded' : 'weight 0'})`);
    }
    trace?.push('rr: no destination available');
    return undefined;
  }
}
