/**
 * The verdict for a packet conntrack tracks (a new flow's first packet once its entry is made, an established flow's
 * packet, or a reply): what the flow's conntrack row says, read when asked.
 *
 * Why so thin: once a flow has its entry, everything a verdict reports (its NAT, endpoint and Service) is fixed for
 * the entry's life, and flows with the same NAT share one NAT record (conntrack-store.ts), so the verdict keeps that
 * record and a few numbers. Building the rewritten packet and the steps up front made the verdict several times the
 * cost of the work it reports: `steps` is built on first read and kept, `packet` on each read. Every packet makes a
 * verdict, so each field is 8 more bytes of young memory streaming through the cache the flow tables live in: the
 * small numbers share one field, and nothing is cached that a read can rebuild.
 */
import { type Conntrack, type NatBook, type NatRecord, portClass } from './conntrack.js';
import { plainVerdict, type Step, type Verdict, type VerdictKind } from './engine.js';
import { type Address, formatAddress, type Packet } from './packet.js';

/** Which packet of its flow a verdict is for. */
export type FlowPacketKind = 'new' | 'established' | 'reply';

/**
 * A view's steps, in the engine's words: a list already built, or a function that builds it from the verdict (called
 * only when `steps` is read, and only if the engine explains).
 */
export type FlowSteps = readonly Step[] | ((flow: FlowVerdict) => readonly Step[]);

const NO_STEPS: readonly Step[] = Object.freeze([]);

const KINDS: readonly FlowPacketKind[] = ['new', 'established', 'reply'];

/** A packet kind as a small integer (0-2), for verdicts that pack it beside other numbers. */
export function packetKindCode(kind: FlowPacketKind): number {
  return kind === 'new' ? 0 : kind === 'established' ? 1 : REPLY;
}

/** The kind `packetKindCode` gave `code`. */
export function packetKindOf(code: number): FlowPacketKind {
  return KINDS[code]!;
}

/** `#bits`: the packet's kind (`packetKindCode`) in bits 0-1, STEPS_BUILT, IN_BOOK, and the row's SNAT port above. */
const KIND_MASK = 3;
const REPLY = 2;
/** `#steps` holds the steps themselves, no longer their source. */
const STEPS_BUILT = 4;
/** `#nat` is the record's book and `#endpoint` its handle (conntrack.ts `trackNatInBook`). */
const IN_BOOK = 8;
const SNAT_PORT_SHIFT = 4;

export class FlowVerdict implements Verdict {
  readonly cost: number;
  /** The flow's creation number (ConntrackEntry.id). */
  readonly flowId: number;
  /** The packet as it arrived (returned as is when the flow has no NAT). */
  readonly arrived: Packet;
  /**
   * `#nat.endpoint`, copied from the row: the field read on every packet, so the record itself is not reached. A new
   * flow's verdict may copy a book and a handle instead (the row's as filed: conntrack-store.ts `NatBook`); the
   * record and its text are then looked up when first read.
   */
  #endpoint: string | number | null;
  #nat: NatRecord | NatBook;
  /** Kind, SNAT port and whether the steps are built, in one small integer (see the file's comment). */
  #bits: number;
  /** For a reply: the flow's original source and destination, which un-NAT restores. */
  readonly #originalSrc: Address | null;
  readonly #originalDst: Address | null;
  #steps: FlowSteps | null;

  /**
   * The verdict for a packet of the flow in conntrack `row`. It copies what it reports from the row (the NAT record,
   * shared by every flow like this one, and a few numbers), so it stays true after the flow ends and the row is
   * reused. `cost`: rules evaluated (iptables) or lookups made (ipvs, userspace), as the mode counts them.
   */
  constructor(
    ct: Conntrack,
    row: number,
    kind: FlowPacketKind,
    arrived: Packet,
    cost: number,
    steps: FlowSteps | null,
  ) {
    this.cost = cost;
    this.flowId = ct.idOf(row);
    this.arrived = arrived;
    // A new flow's NAT as filed, read when asked; a later packet's from the row (which keeps the record once read, so
    // the flow's packets after its first one find it there).
    let inBook = ct.natInBookOf(row);
    if (inBook && kind !== 'new') {
      ct.natOf(row); // the row takes its record (opens its book) and keeps it
      inBook = false;
    }
    this.#nat = ct.natSlotOf(row);
    this.#endpoint = ct.endpointSlotOf(row);
    // Ports are 0-65535: the shift keeps them exact (an arithmetic shift back keeps any int27, negative included).
    const reply = kind === 'reply';
    this.#bits = packetKindCode(kind) | (inBook ? IN_BOOK : 0) | (ct.snatPortOf(row) << SNAT_PORT_SHIFT);
    this.#originalSrc = reply ? ct.originalSrcOf(row) : null;
    this.#originalDst = reply ? ct.originalDstOf(row) : null;
    this.#steps = steps;
  }

