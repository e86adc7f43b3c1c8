/**
 * Transport rules with real clients: truncation on a 60-endpoint headless Service (512 octets without EDNS, the
 * EDNS buffer size with it, everything over TCP), IPv6 loopback, zone transfers, and malformed input.
 */

import test from 'ava';
import { DgramAsPromised } from 'dgram-as-promised';
import { dig, digYaml, type Running, shortLines, startServer } from './helpers.js';

let running: Running;

test.before(async () => {
  running = await startServer(['fixtures/demo', 'fixtures/dns/big-headless.yaml']);
});
test.after.always(() => running.stop());

const BIG = 'many.big.svc.cluster.local';

test('without EDNS a UDP answer never exceeds 512 octets: TC is set (dig +noedns +ignore)', async (t) => {
  const reply = await digYaml(running.port, '+noedns', '+ignore', BIG);
  t.true(reply.flags.includes('tc'), reply.flags.join(' '));
  t.true(reply.size <= 512, `${reply.size} octets`);
  t.true(reply.answer.length < 60);
});

test('with EDNS the UDP answer fits the advertised buffer', async (t) => {
  const reply = await digYaml(running.port, '+bufsize=700', '+ignore', BIG);
  t.true(reply.size <= 700, `${reply.size} octets`);
  t.true(reply.flags.includes('tc'));
  const full = await digYaml(running.port, '+bufsize=1232', '+ignore', BIG);
  t.true(full.size <= 1232, `${full.size} octets`);
  t.false(full.flags.includes('tc'), 'compressed, 60 A records fit in 1232 octets');
  t.is(full.answer.length, 60);
});

test('dig +tcp gets all 60 addresses', async (t) => {
  const lines = shortLines(await dig(running.port, '+tcp', '+short', BIG));
  t.is(lines.length, 60);
  t.is(new Set(lines).size, 60);
});

test('dig falls back to TCP by itself when the UDP answer is truncated', async (t) => {
  const reply = await digYaml(running.port, '+noedns', BIG);
  t.is(reply.protocol, 'TCP');
  t.is(reply.answer.length, 60);
});

test('AXFR is refused unless transfers are allowed', async (t) => {
  const reply = await digYaml(running.port, 'AXFR', 'cluster.local');
  t.is(reply.status, 'REFUSED');
});

test('AXFR of the cluster zone over TCP when allowed: SOA first and last', async (t) => {
  const open = await startServer(['fixtures/demo'], { allowTransfer: true });
  try {
    const out = await dig(open.port, 'AXFR', 'cluster.local', '+onesoa');
    const records = out.split('\n').filter((l) => l && !l.startsWith(';'));
    t.regex(records[0]!, /^cluster\.local\.\s+\d+\s+IN\s+SOA/);
    t.true(records.some((l) => /^web\.shop\.svc\.cluster\.local\.\s+\d+\s+IN\s+A\s/.test(l)));
  } finally {
    await open.stop();
  }
});

test('IXFR with the current serial gets the SOA alone; with an older one, the whole zone (dns.md 1.11)', async (t) => {
  const open = await startServer(['fixtures/demo'], { allowTransfer: true });
  try {
    const serial = Number(shortLines(await dig(open.port, '+short', 'SOA', 'cluster.local'))[0]!.split(' ')[2]);
    const records = async (arg: string) =>
      (await dig(open.port, arg, 'cluster.local')).split('\n').filter((l) => l && !l.startsWith(';'));
    const current = await records(`IXFR=${serial}`);
    t.is(current.length, 1, current.join('\n'));
    t.regex(current[0]!, new RegExp(`^cluster\\.local\\.\\s+\\d+\\s+IN\\s+SOA\\s.*\\s${serial}\\s`));
    const older = await records(`IXFR=${serial - 1}`);
    t.true(
      older.some((l) => /^web\.shop\.svc\.cluster\.local\.\s+\d+\s+IN\s+A\s/.test(l)),
      older.join('\n'),
    );
  } finally {
    await open.stop();
  }
});

test('IPv6 loopback works too', async (t) => {
  const six = await startServer(['fixtures/demo'], { listen: '[::1]:0' });
  try {
    const web = six.cluster.get('Service', 'web', 'shop')!.spec.clusterIP!;
    const { client } = await import('./helpers.js');
    const out = await client('dig', [
      '@::1',
      '-p',
      String(six.port),
      '+short',
      '+tries=1',
      '+time=2',
      'web.shop.svc.cluster.local',
    ]);
    t.deepEqual(shortLines(out), [web]);
    const tcp = await client('dig', [
      '@::1',
      '-p',
      String(six.port),
      '+tcp',
      '+short',
      '+tries=1',
      '+time=2',
      'web.shop.svc.cluster.local',
    ]);
    t.deepEqual(shortLines(tcp), [web]);
  } finally {
    await six.stop();
  }
});

/**
 * One datagram out, at most one back: dgram-as-promised suits a one-query/one-answer client (it drops datagrams that
 * arrive between recv() calls, which is why the server itself uses node:dgram). Returns null if nothing came within
 * `wait` ms: a test that expects an answer waits long (the call returns as soon as it comes, and a loaded machine
 * may take a while); one that expects silence passes a short wait.
 */
