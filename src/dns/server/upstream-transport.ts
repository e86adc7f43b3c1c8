/**
 * One query to one upstream resolver over UDP or TCP, settled within `ms` whatever the peer does: a reply, an error,
 * a clean close without a reply, or silence. A promise left pending here would hold the client's reply (and, on TCP,
 * every later reply of that connection) forever, so every path ends in `finish`.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { frameMessage, TcpFrameReader } from '../wire/tcp-framing.js';

export interface Endpoint {
  host: string;
  port: number;
}

/** Replies whose ID is not the query's are skipped, as CoreDNS's proxy drops out-of-order responses. */
function sameId(reply: Uint8Array, query: Uint8Array): boolean {
  return reply.length >= 12 && reply[0] === query[0] && reply[1] === query[1];
}

export function udpExchange(server: Endpoint, query: Buffer, ms: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (err: Error | null, reply?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // already closed
      }
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new Error(`upstream ${server.host}:${server.port} timed out`)), ms);
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg) => {
      if (sameId(msg, query)) finish(null, msg);
    });
    // A connected socket only receives datagrams from the upstream's address and port: the kernel drops the rest.
    // A failed connect (no route, a broadcast address) reaches this callback, not 'error'.
    socket.connect(server.port, server.host, (err?: Error) => {
      if (err) return finish(err);
      try {
        socket.send(query);
      } catch (sendErr) {
        finish(sendErr as Error);
      }
    });
  });
}

export function tcpExchange(server: Endpoint, query: Buffer, ms: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const reader = new TcpFrameReader();
    const socket = net.connect(server.port, server.host);
    let done = false;
    const finish = (err: Error | null, reply?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    // A hard deadline, not socket.setTimeout: an upstream that trickles bytes must not extend it.
    const timer = setTimeout(() => finish(new Error(`upstream ${server.host}:${server.port} TCP timed out`)), ms);
    socket.on('connect', () => socket.write(frameMessage(query)));
    socket.on('data', (chunk) => {
      let messages: Buffer[];
      try {
        messages = reader.push(chunk);
      } catch (err) {
        finish(err as Error);
        return;
      }
      for (const message of messages) if (sameId(message, query)) return finish(null, Buffer.from(message));
    });
    socket.on('error', (err) => finish(err));
    // A clean FIN without a reply settles neither 'data' nor 'error': it is a failure too.
    socket.on('close', () => finish(new Error(`upstream ${server.host}:${server.port} closed without a reply`)));
  });
}
