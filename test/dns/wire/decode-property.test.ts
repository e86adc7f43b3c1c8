import test from 'ava';
import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { parseQuery } from '../../../src/dns/wire/decode.js';
import { nameFromWire } from '../../../src/dns/wire/name.js';
import { longNameArb } from './arbitraries.js';

const TYPES: [string, number][] = [
  ['A', 1],
  ['NS', 2],
  ['SOA', 6],
  ['PTR', 12],
  ['TXT', 16],
  ['AAAA', 28],
  ['SRV', 33],
  ['ANY', 255],
  ['UNKNOWN_65', 65],
  ['UNKNOWN_64', 64],
];
const CLASSES: [string, number][] = [
  ['IN', 1],
  ['CH', 3],
  ['ANY', 255],
];

interface QuerySpec {
  id: number;
  flags: number;
  name: string;
  type: [string, number];
  klass: [string, number];
  edns: { udp: number; version: number; do: boolean; options: { code: number; data: Uint8Array }[] } | null;
}

/** Queries a real client could send, encoded by dns-packet (not by us). */
const querySpecArb: fc.Arbitrary<QuerySpec> = fc.record({
  id: fc.integer({ min: 0, max: 0xffff }),
  // Any flags but QR and a non-zero opcode.
  flags: fc.integer({ min: 0, max: 0x7fff }).map((f) => f & ~0x7800),
  name: fc.oneof(longNameArb, fc.constant('.')),
  type: fc.constantFrom(...TYPES),
  klass: fc.constantFrom(...CLASSES),
  edns: fc.option(
    fc.record({
      udp: fc.integer({ min: 1, max: 0xffff }),
      version: fc.constantFrom(0, 0, 1),
      do: fc.boolean(),
      options: fc.array(
        fc.record({ code: fc.constantFrom(3, 10, 12, 65001), data: fc.uint8Array({ maxLength: 32 }) }),
        { maxLength: 3 },
      ),
    }),
  ),
});

function encodeSpec(spec: QuerySpec): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: spec.id,
    flags: spec.flags,
    questions: [{ name: spec.name === '.' ? '.' : spec.name.slice(0, -1), type: spec.type[0], class: spec.klass[0] }],
    additionals:
      spec.edns === null
        ? []
        : [
            {
              type: 'OPT',
              name: '.',
              udpPayloadSize: spec.edns.udp,
              ednsVersion: spec.edns.version,
              flags: spec.edns.do ? dnsPacket.DNSSEC_OK : 0,
              options: spec.edns.options.map((o) => ({ code: o.code, data: Buffer.from(o.data) })),
            },
          ],
  } as unknown as dnsPacket.Packet);
}

test('parseQuery agrees with dns-packet on valid queries', (t) => {
  fc.assert(
    fc.property(querySpecArb, (spec) => {
      const bytes = encodeSpec(spec);
      const result = parseQuery(bytes);
      if (!result.ok) return t.fail(`rejected: ${result.reason}`);
      const q = result.query;
      const packet = dnsPacket.decode(bytes) as dnsPacket.DecodedPacket & { flags: number };
      t.is(q.id, packet.id ?? -1);
      t.is(q.flags, packet.flags);
      const name = packet.questions![0]!.name;
      t.is(q.question.name, name === '.' ? '.' : `${name.toLowerCase()}.`);
      t.is(nameFromWire(q.question.wire), spec.name, 'wire form keeps the case');
      t.is(q.question.type, spec.type[1]);
      t.is(q.question.class, spec.klass[1]);
      const optRecord = packet.additionals?.[0] as
        | { udpPayloadSize: number; ednsVersion: number; flag_do: boolean; options: { code: number; data: Buffer }[] }
        | undefined;
      if (optRecord === undefined) return t.is(q.edns, null);
      t.is(q.edns?.udpSize, optRecord.udpPayloadSize);
      t.is(q.edns?.version, optRecord.ednsVersion);
      t.is(q.edns?.do, optRecord.flag_do);
      t.deepEqual(
        q.edns?.options.map((o) => [o.code, Buffer.from(o.data).toString('hex')]),
        optRecord.options.map((o) => [o.code, o.data.toString('hex')]),
      );
      t.is(q.trailing, 0);
    }),
    { numRuns: 2000 },
  );
});

/** Result-shape checks that must hold for any input. */
function sane(buf: Uint8Array): void {
  const result = parseQuery(buf);
  if (buf.length < 12) {
    if (result.ok || result.reason !== 'short') throw new Error('short input not reported short');
    return;
  }
  const id = (buf[0]! << 8) | buf[1]!;
  if (result.ok) {
    const q = result.query;
    if (q.id !== id || q.trailing < 0 || q.question.wire.length > 255) throw new Error('bad ok result');
    if (nameFromWire(q.question.wire).toLowerCase() !== q.question.name.toLowerCase()) {
      throw new Error(`wire ${nameFromWire(q.question.wire)} vs name ${q.question.name}`);
    }
  } else if (result.reason === 'response') {
    if (result.id !== id) throw new Error('bad response id');
  } else if (result.reason !== 'short') {
    if (result.info.id !== id) throw new Error('bad info id');
  }
}

test('parseQuery never throws on random octets (50,000 inputs)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (buf) => {
      sane(buf);
    }),
    { numRuns: 50_000 },
  );
  t.pass();
});

test('parseQuery never throws on mutated valid queries (60,000 inputs)', (t) => {
  const mutated = fc
    .tuple(
      querySpecArb.map(encodeSpec),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      fc.option(fc.nat()),
      fc.uint8Array({ maxLength: 8 }),
    )
    .map(([bytes, edits, cut, tail]) => {
      const out = Buffer.from(bytes);
      for (const [at, value] of edits) out[at % out.length] = value;
      const kept = cut === null ? out : out.subarray(0, cut % (out.length + 1));
      return Buffer.concat([kept, tail]);
    });
  let ok = 0;
  fc.assert(
    fc.property(mutated, (buf) => {
      sane(buf);
      if (parseQuery(buf).ok) ok++;
    }),
    { numRuns: 60_000 },
  );
  t.log(`${ok} of 60000 mutated queries still parsed`);
  t.pass();
});
