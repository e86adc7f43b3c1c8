import test from 'ava';
import dnsPacket from 'dns-packet';
import { decodeMessage } from '../../../src/dns/wire/decode-message.js';
import { encodeDetailed, encodeMessage } from '../../../src/dns/wire/encode.js';
import { emptyHeader, type Message, type ResourceRecord, RRType } from '../../../src/dns/wire/message.js';
import { ErrorCodes } from '../../../src/errors.js';
import { checkPointers, normalize } from './helpers.js';

const QNAME = 'web.default.svc.cluster.local.';

function reply(answer: ResourceRecord[], extra: Partial<Message> = {}): Message {
  return {
    header: { ...emptyHeader(0x1234), qr: true, aa: true, rd: true },
    question: { name: QNAME, type: RRType.A, class: 1 },
    answer,
    authority: [],
    additional: [],
    edns: null,
    ...extra,
  };
}

const base = { name: QNAME, class: 1, ttl: 30 };
// The question name sits at 12 (31 octets); `svc` starts at 24 (0x18), `cluster` at 28 (0x1c). The first answer's
// owner is at 47 and is the pointer c00c; its RDATA starts at 59.
const RDATA_AT = 59;
const typeCases: { title: string; rr: ResourceRecord; rdata: string; packet: unknown }[] = [
  { title: 'A', rr: { ...base, type: RRType.A, data: '10.96.0.10' }, rdata: '0a60000a', packet: '10.96.0.10' },
  {
    title: 'AAAA',
    rr: { ...base, type: RRType.AAAA, data: 'FD00:10:96:0:0::a' },
    rdata: 'fd00001000960000000000000000000a',
    packet: 'fd00:10:96::a',
  },
  {
    title: 'CNAME target compressed into the question',
    rr: { ...base, type: RRType.CNAME, data: 'svc.cluster.local.' },
    rdata: 'c018',
    packet: 'svc.cluster.local',
  },
  {
    title: 'PTR equal to the question is a pointer to 12',
    rr: { ...base, type: RRType.PTR, data: QNAME },
    rdata: 'c00c',
    packet: 'web.default.svc.cluster.local',
  },
  {
    title: 'NS partly compressed',
    rr: { ...base, type: RRType.NS, data: 'ns.dns.cluster.local' },
    rdata: '026e7303646e73c01c',
    packet: 'ns.dns.cluster.local',
  },
  {
    title: 'SRV target never compressed (RFC 2782, miekg)',
    rr: { ...base, type: RRType.SRV, data: { priority: 0, weight: 33, port: 8080, target: `web-0.${QNAME}` } },
    rdata: '000000211f90' + '057765622d3003776562076465666175' + '6c740373766307636c7573746572056c6f63616c00',
    packet: { priority: 0, weight: 33, port: 8080, target: 'web-0.web.default.svc.cluster.local' },
  },
  {
    title: 'SOA with both names compressed',
    rr: {
      ...base,
      type: RRType.SOA,
      data: {
        mname: 'ns.dns.cluster.local.',
        rname: 'hostmaster.cluster.local.',
        serial: 1,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: 5,
      },
    },
    rdata: '026e7303646e73c01c' + '0a686f73746d6173746572c01c' + '0000000100001c2000000708000151800000' + '0005',
    packet: {
      mname: 'ns.dns.cluster.local',
      rname: 'hostmaster.cluster.local',
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: 5,
    },
  },
  {
    title: 'TXT with an empty string',
    rr: { ...base, type: RRType.TXT, data: ['hello', ''] },
    rdata: '0568656c6c6f00',
    packet: [Buffer.from('hello'), Buffer.alloc(0)],
  },
  {
    title: 'TXT is UTF-8',
    rr: { ...base, type: RRType.TXT, data: ['é'] },
    rdata: '02c3a9',
    packet: [Buffer.from('é')],
  },
];

for (const { title, rr, rdata, packet } of typeCases) {
  test(`encode ${title}`, (t) => {
    const msg = reply([rr]);
    const bytes = encodeMessage(msg);
    t.is(bytes.subarray(47, 49).toString('hex'), 'c00c', 'owner equal to the question points at it');
    const rdlength = bytes.readUInt16BE(RDATA_AT - 2);
    t.is(bytes.subarray(RDATA_AT, RDATA_AT + rdlength).toString('hex'), rdata);
    t.is(RDATA_AT + rdlength, bytes.length);
    t.deepEqual(decodeMessage(bytes), normalize(msg));
    const decoded = dnsPacket.decode(bytes);
    t.deepEqual((decoded.answers?.[0] as { data: unknown } | undefined)?.data, packet);
    checkPointers(bytes);
  });
}

