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
 * A list's run is reused by the next list of the same length once its balancer moves on (a changed or deleted Service
 * port); nothing reads a released run: its balancer points at its new run.
 */
import { type Address, address, keyOf, parseHostPort } from '../packet.js';

export class EndpointArena {
  #keys = new Float64Array(256);
  #ports = new Int32Array(256);
  /** Per slot: its endpoint's `ip:port` text, then its keyed address. */
  readonly #refs: (string | Address)[] = [];
  #used = 0;
  /** Released runs by length: where each starts. */
  readonly #free = new Map<number, number[]>();

  /** Store a list of endpoints (`ip:port` each) as one run; returns its first slot. */
  store(endpoints: readonly string[]): number {
    const length = endpoints.length;
    const base = this.#free.get(length)?.pop() ?? this.#take(length);
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

  /** Give back the run a list of `length` endpoints was stored in. */
  release(base: number, length: number): void {
    if (length === 0) return;
    let runs = this.#free.get(length);
    if (runs === undefined) {
      runs = [];
      this.#free.set(length, runs);
    }
    runs.push(base);
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

  #take(length: number): number {
    const base = this.#used;
    this.#used += length;
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
