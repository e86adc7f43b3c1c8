/**
 * The verdict for a packet conntrack carries (an established flow's packet, or a reply): a thin view over the flow's
 * entry, read when asked.
 *
 * Why a view: such a packet touches no rules, only the entry, so the verdict is the entry's NAT seen from one
 * direction. Building the rewritten packet, the `ip:port` strings and the step up front, or caching a built verdict
 * on the entry, made the verdict several times the cost of the lookup it reports (a cached verdict is a long-lived
 * object per flow that the garbage collector copies twice). The fields a view returns never change: an entry's
 * tuples, NAT, endpoint and Service are fixed for its life. `packet` and `steps` are built on first read and kept.
 */
import { type ConntrackEntry, natPacket } from './conntrack.js';
import { plainVerdict, type Step, type Verdict, type VerdictKind } from './engine.js';
import type { Packet } from './packet.js';

/** Builds a view's one step, in the engine's words (only when `steps` is read, and only if the engine explains). */
export type TrackedStep = (entry: ConntrackEntry, reply: boolean, packet: Packet) => Step;

const NO_STEPS: readonly Step[] = Object.freeze([]);

export class TrackedVerdict implements Verdict {
  readonly cost: number;
  readonly #entry: ConntrackEntry;
  readonly #reply: boolean;
  /** The packet as it arrived (returned as is when the flow has no NAT). */
  readonly #arrived: Packet;
  #step: TrackedStep | null;
  #packet: Packet | null = null;
  #steps: readonly Step[] | null = null;

  /** `cost`: lookups the mode counts for a tracked packet (0 for iptables, 1 for ipvs's connection table). */
  constructor(entry: ConntrackEntry, reply: boolean, arrived: Packet, cost: number, step: TrackedStep | null) {
    this.#entry = entry;
    this.#reply = reply;
    this.#arrived = arrived;
    this.cost = cost;
    this.#step = step;
  }

  get verdict(): VerdictKind {
    return !this.#reply && this.#entry.dnat !== null ? 'DNAT' : 'ACCEPT';
  }

  get endpoint(): string | null {
    return this.#entry.endpoint;
  }

  /** Original direction: DNAT and SNAT applied. Reply: both undone (from the Service address, to the client). */
  get packet(): Packet {
    if (this.#packet === null) this.#packet = natPacket(this.#entry, this.#reply ? 'reply' : 'original', this.#arrived);
    return this.#packet;
  }

  get snat(): string | null {
    return !this.#reply && this.#entry.snat !== null ? this.#entry.snat.ip : null;
  }

  get service(): string | null {
    return this.#entry.service;
  }

  get conntrack(): 'established' | 'reply' {
    return this.#reply ? 'reply' : 'established';
  }

  get steps(): readonly Step[] {
    if (this.#steps === null) {
      const step = this.#step;
      this.#steps = step === null ? NO_STEPS : [step(this.#entry, this.#reply, this.packet)];
      this.#step = null;
    }
    return this.#steps;
  }

  toJSON(): Verdict {
    return plainVerdict(this);
  }
}