test('60 A records compress to the size Knot sends (toolchain.md: 2503 B uncompressed, 1003 B from Knot)', (t) => {
  const name = 'big.ns0.svc.cluster.local.';
  const answer: ResourceRecord[] = [];
  for (let i = 0; i < 60; i++) answer.push({ name, class: 1, ttl: 5, type: RRType.A, data: `10.244.0.${i + 1}` });
  const msg = reply(answer, { question: { name, type: RRType.A, class: 1 } });
  t.is(encodeMessage(msg, { compress: false }).length, 2503);
  t.is(encodeMessage(msg).length, 1003);
  // The issue's own name: 12 + 35 (question) + 60 × 16 (pointer, fixed fields, address).
  const web = reply(answer.map((rr) => ({ ...rr, name: QNAME })));
  t.is(encodeMessage(web).length, 12 + 35 + 60 * 16);
});

test('headless SRV answer (3 SRV + 3 A + OPT) matches Knot: 273 B, vs 483 B uncompressed', (t) => {
  const qname = '_http._tcp.web0.ns0.svc.cluster.local.';
  const targets = [0, 1, 2].map((i) => `web0-${i}.web0.ns0.svc.cluster.local.`);
  const msg = reply(
    targets.map((target) => ({
      name: qname,
      class: 1,
      ttl: 5,
      type: RRType.SRV,
      data: { priority: 0, weight: 33, port: 8080, target },
    })),
    {
      question: { name: qname, type: RRType.SRV, class: 1 },
      additional: targets.map((target, i) => ({
        name: target,
        class: 1,
        ttl: 5,
        type: RRType.A,
        data: `10.244.0.${i}`,
      })),
      edns: { udpSize: 1232, version: 0, do: false, extendedRcode: 0, options: [] },
    },
  );
  t.is(encodeMessage(msg).length, 273);
  t.is(encodeMessage(msg, { compress: false }).length, 483);
  // The glue owners point into the (uncompressed) SRV targets.
  t.true(checkPointers(encodeMessage(msg)) >= 6);
});

test('compression is case-sensitive: a differently spelled owner is written in full', (t) => {
  const same = encodeDetailed(reply([{ ...base, type: RRType.A, data: '10.0.0.1' }]));
  t.false(same.caseDependent);
  const other = encodeDetailed(
    reply([{ ...base, name: 'WEB.default.svc.cluster.local.', type: RRType.A, data: '10.0.0.1' }]),
  );
  // WEB is literal, the rest points at `default.svc…` in the question.
  t.is(other.bytes.subarray(47, 53).toString('hex'), '03574542c010');
  t.true(other.caseDependent);
  t.is(dnsPacket.decode(other.bytes).answers?.[0]?.name, 'WEB.default.svc.cluster.local');
});

test('names without the trailing dot are the same names', (t) => {
  const dotted = encodeMessage(reply([{ ...base, type: RRType.CNAME, data: 'a.cluster.local.' }]));
  const bare = encodeMessage(
    reply([{ ...base, name: 'web.default.svc.cluster.local', type: RRType.CNAME, data: 'a.cluster.local' }], {
      question: { name: 'web.default.svc.cluster.local', type: RRType.A, class: 1 },
    }),
  );
  t.deepEqual(bare, dotted);
});

test('escaped names round-trip', (t) => {
  const msg = reply([{ ...base, type: RRType.PTR, data: 'a\\.b.c\\\\d.\\000x.cluster.local.' }]);
  const answer = decodeMessage(encodeMessage(msg)).answer[0];
  t.is(answer?.type === RRType.PTR ? answer.data : undefined, 'a\\.b.c\\\\d.\\000x.cluster.local.');
});

test('extended rcode goes to the OPT record', (t) => {
  const msg = reply([], {
    header: { ...emptyHeader(9), qr: true, rcode: 16 },
    edns: { udpSize: 0, version: 0, do: false, extendedRcode: 0, options: [] },
  });
  const bytes = encodeMessage(msg);
  t.is(bytes[3]! & 0xf, 0);
  const opt = dnsPacket.decode(bytes).additionals?.[0] as { extendedRcode: number };
  t.is(opt.extendedRcode, 1);
  t.is(decodeMessage(bytes).header.rcode, 16);
});

