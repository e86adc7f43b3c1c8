/**
 * The loadbalance shuffle through the server: every reply is shuffled anew, its additional section too, and forwarded
 * replies as well (the plugin stands before cache and forward in CoreDNS's plugin order), a cached one included.
 */
import test from 'ava';
import packet from 'dns-packet';
import { aRecord, fakeUpstream, query, replyTo, startServer, udpAsk } from './net-helpers.js';

const SECTIONS = [
  // Three endpoints: three A records in the answer.
  ['answers', 'db.shop.svc.cluster.local', 'A'],
  // SRV rows keep their order; their glue A records in the additional section are shuffled.
  ['additionals', '_postgres._tcp.db.shop.svc.cluster.local', 'SRV'],
] as const;

for (const [section, name, type] of SECTIONS) {
  test(`with loadbalance on, repeated ${type} queries get their ${section} in more than one order`, async (t) => {
    const server = await startServer({ loadbalance: true });
    try {
      const orders = new Set<string>();
      for (let i = 0; i < 16; i++) {
        const reply = packet.decode(await udpAsk(server.port, query(name, type, 100 + i)));
        const records = reply[section] ?? [];
        t.is(records.filter((r) => r.type === 'A').length, 3);
        orders.add(records.map((r) => ('data' in r ? JSON.stringify(r.data) : r.type)).join('|'));
      }
      t.true(orders.size > 1, `one order in 16 replies: ${[...orders][0]}`);
    } finally {
      await server.stop();
    }
  });
}

/** Eight addresses, in the upstream's order. */
const UPSTREAM_ORDER = Array.from({ length: 8 }, (_, i) => `192.0.2.${i + 1}`);

for (const loadbalance of [true, false]) {
  test(`a forwarded answer's addresses ${loadbalance ? 'are shuffled anew in every reply, cached ones too' : 'keep the upstream order'} with loadbalance ${loadbalance ? 'on' : 'off'}`, async (t) => {
    const up = await fakeUpstream({
      udp: (q, reply) =>
        reply(
          replyTo(
            q,
            UPSTREAM_ORDER.map((ip) => aRecord('many.example', ip)),
          ),
        ),
    });
    try {
      const server = await startServer({ upstream: [up.address], loadbalance });
      try {
        const orders = new Set<string>();
        for (let i = 0; i < 8; i++) {
          const reply = packet.decode(await udpAsk(server.port, query('many.example', 'A', 300 + i)));
          const got = (reply.answers ?? []).map((r) => ('data' in r ? String(r.data) : r.type));
          t.deepEqual([...got].sort(), [...UPSTREAM_ORDER].sort(), 'the same addresses');
          orders.add(got.join(' '));
        }
        // The cache (30 s by default) answered all but the first.
        t.is(up.ids.length, 1);
        if (loadbalance) t.true(orders.size > 1, `one order in 8 replies: ${[...orders][0]}`);
        else t.deepEqual([...orders], [UPSTREAM_ORDER.join(' ')]);
      } finally {
        await server.stop();
      }
    } finally {
      await up.close();
    }
  });
}
