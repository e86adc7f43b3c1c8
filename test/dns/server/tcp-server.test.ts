/**
 * The TCP listener against a real socket: a client that half-closes after its query still gets the reply (miekg
 * answers before it reads EOF), and a message's read deadline is not moved by partial data.
 */
import net from 'node:net';
import test from 'ava';
import { aRecord, frame, query, rcodeOf, replyTo, startServer, unframe, withForwarder } from './net-helpers.js';

/** Send one framed query and half-close at once; everything the server sends until its own end. */
function halfClosed(port: number, message: Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const conn = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    conn.on('error', reject);
    conn.on('data', (c) => chunks.push(c));
    conn.on('end', () => resolve(Buffer.concat(chunks)));
    conn.end(frame(message));
  });
}

test('a client that half-closes after its query gets the (forwarded) reply, then our FIN', async (t) => {
  t.timeout(10_000);
  await withForwarder(
    { udp: (q, reply) => reply(replyTo(q, [aRecord('fooc.example.', '192.0.2.7')])) },
    async (server) => {
      const data = await halfClosed(server.port, query('fooc.example', 'A', 77));
      const replies = unframe(data);
      t.is(replies.length, 1);
      t.is(replies[0]!.readUInt16BE(0), 77);
      t.is(rcodeOf(replies[0]!), 0);
      t.is(replies[0]!.readUInt16BE(6), 1);
    },
  );
});

test('a half-close with nothing pending ends the connection at once', async (t) => {
  t.timeout(10_000);
  const server = await startServer({});
  try {
    const data = await halfClosed(server.port, query('web.shop.svc.cluster.local', 'A', 5));
    t.is(unframe(data).length, 1);
  } finally {
    await server.stop();
  }
});

test('a client dripping one byte at a time is closed at the message deadline, not kept alive by each byte', async (t) => {
  t.timeout(20_000);
  // Deadlines of 300 ms; the frame would be complete after 64 drips 50 ms apart (3.2 s), far past them.
  const server = await startServer({}, { tcp: { firstMs: 300, idleMs: 300 } });
  try {
    const message = query('web.shop.svc.cluster.local', 'A', 9);
    const bytes = frame(message);
    const outcome = await new Promise<{ sent: number; replies: number }>((resolve) => {
      const conn = net.connect(server.port, '127.0.0.1');
      let sent = 0;
      let data = Buffer.alloc(0);
      let timer: NodeJS.Timeout | undefined;
      conn.on('error', () => {});
      conn.on('data', (c) => {
        data = Buffer.concat([data, c]);
      });
      conn.on('close', () => {
        clearInterval(timer);
        resolve({ sent, replies: unframe(data).length });
      });
      conn.on('connect', () => {
        timer = setInterval(() => {
          if (sent < bytes.length) {
            conn.write(bytes.subarray(sent, ++sent));
            return;
          }
          // Everything sent (the deadline did not close us): give the reply a moment to arrive, then stop.
          clearInterval(timer);
          setTimeout(() => conn.destroy(), 1000);
        }, 50);
      });
    });
    t.is(outcome.replies, 0);
    t.true(outcome.sent < bytes.length, `closed after ${outcome.sent} of ${bytes.length} octets`);
  } finally {
    await server.stop();
  }
});
