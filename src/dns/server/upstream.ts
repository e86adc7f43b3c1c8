/**
 * Asking the upstream resolvers (`dns.upstream`, CoreDNS's `forward .`): UDP first, TCP when the answer is truncated,
 * each resolver in turn until one answers. This is the server's only outgoing traffic, and it only goes where the
 * user's configuration points.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeMessage } from '../wire/decode-message.js';
import { encodeMessage } from '../wire/encode.js';
import { emptyHeader, type Message, RRClass } from '../wire/message.js';
import { frameMessage, TcpFrameReader } from '../wire/tcp-framing.js';

export interface UpstreamClient {
  exchange(name: string, type: number): Promise<Message>;
}

export interface Endpoint {
  host: string;
  port: number;
}

/** `10.0.0.1:53` / `[fd00::1]:53` → host and port. */
export function parseEndpoint(text: string): Endpoint {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`not an ip:port: ${text}`);
  return { host: m[1]!, port: Number(m[2]) };
}

export class UdpTcpUpstream implements UpstreamClient {
  readonly #servers: Endpoint[];
  readonly #timeoutMs: number;
  #nextId = 1;

  constructor(servers: readonly string[], timeoutMs = 2000) {
    this.#servers = servers.map(parseEndpoint);
    this.#timeoutMs = timeoutMs;
  }

  async exchange(name: string, type: number): Promise<Message> {
    let lastError: unknown = new Error('no upstream resolvers configured');
    for (const server of this.#servers) {
      try {
        const query = this.#query(name, type);
        const reply = await this.#udp(server, query);
        const message = decodeMessage(reply);
        if (!message.header.tc) return message;
        return decodeMessage(await this.#tcp(server, query));
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }

  #query(name: string, type: number): Buffer {
    const header = emptyHeader(this.#nextId);
    this.#nextId = (this.#nextId % 0xffff) + 1;
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

  #udp(server: Endpoint, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
      const timer = setTimeout(
        () => finish(new Error(`upstream ${server.host}:${server.port} timed out`)),
        this.#timeoutMs,
      );
      const finish = (err: Error | null, reply?: Buffer) => {
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve(reply!);
      };
      socket.on('error', (err) => finish(err));
      socket.on('message', (msg) => {
        if (msg.length >= 2 && msg.readUInt16BE(0) === query.readUInt16BE(0)) finish(null, msg);
      });
      socket.send(query, server.port, server.host);
    });
  }

  #tcp(server: Endpoint, query: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const reader = new TcpFrameReader();
      const socket = net.connect(server.port, server.host);
      socket.setTimeout(this.#timeoutMs, () => socket.destroy(new Error('upstream TCP timed out')));
      socket.on('connect', () => socket.write(frameMessage(query)));
      socket.on('data', (chunk) => {
        for (const message of reader.push(chunk)) {
          socket.end();
          resolve(Buffer.from(message));
          return;
        }
      });
      socket.on('error', reject);
    });
  }
}