  /** The endpoint DNAT sends the flow to (`ip:port`), or null. */
  get endpoint(): string | null {
    return (this.#bits & IN_BOOK) !== 0 ? this.#record().endpoint : (this.#endpoint as string | null);
  }

  /** The flow's NAT record, looked up in its book the first time if the verdict holds a handle (IN_BOOK). */
  #record(): NatRecord {
    if ((this.#bits & IN_BOOK) === 0) return this.#nat as NatRecord;
    const record = (this.#nat as NatBook).record(this.#endpoint as number);
    this.#nat = record;
    this.#endpoint = record.endpoint;
    this.#bits &= ~IN_BOOK;
    return record;
  }

  get conntrack(): FlowPacketKind {
    return packetKindOf(this.#bits & KIND_MASK);
  }

  get #snatPort(): number {
    return this.#bits >> SNAT_PORT_SHIFT;
  }

  /** DNAT exactly when the flow has an endpoint (a DNAT target), for packets in the original direction. */
  get verdict(): VerdictKind {
    return (this.#bits & KIND_MASK) !== REPLY && this.#endpoint !== null ? 'DNAT' : 'ACCEPT';
  }

  /** Where DNAT sends the flow, or null. */
  get dnat(): Address | null {
    return this.#record().dnat;
  }

  /** The source MASQUERADE gives the flow, or null. */
  get snatAddress(): Address | null {
    const ip = this.#record().snatIp;
    return ip === null ? null : { ip, port: this.#snatPort };
  }

  /**
   * The source port conntrack gave a flow without SNAT whose reply tuple another flow had (conntrack.ts `trackNat`),
   * or 0: the client's port is kept (or MASQUERADE chose the port: `snatAddress`).
   */
  get remappedPort(): number {
    return this.#record().snatIp === null ? this.#snatPort : 0;
  }

  /**
   * The source the packet leaves with: MASQUERADE's, or the client's own address with the port conntrack remapped
   * (a flow without SNAT whose reply tuple another flow had), or the client's unchanged.
   */
  #sourceOut(p: Packet): Address {
    const masqueraded = this.snatAddress;
    if (masqueraded !== null) return masqueraded;
    const port = this.#snatPort;
    return port === 0 ? p.src : { ip: p.src.ip, port };
  }

  /** The flow's first packet as the client sent it. */
  get originalPacket(): Packet {
    const src = this.#originalSrc;
    return src === null ? this.arrived : { proto: this.arrived.proto, src, dst: this.#originalDst! };
  }

  /**
   * Original direction: DNAT and SNAT applied. Reply: both undone (from the Service address, to the client). Built on
   * each read (few verdicts are asked for it; a cache would be one more field in all).
   */
  get packet(): Packet {
    const p = this.arrived;
    const nat = this.#record();
    if (nat.dnat === null && nat.snatIp === null && this.#snatPort === 0) return p;
    const originalSrc = this.#originalSrc;
    if (originalSrc !== null) return { proto: p.proto, src: this.#originalDst!, dst: originalSrc };
    return { proto: p.proto, src: this.#sourceOut(p), dst: nat.dnat ?? p.dst };
  }

  get snat(): string | null {
    return (this.#bits & KIND_MASK) !== REPLY ? this.#record().snatIp : null;
  }

  get service(): string | null {
    return this.#record().service;
  }

  get steps(): readonly Step[] {
    const source = this.#steps;
    if ((this.#bits & STEPS_BUILT) !== 0) return source as readonly Step[];
    let built = source === null ? NO_STEPS : typeof source === 'function' ? source(this) : source;
    if (source !== null && this.conntrack === 'new' && this.remappedPort !== 0) built = [...built, this.#remapStep()];
    this.#steps = built;
    this.#bits |= STEPS_BUILT;
    return built;
  }

  /** Why a flow without SNAT left from another source port (conntrack.ts `trackNat`). */
  #remapStep(): Step {
    return {
      where: 'conntrack',
      rule: 'reply tuple already in use',
      decision: `another flow has this reply tuple: source port ${this.arrived.src.port} becomes ${this.#snatPort} (the NAT null binding keeps reply tuples unique)`,
    };
  }

  toJSON(): Verdict {
    return plainVerdict(this);
  }
}

/**
 * Why a new flow conntrack could not track (Conntrack.trackRow returned -1) is dropped: its reply tuple is another
 * live flow's, and so is every other one its source port could be remapped to. The kernel's NAT finds no unique
 * tuple, the entry clashes when it is confirmed, and the packet is dropped (`conntrack -S` counts it as
 * insert_failed). `leaving`: the packet as the rules rewrote it.
 */
export function insertFailedStep(leaving: Packet): Step {
  return {
    where: 'conntrack',
    rule: 'reply tuple already in use',
    decision: `the reply tuple to ${formatAddress(leaving.src)} is another live flow's, and so it is for every port in ${portClass(leaving.src.port)} the source could be remapped to: no unique NAT mapping, the packet is dropped (insert_failed)`,
  };
}

/** The verdict for such a flow: DROP, untracked; `steps`: the walk's (null: the engine does not explain). */
export function untrackedFlow(
  leaving: Packet,
  service: string | null,
  steps: readonly Step[] | null,
  cost: number,
): Verdict {
  return {
    verdict: 'DROP',
    endpoint: null,
    packet: leaving,
    snat: null,
    service,
    conntrack: 'none',
    steps: steps === null ? NO_STEPS : [...steps, insertFailedStep(leaving)],
    cost,
  };
}
