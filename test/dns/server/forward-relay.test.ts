/**
 * Forwarded answers the message model cannot hold are relayed as the upstream sent them (CoreDNS's forward writes the
 * upstream message as is), not turned into SERVFAIL; and a UDP reply never exceeds the client's size because of
 * echoed EDNS options.
 */
import test from 'ava';
import { packet, query, rcodeOf, replyTo, startServer, udpAsk, withForwarder } from './net-helpers.js';

test('an MX answer from upstream is relayed with the client ID and spelling, not SERVFAIL', async (t) => {
  t.timeout(10_000);
  const mx = {
    type: 'MX',
    name: 'mail.example',
    ttl: 60,
    class: 'IN',
    data: { preference: 10, exchange: 'mx1.example' },
  };
  await withForwarder({ udp: (q, reply) => reply(replyTo(q, [mx as packet.Answer])) }, async (server) => {
    const reply = await udpAsk(server.port, query('MaIl.Example', 'MX', 3131));
    t.is(rcodeOf(reply), 0);
    const decoded = packet.decode(reply);
    t.is(decoded.id, 3131);
    t.is(decoded.questions?.[0]?.name, 'MaIl.Example');
    t.deepEqual(
      decoded.answers?.map((a) => (a.type === 'MX' ? [a.data.preference, a.data.exchange] : null)),
      [[10, 'mx1.example']],
    );
    t.false(
      decoded.additionals?.some((a) => a.type === 'OPT'),
      'no OPT for a query without one',
    );
  });
});

test('echoed PADDING is dropped when it would push a UDP reply past the client size', async (t) => {
  t.timeout(10_000);
  const server = await startServer({});
  try {
    const padded = query('web.shop.svc.cluster.local', 'A', 11, {
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 512,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [{ code: 12, data: Buffer.alloc(900) }],
        },
      ],
    });
    const reply = await udpAsk(server.port, padded);
    t.true(reply.length <= 512, `${reply.length} octets`);
    const decoded = packet.decode(reply);
    t.is(decoded.answers?.length, 1, 'the A record fits once the padding is gone');
    const opt = decoded.additionals?.find((a) => a.type === 'OPT');
    t.truthy(opt, 'the OPT record itself stays');
    t.deepEqual(opt?.type === 'OPT' ? opt.options : undefined, []);
  } finally {
    await server.stop();
  }
});
