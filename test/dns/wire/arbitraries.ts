/**
 * fast-check generators for the wire tests: names in random case sharing suffixes (so compression has work to do),
 * records of every modelled type, and whole messages.
 */
import fc from 'fast-check';
import { type Edns, type Message, Opcode, type ResourceRecord, RRType } from '../../../src/dns/wire/message.js';

const LABEL_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'.split('');

/** One label of 1–`max` LDH-or-underscore characters in random case. */
export function labelArb(max = 63): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...LABEL_CHARS), minLength: 1, maxLength: max });
}

/** Keep leading labels while the text (no trailing dot) stays within 253 characters. */
export function fitLabels(labels: string[]): string[] {
  const kept: string[] = [];
  let length = -1;
  for (const label of labels) {
    if (length + 1 + label.length > 253) break;
    kept.push(label);
    length += 1 + label.length;
  }
  return kept;
}

/** Absolute names of up to 253 characters, long ones included (`size: 'max'`). */
export const longNameArb: fc.Arbitrary<string> = fc
  .array(labelArb(63), { minLength: 1, maxLength: 127, size: 'max' })
  .map((labels) => `${fitLabels(labels).join('.')}.`);

/** Same name, random case per character. */
export function caseVariant(name: string): fc.Arbitrary<string> {
  return fc.mixedCase(fc.constant(name));
}

/** A pool of related names: a shared zone with 0–4 extra labels in front, plus the odd long name. */
export const namePoolArb: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.array(labelArb(12), { minLength: 1, maxLength: 3 }),
    fc.array(fc.array(labelArb(20), { maxLength: 4 }), { minLength: 1, maxLength: 6 }),
    fc.array(longNameArb, { maxLength: 2 }),
  )
  .map(([zone, prefixes, long]) => [
    ...prefixes.map((prefix) => `${fitLabels([...prefix, ...zone]).join('.')}.`),
    ...long,
  ]);

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

function ipv6Arb(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.ipV6(),
    fc.constantFrom('::', '::1', 'fd00:10:96::a', '2001:db8::1:0:0:1', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8'),
  );
}

/** A record whose names come from `pool` (in random case) or are exactly `qname`. */
export function recordArb(pool: string[], qname: string): fc.Arbitrary<ResourceRecord> {
  const name = fc.oneof(fc.constant(qname), fc.constantFrom(...pool).chain(caseVariant));
  const base = { name, class: fc.constantFrom(1, 1, 1, 3, 255), ttl: u32 };
  return fc.oneof(
    fc.record({ ...base, type: fc.constant(RRType.A), data: fc.ipV4() }),
    fc.record({ ...base, type: fc.constant(RRType.AAAA), data: ipv6Arb() }),
    fc.record({ ...base, type: fc.constant(RRType.CNAME), data: name }),
    fc.record({ ...base, type: fc.constant(RRType.PTR), data: name }),
    fc.record({ ...base, type: fc.constant(RRType.NS), data: name }),
    fc.record({
      ...base,
      type: fc.constant(RRType.SRV),
      data: fc.record({ priority: u16, weight: u16, port: u16, target: name }),
    }),
    fc.record({
      ...base,
      type: fc.constant(RRType.SOA),
      data: fc.record({ mname: name, rname: name, serial: u32, refresh: u32, retry: u32, expire: u32, minimum: u32 }),
    }),
    fc.record({
      ...base,
      type: fc.constant(RRType.TXT),
      data: fc.array(fc.string({ maxLength: 80 }), { minLength: 1, maxLength: 3 }),
    }),
  ) as fc.Arbitrary<ResourceRecord>;
}

export const ednsArb: fc.Arbitrary<Edns> = fc.record(
  {
    udpSize: u16,
    version: fc.constantFrom(0, 0, 0, 1, 255),
    do: fc.boolean(),
    // The Z bits beside DO: absent (as decoders leave them when clear) or some set.
    z: fc.integer({ min: 1, max: 0x7f }),
    extendedRcode: fc.constant(0),
    options: fc.array(
      fc.record({ code: fc.constantFrom(3, 8, 10, 12, 15, 65001), data: fc.uint8Array({ maxLength: 40 }) }),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: ['udpSize', 'version', 'do', 'extendedRcode', 'options'] },
);

/** Whole messages with one question, up to `max` records per section. */
export function messageArb(max = 12): fc.Arbitrary<Message> {
  return fc.tuple(namePoolArb, fc.option(ednsArb, { freq: 2 })).chain(([pool, edns]) =>
    fc.constantFrom(...pool).chain((q) =>
      caseVariant(q).chain((qname) =>
        fc.record({
          header: fc.record({
            id: u16,
            opcode: fc.constantFrom(Opcode.QUERY, Opcode.QUERY, Opcode.NOTIFY, 15),
            qr: fc.boolean(),
            aa: fc.boolean(),
            tc: fc.constant(false),
            rd: fc.boolean(),
            ra: fc.boolean(),
            ad: fc.boolean(),
            cd: fc.boolean(),
            rcode: fc.integer({ min: 0, max: edns === null ? 15 : 0xfff }),
          }),
          question: fc.record({ name: fc.constant(qname), type: u16, class: fc.constantFrom(1, 3, 255) }),
          answer: fc.array(recordArb(pool, qname), { maxLength: max }),
          authority: fc.array(recordArb(pool, qname), { maxLength: max }),
          additional: fc.array(recordArb(pool, qname), { maxLength: max }),
          edns: fc.constant(edns),
        }),
      ),
    ),
  );
}
