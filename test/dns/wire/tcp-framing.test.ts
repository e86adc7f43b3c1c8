import test from 'ava';
import fc from 'fast-check';
import { frameMessage, TcpFrameReader } from '../../../src/dns/wire/tcp-framing.js';
import { ErrorCodes } from '../../../src/errors.js';

const msg = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);
const hexes = (list: Buffer[]): string[] => list.map((b) => b.toString('hex'));

test('frameMessage prefixes the length', (t) => {
  t.is(frameMessage(Buffer.from('abc')).toString('hex'), '0003616263');
  t.is(frameMessage(Buffer.alloc(0)).toString('hex'), '0000');
  t.is(frameMessage(msg(65535, 1)).length, 65537);
  const err = t.throws(() => frameMessage(msg(65536, 1)));
  t.is((err as { code?: string } | undefined)?.code, ErrorCodes.DNS_MALFORMED);
});

const chunkings: { title: string; chunks: (frames: Buffer) => Buffer[] }[] = [
  { title: 'all in one chunk', chunks: (f) => [f] },
  { title: 'one octet at a time', chunks: (f) => [...f].map((b) => Buffer.of(b)) },
  { title: 'split inside the first length prefix', chunks: (f) => [f.subarray(0, 1), f.subarray(1)] },
  { title: 'split inside a message', chunks: (f) => [f.subarray(0, 7), f.subarray(7)] },
  { title: 'split right after a prefix', chunks: (f) => [f.subarray(0, 2), f.subarray(2)] },
];
const frames = [msg(5, 0xaa), msg(0, 0), msg(300, 0xbb), msg(1, 0xcc)];
const stream = Buffer.concat(frames.map(frameMessage));

for (const { title, chunks } of chunkings) {
  test(`TcpFrameReader: ${title}`, (t) => {
    const reader = new TcpFrameReader();
    const out = chunks(stream).flatMap((c) => reader.push(c));
    t.deepEqual(hexes(out), hexes(frames));
    t.is(reader.pending, 0);
  });
}

test('pending counts octets of an incomplete message, prefix included', (t) => {
  const reader = new TcpFrameReader();
  t.deepEqual(reader.push(Buffer.of(0)), []);
  t.is(reader.pending, 1);
  t.deepEqual(reader.push(Buffer.of(4, 1, 2)), []);
  t.is(reader.pending, 4);
  t.deepEqual(hexes(reader.push(Buffer.of(3, 4, 0))), ['01020304']);
  t.is(reader.pending, 1);
});

test('a whole message inside one chunk is a view, not a copy', (t) => {
  const chunk = frameMessage(Buffer.from('hello'));
  const [out] = new TcpFrameReader().push(chunk);
  t.is(out!.buffer, chunk.buffer);
});

test('any chunking of any frame sequence gives back the same messages', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (messages, cuts) => {
        const all = Buffer.concat(messages.map(frameMessage));
        const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
        const reader = new TcpFrameReader();
        const out: Buffer[] = [];
        let from = 0;
        for (const p of [...points, all.length]) {
          out.push(...reader.push(all.subarray(from, p)));
          from = p;
        }
        t.deepEqual(hexes(out), hexes(messages.map((m) => Buffer.from(m))));
        t.is(reader.pending, 0);
      },
    ),
    { numRuns: 2000 },
  );
});