async function sendRaw(port: number, packet: Buffer, wait = 10_000): Promise<Buffer | null> {
  const socket = DgramAsPromised.createSocket('udp4');
  try {
    await socket.bind(0, '127.0.0.1');
    socket.setTimeout(wait);
    await socket.send(packet, port, '127.0.0.1');
    const packetIn = await socket.recv().catch(() => undefined);
    return packetIn?.msg ?? null;
  } finally {
    await socket.close();
  }
}

test('malformed packets: FORMERR when the header is readable, silence when it is not', async (t) => {
  t.is(await sendRaw(running.port, Buffer.from([1, 2, 3]), 300), null);
  const garbage = Buffer.alloc(20, 0xff);
  garbage.writeUInt16BE(0x1234, 0);
  garbage.writeUInt16BE(0x0100, 2); // a query, RD
  const reply = await sendRaw(running.port, garbage);
  t.truthy(reply);
  t.is(reply!.readUInt16BE(0), 0x1234);
  t.is(reply!.readUInt16BE(2) & 0x000f, 1, 'FORMERR');
  // The server still answers properly afterwards.
  t.is(shortLines(await dig(running.port, '+short', 'kubernetes.default.svc.cluster.local'))[0], '10.96.0.1');
});

/** The replies of one TCP connection, read until `count` arrive or `wait` ms pass. */
async function tcpExchange(port: number, frames: Buffer[], count: number, wait = 10_000): Promise<Buffer[]> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const replies: Buffer[] = [];
    let buffered = Buffer.alloc(0);
    const socket = connect(port, '127.0.0.1', () => {
      for (const f of frames) socket.write(Buffer.concat([Buffer.from([f.length >> 8, f.length & 0xff]), f]));
    });
    const done = () => {
      socket.destroy();
      resolve(replies);
    };
    const timer = setTimeout(done, wait);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        replies.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
      if (replies.length >= count) {
        clearTimeout(timer);
        done();
      }
    });
    socket.on('error', done);
  });
}

/** A query for `name` type A, id `id`, as a plain wire message. */
function aQuery(id: number, name: string): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

test('a TCP query whose reply cannot be framed (over 65535 octets) gets no answer, and the server lives on', async (t) => {
  // The question name is a pointer to offset 0: its labels run through the header into an EDNS PADDING option, so the
  // echoed reply (name expanded to 255 octets, padding kept) outgrows what a 2-octet length can frame.
  const total = 65535;
  const padLength = total - 33;
  const pad = Buffer.alloc(padLength);
  for (const [offset, length] of [
    [64, 63],
    [128, 63],
    [192, 61],
  ] as const)
    pad[offset - 33] = length;
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0x3f41, 0); // ID whose first octet reads as a 63-octet label
  head.writeUInt16BE(0x0100, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(1, 10);
  const question = Buffer.from([0xc0, 0x00, 0, 1, 0, 1]);
  const opt = Buffer.alloc(11 + 4);
  opt.writeUInt16BE(41, 1);
  opt.writeUInt16BE(1232, 3);
  opt.writeUInt16BE(4 + padLength, 9);
  opt.writeUInt16BE(12, 11);
  opt.writeUInt16BE(padLength, 13);
  const huge = Buffer.concat([head, question, opt, pad]);
  t.is(huge.length, total);
  const replies = await tcpExchange(running.port, [huge, aQuery(0x7777, 'kubernetes.default.svc.cluster.local')], 1);
  t.is(replies.length, 1, 'only the ordinary query is answered');
  t.is(replies[0]!.readUInt16BE(0), 0x7777);
  t.is(shortLines(await dig(running.port, '+short', 'kubernetes.default.svc.cluster.local'))[0], '10.96.0.1');
});

test('TCP: a client that sends many queries before reading gets every answer, in order', async (t) => {
  const frames = Array.from({ length: 300 }, (_, i) => aQuery(i + 1, 'many.big.svc.cluster.local'));
  const replies = await tcpExchange(running.port, frames, 300, 10_000);
  t.is(replies.length, 300);
  t.deepEqual(
    replies.map((r) => r.readUInt16BE(0)),
    frames.map((_, i) => i + 1),
  );
});

test('EDNS version 1: BADVERS for class IN, REFUSED for another class (CoreDNS checks the class first)', async (t) => {
  const withOpt = (qclass: number) => {
    const q = aQuery(0x4242, 'kubernetes.default.svc.cluster.local');
    q.writeUInt16BE(qclass, q.length - 2);
    q.writeUInt16BE(1, 10); // ARCOUNT
    const opt = Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 1, 0, 0, 0, 0]); // root, OPT, 1232, rcode 0, version 1
    return Buffer.concat([q, opt]);
  };
  const rcodeOf = (reply: Buffer | null) => (reply ? reply.readUInt16BE(2) & 0xf : -1);
  const inClass = await sendRaw(running.port, withOpt(1));
  t.is(inClass?.readUInt16BE(0), 0x4242);
  t.is(rcodeOf(inClass), 0, 'BADVERS (16) keeps 0 in the header; its upper bits are in the OPT');
  t.true(inClass!.length > 12 + 4, 'an OPT carries the extended rcode');
  t.is(rcodeOf(await sendRaw(running.port, withOpt(3))), 5, 'CH: REFUSED');
});
