import test from 'ava';
import dnsPacket from 'dns-packet';
import { parseQuery, type QueryInfo } from '../../../src/dns/wire/decode.js';
import { decodeMessage } from '../../../src/dns/wire/decode-message.js';
import { encodeMessage } from '../../../src/dns/wire/encode.js';
import { encodeError } from '../../../src/dns/wire/error-response.js';
import { type Edns, emptyHeader, type Message, Opcode, Rcode, RRType } from '../../../src/dns/wire/message.js';
import { ErrorCodes } from '../../../src/errors.js';

const QNAME = 'Svc0.NS0.svc.cluster.local.';
const edns = (over: Partial<Edns> = {}): Edns => ({
  udpSize: 1232,
  version: 0,
  do: false,
  extendedRcode: 0,
  options: [],
  ...over,
});

/** Parse a query and return what an error reply is built from, whatever the verdict was. */
function info(msg: Partial<Message>, extraOpt = false): QueryInfo {
  const bytes = encodeMessage({
    header: { ...emptyHeader(0x4242), rd: true, ad: true, cd: true },
    question: { name: QNAME, type: RRType.A, class: 1 },
    answer: [],
    authority: [],
    additional: [],
    edns: null,
    ...msg,
  });
  if (extraOpt) bytes[11]! += 1;
  const second = Buffer.from('0000290200000000000000', 'hex');
  const result = parseQuery(extraOpt ? Buffer.concat([bytes, second]) : bytes);
  if (extraOpt && (result.ok || result.reason !== 'formerr' || result.detail !== 'multiple-opt')) {
    throw new Error('expected a multiple-opt FORMERR');
  }
  if (result.ok) return result.query;
  if (result.reason === 'short' || result.reason === 'response') throw new Error(result.reason);
  return result.info;
}

test('FORMERR for a query without a question: no question echoed, OPT kept, opcode QUERY', (t) => {
  const reply = decodeMessage(encodeError(info({ question: null, edns: edns() }), Rcode.FORMERR));
  t.is(reply.header.id, 0x4242);
  t.true(reply.header.qr);
  t.false(reply.header.aa);
  t.is(reply.header.rcode, Rcode.FORMERR);
  t.is(reply.header.opcode, Opcode.QUERY);
  t.is(reply.question, null);
  t.is(reply.edns?.udpSize, 1232);
});

test('FORMERR for two OPT records echoes the question', (t) => {
  const q = info({ edns: edns() }, true);
  t.truthy(q.question);
  const reply = decodeMessage(encodeError(q, Rcode.FORMERR));
  t.deepEqual(reply.question, { name: QNAME, type: RRType.A, class: 1 });
});

test('NOTIMP keeps the opcode and echoes the question; no OPT for a query without one', (t) => {
  const q = info({
    header: { ...emptyHeader(7), opcode: Opcode.NOTIFY },
    question: { name: QNAME, type: RRType.SOA, class: 1 },
  });
  const bytes = encodeError(q, Rcode.NOTIMP);
  const reply = decodeMessage(bytes);
  t.is(reply.header.opcode, Opcode.NOTIFY);
  t.is(reply.header.rcode, Rcode.NOTIMP);
  t.deepEqual(reply.question, { name: QNAME, type: RRType.SOA, class: 1 });
  t.is(reply.edns, null);
});

test('SERVFAIL copies RD and CD (not AD) and echoes OPT like CoreDNS: size, DO, known options', (t) => {
  const q = info({
    edns: edns({
      do: true,
      options: [
        { code: 10, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
        { code: 65001, data: Uint8Array.of(9) },
      ],
    }),
  });
  const reply = decodeMessage(encodeError(q, Rcode.SERVFAIL));
  t.true(reply.header.rd);
  t.true(reply.header.cd);
  t.false(reply.header.ad);
  t.is(reply.header.rcode, Rcode.SERVFAIL);
  t.deepEqual(reply.edns, edns({ do: true, options: [{ code: 10, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) }] }));
});

test('REFUSED for a CH query keeps the class and the 0x20 spelling', (t) => {
  const bytes = encodeError(info({ question: { name: QNAME, type: RRType.TXT, class: 3 } }), Rcode.REFUSED);
  t.is(dnsPacket.decode(bytes).questions?.[0]?.name, QNAME.slice(0, -1));
  t.is(decodeMessage(bytes).question?.class, 3);
});

test('BADVERS: rcode 16 split into header and OPT, the OPT as CoreDNS builds it', (t) => {
  const bytes = encodeError(info({ edns: edns({ version: 1, udpSize: 4096, do: true }) }), Rcode.BADVERS);
  t.is(bytes[3]! & 0xf, 0);
  const reply = decodeMessage(bytes);
  t.is(reply.header.rcode, Rcode.BADVERS);
  t.deepEqual(reply.edns, { udpSize: 0, version: 0, do: false, extendedRcode: 1, options: [] });
  t.is(reply.question?.name, QNAME);
  const opt = dnsPacket.decode(bytes).additionals?.[0] as { extendedRcode: number };
  t.is(opt.extendedRcode, 1);
});

test('an extended rcode needs the query to have had OPT', (t) => {
  const err = t.throws(() => encodeError(info({}), Rcode.BADVERS));
  t.is((err as { code?: string } | undefined)?.code, ErrorCodes.DNS_MALFORMED);
});

test('echoed options that would not fit 512 octets are dropped', (t) => {
  const q = info({ edns: edns({ udpSize: 512, options: [{ code: 12, data: new Uint8Array(600) }] }) });
  const bytes = encodeError(q, Rcode.SERVFAIL);
  t.true(bytes.length <= 512);
  t.deepEqual(decodeMessage(bytes).edns?.options, []);
});
