/**
 * What `cluster.proxy(...)` returns: a node's kube-proxy engine with a simulated clock and the packet's origin worked
 * out from its source, so a library user can write `proxy.send(packet)`, `proxy.advance(30)`, `proxy.reply(answer)`.
 * Every call still takes an explicit origin and time when given (the engines' own contract, which benches and
 * scripts use); a time given explicitly moves the clock, and the clock never goes backwards.
 */

import { InvalidArgumentError } from '../errors.js';
import type { IPFamily } from '../model/types.js';
import type { Conntrack } from '../proxy/conntrack.js';
import type { ProxyEngine, Verdict } from '../proxy/engine.js';
import type { Origin, Packet } from '../proxy/packet.js';

export class NodeProxy implements ProxyEngine {
  /** The engine itself (iptables, ipvs or userspace), for what only one mode has. */
  readonly engine: ProxyEngine;
  readonly #originOf: (srcIP: string) => Origin;
  #now = 0;

  constructor(engine: ProxyEngine, originOf: (srcIP: string) => Origin) {
    this.engine = engine;
    this.#originOf = originOf;
  }

  get mode(): string {
    return this.engine.mode;
  }

  get nodeName(): string {
    return this.engine.nodeName;
  }

  get conntrack(): Conntrack {
    return this.engine.conntrack;
  }

  /** The simulated time, in seconds since the engine was made. */
  get now(): number {
    return this.#now;
  }

  /** Move the clock forward: affinity records, conntrack entries and IPVS connections age by `seconds`. */
  advance(seconds: number): number {
    if (!Number.isFinite(seconds) || seconds < 0)
      throw new InvalidArgumentError(`advance takes a finite number of seconds ≥ 0, got ${seconds}`);
    if (!Number.isFinite(this.#now + seconds))
      throw new InvalidArgumentError(`advance: the clock would pass ${Number.MAX_VALUE} s`);
    this.#now += seconds;
    return this.#now;
  }

  /** A packet arriving at the node: from `origin` (default: worked out from its source address), at `now`. */
  send(packet: Packet, origin?: Origin, now?: number): Verdict {
    return this.engine.send(packet, origin ?? this.#originOf(packet.src.ip), this.#at(now));
  }

  reply(packet: Packet, now?: number): Verdict {
    return this.engine.reply(packet, this.#at(now));
  }

  close(packet: Packet, now?: number): boolean {
    return this.engine.close(packet, this.#at(now));
  }

  /** The rules as of the clock (IPVS connection counts age with it). */
  rules(family?: IPFamily): string {
    this.engine.sync?.(this.#now);
    return this.engine.rules(family);
  }

  /** Move the clock to `now` (default: where it is) and let the engine run what is due by then. */
  sync(now?: number): void {
    // The clock moves whether or not the engine has periodic work (`sync?.(…)` would skip evaluating its argument).
    const at = this.#at(now);
    this.engine.sync?.(at);
  }

  dispose(): void {
    this.engine.dispose();
  }

  #at(now: number | undefined): number {
    if (now === undefined) return this.#now;
    if (!Number.isFinite(now) || now < this.#now)
      throw new InvalidArgumentError(`time must not go backwards: ${now} is before the clock's ${this.#now}`);
    this.#now = now;
    return now;
  }
}
