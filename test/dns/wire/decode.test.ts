import test from 'ava';
import { type FormErrDetail, parseQuery, type QueryParseResult } from '../../../src/dns/wire/decode.js';
import { isUnsupportedVersion } from '../../../src/dns/wire/edns.js';
import { nameToWire } from '../../../src/dns/wire/name.js';

/** Raw query bytes: header fields, then the given sections as already encoded octets. */
function query(opts: {
  id?: number;
  flags?: number;
  counts?: [number, number, number, number];
  body?: (number[] | Uint8Array | string)[];
}): Buffer {
  const body = Buffer.concat(
    (opts.body ?? []).map((part) =>
      typeof part === 'string' ? Buffer.from(part, 'hex') : Buffer.from(part as Uint8Array),
    ),
  );
  const header = Buffer.alloc(12);
  header.writeUInt16BE(opts.id ?? 0xbeef, 0);
  header.writeUInt16BE(opts.flags ?? 0x0100, 2);
  const [qd, an, ns, ar] = opts.counts ?? [1, 0, 0, 0];
  header.writeUInt16BE(qd, 4);
  header.writeUInt16BE(an, 6);
  header.writeUInt16BE(ns, 8);
  header.writeUInt16BE(ar, 10);
  return Buffer.concat([header, body]);
}

const Q = (name: string, type = 1, klass = 1): Uint8Array =>
  Buffer.concat([nameToWire(name), Buffer.from([type >> 8, type & 0xff, klass >> 8, klass & 0xff])]);
/** An OPT record: root owner, udp size, ext rcode, version, flags, then options as [code, hex data]. */
function opt(udp: number, version = 0, flags = 0, options: [number, string][] = []): Buffer {
  const data = Buffer.concat(
    options.map(([code, hex]) => {
      const d = Buffer.from(hex, 'hex');
      const h = Buffer.alloc(4);
      h.writeUInt16BE(code, 0);
      h.writeUInt16BE(d.length, 2);
      return Buffer.concat([h, d]);
    }),
  );
  const fixed = Buffer.alloc(11);
  fixed.writeUInt16BE(41, 1);
  fixed.writeUInt16BE(udp, 3);
  fixed[6] = version;
  fixed.writeUInt16BE(flags, 7);
  fixed.writeUInt16BE(data.length, 9);
  return Buffer.concat([fixed, data]);
}

const QNAME = 'Web.DEFAULT.svc.cluster.local.';

type Expect =
  | { reason: 'short' | 'response' }
  | { reason: 'notimp' | 'formerr'; detail?: FormErrDetail; question?: string | null; opcode?: number }
  | {
      reason: 'ok';
      name?: string;
      udp?: number | null;
      version?: number;
      do?: boolean;
      z?: number;
      trailing?: number;
    };

