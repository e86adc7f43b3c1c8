/**
 * Verdicts for the packets the userspace proxy relays: a client's packets (carried on to the endpoint over the
 * proxy's own connection) and the endpoint's answers (written back to the client from the portal address).
 *
 * A view, like flow-verdict.ts: the relay holds everything the verdict reports, so a verdict copies a few
 * references and builds the rewritten packet and the steps only when they are read. (A verdict cached per
 * connection cost every connection a long-lived object.) The backend leg's tuple is copied, not read through the
 * relay, because a UDP session that goes idle gets a new backend leg and a verdict already handed out must not
 * change; the client's never changes.
 */
import { plainVerdict, type Step, type Verdict, type VerdictKind } from '../engine.js';
import type { Address, Packet } from '../packet.js';
import type { Relay } from './state.js';

/** Steps of a relay verdict: a list, or built when read from the relay and the verdict (its endpoint then). */
export type RelaySteps = readonly Step[] | ((relay: Relay, verdict: RelayVerdict) => readonly Step[]);

const NO_STEPS: readonly Step[] = Object.freeze([]);

export class RelayVerdict implements Verdict {
  readonly verdict: VerdictKind;
  readonly endpoint: string;
  readonly service: string;
  readonly conntrack: 'new' | 'established' | 'reply';
  readonly cost: number;
  readonly #relay: Relay;
  readonly #backendSrc: Address;
  readonly #backendDst: Address;
  #source: RelaySteps | null;
  #packet: Packet | null = null;
  #steps: readonly Step[] | null = null;

  constructor(relay: Relay, kind: 'new' | 'established' | 'reply', cost: number, steps: RelaySteps | null) {
    this.verdict = kind === 'reply' ? 'ACCEPT' : 'DNAT';
    this.endpoint = relay.endpoint;
    this.service = relay.service;
    this.conntrack = kind;
    this.cost = cost;
    this.#relay = relay;
    this.#backendSrc = relay.backendSrc;
    this.#backendDst = relay.backendDst;
    this.#source = steps;
  }

  /** A client packet: the proxy's connection to the endpoint. A reply: from the portal address to the client. */
  get packet(): Packet {
    if (this.#packet === null) {
      const relay = this.#relay;
      const proto = relay.proto;
      this.#packet =
        this.conntrack === 'reply'
          ? { proto, src: relay.clientDst, dst: relay.clientSrc }
          : { proto, src: this.#backendSrc, dst: this.#backendDst };
    }
    return this.#packet;
  }

  /** The node's address the proxy dials from (the endpoint sees it as the client); none for a reply. */
  get snat(): string | null {
    return this.conntrack === 'reply' ? null : this.#backendSrc.ip;
  }

  get steps(): readonly Step[] {
    if (this.#steps === null) {
      const source = this.#source;
      this.#steps = source === null ? NO_STEPS : typeof source === 'function' ? source(this.#relay, this) : source;
      this.#source = null;
    }
    return this.#steps;
  }

  toJSON(): Verdict {
    return plainVerdict(this);
  }
}
