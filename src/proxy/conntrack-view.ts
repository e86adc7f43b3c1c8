/**
 * A conntrack entry as an object (ConntrackEntry), over a row of the flow store (conntrack-store.ts): what listings,
 * scripts, tests and the userspace proxy's relays hold. Engines' per-packet paths use rows and never make one.
 *
 * A view reads its row while the flow lives. When the row is freed the store detaches the view, which then keeps the
 * values it had at that moment (as a deleted entry object did), with `live` false.
 */

import type { Protocol } from '../model/types.js';
import {
  ASSURED,
  type FlowStore,
  LIVE,
  SEEN_REPLY,
  STATE_CLOSING,
  STATE_ESTABLISHED,
  TIMERS,
} from './conntrack-store.js';
import { SYSCTL } from './conntrack-timeouts.js';
import type { ConntrackEntry, ConntrackState } from './conntrack-types.js';
import type { Address } from './packet.js';

type Snapshot = Omit<ConntrackEntry, 'memo'>;

export class EntryView implements ConntrackEntry {
  readonly #store: FlowStore;
  /** The row, while the flow lives. */
  readonly row: number;
  /** The last values, once detached. */
  #dead: Snapshot | null = null;
  #memo: unknown = null;
  #snat: Address | null | undefined;

  constructor(store: FlowStore, row: number) {
    this.#store = store;
    this.row = row;
  }

  /** The row is being freed: keep what it holds now. */
  detach(): void {
    this.#memo = this.memo;
    this.#dead = { ...this.#snapshotNow(), live: false };
  }

  get id(): number {
    return this.#dead?.id ?? this.#store.id(this.row);
  }

  get proto(): Protocol {
    return this.#dead?.proto ?? this.#store.proto(this.row);
  }

  get originalSrc(): Address {
    return this.#dead?.originalSrc ?? this.#store.src[this.row]!;
  }

  get originalDst(): Address {
    return this.#dead?.originalDst ?? this.#store.dst[this.row]!;
  }

  get replySrc(): Address {
    return this.#dead?.replySrc ?? this.dnat ?? this.originalDst;
  }

  get replyDst(): Address {
    return this.#dead?.replyDst ?? this.snat ?? this.originalSrc;
  }

  get dnat(): Address | null {
    return this.#dead !== null ? this.#dead.dnat : this.#store.nat(this.row).dnat;
  }

  get snat(): Address | null {
    if (this.#dead !== null) return this.#dead.snat;
    if (this.#snat === undefined) {
      // MASQUERADE's address, or the client's own when only its port was remapped (conntrack.ts `trackNat`).
      const port = this.#store.snatPort(this.row);
      const ip = this.#store.nat(this.row).snatIp ?? (port !== 0 ? this.originalSrc.ip : null);
      this.#snat = ip === null ? null : { ip, port };
    }
    return this.#snat;
  }

  get service(): string | null {
    return this.#dead !== null ? this.#dead.service : this.#store.nat(this.row).service;
  }

  get endpoint(): string | null {
    return this.#dead !== null ? this.#dead.endpoint : this.#store.nat(this.row).endpoint;
  }

  get created(): number {
    return this.#dead?.created ?? this.#store.created(this.row);
  }

  get state(): ConntrackState {
    if (this.#dead !== null) return this.#dead.state;
    const s = (this.#store.flags(this.row) >> 2) & 3;
    return s === STATE_ESTABLISHED ? 'ESTABLISHED' : s === STATE_CLOSING ? 'CLOSING' : 'NEW';
  }

  get timeout(): string {
    if (this.#dead !== null) return this.#dead.timeout;
    const code = (this.#store.flags(this.row) >> 4) & 15;
    return code === 0 ? '' : SYSCTL[TIMERS[code - 1]!];
  }

  get expires(): number {
    return this.#dead?.expires ?? this.#store.expires(this.row);
  }

  get lastSeen(): number {
    return this.#dead?.lastSeen ?? this.#store.lastSeen(this.row);
  }

  get seenReply(): boolean {
    return this.#dead?.seenReply ?? (this.#store.flags(this.row) & SEEN_REPLY) !== 0;
  }

  get assured(): boolean {
    return this.#dead?.assured ?? (this.#store.flags(this.row) & ASSURED) !== 0;
  }

  get packets(): number {
    return this.#dead?.packets ?? this.#store.packets(this.row);
  }

  get live(): boolean {
    return this.#dead === null && (this.#store.flags(this.row) & LIVE) !== 0;
  }

  get memo(): unknown {
    return this.#dead !== null ? this.#memo : (this.#store.memo[this.row] ?? null);
  }

  set memo(value: unknown) {
    if (this.#dead !== null) this.#memo = value;
    else this.#store.setMemo(this.row, value);
  }

  /** The fields as a plain object (getters are not own properties, so a spread or JSON.stringify needs this). */
  toJSON(): ConntrackEntry {
    return { ...this.#snapshotNow(), memo: this.memo };
  }

  #snapshotNow(): Snapshot {
    if (this.#dead !== null) return this.#dead;
    const { id, proto, originalSrc, originalDst, replySrc, replyDst, dnat, snat, service, endpoint, created } = this;
    const { state, timeout, expires, lastSeen, seenReply, assured, packets, live } = this;
    return {
      id,
      proto,
      originalSrc,
      originalDst,
      replySrc,
      replyDst,
      dnat,
      snat,
      service,
      endpoint,
      created,
      state,
      timeout,
      expires,
      lastSeen,
      seenReply,
      assured,
      packets,
      live,
    };
  }
}
