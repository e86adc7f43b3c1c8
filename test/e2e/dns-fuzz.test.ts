/**
 * Fuzz: 100,000 random and mutated packets (fast-check) go to the server, both through its responder in process
 * (which must never throw, and must answer with the query's ID or stay silent) and over its real UDP socket.
 * Afterwards the server still answers valid queries correctly.
 */
import dgram from 'node:dgram';
import test from 'ava';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { dig, type Running, shortLines, startServer } from './helpers.js';

let running: Running;
test.before(async () => {
  running = await startServer(['fixtures/demo']);
});
test.after.always(() => running.stop());

const NAMES = [
  'web.shop.svc.cluster.local',
  '_http._tcp.web.shop.svc.cluster.local',
  'db-0.db.shop.svc.cluster.local',
  '10.0.96.10.in-addr.arpa',
  'cluster.local',
];
const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'SOA', 'TXT', 'ANY'] as const;

/** Valid queries, some with EDNS, to mutate. */
const validQuery = fc
  .record({
    id: fc.integer({ min: 0, max: 0xffff }),
    name: fc.constantFrom(...NAMES),
    type: fc.constantFrom(...TYPES),
    edns: fc.boolean(),
  })
  .map(({ id, name, type, edns }) =>
    dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: type as unknown as dnsPacket.RecordType, name, class: 'IN' }],
      additionals: edns
        ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] } as unknown as dnsPacket.Answer]
        : [],
    }),
  );

const mutated = fc
  .tuple(
    validQuery,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    fc.nat(),
  )
  .map(([buf, edits, cut]) => {
    const out = Buffer.from(buf);
    for (const [at, value] of edits) out[at % out.length] = value;
    // Sometimes truncate, sometimes append garbage.
    if (cut % 3 === 0) return out.subarray(0, cut % (out.length + 1));
    if (cut % 3 === 1) return Buffer.concat([out, Buffer.alloc(cut % 40, cut & 0xff)]);
    return out;
  });

const random = fc.uint8Array({ minLength: 0, maxLength: 600 }).map((a) => Buffer.from(a));

test('100,000 random and mutated packets: the responder never throws, and the server still answers', async (t) => {
  const socket = dgram.createSocket('udp4');
  const replies: Buffer[] = [];
  // Replies are thrown away, except the sentinel's (see `drained`).
  socket.on('message', (reply) => {
    if (reply.includes(SENTINEL)) replies.push(reply);
  });
  socket.on('error', () => {}); // a full send buffer only means fewer packets reach the socket
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  let sent = 0;
  let answered = 0;
  const check = (packet: Buffer) => {
    const out = running.server.responder.respond(packet, 'udp');
    if (out instanceof Promise) throw new Error('no upstream is configured, so nothing should be asynchronous');
    if (out !== null) {
      answered++;
      for (const reply of out.replies) {
        if (reply.length < 12 || reply.readUInt16BE(0) !== packet.readUInt16BE(0)) return false;
        if ((reply.readUInt16BE(2) & 0x8000) === 0) return false; // QR set on every reply
      }
    }
    if (sent % 4 === 0) socket.send(packet, running.port, '127.0.0.1');
    sent++;
    return true;
  };
  fc.assert(fc.property(mutated, check), { numRuns: 60_000, seed: 42 });
  fc.assert(fc.property(random, check), { numRuns: 40_000, seed: 43 });
  t.is(sent, 100_000);
  t.true(answered > 10_000, `${answered} answered`);
  await drained(socket, replies);
  socket.close();
  const web = running.cluster.get('Service', 'web', 'shop')!.spec.clusterIP!;
  t.deepEqual(shortLines(await dig(running.port, '+short', 'web.shop.svc.cluster.local')), [web]);
  t.deepEqual(shortLines(await dig(running.port, '+tcp', '+short', 'web.shop.svc.cluster.local')), [web]);
});

/** A name no fuzz packet carries, asked last: its answer means the datagrams sent before it have been read. */
const SENTINEL = Buffer.from('fuzz-sentinel');

/**
 * Wait until the server has worked through the fuzz datagrams queued on its socket: it reads one socket in order, so
 * the answer to a query sent after them comes after them. The query is sent again until answered (a full receive
 * buffer may drop it), so the check below does not depend on how fast this machine drains the backlog.
 */
async function drained(socket: dgram.Socket, replies: Buffer[]): Promise<void> {
  const query = dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', name: 'fuzz-sentinel.shop.svc.cluster.local', class: 'IN' }],
  });
  while (replies.length === 0) {
    socket.send(query, running.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 250));
  }
}
