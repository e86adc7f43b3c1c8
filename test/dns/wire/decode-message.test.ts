import test from 'ava';
import { decodeMessage } from '../../../src/dns/wire/decode-message.js';
import { encodeMessage } from '../../../src/dns/wire/encode.js';
import { emptyHeader, type Message, RRType } from '../../../src/dns/wire/message.js';
import { ErrorCodes } from '../../../src/errors.js';

const msg: Message = {
  header: { ...emptyHeader(5), qr: true, aa: true },
  question: { name: 'svc.ns.svc.cluster.local.', type: RRType.A, class: 1 },
  answer: [{ name: 'svc.ns.svc.cluster.local.', type: RRType.A, class: 1, ttl: 5, data: '10.96.0.1' }],
  authority: [],
  additional: [],
  edns: { udpSize: 1232, version: 0, do: true, extendedRcode: 0, options: [{ code: 10, data: Uint8Array.of(1, 2) }] },
};
const good = encodeMessage(msg);
// Offsets in `good`: question name 12–37, type and class 38–41, answer owner c00c at 42, type at 44, RDLENGTH at
// 52, RDATA 54–57, OPT from 58.

function edit(at: number, bytes: number[]): Buffer {
  const out = Buffer.from(good);
  out.set(bytes, at);
  return out;
}

test('decodeMessage reads back what we encode', (t) => {
  t.is(good.readUInt16BE(42), 0xc00c);
  t.is(good.readUInt16BE(52), 4);
  t.is(good[58], 0);
  t.is(good.readUInt16BE(59), RRType.OPT);
  const decoded = decodeMessage(good);
  t.is(decoded.header.id, 5);
  t.true(decoded.header.aa);
  t.deepEqual(decoded.answer, msg.answer);
  t.deepEqual(decoded.edns, { ...msg.edns!, options: [{ code: 10, data: Uint8Array.of(1, 2) }] });
});

const malformed: { title: string; buf: Uint8Array }[] = [
  { title: 'shorter than a header', buf: good.subarray(0, 11) },
  { title: 'cut inside the question', buf: good.subarray(0, 30) },
  { title: 'cut inside RDATA', buf: good.subarray(0, 57) },
  { title: 'trailing octets (dns-packet ignores them)', buf: Buffer.concat([good, Buffer.of(0)]) },
  { title: 'A with RDLENGTH 3 (dns-packet returns 10.96.undefined…)', buf: edit(52, [0, 3]) },
  { title: 'forward pointer', buf: edit(42, [0xc0, 0x30]) },
  { title: 'pointer to itself', buf: edit(42, [0xc0, 0x2a]) },
  { title: 'two questions', buf: edit(4, [0, 2]) },
  { title: 'second OPT', buf: Buffer.concat([edit(10, [0, 2]), good.subarray(58)]) },
  { title: 'unsupported record type (MX)', buf: edit(44, [0, 15]) },
];

for (const { title, buf } of malformed) {
  test(`decodeMessage rejects ${title}`, (t) => {
    const err = t.throws(() => decodeMessage(buf));
    t.is((err as { code?: string } | undefined)?.code, ErrorCodes.DNS_MALFORMED);
  });
}
