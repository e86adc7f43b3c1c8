/**
 * DNS over TCP: 2-byte-length framed messages, answered in order (even when one waits on upstream), several per
 * connection, with miekg/dns's read deadlines: one deadline per message, armed when the server starts waiting for it
 * (2 s for the first message, the 8 s idle timeout for each later one) and never moved by partial data, so a client
 * that drips a byte every few seconds is closed at the deadline. While replies are pending no deadline runs, as miekg
 * does not read while its handler runs.
 *
 * A client may half-close after its last query (miekg answers before it reads EOF): the socket is half-open, and we
 * end our side once the client's end was seen and every pending reply was written.
 */
import net from 'node:net';
import { frameMessage, TcpFrameReader } from '../wire/tcp-framing.js';
import {
  type BoundListener,
  elapsed,
  formatAddress,
  type ListenAddress,
  listenTcpServer,
  type Observer,
} from './listeners.js';
import type { Outcome, Responder } from './responder.js';

/** miekg `Server.ReadTimeout` default: the wait for a connection's first message. */
export const TCP_READ_TIMEOUT_MS = 2000;
/** miekg's default idle timeout (RFC 7766 §6.2.3): the wait for each later message. */
export const TCP_IDLE_TIMEOUT_MS = 8000;
/** Queries of one TCP connection read ahead of their replies before the connection stops being read. */
const MAX_PENDING_TCP_QUERIES = 64;

export interface TcpTimeouts {
  firstMs?: number;
  idleMs?: number;
}

export async function listenTcp(
  addr: ListenAddress,
  responder: Responder,
  observe: Observer,
  timeouts: TcpTimeouts = {},
): Promise<BoundListener> {
  const family = net.isIPv6(addr.host) ? 2 : 1;
  const firstMs = timeouts.firstMs ?? TCP_READ_TIMEOUT_MS;
  const idleMs = timeouts.idleMs ?? TCP_IDLE_TIMEOUT_MS;
  const connections = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (conn) => {
    connections.add(conn);
    let deadline: NodeJS.Timeout | null = null;
    let served = false;
    const disarm = () => {
      if (deadline !== null) clearTimeout(deadline);
      deadline = null;
    };
    // The wait for the next message starts now; nothing but a complete message stops it.
    const arm = () => {
      disarm();
      deadline = setTimeout(() => conn.destroy(), served ? idleMs : firstMs);
    };
    arm();
    conn.on('close', () => {
      disarm();
      connections.delete(conn);
    });
    conn.on('error', () => conn.destroy());
    const reader = new TcpFrameReader();
    // Replies go out in query order even when one of them waits on upstream.
    let queue: Promise<void> = Promise.resolve();
    let pending = 0;
    let ended = false;
    // The client is done sending: end our side. A client that also stops reading would hold the socket and the
    // replies buffered for it forever, so a write deadline (miekg has WriteTimeout) destroys it then.
    const endOurSide = () => {
      conn.end();
      disarm();
      if (conn.writableLength > 0) deadline = setTimeout(() => conn.destroy(), idleMs);
    };
    conn.on('end', () => {
      ended = true;
      disarm();
      if (pending === 0) endOurSide();
    });
    const answer = async (msg: Buffer, start: number): Promise<void> => {
      let out: Outcome | null;
      try {
        out = await responder.respond(msg, 'tcp');
      } catch {
        out = null;
      }
      if (!out || conn.destroyed) return;
      let framed: Buffer[];
      try {
        framed = out.replies.map(frameMessage);
      } catch {
        return; // a reply over 65535 octets cannot be framed: no answer, as miekg's failed write
      }
      for (const reply of framed) conn.write(reply);
      observe('tcp', out, elapsed(start), family, msg.length);
    };
    const settled = () => {
      pending--;
      if (pending === 0) {
        if (ended) endOurSide();
        else if (!conn.destroyed) arm();
      }
      if (conn.isPaused() && pending < MAX_PENDING_TCP_QUERIES && conn.writableLength < conn.writableHighWaterMark)
        conn.resume();
    };
    conn.on('data', (chunk) => {
      let messages: Buffer[];
      try {
        messages = reader.push(chunk);
      } catch {
        conn.destroy();
        return;
      }
      if (messages.length > 0) {
        served = true;
        disarm();
      }
      for (const msg of messages) {
        const start = performance.now();
        const copy = Buffer.from(msg);
        pending++;
        queue = queue
          .then(() => answer(copy, start))
          .catch(() => {})
          .then(settled);
      }
      // Backpressure: a client that sends but does not read its replies stops being read, as a Go server's blocking
      // write stops it, instead of having its replies pile up in memory.
      if (pending >= MAX_PENDING_TCP_QUERIES || conn.writableLength >= conn.writableHighWaterMark) conn.pause();
    });
    conn.on('drain', () => {
      if (conn.isPaused() && pending < MAX_PENDING_TCP_QUERIES) conn.resume();
    });
  });
  await listenTcpServer(server, addr);
  const bound = server.address() as net.AddressInfo;
  return {
    transport: 'tcp',
    address: formatAddress(bound.address, bound.port),
    close: () =>
      new Promise((resolve) => {
        for (const c of connections) c.destroy();
        server.close(() => resolve());
      }),
  };
}
