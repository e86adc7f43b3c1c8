import test from 'ava';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { decodeMessage } from '../../../src/dns/wire/decode-message.js';
import { encodeDetailed, encodeMessage, groupRRsets } from '../../../src/dns/wire/encode.js';
import { type Edns, emptyHeader, type Message, type ResourceRecord, RRType } from '../../../src/dns/wire/message.js';
import { canonicalName } from '../../../src/dns/wire/name.js';
import { maxUdpPayload, responseLimit, truncate } from '../../../src/dns/wire/size.js';
import { messageArb } from './arbitraries.js';

const sizeCases: [Pick<Edns, 'udpSize'> | null, number][] = [
  [null, 512],
  [{ udpSize: 0 }, 512],
  [{ udpSize: 511 }, 512],
  [{ udpSize: 512 }, 512],
  [{ udpSize: 800 }, 800],
  [{ udpSize: 1232 }, 1232],
  [{ udpSize: 1400 }, 1232],
  [{ udpSize: 4096 }, 1232],
  [{ udpSize: 65535 }, 1232],
];
for (const [edns, limit] of sizeCases) {
  test(`maxUdpPayload(${JSON.stringify(edns)}) is ${limit}`, (t) => {
    t.is(maxUdpPayload(edns), limit);
    t.is(responseLimit('udp', edns), limit);
    t.is(responseLimit('tcp', edns), 65535);
  });
}

const BIG = 'big.ns0.svc.cluster.local.';
const EDNS: Edns = { udpSize: 1232, version: 0, do: false, extendedRcode: 0, options: [] };
const a = (name: string, i: number): ResourceRecord => ({
  name,
  class: 1,
  ttl: 5,
  type: RRType.A,
  data: `10.0.${i >> 8}.${i & 255}`,
});
function message(answer: ResourceRecord[], rest: Partial<Message> = {}): Message {
  return {
    header: { ...emptyHeader(1), qr: true, aa: true, rd: true },
    question: { name: BIG, type: RRType.A, class: 1 },
    answer,
    authority: [],
    additional: [],
    edns: null,
    ...rest,
  };
}
const sixty = Array.from({ length: 60 }, (_, i) => a(BIG, i));

test('60 A records without EDNS: the RRset is dropped whole, TC set, 43 octets as Knot sent', (t) => {
  const r = encodeDetailed(message(sixty), { limit: 512 });
  t.true(r.truncated);
  t.is(r.bytes.length, 43);
  const packet = dnsPacket.decode(r.bytes);
  t.true(packet.flag_tc);
  t.is(packet.answers?.length, 0);
  t.deepEqual(truncate(message(sixty), 512).answer, []);
});

test('60 A records with EDNS 1232: 1014 octets, as Knot sent for dig +bufsize=1232', (t) => {
  const r = encodeDetailed(message(sixty, { edns: EDNS }), { limit: maxUdpPayload(EDNS) });
  t.false(r.truncated);
  t.is(r.bytes.length, 1014);
});

test('the OPT record is reserved for and kept, options included', (t) => {
  const edns: Edns = { ...EDNS, options: [{ code: 10, data: new Uint8Array(8) }] };
  const answer = Array.from({ length: 29 }, (_, i) => a(BIG, i));
  // 43 + 29 × 16 = 507: fits 512 alone, not with the 23-octet OPT.
  const r = encodeDetailed(message(answer, { edns }), { limit: 512 });
  t.true(r.truncated);
  t.true(r.bytes.length <= 512);
  t.deepEqual(
    decodeMessage(r.bytes).edns?.options.map((o) => o.code),
    [10],
  );
  t.is(decodeMessage(r.bytes).answer.length, 0);
  t.false(encodeDetailed(message(answer), { limit: 512 }).truncated);
});