const cases: { title: string; buf: Buffer; expect: Expect }[] = [
  { title: 'empty datagram', buf: Buffer.alloc(0), expect: { reason: 'short' } },
  { title: '11 octets', buf: Buffer.alloc(11), expect: { reason: 'short' } },
  { title: 'QR set: a response', buf: query({ flags: 0x8100, body: [Q(QNAME)] }), expect: { reason: 'response' } },
  {
    title: 'NOTIFY is not implemented',
    buf: query({ flags: 4 << 11, body: [Q(QNAME, 6)] }),
    expect: { reason: 'notimp', opcode: 4, question: 'web.default.svc.cluster.local.' },
  },
  {
    title: 'STATUS without a question',
    buf: query({ flags: 2 << 11, counts: [0, 0, 0, 0] }),
    expect: { reason: 'notimp', opcode: 2, question: null },
  },
  {
    title: 'no question (miekg rejects qdcount 0 with FORMERR)',
    buf: query({ counts: [0, 0, 0, 0] }),
    expect: { reason: 'formerr', detail: 'qdcount', question: null },
  },
  {
    title: 'two questions',
    buf: query({ counts: [2, 0, 0, 0], body: [Q('a.'), Q('b.')] }),
    expect: { reason: 'formerr', detail: 'qdcount', question: 'a.' },
  },
  {
    title: 'two answers in a query',
    buf: query({ counts: [1, 2, 0, 0], body: [Q('a.')] }),
    expect: { reason: 'formerr', detail: 'ancount' },
  },
  {
    title: 'two authority records',
    buf: query({ counts: [1, 0, 2, 0], body: [Q('a.')] }),
    expect: { reason: 'formerr', detail: 'nscount' },
  },
  {
    title: 'three additional records',
    buf: query({ counts: [1, 0, 0, 3], body: [Q('a.')] }),
    expect: { reason: 'formerr', detail: 'arcount' },
  },
  {
    title: 'header only, qdcount 1',
    buf: query({}),
    expect: { reason: 'formerr', detail: 'question', question: null },
  },
  {
    title: 'question without type and class',
    buf: query({ body: [nameToWire('a.'), [0, 1]] }),
    expect: { reason: 'formerr', detail: 'question', question: null },
  },
  {
    title: 'pointer loop in the question',
    buf: query({ body: ['0161c00c00010001'] }),
    expect: { reason: 'formerr', detail: 'question' },
  },
  {
    title: 'forward pointer',
    buf: query({ body: ['c0100001000100'] }),
    expect: { reason: 'formerr', detail: 'question' },
  },
  {
    title: 'reserved label type 0x40',
    buf: query({ body: ['41610000010001'] }),
    expect: { reason: 'formerr', detail: 'question' },
  },
  {
    title: 'name over 255 octets',
    buf: query({ body: [`${`3f${'61'.repeat(63)}`.repeat(4)}0000010001`] }),
    expect: { reason: 'formerr', detail: 'question' },
  },
  {
    title: 'a pointer back into the header is followed (ARCOUNT low octet 0 is a root label)',
    buf: query({ body: ['03777777c00b00010001'] }),
    expect: { reason: 'ok', name: 'www.' },
  },
  {
    title: '0x20 case is kept in the wire form, folded in the name',
    buf: query({ body: [Q(QNAME, 28)] }),
    expect: { reason: 'ok', name: 'web.default.svc.cluster.local.', udp: null },
  },
  { title: 'root question', buf: query({ body: [Q('.', 2)] }), expect: { reason: 'ok', name: '.' } },
  {
    title: 'odd octets are escaped like miekg prints them',
    buf: query({ body: ['03612e42024320' + '0100' + '00' + '00010001'] }),
    expect: { reason: 'ok', name: 'a\\.b.c\\ .\\000.' },
  },
  {
    title: 'EDNS with DO and a COOKIE',
    buf: query({ counts: [1, 0, 0, 1], body: [Q(QNAME), opt(1232, 0, 0x8000, [[10, '0102030405060708']])] }),
    expect: { reason: 'ok', udp: 1232, version: 0, do: true, z: 0 },
  },
  {
    title: 'EDNS Z bits beside DO are kept (CoreDNS echoes that octet); the low octet is not',
    buf: query({ counts: [1, 0, 0, 1], body: [Q(QNAME), opt(1232, 0, 0x41ff)] }),
    expect: { reason: 'ok', do: false, z: 0x41 },
  },
  {
    title: 'unknown EDNS options are tolerated',
    buf: query({
      counts: [1, 0, 0, 1],
      body: [
        Q(QNAME),
        opt(4096, 0, 0, [
          [65001, 'ff'],
          [3, ''],
        ]),
      ],
    }),
    expect: { reason: 'ok', udp: 4096 },
  },
  {
    title: 'EDNS version 1 parses (the server answers BADVERS)',
    buf: query({ counts: [1, 0, 0, 1], body: [Q(QNAME), opt(1232, 1)] }),
    expect: { reason: 'ok', version: 1 },
  },
  {
    title: 'two OPT records (RFC 6891 §6.1.1)',
    buf: query({ counts: [1, 0, 0, 2], body: [Q(QNAME), opt(1232), opt(512)] }),
    expect: { reason: 'formerr', detail: 'multiple-opt', question: 'web.default.svc.cluster.local.' },
  },
  {
    title: 'OPT in the answer section',
    buf: query({ counts: [1, 1, 0, 0], body: [Q(QNAME), opt(1232)] }),
    expect: { reason: 'formerr', detail: 'opt-section' },
  },
  {
    title: 'EDNS option longer than the RDATA',
    buf: query({ counts: [1, 0, 0, 1], body: [Q(QNAME), opt(1232).subarray(0, 9), '0004', '000a0009', 'aabb'] }),
    expect: { reason: 'formerr', detail: 'opt-options' },
  },
  {
    title: 'RDATA past the end',
    buf: query({ counts: [1, 0, 0, 1], body: [Q(QNAME), opt(1232).subarray(0, 9), '0010'] }),
    expect: { reason: 'formerr', detail: 'record' },
  },
  {
    title: 'trailing garbage is ignored, like miekg',
    buf: query({ body: [Q(QNAME), 'deadbeef'] }),
    expect: { reason: 'ok', trailing: 4 },
  },
];

