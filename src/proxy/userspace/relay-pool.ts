/**
 * Relays, reused. A connection through the proxy lives as long as its conntrack entries, often past the young
 * generation, so a fresh relay per connection was copied by the garbage collector and promoted: measured at about
 * 1.5 µs per connection, more than the rest of a new connection's work. Here a relay whose last entry let go of it
 * (its legs expired, were deleted or flushed: conntrack tells its `MemoOwner`) goes back to a free list, and the next
 * connection refills it. Verdicts copy what they report (relay-verdict.ts), so no one reads a relay once it is free.
 */
import type { Protocol } from '../../model/types.js';
import type { MemoOwner } from '../conntrack.js';
import type { Address } from '../packet.js';
import type { OpenedPort } from './service-ports.js';
import type { Relay, Unbound } from './state.js';

const NO_ADDRESS: Address = Object.freeze({ ip: '0.0.0.0', port: 0 });
const NO_PORT = null as unknown as OpenedPort;

/** A relay as the pool fills it. */
type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The relay's two legs and what it serves, as a new connection opened them. */
export interface RelayLegs {
  port: OpenedPort;
  service: string;
  udp: boolean;
  proto: Protocol;
  clientRow: number;
  clientGeneration: number;
  clientSrc: Address;
  clientDst: Address;
  backendRow: number;
  backendGeneration: number;
  backendSrc: Address;
  backendDst: Address;
  endpoint: string;
}

/** One shape for every relay, so the code that reads them stays monomorphic. */
class PooledRelay implements Writable<Relay> {
  port: OpenedPort = NO_PORT;
  service = '';
  udp = false;
  proto: Protocol = 'TCP';
  clientRow = -1;
  clientGeneration = 0;
  clientSrc: Address = NO_ADDRESS;
  clientDst: Address = NO_ADDRESS;
  clientClosed = false;
  backendRow = -1;
  backendGeneration = 0;
  backendSrc: Address = NO_ADDRESS;
  backendDst: Address = NO_ADDRESS;
  endpoint = '';
  /** Starts fractional so the field holds doubles from the first relay on (times are seconds, often fractional). */
  lastActivity = 0.5;
  holders = 0;
}

export class RelayPool implements MemoOwner {
  readonly #free: PooledRelay[] = [];

  /** A relay for a new connection at `now`, held by no entry yet (the caller sets it as its legs' memo). */
  open(legs: RelayLegs, now: number): Relay {
    const relay = this.#free.pop() ?? new PooledRelay();
    relay.port = legs.port;
    relay.service = legs.service;
    relay.udp = legs.udp;
    relay.proto = legs.proto;
    relay.clientRow = legs.clientRow;
    relay.clientGeneration = legs.clientGeneration;
    relay.clientSrc = legs.clientSrc;
    relay.clientDst = legs.clientDst;
    relay.clientClosed = false;
    relay.backendRow = legs.backendRow;
    relay.backendGeneration = legs.backendGeneration;
    relay.backendSrc = legs.backendSrc;
    relay.backendDst = legs.backendDst;
    relay.endpoint = legs.endpoint;
    relay.lastActivity = now;
    return relay;
  }

  retain(memo: unknown): void {
    if (isRelay(memo)) (memo as Writable<Relay>).holders++;
  }

  release(memo: unknown): void {
    if (!isRelay(memo)) return;
    const relay = memo as PooledRelay;
    if (--relay.holders === 0) this.#free.push(relay);
  }
}

/** Whether a memo is a relay (the other memo is an unbound UDP client). */
export function isRelay(memo: unknown): memo is Relay {
  return memo !== null && typeof memo === 'object' && !('unbound' in (memo as Relay | Unbound));
}
