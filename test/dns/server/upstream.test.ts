/**
 * Forwarding to upstream resolvers against scripted fake upstreams on 127.0.0.1: every exchange settles (a clean close
 * is a failure, and there is one overall deadline), and only a reply that answers our question, from the upstream's
 * own address, is taken (CoreDNS forward's `state.Match`).
 */
import dgram from 'node:dgram';
import net from 'node:net';
import test from 'ava';
import { UdpTcpUpstream, UpstreamMismatch } from '../../../src/dns/server/upstream.js';
import {
  aRecord,
  type FakeScript,
  fakeUpstream,
  frame,
  packet,
  query,
  rcodeOf,
  replyTo,
  startServer,
  udpAsk,
  unframe,
  withForwarder,
} from './net-helpers.js';

const TRUNCATED = packet.TRUNCATED_RESPONSE | packet.RECURSION_AVAILABLE;

/** UDP says "truncated", TCP accepts and closes cleanly without a reply: the reviewer's hanging upstream. */
const CLOSES_ON_TCP: FakeScript = {
  udp: (q, reply) => reply(replyTo(q, [], TRUNCATED)),
  tcp: (conn) => conn.end(),
};

test('an upstream TCP connection closed without a reply fails the exchange (no wait for a timer)', async (t) => {
  t.timeout(10_000);
  const up = await fakeUpstream(CLOSES_ON_TCP);
  try {
    // Timers far beyond the test's own timeout: only the close can settle it.
    const client = new UdpTcpUpstream([up.address], { attemptMs: 60_000, deadlineMs: 60_000 });
    await t.throwsAsync(client.exchange('tc.example.', 1), { message: /closed without a reply/ });
  } finally {
    await up.close();
  }
});

test('exchange() has one overall deadline across resolvers and transports', async (t) => {
  t.timeout(10_000);
  const silent = [await fakeUpstream({}), await fakeUpstream({})];
  try {
    const client = new UdpTcpUpstream(
      silent.map((u) => u.address),
      { attemptMs: 60_000, deadlineMs: 50 },
    );
    await t.throwsAsync(client.exchange('slow.example.', 1));
  } finally {
    for (const u of silent) await u.close();
  }
});

test('over TCP a forwarded query whose upstream closes gets SERVFAIL, and later queries are still answered', async (t) => {
  t.timeout(10_000);
  await withForwarder(
    CLOSES_ON_TCP,
    async (server) => {
      const replies = await new Promise<Buffer[]>((resolve, reject) => {
        const conn = net.connect(server.port, '127.0.0.1');
        let data = Buffer.alloc(0);
        conn.on('error', reject);
        conn.on('data', (chunk) => {
          data = Buffer.concat([data, chunk]);
          const got = unframe(data);
          if (got.length === 2) {
            conn.destroy();
            resolve(got);
          }
        });
        conn.write(
          Buffer.concat([frame(query('tc.example', 'A', 1)), frame(query('web.shop.svc.cluster.local', 'A', 2))]),
        );
      });
      t.is(replies[0]!.readUInt16BE(0), 1);
      t.is(rcodeOf(replies[0]!), 2, 'SERVFAIL, as CoreDNS forward answers when every upstream failed');
      t.is(replies[1]!.readUInt16BE(0), 2);
      t.is(rcodeOf(replies[1]!), 0);
    },
    { upstream: { attemptMs: 60_000, deadlineMs: 60_000 } },
  );
});

test('a datagram from another port is ignored even with the right ID', async (t) => {
  t.timeout(10_000);
  const spoofer = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => spoofer.bind(0, '127.0.0.1', resolve));
  const up = await fakeUpstream({
    udp: async (q, reply, rinfo) => {
      // The forged answer leaves first, from another port; the real one only after it was sent.
      const forged = replyTo(q, [aRecord('r.example.', '6.6.6.6')]);
      await new Promise<void>((resolve) => spoofer.send(forged, rinfo.port, rinfo.address, () => resolve()));
      await reply(replyTo(q, [aRecord('r.example.', '192.0.2.1')]));
    },
  });
  try {
    const client = new UdpTcpUpstream([up.address], { attemptMs: 60_000, deadlineMs: 60_000 });
    const { message } = await client.exchange('r.example.', 1);
    t.deepEqual(
      message?.answer.map((rr) => rr.data),
      ['192.0.2.1'],
    );
  } finally {
    spoofer.close();
    await up.close();
  }
});

test('a reply with our ID but QR clear or another question is not an answer: the client gets FORMERR', async (t) => {
  t.timeout(10_000);
  const script: FakeScript = {
    udp: (q, reply) => {
      const id = q.readUInt16BE(0);
      const name = packet.decode(q).questions![0]!.name;
      const other = packet.encode({
        id,
        type: 'response',
        flags: packet.RECURSION_AVAILABLE,
        questions: [{ name: 'other.invalid', type: 'TXT', class: 'IN' }],
        answers: [aRecord(name, '6.6.6.6')],
      });
      const asQuery = packet.encode({ id, type: 'query', questions: packet.decode(q).questions!, answers: [] });
      return reply(name.startsWith('qr0') ? asQuery : other);
    },
  };
  await withForwarder(script, async (server, up) => {
    const client = new UdpTcpUpstream([up.address], { attemptMs: 60_000, deadlineMs: 60_000 });
    await t.throwsAsync(client.exchange('other.example.', 1), { instanceOf: UpstreamMismatch });
    await t.throwsAsync(client.exchange('qr0.example.', 1), { instanceOf: UpstreamMismatch });
    const reply = await udpAsk(server.port, query('other.example'));
    t.is(rcodeOf(reply), 1);
    t.is(reply.readUInt16BE(6), 0, 'no answer records');
  });
});

test('upstream query IDs are unpredictable, not a counter', async (t) => {
  t.timeout(10_000);
  const up = await fakeUpstream({ udp: (q, reply) => reply(replyTo(q, [])) });
  try {
    const client = new UdpTcpUpstream([up.address]);
    for (let i = 0; i < 6; i++) await client.exchange(`n${i}.example.`, 1);
    const steps = up.ids.slice(1).map((id, i) => (id - up.ids[i]! + 0x10000) % 0x10000);
    t.false(
      steps.every((s) => s === 1),
      `IDs ${up.ids.join(', ')}`,
    );
  } finally {
    await up.close();
  }
});

test('an upstream the socket cannot connect to (a broadcast address) gives SERVFAIL; the server lives on', async (t) => {
  t.timeout(10_000);
  // connect() to 255.255.255.255 fails with EACCES at once: an error reported to connect's callback, not 'error'.
  const server = await startServer({ upstream: ['255.255.255.255:53'] });
  try {
    t.is(rcodeOf(await udpAsk(server.port, query('example.org', 'A', 11))), 2);
    t.is(rcodeOf(await udpAsk(server.port, query('web.shop.svc.cluster.local', 'A', 12))), 0);
  } finally {
    await server.stop();
  }
});