function check(t: import('ava').ExecutionContext, result: QueryParseResult, expect: Expect): void {
  if (result.ok) {
    t.is(expect.reason, 'ok');
    if (expect.reason !== 'ok') return;
    const q = result.query;
    if (expect.name !== undefined) t.is(q.question.name, expect.name);
    if (expect.udp !== undefined) t.is(q.edns?.udpSize ?? null, expect.udp);
    if (expect.version !== undefined) t.is(q.edns?.version, expect.version);
    if (expect.do !== undefined) t.is(q.edns?.do, expect.do);
    if (expect.z !== undefined) t.is(q.edns?.z ?? 0, expect.z);
    if (expect.trailing !== undefined) t.is(q.trailing, expect.trailing);
    return;
  }
  t.is(result.reason as string, expect.reason as string);
  if ((result.reason === 'formerr' || result.reason === 'notimp') && 'question' in expect) {
    if (expect.question !== undefined) t.is(result.info.question?.name ?? null, expect.question);
    if (expect.opcode !== undefined) t.is(result.info.opcode, expect.opcode);
  }
  if (result.reason === 'formerr' && 'detail' in expect && expect.detail !== undefined)
    t.is(result.detail, expect.detail);
}

for (const { title, buf, expect } of cases) {
  test(`parseQuery: ${title}`, (t) => check(t, parseQuery(buf), expect));
}

test('the question keeps the exact wire bytes for 0x20 and cache patching', (t) => {
  const result = parseQuery(query({ body: [Q(QNAME, 28)] }));
  t.true(result.ok);
  if (!result.ok) return;
  t.deepEqual(Buffer.from(result.query.question.wire), Buffer.from(nameToWire(QNAME)));
  t.false(result.query.question.compressed);
  t.is(result.query.question.type, 28);
  t.is(result.query.id, 0xbeef);
  t.is(result.query.flags, 0x0100);
});

test('a compressed question name is expanded', (t) => {
  const result = parseQuery(query({ body: ['03777777c00b00010001'] }));
  t.true(result.ok && result.query.question.compressed);
  if (result.ok) t.is(Buffer.from(result.query.question.wire).toString('hex'), '0377777700');
});

test('BADVERS is the server’s call, from the parsed version', (t) => {
  const v1 = parseQuery(query({ counts: [1, 0, 0, 1], body: [Q(QNAME), opt(1232, 1)] }));
  const v0 = parseQuery(query({ counts: [1, 0, 0, 1], body: [Q(QNAME), opt(1232, 0)] }));
  t.true(v1.ok && isUnsupportedVersion(v1.query.edns));
  t.true(v0.ok && !isUnsupportedVersion(v0.query.edns));
});
