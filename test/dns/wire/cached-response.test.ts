import test from 'ava';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { replyFromCache, toCachedResponse } from '../../../src/dns/wire/cached-response.js';
import { type ParsedQuery, parseQuery } from '../../../src/dns/wire/decode.js';
import { replyEdns } from '../../../src/dns/wire/edns.js';
import { encodeMessage, optLength } from '../../../src/dns/wire/encode.js';
import { type Edns, emptyHeader, type Message, type ResourceRecord, RRType } from '../../../src/dns/wire/message.js';
import { namesEqual } from '../../../src/dns/wire/name.js';
import { maxUdpPayload } from '../../../src/dns/wire/size.js';
import { caseVariant, ednsArb, labelArb, messageArb } from './arbitraries.js';

/** A query as a client sends it, parsed the way the server will parse it. */
function ask(
  name: string,
  type: number,
  id: number,
  flags: { rd?: boolean; cd?: boolean },
  edns: Edns | null,
  klass = 1,
): ParsedQuery {
  const bytes = encodeMessage({
    header: { ...emptyHeader(id), rd: flags.rd ?? false, cd: flags.cd ?? false },
    question: { name, type, class: klass },
    answer: [],
    authority: [],
    additional: [],
    edns,
  });
  const result = parseQuery(bytes);
  if (!result.ok) throw new Error(`query did not parse: ${result.reason}`);
  return result.query;
}

/**
 * The response a CoreDNS-like resolver gives to `query`: the template's records, with answer owners equal to the
 * question (ignoring case) spelled like the query; every other name as the template spells it.
 */
function respond(template: Message, qname: string, query: ParsedQuery): Message {
  const from = template.question!.name;
  const owner = (rr: ResourceRecord): ResourceRecord => (namesEqual(rr.name, from) ? { ...rr, name: qname } : rr);
  return {
    header: {
      ...template.header,
      id: query.id,
      rd: (query.flags & 0x0100) !== 0,
      cd: (query.flags & 0x0010) !== 0,
      tc: false,
    },
    question: { ...template.question!, name: qname },
    answer: template.answer.map(owner),
    authority: template.authority,
    additional: template.additional,
    edns: replyEdns(query.edns),
  };
}

const QNAME = 'web.default.svc.cluster.local.';
const aTemplate: Message = {
  header: { ...emptyHeader(), qr: true, aa: true },
  question: { name: QNAME, type: RRType.A, class: 1 },
  answer: [1, 2, 3].map((i) => ({ name: QNAME, class: 1, ttl: 30, type: RRType.A, data: `10.244.1.${i}` })),
  authority: [],
  additional: [],
  edns: null,
};
const COOKIE: Edns = {
  udpSize: 1232,
  version: 0,
  do: false,
  extendedRcode: 0,
  options: [{ code: 10, data: new Uint8Array(8).fill(7) }],
};

test('a cached A answer is re-spelled for a 0x20 query, byte for byte what a fresh encode gives', (t) => {
  const first = ask(QNAME, RRType.A, 1, { rd: true }, null);
  const entry = toCachedResponse(respond(aTemplate, QNAME, first), 512)!;
  t.false(entry.caseDependent);
  const mixed = 'wEb.DeFaUlT.sVc.ClUsTeR.lOcAl.';
  const second = ask(mixed, RRType.A, 0xabcd, { cd: true }, null);
  const reply = replyFromCache(entry, second, 512);
  t.deepEqual(reply, encodeMessage(respond(aTemplate, mixed, second), { limit: 512 }));
  const packet = dnsPacket.decode(reply!);
  t.is(packet.id, 0xabcd);
  t.is(packet.questions?.[0]?.name, mixed.slice(0, -1));
  t.deepEqual(
    packet.answers?.map((rr) => rr.name),
    [mixed, mixed, mixed].map((n) => n.slice(0, -1)),
  );
  t.false(packet.flag_rd);
  t.true(packet.flag_cd);
});

