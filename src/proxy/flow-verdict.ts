/**
 * The verdict for a packet conntrack tracks (a new flow's first packet once its entry is made, an established flow's
 * packet, or a reply): a thin view over the flow's entry, read when asked.
 *
 * Why a view: once a flow has its entry, everything a verdict reports (its NAT, endpoint and Service) is the entry's
 * and never changes for the entry's life, so the verdict is the entry seen from one direction. Building the
 * rewritten packet and the steps up front, or caching a built verdict on the entry, made the verdict several times
 * the cost of the work it reports (a cached verdict is a long-lived object per flow that the garbage collector
 * copies twice). `packet` and `steps` are built on first read and kept.
 */
import { type ConntrackEntry, natPacket } from './conntrack.js';
import { plainVerdict, type Step, type Verdict, type VerdictKind } from './engine.js';
import type { Packet } from './packet.js';

/** Which packet of its flow a verdict is for. */
export type FlowPacketKind = 'new' | 'established' | 'reply';

/**
 * A view's steps, in the engine's words: a list already built, or a function that builds it (called only when
 * `steps` is read, and only if the engine explains).
 */
export type FlowSteps = readonly Step[] | ((entry: ConntrackEntry, reply: boolean, packet: Packet) => readonly Step[]);

const NO_STEPS: readonly Step[] = Object.freeze([]);

export class FlowVerdict implements Verdict {
  readonly conntrack: FlowPacketKind;
  readonly cost: number;
  readonly #entry: ConntrackEntry;
  /** The packet as it arrived (returned as is when the flow has no NAT). */
  readonly #arrived: Packet;
  #source: FlowSteps | null;
  #packet: Packet | null = null;
  #steps: readonly Step[] | null = null;

  /** `cost`: rules evaluated (iptables) or lookups made (ipvs, userspace) for this packet, as the mode counts them. */
  constructor(entry: ConntrackEntry, kind: FlowPacketKind, arrived: Packet, cost: number, steps: FlowSteps | null) {
    this.conntrack = kind;
    this.#entry = entry;
    this.#arrived = arrived;
    this.cost = cost;
    this.#source = steps;
  }

  get verdict(): VerdictKind {
    return this.conntrack !== 'reply' && this.#entry.dnat !== null ? 'DNAT' : 'ACCEPT';
  }

  get endpoint(): string | null {
    return this.#entry.endpoint;
  }

  /** Original direction: DNAT and SNAT applied. Reply: both undone (from the Service address, to the client). */
  get packet(): Packet {
    if (this.#packet === null)
      this.#packet = natPacket(this.#entry, this.conntrack === 'reply' ? 'reply' : 'original', this.#arrived);
    return this.#packet;
  }

  get snat(): string | null {
    return this.conntrack !== 'reply' && this.#entry.snat !== null ? this.#entry.snat.ip : null;
  }

  get service(): string | null {
    return this.#entry.service;
  }

  get steps(): readonly Step[] {
    if (this.#steps === null) {
      const source = this.#source;
      this.#steps =
        source === null
          ? NO_STEPS
          : typeof source === 'function'
            ? source(this.#entry, this.conntrack === 'reply', this.packet)
            : source;
      this.#source = null;
    }
    return this.#steps;
  }

  toJSON(): Verdict {
    return plainVerdict(this);
  }
}
