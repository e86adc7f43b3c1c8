/**
 * Verdicts for the packets the userspace proxy relays: a client's packets (carried on to the endpoint over the
 * proxy's own connection) and the endpoint's answers (written back to the client from the portal address).
 *
 * A view, like flow-verdict.ts: a verdict copies a few references from the relay and builds the rewritten packet and
 * the steps only when they are read. (A verdict cached per connection cost every connection a long-lived object.) It
 * never keeps the relay: a UDP session that goes idle gets a new backend leg, and a relay is reused once its
 * connection is gone (relay-pool.ts), so a verdict already handed out must not change. It copies the relay's
 * endpoint and leg addresses, and keeps the opened port, whose name and protocol (the verdict's Service and the
 * packet's protocol) never change: a changed Service port gets a new OpenedPort (engine.ts `#syncKey`).
 */

import { plainVerdict, type Step, type Verdict, type VerdictKind } from '../engine.js';
import { packetKindCode, packetKindOf } from '../flow-verdict.js';
import type { Address, Packet } from '../packet.js';
import type { OpenedPort } from './service-ports.js';
import type { Relay } from './state.js';

/** Steps of a relay verdict: a list, or built from the verdict when read. */
export type RelaySteps = readonly Step[] | ((verdict: RelayVerdict) => readonly Step[]);

const NO_STEPS: readonly Step[] = Object.freeze([]);

export class RelayVerdict implements Verdict {
  readonly endpoint: string;
  readonly cost: number;
  /** flow-verdict.ts `packetKindCode`. */
  readonly #kind: number;
  /** The Service port: its name and protocol are the verdict's `service` and the packet's protocol. */
  readonly #port: OpenedPort;
  /** The rewritten packet's source and destination. */
  readonly #src: Address;
  readonly #dst: Address;
  /** The steps' source until `steps` is first read, then the steps themselves. */
  #steps: RelaySteps | null;

  constructor(relay: Relay, kind: 'new' | 'established' | 'reply', cost: number, steps: RelaySteps | null) {
    this.endpoint = relay.endpoint;
    this.cost = cost;
    this.#kind = packetKindCode(kind);
    this.#port = relay.port;
    // A reply goes back from the portal address the client connected to; a client packet goes on over the proxy's leg.
    this.#src = kind === 'reply' ? relay.clientDst : relay.backendSrc;
    this.#dst = kind === 'reply' ? relay.clientSrc : relay.backendDst;
    this.#steps = steps;
  }

  get conntrack(): 'new' | 'established' | 'reply' {
    return packetKindOf(this.#kind);
  }

  get verdict(): VerdictKind {
    return this.conntrack === 'reply' ? 'ACCEPT' : 'DNAT';
  }

  get service(): string {
    return this.#port.name;
  }

  /**
   * A client packet: the proxy's connection to the endpoint. A reply: from the portal address to the client. Built
   * on each read (few verdicts are asked for it; a cache would be one more field in every one).
   */
  get packet(): Packet {
    return { proto: this.#port.protocol, src: this.#src, dst: this.#dst };
  }

  /** The Service port the connection came through (for steps). */
  get openedPort(): OpenedPort {
    return this.#port;
  }

  /** The node's address the proxy dials from (the endpoint sees it as the client); none for a reply. */
  get snat(): string | null {
    return this.conntrack === 'reply' ? null : this.#src.ip;
  }

  get steps(): readonly Step[] {
    const source = this.#steps;
    if (typeof source !== 'function') return source ?? NO_STEPS;
    const built = source(this);
    this.#steps = built;
    return built;
  }

  toJSON(): Verdict {
    return plainVerdict(this);
  }
}