test('the OPT record is per query: added, echoed or left out', (t) => {
  const first = ask(QNAME, RRType.A, 1, {}, COOKIE);
  const entry = toCachedResponse(respond(aTemplate, QNAME, first), maxUdpPayload(first.edns))!;
  for (const edns of [null, COOKIE, { ...COOKIE, udpSize: 4096, do: true, options: [] }]) {
    const q = ask(QNAME, RRType.A, 2, { rd: true }, edns);
    const limit = maxUdpPayload(q.edns);
    t.deepEqual(replyFromCache(entry, q, limit), encodeMessage(respond(aTemplate, QNAME, q), { limit }));
  }
});

test('a case-dependent entry serves only the spelling it was built for', (t) => {
  const qname = '_http._tcp.web.default.svc.cluster.local.';
  const template: Message = {
    ...aTemplate,
    question: { name: qname, type: RRType.SRV, class: 1 },
    answer: [0, 1].map((i) => ({
      name: qname,
      class: 1,
      ttl: 5,
      type: RRType.SRV,
      data: { priority: 0, weight: 50, port: 80, target: `web-${i}.web.default.svc.cluster.local.` },
    })),
  };
  const first = ask(qname, RRType.SRV, 1, {}, null);
  const entry = toCachedResponse(respond(template, qname, first), 512)!;
  t.true(entry.caseDependent, 'the SRV targets repeat the zone literally');
  const same = ask(qname, RRType.SRV, 2, {}, null);
  t.deepEqual(replyFromCache(entry, same, 512), encodeMessage(respond(template, qname, same), { limit: 512 }));
  t.is(replyFromCache(entry, ask(qname.toUpperCase(), RRType.SRV, 3, {}, null), 512), null);
});

test('a truncated entry is only reused for the same limit and OPT size', (t) => {
  const many: Message = {
    ...aTemplate,
    answer: Array.from({ length: 60 }, (_, i) => ({
      name: QNAME,
      class: 1,
      ttl: 5,
      type: RRType.A,
      data: `10.0.0.${i}`,
    })),
  };
  const plain = ask(QNAME, RRType.A, 1, {}, null);
  const entry = toCachedResponse(respond(many, QNAME, plain), 512)!;
  t.true(entry.sizeBound);
  t.not(replyFromCache(entry, ask(QNAME, RRType.A, 2, {}, null), 512), null);
  t.is(replyFromCache(entry, ask(QNAME, RRType.A, 2, {}, COOKIE), 1232), null);
  t.is(replyFromCache(entry, ask(QNAME, RRType.A, 2, {}, null), 65535), null);
  const whole = toCachedResponse(respond(many, QNAME, plain), 65535)!;
  t.false(whole.sizeBound);
  t.is(replyFromCache(whole, ask(QNAME, RRType.A, 2, {}, null), 512), null, 'no longer fits');
  t.not(replyFromCache(whole, ask(QNAME, RRType.A, 2, {}, COOKIE), 65535), null);
});

test('another name or type is never served', (t) => {
  const entry = toCachedResponse(respond(aTemplate, QNAME, ask(QNAME, RRType.A, 1, {}, null)), 512)!;
  t.is(replyFromCache(entry, ask(QNAME, RRType.AAAA, 2, {}, null), 512), null);
  t.is(replyFromCache(entry, ask('web.defaulx.svc.cluster.local.', RRType.A, 2, {}, null), 512), null);
  t.is(replyFromCache(entry, ask('web.default.svc.cluster.loca.', RRType.A, 2, {}, null), 512), null);
});

test('extended rcodes and question-less messages are not cacheable', (t) => {
  t.is(toCachedResponse({ ...aTemplate, header: { ...aTemplate.header, rcode: 16 }, edns: COOKIE }, 512), null);
  t.is(toCachedResponse({ ...aTemplate, question: null, answer: [] }, 512), null);
});

