/**
 * Asking the upstream resolvers (`dns.upstream`, CoreDNS's `forward .`): UDP first, TCP when the answer is truncated,
 * each resolver in turn until one answers, all within one overall deadline (CoreDNS's forward gives up after 5 s and
 * answers SERVFAIL). This is the server's only outgoing traffic, and it only goes where the user's configuration
 * points.
 */
import { randomInt } from 'node:crypto';
import { decodeMessage } from '../wire/decode-message.js';
import { encodeMessage } from '../wire/encode.js';
import { emptyHeader, type Message, RRClass } from '../wire/message.js';
import { matchesQuery } from './upstream-match.js';
import { type Endpoint, tcpExchange, udpExchange } from './upstream-transport.js';

export type { Endpoint } from './upstream-transport.js';

export interface UpstreamReply {
  /** The reply as the upstream sent it. */
  wire: Buffer;
  /** Its decoded form, or null when it holds what the model cannot carry (MX, HINFO, …): then it is relayed as bytes. */
  message: Message | null;
}

export interface UpstreamClient {
  exchange(name: string, type: number): Promise<UpstreamReply>;
}

/** The upstream answered, but not our question (CoreDNS's forward answers the client FORMERR then). */
export class UpstreamMismatch extends Error {}

export interface UpstreamTimeouts {
  /** Longest wait for one resolver over one transport. */
  attemptMs?: number;
  /** Longest wait for the whole exchange, every resolver and transport included (CoreDNS forward: 5 s). */
  deadlineMs?: number;
}

/** `10.0.0.1:53` / `[fd00::1]:53` → host and port. */
export function parseEndpoint(text: string): Endpoint {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`not an ip:port: ${text}`);
  return { host: m[1]!, port: Number(m[2]) };
}

function decodeOrNull(wire: Buffer): Message | null {
  try {
    return decodeMessage(wire);
  } catch {
    return null;
  }
}

export class UdpTcpUpstream implements UpstreamClient {
  readonly #servers: Endpoint[];
  readonly #attemptMs: number;
  readonly #deadlineMs: number;

  constructor(servers: readonly string[], timeouts: UpstreamTimeouts = {}) {
    this.#servers = servers.map(parseEndpoint);
    this.#attemptMs = timeouts.attemptMs ?? 2000;
    this.#deadlineMs = timeouts.deadlineMs ?? 5000;
  }

  async exchange(name: string, type: number): Promise<UpstreamReply> {
    const deadline = performance.now() + this.#deadlineMs;
    // Each attempt is bounded by what is left of the deadline, so the exchange settles by then.
    const budget = () => {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no upstream answered within ${this.#deadlineMs} ms`);
      return Math.min(this.#attemptMs, left);
    };
    let lastError: unknown = new Error('no upstream resolvers configured');
    for (const server of this.#servers) {
      const query = this.#query(name, type);
      let wire: Buffer;
      try {
        wire = await udpExchange(server, query, budget());
        if (wire.length >= 12 && (wire[2]! & 0x02) !== 0) wire = await tcpExchange(server, query, budget());
      } catch (err) {
        lastError = err;
        continue;
      }
      if (!matchesQuery(wire, query)) throw new UpstreamMismatch(`upstream ${server.host} answered another question`);
      return { wire, message: decodeOrNull(wire) };
    }
    throw lastError;
  }

  #query(name: string, type: number): Buffer {
    // The ID guards against off-path spoofing, so it comes from the CSPRNG. This is network-facing, not part of the
    // simulation, so the rule that randomness comes from the seeded PRNG does not apply.
    const header = emptyHeader(randomInt(0x10000));
    header.rd = true;
    return encodeMessage({
      header,
      question: { name, type, class: RRClass.IN },
      answer: [],
      authority: [],
      additional: [],
      edns: { udpSize: 1232, version: 0, do: false, extendedRcode: 0, options: [] },
    });
  }
}
