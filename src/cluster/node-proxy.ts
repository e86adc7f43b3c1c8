/**
 * What `cluster.proxy(...)` returns: a node's kube-proxy engine with a simulated clock and the packet's origin worked
 * out from its source, so a library user can write `proxy.send(packet)`, `proxy.advance(30)`, `proxy.reply(answer)`.
 * Every call still takes an explicit origin and time when given (the engines' own contract, which benches and
 * scripts use); a time given explicitly moves the clock, and the clock never goes backwards.
 */

import { canonicalIP, canonicalIPv4 } from '../cni/ip.js';
import { InvalidArgumentError } from '../errors.js';
import type { IPFamily, Protocol } from '../model/types.js';
import type { Conntrack } from '../proxy/conntrack.js';
import { type ProxyConfig, type ProxyEngine, type Step, StepsOnReadVerdict, type Verdict } from '../proxy/engine.js';
import { type Address, familyOf, type Origin, type Packet } from '../proxy/packet.js';

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

  get config(): ProxyConfig {
    return this.engine.config;
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
    this.#catchUp();
    this.#now += seconds;
    return this.#now;
  }

  /**
   * A packet arriving at the node: from `origin` (default: worked out from its source address), at `now`. The packet
   * is checked first (protocol in any case, addresses as canonical text, ports, one family); the verdict's results
   * are its own fields (its steps are built when read).
   */
  send(packet: Packet, origin?: Origin, now?: number): Verdict {
    const p = checkedPacket(packet, 'send');
    return new NodeVerdict(this.engine.send(p, origin ?? this.#originOf(p.src.ip), this.#at(now)));
  }

  reply(packet: Packet, now?: number): Verdict {
    return new NodeVerdict(this.engine.reply(checkedPacket(packet, 'reply'), this.#at(now)));
  }

  close(packet: Packet, now?: number): boolean {
    return this.engine.close(checkedPacket(packet, 'close'), this.#at(now));
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
    if (now > this.#now) this.#catchUp();
    this.#now = now;
    return now;
  }

  /**
   * Before the clock moves, the engine takes in the cluster changes made since its last packet at the time they were
   * made, as kube-proxy syncs right after a change, not at the next packet. (An engine applies its table lazily: a
   * Service deleted and then a minute advanced was otherwise deleted a minute late, so IPVS's expire_nodest_conn flush,
   * which runs a jiffy after the deletion, had not run and the minute-later packet was dropped.)
   */
  #catchUp(): void {
    this.engine.sync?.(this.#now);
  }
}

const PROTOCOLS: Readonly<Record<string, Protocol>> = { TCP: 'TCP', UDP: 'UDP', SCTP: 'SCTP' };

/**
 * A library caller's packet as the engines take it: the protocol upper-cased (`tcp` as the CLI spells it), each
 * address as canonical text (`fd00:0:0::1` is `fd00::1`, as Services store theirs), ports 0-65535, both ends of one
 * family. Anything else is an InvalidArgumentError, where the engines would match nothing and say ACCEPT. A packet
 * already in that form is passed as it is (a keyed address stays keyed).
 */
function checkedPacket(packet: Packet, call: string): Packet {
  const proto = typeof packet?.proto === 'string' ? PROTOCOLS[packet.proto.toUpperCase()] : undefined;
  if (proto === undefined)
    throw new InvalidArgumentError(`${call}: proto must be TCP, UDP or SCTP, got ${JSON.stringify(packet?.proto)}`);
  const src = checkedAddress(packet.src, call, 'src');
  const dst = checkedAddress(packet.dst, call, 'dst');
  if (familyOf(src.ip) !== familyOf(dst.ip))
    throw new InvalidArgumentError(`${call}: src ${src.ip} and dst ${dst.ip} are of two IP families`);
  return proto === packet.proto && src === packet.src && dst === packet.dst ? packet : { proto, src, dst };
}

function checkedAddress(a: Address, call: string, end: 'src' | 'dst'): Address {
  const text = a?.ip;
  // Canonical IPv4 text is checked without parsing it into anything (canonicalIPv4 refuses any other spelling).
  const ip = typeof text !== 'string' ? undefined : canonicalIPv4(text) >= 0 ? text : canonicalIP(text);
  if (ip === undefined)
    throw new InvalidArgumentError(`${call}: ${end}.ip is not an IP address: ${JSON.stringify(text)}`);
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535)
    throw new InvalidArgumentError(
      `${call}: ${end}.port must be an integer from 0 to 65535, got ${JSON.stringify(a.port)}`,
    );
  return ip === text ? a : { ip, port: a.port };
}

/**
 * The engine's verdict with its results as its own fields (the engines' own verdicts read theirs through getters, from
 * the flow's conntrack row). `steps` stays a getter: building every packet's trace when nobody reads it made a library
 * send several times slower.
 */
class NodeVerdict extends StepsOnReadVerdict {
  readonly #of: Verdict;

  constructor(of: Verdict) {
    super(of);
    this.#of = of;
  }

  get steps(): readonly Step[] {
    return this.#of.steps;
  }
}
