/**
 * Verdicts for the packets the userspace proxy relays: a client's packets (carried on to the endpoint over the
 * proxy's own connection) and the endpoint's answers (written back to the client from the portal address).
 *
 * A view, like flow-verdict.ts: a verdict copies a few references from the relay and builds the rewritten packet and
 * the steps only when they are read. (A verdict cached per connection cost every connection a long-lived object.) It
 * copies every relay field it reports, never keeping the relay: a UDP session that goes idle gets a new backend leg,
 * and a relay is reused once its connection is gone (relay-pool.ts), so a verdict already handed out must not change.
 */

import type { Protocol } from '../../model/types.js';
import { plainVerdict, type Step, type Verdict, type VerdictKind } from '../engine.js';
import type { Address, Packet } from '../packet.js';
import type { OpenedPort } from './service-ports.js';
import type { Relay } from './state.js';

/** Steps of a relay verdict: a list, or built from the verdict when read. */
export type RelaySteps = readonly Step[] | ((verdict: RelayVerdict) => readonly Step[]);

const NO_STEPS: readonly Step[] = Object.freeze([]);

export class RelayVerdict implements Verdict {
  readonly verdict: VerdictKind;
  readonly endpoint: string;
  readonly service: string;
  readonly conntrack: 'new' | 'established' | 'reply';
  readonly cost: number;
  readonly #port: OpenedPort;
  readonly #proto: Protocol;
  /** The rewritten packet's source and destination. */
  readonly #src: Address;
  readonly #dst: Address;
  #source: RelaySteps | null;
  #packet: Packet | null = null;
  #steps: readonly Step[] | null = null;

  constructor(relay: Relay, kind: 'new' | 'established' | 'reply', cost: number, steps: RelaySteps | null) {
    this.verdict = kind === 'reply' ? 'ACCEPT' : 'DNAT';
    this.endpoint = relay.endpoint;
    this.service = relay.service;
    this.conntrack = kind;
    this.cost = cost;
    this.#port = relay.port;
    this.#proto = relay.proto;
    // A reply goes back from the portal address the client connected to; a client packet goes on over the proxy's leg.
    this.#src = kind === 'reply' ? relay.clientDst : relay.backendSrc;
    this.#dst = kind === 'reply' ? relay.clientSrc : relay.backendDst;
    this.#source = steps;
  }

  /** A client packet: the proxy's connection to the endpoint. A reply: from the portal address to the client. */
  get packet(): Packet {
    this.#packet ??= { proto: this.#proto, src: this.#src, dst: this.#dst };
    return this.#packet;
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
    if (this.#steps === null) {
      const source = this.#source;
      this.#steps = source === null ? NO_STEPS : typeof source === 'function' ? source(this) : source;
      this.#source = null;
    }
    return this.#steps;
  }

  toJSON(): Verdict {
    return plainVerdict(this);
  }
}
