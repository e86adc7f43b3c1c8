/**
 * `rr` (ip_vs_rr.c): a cursor on the destination list. Each new connection walks forward from the last chosen
 * destination (wrapping past the list head) and takes the first one with weight > 0 that is not overloaded. The
 * weight's value is ignored except that 0 means skip.
 *
 * The cursor starts at the list head. Inserting at the head does not move it; deleting the destination it points at
 * moves it to that destination's predecessor (possibly the head), so the walk resumes where it would have.
 */
import type { Dest, DestChange, SchedPacket, Scheduler } from './types.js';
import { usable } from './types.js';

/** Round-robin over one virtual server's destinations. */
export class RoundRobin implements Scheduler {
  readonly name = 'rr' as const;
  /** Index of the last chosen destination; -1 is the list head (nothing chosen yet). */
  #cursor = -1;
  /**
   * The destination after the cursor, noted when the cursor moved: the next connection's likely choice. A new flow
   * reaches it from here (virtual server, scheduler, destination) instead of through the list (virtual server, list,
   * its elements, destination), three dependent cache misses instead of four on a node with many Services; the list
   * is still read, to confirm the guess, but nothing waits on that read. Only a hint: it is taken only while it is
   * still the list's next entry and usable.
   */
  #next: Dest | undefined = undefined;

  destsChanged(_dests: readonly Dest[], change: DestChange): void {
    this.#next = undefined;
    if (change.kind === 'add') {
      if (this.#cursor >= 0) this.#cursor++;
    } else if (change.kind === 'del') {
      if (this.#cursor >= change.index) this.#cursor--;
    }
  }

  /** Where the cursor points, for traces and tests (-1 = list head). */
  get cursor(): number {
    return this.#cursor;
  }

  schedule(dests: readonly Dest[], _pkt: SchedPacket, _nowMs: number, trace?: string[]): Dest | undefined {
    const n = dests.length;
    const guess = this.#next;
    if (guess !== undefined && trace === undefined) {
      const i = (this.#cursor + 1) % n;
      if (dests[i] === guess && usable(guess)) {
        this.#cursor = i;
        this.#next = dests[(i + 1) % n];
        return guess;
      }
    }
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
        this.#next = dests[(i + 1) % n];
        return d;
      }
      if (trace) trace.push(`rr: skip ${d.key} (${d.weight > 0 ? 'overloaded' : 'weight 0'})`);
    }
    trace?.push('rr: no destination available');
    return undefined;
  }
}
