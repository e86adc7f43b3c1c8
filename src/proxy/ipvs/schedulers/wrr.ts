/**
 * `wrr` (ip_vs_wrr.c): interleaved weighted round-robin.
 *
 * State: `cl` the current destination (starts at the list head), `di` the gcd of the positive weights (1 if none),
 * `mw` = max weight − (di − 1), `cw` the current threshold. Each call continues after `cl` and takes the first
 * destination with weight ≥ cw; at the end of the list `cw -= di` and, once it drops to 0 or below, wraps to `mw`.
 * Subtracting (di − 1) from the maximum makes the last pass use cw = 1, so a destination whose weight fell below the
 * gcd while the scheduler ran is still reachable.
 *
 * Any add/delete/weight change rewinds `cl` to the head, recomputes di and mw, and keeps cw unless it is out of range
 * (then cw = mw), rounding it to `k·di + 1` when di > 1. Because kube-proxy adds real servers one at a time, the
 * starting phase of the cycle depends on the order they were added; the cycle itself does not.
 */
import type { Dest, DestChange, SchedPacket, Scheduler } from './types.js';
import { DestFlags } from './types.js';

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Weighted round-robin over one virtual server's destinations. */
export class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr' as const;
  /** Index of the current destination; -1 is the list head. */
  #cl = -1;
  #cw = 0;
  #mw = 0;
  #di = 1;

  /** As `ip_vs_wrr_init_svc`: used when the scheduler is bound to a virtual server that already has destinations. */
  bind(dests: readonly Dest[]): void {
    this.#cl = -1;
    this.#di = gcdOfWeights(dests);
    this.#mw = maxWeight(dests) - (this.#di - 1);
    this.#cw = this.#mw;
  }

  destsChanged(dests: readonly Dest[], _change: DestChange): void {
    this.#cl = -1;
    this.#di = gcdOfWeights(dests);
    this.#mw = maxWeight(dests) - (this.#di - 1);
    if (this.#cw > this.#mw || this.#cw === 0) this.#cw = this.#mw;
    else if (this.#di > 1) this.#cw = Math.trunc(this.#cw / this.#di) * this.#di + 1;
  }

  /** The scheduler's mark, for traces and tests. */
  get state(): { cl: number; cw: number; mw: number; di: number } {
    return { cl: this.#cl, cw: this.#cw, mw: this.#mw, di: this.#di };
  }

  schedule(dests: readonly Dest[], _pkt: SchedPacket, _nowMs: number, trace?: string[]): Dest | undefined {
    if (trace) trace.push(`wrr: cw=${this.#cw} mw=${this.#mw} di=${this.#di}`);
    if (this.#mw === 0) {
      trace?.push('wrr: no destination available (all weights 0)');
      return undefined;
    }
    const n = dests.length;
    const last = this.#cl;
    let i = this.#cl;
    let stop = -2; // -2: no stop point yet (the kernel's NULL)
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (i = i + 1; i < n; i++) {
        const d = dests[i]!;
        if ((d.flags & DestFlags.OVERLOAD) === 0 && d.weight >= this.#cw) {
          this.#cl = i;
          trace?.push(`wrr: ${d.key} weight ${d.weight} >= cw ${this.#cw}`);
          return d;
        }
        if (i === stop) return this.#fail(i, trace);
      }
      i = -1; // back at the list head
      this.#cw -= this.#di;
      if (this.#cw <= 0) {
        this.#cw = this.#mw;
        // Give up if the last pass already looked at every destination with cw = 1.
        if (lastPass || last === -1) return this.#fail(-1, trace);
        restarted = true;
      }
      lastPass = this.#cw <= this.#di;
      if (lastPass && restarted && last !== -1) stop = last;
      trace?.push(`wrr: end of list, cw -> ${this.#cw}`);
    }
  }

  #fail(at: number, trace?: string[]): undefined {
    this.#cl = at;
    trace?.push('wrr: no destination available (all overloaded or below threshold)');
    return undefined;
  }
}

function gcdOfWeights(dests: readonly Dest[]): number {
  let g = 0;
  for (const d of dests) if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  return g > 0 ? g : 1;
}

function maxWeight(dests: readonly Dest[]): number {
  let w = 0;
  for (const d of dests) if (d.weight > w) w = d.weight;
  return w;
}