test('a CNAME that fits is kept while the A RRset after it is dropped, and later sections with it', (t) => {
  const target = 'target.ns0.svc.cluster.local.';
  const cname: ResourceRecord = { name: BIG, class: 1, ttl: 5, type: RRType.CNAME, data: target };
  const msg = message([cname, ...Array.from({ length: 40 }, (_, i) => a(target, i))], {
    additional: [a('glue.cluster.local.', 1)],
  });
  const cut = truncate(msg, 512);
  t.deepEqual(cut.answer, [cname]);
  t.deepEqual(cut.additional, []);
  t.true(cut.header.tc);
  t.deepEqual(encodeMessage(cut), encodeMessage(msg, { limit: 512 }));
});

test('dropping only additional records sets TC too (miekg: any RR omitted)', (t) => {
  const glue = Array.from({ length: 40 }, (_, i) => a(`host${i}.cluster.local.`, i));
  const msg = message([a(BIG, 1)], { additional: glue });
  const cut = truncate(msg, 512);
  t.is(cut.answer.length, 1);
  t.true(cut.additional.length > 0 && cut.additional.length < 40);
  t.true(cut.header.tc);
});

test('RRsets are grouped case-insensitively even when not adjacent', (t) => {
  const other = 'other.cluster.local.';
  const msg = message([a(BIG, 1), a(other, 2), a(BIG.toUpperCase(), 3)]);
  t.deepEqual(
    groupRRsets(msg.answer).map((g) => g.length),
    [2, 1],
  );
  const fits = truncate(msg, 512);
  t.is(fits, msg, 'a message that fits is returned as is');
});

test('limits below 512 count as 512', (t) => {
  t.deepEqual(encodeMessage(message(sixty), { limit: 100 }), encodeMessage(message(sixty), { limit: 512 }));
});

const rrsetKey = (rr: ResourceRecord): string => `${canonicalName(rr.name)} ${rr.type} ${rr.class}`;

test('truncate: fits the limit, keeps OPT, keeps whole RRsets in order, TC iff something was dropped', (t) => {
  let truncatedRuns = 0;
  fc.assert(
    fc.property(messageArb(30), fc.integer({ min: 512, max: 4096 }), (msg, limit) => {
      const r = encodeDetailed(msg, { limit });
      t.true(r.bytes.length <= limit);
      const cut = truncate(msg, limit);
      t.deepEqual(encodeMessage(cut), r.bytes, 'the truncated message encodes to the same bytes');
      const decoded = decodeMessage(r.bytes);
      t.is(decoded.edns === null, msg.edns === null, 'OPT kept');
      const sections = [msg.answer, msg.authority, msg.additional];
      const kept = [cut.answer, cut.authority, cut.additional];
      const total = (s: ResourceRecord[][]) => s.reduce((n, x) => n + x.length, 0);
      const dropped = total(kept) < total(sections);
      t.is(r.truncated, dropped);
      if (dropped) truncatedRuns++;
      t.is(decoded.header.tc, dropped);
      // Whole RRsets, as a prefix of the RRsets in section order.
      let stopped = false;
      for (let s = 0; s < 3; s++) {
        const groups = groupRRsets(sections[s]!);
        const keptGroups = groupRRsets(kept[s]!);
        if (stopped) t.is(keptGroups.length, 0);
        for (let g = 0; g < groups.length; g++) {
          const keptGroup = keptGroups[g];
          if (keptGroup === undefined) {
            if (!stopped) {
              // The first RRset left out really does not fit.
              const withIt = { ...cut, header: { ...cut.header, tc: false } };
              const next = [...kept[s]!, ...groups[g]!];
              const probe = { ...withIt, [['answer', 'authority', 'additional'][s]!]: next };
              t.true(encodeMessage(probe).length > limit);
            }
            stopped = true;
            break;
          }
          t.is(rrsetKey(keptGroup[0]!), rrsetKey(groups[g]![0]!));
          t.is(keptGroup.length, groups[g]!.length);
        }
      }
    }),
    { numRuns: 300 },
  );
  t.log(`${truncatedRuns} of 300 messages needed truncation`);
  t.true(truncatedRuns > 30);
});
