/**
 * `rr` (ip_vs_rr.c): a cursor on the destination list. Each new connection walks forward from the last chosen
 * destination (wrapping past the list head) and takes the first one with weight > 0 that is not overloaded. The
 * weight's value is ignored except that 0 means skip.
 *
 * The cursor starts at the list head. Inserting at the head does not move it; deleting the destination it points at
 * moves it to that destination's predecessor (possibly the head), so the walk resumes where it would have.
 *
 * The cursor is kept in a cell the scheduler is given: an engine's virtual-server table (vs-table.ts), whose
 * `fastPick` takes the common step (the next destination is usable) from numbers alone, without this object or the
 * destination objects. Both move the same cursor.
 */
import type { Dest, DestChange, SchedPacket, Scheduler } from './types.js';
import { usable } from './types.js';

/** Where a cursor is kept (vs-table.ts keeps it in the virtual server's row, with the destination it points before). */
export interface CursorCell {
  cursor: number;
}

/** Round-robin over one virtual server's destinations. */
export class RoundRobin implements Scheduler {
  readonly name = 'rr' as const;
  readonly #cell: CursorCell;

  /** `cell`: where the cursor is kept (a cell of its own when none is given); it holds -1 (the list head) at first. */
  constructor(cell?: CursorCell) {
    this.#cell = cell ?? { cursor: -1 };
    this.#setCursor(-1);
  }

  destsChanged(_dests: readonly Dest[], change: DestChange): void {
    const cursor = this.cursor;
    if (change.kind === 'add') {
      if (cursor >= 0) this.#setCursor(cursor + 1);
    } else if (change.kind === 'del') {
      if (cursor >= change.index) this.#setCursor(cursor - 1);
    }
  }

  /** Index of the last chosen destination, for traces and tests (-1 = list head). */
  get cursor(): number {
    return this.#cell.cursor;
  }

  #setCursor(cursor: number): void {
    this.#cell.cursor = cursor;
  }

  schedule(dests: readonly Dest[], _pkt: SchedPacket, _nowMs: number, trace?: string[]): Dest | undefined {
    const n = dests.length;
    const start = this.cursor;
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
        this.#setCursor(i);
        return d;
      }
      if (trace) trace.push(`rr: skip ${d.key} (${d.weight > 0 ? 'overloaded' : 'weight 0'})`);
    }
    trace?.push('rr: no destination available');
    return undefined;
  }
}
