/**
 * Test plumbing for the server's network paths: a scripted fake upstream resolver (UDP and TCP on one ephemeral
 * 127.0.0.1 port), a DNS server over fixtures/demo, and small UDP/TCP clients. Nothing waits on the clock except
 * where a test passes an explicit, short timeout.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import packet from 'dns-packet';
import { Cluster } from '../../../src/cluster/cluster.js';
import { dnsOptionsOf } from '../../../src/cluster/config-sections.js';
import type { DnsOptions } from '../../../src/dns/config.js';
import { DnsServer, type DnsServerOptions } from '../../../src/dns/server/server.js';

export { packet };

export interface FakeUpstream {
  address: string;
  /** IDs of the UDP queries received, in order. */
  ids: number[];
  close(): Promise<void>;
}

export interface FakeScript {
  /** Answer a UDP query: send with `reply` (from the listening socket) or not at all. */
  udp?: (query: Buffer, reply: (msg: Buffer) => Promise<void>, rinfo: dgram.RemoteInfo) => void | Promise<void>;
  /** Handle one TCP connection. */
  tcp?: (conn: net.Socket) => void;
}

export async function fakeUpstream(script: FakeScript): Promise<FakeUpstream> {
  const udp = dgram.createSocket('udp4');
  const ids: number[] = [];
  udp.on('message', (msg, rinfo) => {
    ids.push(msg.readUInt16BE(0));
    const reply = (out: Buffer) =>
      new Promise<void>((resolve) => udp.send(out, rinfo.port, rinfo.address, () => resolve()));
    void script.udp?.(msg, reply, rinfo);
  });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  const conns = new Set<net.Socket>();
  const tcp = net.createServer((conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    conn.on('error', () => {});
    if (script.tcp) script.tcp(conn);
    else conn.destroy();
  });
  await new Promise<void>((resolve) => tcp.listen(port, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${port}`,
    ids,
    close: async () => {
      for (const c of conns) c.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}

/** A reply to `query` (same ID and question) with the given answers and flags. */
export function replyTo(query: Buffer, answers: packet.Answer[], flags = packet.RECURSION_AVAILABLE): Buffer {
  const q = packet.decode(query);
  return packet.encode({ id: q.id, type: 'response', flags, questions: q.questions, answers });
}

export function aRecord(name: string, data: string): packet.Answer {
  return { type: 'A', name, ttl: 60, class: 'IN', data };
}

export async function startServer(
  dns: Partial<DnsOptions>,
  timeouts: DnsServerOptions['timeouts'] = {},
): Promise<DnsServer> {
  const cluster = await Cluster.load(['fixtures/demo']);
  const server = new DnsServer(cluster.store, {
    clusterDomain: cluster.config.clusterDomain,
    seed: cluster.config.seed,
    listen: ['127.0.0.1:0'],
    dns: { ...dnsOptionsOf(cluster.config), ...dns },
    timeouts,
  });
  await server.start();
  return server;
}

export function query(name: string, type: packet.RecordType = 'A', id = 4242, extra: Partial<packet.Packet> = {}) {
  return packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    ...extra,
  });
}

/** One UDP exchange; resolves with the reply (the server answers or the test's own timeout fails it). */
export function udpAsk(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.on('message', (m) => {
      s.close();
      resolve(m);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

export function frame(msg: Buffer): Buffer {
  const out = Buffer.alloc(msg.length + 2);
  out.writeUInt16BE(msg.length, 0);
  msg.copy(out, 2);
  return out;
}

/** Split a TCP byte stream into its framed messages. */
export function unframe(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + 2 <= data.length && pos + 2 + data.readUInt16BE(pos) <= data.length) {
    const n = data.readUInt16BE(pos);
    out.push(data.subarray(pos + 2, pos + 2 + n));
    pos += 2 + n;
  }
  return out;
}

export const rcodeOf = (reply: Buffer) => reply.readUInt16BE(2) & 0x0f;

/**
 * A fake upstream scripted by `script` and a server over fixtures/demo that forwards to it, for the length of `run`;
 * both are closed after it, whatever it does.
 */
export async function withForwarder(
  script: FakeScript,
  run: (server: DnsServer, up: FakeUpstream) => Promise<void>,
  timeouts: DnsServerOptions['timeouts'] = {},
): Promise<void> {
  const up = await fakeUpstream(script);
  try {
    const server = await startServer({ upstream: [up.address] }, timeouts);
    try {
      await run(server, up);
    } finally {
      await server.stop();
    }
  } finally {
    await up.close();
  }
}
