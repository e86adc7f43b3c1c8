/**
 * The endpoint lists of every balancer of one userspace engine (round-robin.ts), in shared arrays: a list is a run of
 * slots, and slot i holds an endpoint's address key and port (typed arrays) and its `ip:port` text and keyed address
 * (side by side in one plain array).
 *
 * Why: a connection's dial reads the endpoint the round-robin index points at. As a list of strings and a list of
 * address objects per Service port, that was four dependent reads (the state, the list, its elements, the address
 * whose key and port the backend leg is filed under), each a cache miss on a node with 10,000 Services. Here it is the
 * state, then one slot's numbers and one slot's references, which the processor can fetch together. The address
 * object is stored in the flow's row as a reference and never read on the way.
 *
 * A run's size is a power of two (`runSize`): a list keeps its run while its new length needs the same size, and a
 * run given back (its list grew past it or shrank below half, or its Service port went) is reused by the next list of
 * that size. So a Service whose endpoints grow one at a time leaves runs of 1, 2, 4, … behind, not one per length,
 * and the arena holds at most about twice the live endpoints plus the released runs waiting for reuse. Nothing reads
 * a released run: its balancer points at its new one.
 */
import { type Address, address, keyOf, parseHostPort } from '../packet.js';

export class EndpointArena {
  #keys = new Float64Array(256);
  #ports = new Int32Array(256);
  /** Per slot: its endpoint's `ip:port` text, then its keyed address. */
  readonly #refs: (string | Address)[] = [];
  #used = 0;
  /** Released runs by size: where each starts. */
  readonly #free = new Map<number, number[]>();

  /**
   * Store a list of endpoints (`ip:port` each); returns its first slot. `run`: the list's current run (its first slot
   * and the length it was stored with), which the new list takes over when it needs a run of the same size; else that
   * run is given back.
   */
  store(endpoints: readonly string[], run?: { base: number; length: number }): number {
    const length = endpoints.length;
    const size = runSize(length);
    let base: number;
    if (run !== undefined && run.length > 0 && runSize(run.length) === size) {
      base = run.base;
      this.#clear(base + length, run.length - length);
    } else {
      if (run !== undefined) this.release(run.base, run.length);
      base = size === 0 ? 0 : (this.#free.get(size)?.pop() ?? this.#take(size));
    }
    for (let i = 0; i < length; i++) {
      const text = endpoints[i]!;
      const parsed = parseHostPort(text)!;
      const a = address(parsed.ip, parsed.port);
      const slot = base + i;
      this.#keys[slot] = keyOf(a);
      this.#ports[slot] = parsed.port;
      this.#refs[2 * slot] = text;
      this.#refs[2 * slot + 1] = a;
    }
    return base;
  }

  /** Give back the run a list of `length` endpoints was stored in. Its references are dropped (for the collector). */
  release(base: number, length: number): void {
    if (length === 0) return;
    this.#clear(base, length);
    const size = runSize(length);
    let runs = this.#free.get(size);
    if (runs === undefined) {
      runs = [];
      this.#free.set(size, runs);
    }
    runs.push(base);
  }

  /** Slots in use or waiting for reuse (for tests: how far the arena grew). */
  get slots(): number {
    return this.#used;
  }

  #clear(from: number, count: number): void {
    for (let slot = from; slot < from + count; slot++) {
      this.#refs[2 * slot] = '';
      this.#refs[2 * slot + 1] = '';
    }
  }

  /** The address key of the endpoint in a slot (`addressKey` of its IP). */
  key(slot: number): number {
    return this.#keys[slot]!;
  }

  port(slot: number): number {
    return this.#ports[slot]!;
  }

  /** The endpoint's `ip:port`. */
  text(slot: number): string {
    return this.#refs[2 * slot] as string;
  }

  /** The endpoint as a keyed address (packet.ts `address()`). */
  address(slot: number): Address {
    return this.#refs[2 * slot + 1] as Address;
  }

  #take(size: number): number {
    const base = this.#used;
    this.#used += size;
    if (this.#used > this.#keys.length) {
      let size = this.#keys.length * 2;
      while (size < this.#used) size *= 2;
      const keys = new Float64Array(size);
      keys.set(this.#keys);
      this.#keys = keys;
      const ports = new Int32Array(size);
      ports.set(this.#ports);
      this.#ports = ports;
    }
    for (let i = this.#refs.length; i < 2 * this.#used; i++) this.#refs.push('');
    return base;
  }
}

/** The run a list of `length` endpoints is stored in: the next power of two (0 for none). */
function runSize(length: number): number {
  if (length === 0) return 0;
  let size = 1;
  while (size < length) size *= 2;
  return size;
}