/** Responses a cluster resolver gives most: owners equal to the question, other names outside its zone. */
const shortNameArb = fc.array(labelArb(15), { minLength: 1, maxLength: 5 }).map((labels) => `${labels.join('.')}.`);
const cacheFriendlyArb: fc.Arbitrary<Message> = fc
  .tuple(
    shortNameArb,
    fc.array(
      shortNameArb.map((n) => `${n}example.`),
      { minLength: 1, maxLength: 3 },
    ),
  )
  .chain(([qname, elsewhere]) =>
    messageArb(4).map((msg) => {
      const other = (i: number) => elsewhere[i % elsewhere.length]!;
      const move = (rr: ResourceRecord, i: number, owner: string): ResourceRecord => {
        const base = { ...rr, name: owner };
        switch (base.type) {
          case RRType.CNAME:
          case RRType.NS:
          case RRType.PTR:
            return { ...base, data: other(i + 1) };
          case RRType.SRV:
            return { ...base, data: { ...base.data, target: other(i + 1) } };
          case RRType.SOA:
            return { ...base, data: { ...base.data, mname: other(i), rname: other(i + 1) } };
          default:
            return base;
        }
      };
      return {
        ...msg,
        question: { ...msg.question!, name: qname },
        answer: msg.answer.map((rr, i) => move(rr, i, qname)),
        authority: msg.authority.map((rr, i) => move(rr, i, other(i))),
        additional: msg.additional.map((rr, i) => move(rr, i, other(i))),
      };
    }),
  );

test('cache patching gives exactly the bytes of a fresh encode for another ID, case, flags and OPT', (t) => {
  let served = 0;
  const reasons = { case: 0, size: 0, uncacheable: 0 };
  const queryArb = fc.record({
    id: fc.integer({ min: 0, max: 0xffff }),
    rd: fc.boolean(),
    cd: fc.boolean(),
    edns: fc.option(ednsArb.map((e) => ({ ...e, version: 0 }))),
    tcp: fc.boolean(),
  });
  fc.assert(
    fc.property(
      fc
        .oneof(cacheFriendlyArb, messageArb(8))
        .map((msg) => ({ ...msg, header: { ...msg.header, rcode: msg.header.rcode & 0xf } }))
        .chain((msg) =>
          fc.tuple(
            fc.constant(msg),
            caseVariant(msg.question!.name),
            caseVariant(msg.question!.name),
            queryArb,
            queryArb,
          ),
        ),
      ([template, x, y, q1, q2]) => {
        const { type, class: klass } = template.question!;
        const first = ask(x, type, q1.id, q1, q1.edns, klass);
        const second = ask(y, type, q2.id, q2, q2.edns, klass);
        const limit1 = q1.tcp ? 65535 : maxUdpPayload(first.edns);
        const limit2 = q2.tcp ? 65535 : maxUdpPayload(second.edns);
        const entry = toCachedResponse(respond(template, x, first), limit1);
        if (entry === null) {
          reasons.uncacheable++;
          return;
        }
        const reply = replyFromCache(entry, second, limit2);
        const fresh = encodeMessage(respond(template, y, second), { limit: limit2 });
        if (reply === null) {
          // Only refused for the documented reasons: another spelling of a case-dependent entry, or a size misfit.
          const optLen = optLength(replyEdns(second.edns));
          const caseMismatch = entry.caseDependent && x !== y;
          const sizeMismatch = entry.sizeBound
            ? Math.max(limit2, 512) !== entry.limit || optLen !== entry.optLength
            : entry.body.length + optLen > limit2;
          t.true(caseMismatch || sizeMismatch);
          reasons[caseMismatch ? 'case' : 'size']++;
          return;
        }
        served++;
        t.deepEqual(reply, fresh);
      },
    ),
    { numRuns: 1500 },
  );
  t.log(`${served} of 1500 replies came from the cache; not served: ${JSON.stringify(reasons)}`);
  t.true(served > 500);
});
