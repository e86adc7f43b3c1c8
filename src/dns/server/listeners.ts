/**
 * The sockets: UDP and TCP on each listen address, handing every message to the Responder. UDP uses node:dgram's
 * 'message' event directly (no per-query promise); TCP is in tcp-listener.ts.
 */
import dgram from 'node:dgram';
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { InvalidArgumentError, ListenFailedError } from '../../errors.js';
import { isSystemError, systemReason } from '../../util/system-error.js';
import type { Outcome, Responder, Transport } from './responder.js';

export interface ListenAddress {
  host: string;
  port: number;
}

/** `127.0.0.1:5353`, `[::1]:5353` → host and port (port 0 = any free port). `flag`: the option it came from. */
export function parseListen(text: string, flag = '--listen'): ListenAddress {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !net.isIP(m[1]!) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`${flag} takes IP:PORT (e.g. 127.0.0.1:5353 or [::1]:5353), got "${text}"`);
  }
  return { host: m[1]!, port };
}

/**
 * Start a socket on `addr` (`start` binds or listens, calling `done` once ready) and settle when it is bound or has
 * failed. A failure is the user's address, not our fault: a typed error worded as Go's net.Listen words it, which is
 * what CoreDNS prints (`listen udp 127.0.0.1:53: bind: address already in use`).
 */
async function bindOrFail(
  network: 'udp' | 'tcp',
  addr: ListenAddress,
  socket: EventEmitter,
  start: (done: () => void) => void,
): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      start(() => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (!isSystemError(err)) throw err;
    const reason = systemReason(err);
    throw new ListenFailedError(`listen ${network} ${formatAddress(addr.host, addr.port)}: bind: ${reason}`, {
      cause: err,
    });
  }
}

/** `server.listen` on `addr` (a DNS-over-TCP or HTTP server), settled once it is bound (`bindOrFail`). */
export function listenTcpServer(server: net.Server, addr: ListenAddress): Promise<void> {
  return bindOrFail('tcp', addr, server, (done) => server.listen(addr.port, addr.host, done));
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export type Observer = (
  transport: Transport,
  outcome: Outcome,
  seconds: number,
  family: 1 | 2,
  requestSize: number,
) => void;

export interface BoundListener {
  transport: Transport;
  address: string;
  close(): Promise<void>;
}

/** Seconds since `start` (a performance.now() reading): a double, no BigInt per query. */
export function elapsed(start: number): number {
  return (performance.now() - start) / 1000;
}

export async function listenUdp(addr: ListenAddress, responder: Responder, observe: Observer): Promise<BoundListener> {
  const family = net.isIPv6(addr.host) ? 2 : 1;
  // Replies go back to the address the query came from, always a literal IP: skip dns.lookup and its nextTick.
  const socket = dgram.createSocket({
    type: family === 2 ? 'udp6' : 'udp4',
    lookup: (address, _options, callback) =>
      (callback as (e: null, a: string, f: number) => void)(null, address, family === 2 ? 6 : 4),
  });
  const send = (out: Outcome, rinfo: dgram.RemoteInfo, start: number, requestSize: number) => {
    for (const reply of out.replies) {
      // A reply that cannot be sent is dropped, as a Go server's failed write is: one bad packet must not take the
      // server down. Bad arguments (a datagram from port 0) throw here; failures later go to the socket's 'error'.
      try {
        socket.send(reply, rinfo.port, rinfo.address);
      } catch {
        return;
      }
    }
    observe('udp', out, elapsed(start), family, requestSize);
  };
  socket.on('message', (msg, rinfo) => {
    const start = performance.now();
    let out: ReturnType<Responder['respond']>;
    try {
      out = responder.respond(msg, 'udp');
    } catch {
      return; // never let one packet take the server down; an unanswerable query is dropped
    }
    if (out === null) return;
    if (out instanceof Promise) {
      out.then((o) => o && send(o, rinfo, start, msg.length)).catch(() => {});
      return;
    }
    send(out, rinfo, start, msg.length);
  });
  socket.on('error', () => {});
  await bindOrFail('udp', addr, socket, (done) => socket.bind(addr.port, addr.host, done));
  const bound = socket.address();
  return {
    transport: 'udp',
    address: formatAddress(bound.address, bound.port),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