const errorCases: { title: string; msg: Message; code: string }[] = [
  {
    title: 'label over 63 octets',
    msg: reply([{ ...base, name: `${'a'.repeat(64)}.x.`, type: RRType.A, data: '1.2.3.4' }]),
    code: ErrorCodes.DNS_NAME_INVALID,
  },
  {
    title: 'empty label',
    msg: reply([{ ...base, type: RRType.CNAME, data: 'a..b.' }]),
    code: ErrorCodes.DNS_NAME_INVALID,
  },
  {
    title: 'name over 255 octets',
    msg: reply([], { question: { name: `${'a.'.repeat(127)}b.`, type: 1, class: 1 } }),
    code: ErrorCodes.DNS_NAME_INVALID,
  },
  {
    title: 'space in a name',
    msg: reply([{ ...base, type: RRType.SRV, data: { priority: 0, weight: 0, port: 0, target: 'a b.' } }]),
    code: ErrorCodes.DNS_NAME_INVALID,
  },
  { title: 'bad IPv4', msg: reply([{ ...base, type: RRType.A, data: '10.1' }]), code: ErrorCodes.DNS_MALFORMED },
  { title: 'bad IPv6', msg: reply([{ ...base, type: RRType.AAAA, data: '1::2::3' }]), code: ErrorCodes.DNS_MALFORMED },
  {
    title: 'TXT string over 255 octets',
    msg: reply([{ ...base, type: RRType.TXT, data: ['x'.repeat(256)] }]),
    code: ErrorCodes.DNS_MALFORMED,
  },
  {
    title: 'extended rcode without EDNS',
    msg: reply([], { header: { ...emptyHeader(), rcode: 16 } }),
    code: ErrorCodes.DNS_MALFORMED,
  },
  {
    title: 'negative TTL',
    msg: reply([{ ...base, ttl: -1, type: RRType.A, data: '1.2.3.4' }]),
    code: ErrorCodes.DNS_MALFORMED,
  },
  {
    title: 'unsupported type',
    msg: reply([{ ...base, type: 15, data: 'mx' } as unknown as ResourceRecord]),
    code: ErrorCodes.DNS_MALFORMED,
  },
  {
    title: 'over 65535 octets',
    msg: reply(
      Array.from({ length: 300 }, () => ({ ...base, type: RRType.TXT, data: ['x'.repeat(255)] }) as ResourceRecord),
    ),
    code: ErrorCodes.DNS_MALFORMED,
  },
];

for (const { title, msg, code } of errorCases) {
  test(`encode rejects ${title}`, (t) => {
    const err = t.throws(() => encodeMessage(msg));
    t.is((err as { code?: string } | undefined)?.code, code);
  });
}

test('the writer is reusable after a failed encode', (t) => {
  t.throws(() => encodeMessage(reply([{ ...base, type: RRType.CNAME, data: 'a..b.' }])));
  const bytes = encodeMessage(reply([{ ...base, type: RRType.A, data: '10.0.0.1' }]));
  t.deepEqual(decodeMessage(bytes).answer, [{ ...base, type: RRType.A, data: '10.0.0.1' }]);
});

test('many distinct names: the compression table grows, pointers stay below 0x4000, truncation rolls back', (t) => {
  const answer: ResourceRecord[] = Array.from({ length: 1200 }, (_, i) => ({
    name: `host-${i}.ns${i % 7}.svc.cluster.local.`,
    class: 1,
    ttl: 5,
    type: RRType.A,
    data: `10.1.${i >> 8}.${i & 255}`,
  }));
  const msg = reply(answer);
  const bytes = encodeMessage(msg);
  t.true(bytes.length > 0x4000);
  checkPointers(bytes);
  for (let at = 12; at < bytes.length - 1; at++) {
    if ((bytes[at]! & 0xc0) === 0xc0 && bytes.readUInt16BE(at) - 0xc000 > 0x3fff)
      t.fail(`pointer past 0x3fff at ${at}`);
  }
  t.deepEqual(decodeMessage(bytes), normalize(msg));
  t.true(bytes.length < encodeMessage(msg, { compress: false }).length);
  const cut = encodeDetailed(msg, { limit: 4096 });
  t.true(cut.truncated && cut.bytes.length <= 4096);
  checkPointers(cut.bytes);
  t.is(decodeMessage(cut.bytes).answer.length, dnsPacket.decode(cut.bytes).answers?.length ?? -1);
});
