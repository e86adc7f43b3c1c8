/** The loadbalance shuffle through the server: every reply is shuffled anew, its additional section too. */
import test from 'ava';
import packet from 'dns-packet';
import { query, startServer, udpAsk } from './net-helpers.js';

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
