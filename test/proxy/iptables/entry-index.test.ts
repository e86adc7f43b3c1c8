/**
 * EntryIndex (KUBE-SERVICES by destination) behaves as a Map from (protocol, address key, port) to the first rule,
 * with the rule's jump readable from the slot, through inserts, replacements, deletes and growth.
 */
import test from 'ava';
import fc from 'fast-check';
import { EntryIndex } from '../../../src/proxy/iptables/entry-index.js';
import type { EntryRef } from '../../../src/proxy/iptables/ruleset-layout.js';
import { addressKey } from '../../../src/proxy/tuple-table.js';
import { holds } from '../../cni/helpers.js';

/** A stand-in rule: the index reads only its jump (base, start, end) and hands the object back. */
function ref(base: number, start: number, end: number): EntryRef {
  return { base, start, end } as unknown as EntryRef;
}

// 0.0.0.5 and the fifth interned address share their low 32 bits; the key word tells them apart.
const ADDRESSES = ['10.96.0.1', '10.96.0.2', '0.0.0.5', '255.255.255.255', 'fd00::1', 'fd00::2'].map(addressKey);

const cases: { name: string; proto: number; ip: number; port: number }[] = [
  { name: 'TCP IPv4', proto: 1, ip: addressKey('10.96.0.1'), port: 80 },
  { name: 'UDP on the same address and port', proto: 2, ip: addressKey('10.96.0.1'), port: 80 },
  { name: 'SCTP, port 0', proto: 3, ip: addressKey('10.96.0.1'), port: 0 },
  { name: 'the all-ones address, port 65535', proto: 1, ip: addressKey('255.255.255.255'), port: 65535 },
  { name: 'IPv6 (interned)', proto: 1, ip: addressKey('fd00::1'), port: 80 },
];

for (const c of cases)
  test(`finds what it filed, and nothing beside it: ${c.name}`, (t) => {
    const index = new EntryIndex();
    t.is(index.find(c.proto, c.ip, c.port), -1);
    const r = ref(12, 3, 7);
    index.set(c.proto, c.ip, c.port, r);
    const slot = index.find(c.proto, c.ip, c.port);
    t.true(slot >= 0);
    t.is(index.refAt(slot), r);
    t.deepEqual([index.baseAt(slot), index.startAt(slot), index.endAt(slot)], [12, 3, 7]);
    for (const other of cases)
      if (other !== c) t.is(index.get(other.proto, other.ip, other.port), undefined, other.name);
    t.true(index.delete(c.proto, c.ip, c.port));
    t.false(index.delete(c.proto, c.ip, c.port));
    t.is(index.size, 0);
  });

test('an address and an interned id with the same low 32 bits are different destinations', (t) => {
  const index = new EntryIndex();
  const interned = addressKey('fd00::dead');
  t.true(interned >= 0x1_0000_0000);
  // The IPv4 address whose 32-bit value equals the interned id's low bits.
  const ipv4 = interned % 0x1_0000_0000;
  index.set(1, ipv4, 80, ref(1, 0, 1));
  index.set(1, interned, 80, ref(2, 0, 1));
  t.is(index.size, 2);
  t.is(index.get(1, ipv4, 80)!.base, 1);
  t.is(index.get(1, interned, 80)!.base, 2);
  t.true(index.delete(1, ipv4, 80));
  t.is(index.get(1, interned, 80)!.base, 2);
});

test('a position is kept for its layout stamp only, and forgotten when the rule is replaced', (t) => {
  const index = new EntryIndex();
  const ip = addressKey('10.96.0.9');
  index.set(1, ip, 443, ref(0, 0, 2));
  const slot = index.find(1, ip, 443);
  t.is(index.positionAt(slot, 1), -1);
  index.setPosition(slot, 41, 1);
  t.is(index.positionAt(slot, 1), 41);
  t.is(index.positionAt(slot, 2), -1);
  index.set(1, ip, 443, ref(5, 0, 2));
  t.is(index.positionAt(index.find(1, ip, 443), 1), -1);
  t.is(index.baseAt(index.find(1, ip, 443)), 5);
});

const opArb = fc.record({
  del: fc.boolean(),
  proto: fc.integer({ min: 1, max: 3 }),
  ip: fc.constantFrom(...ADDRESSES),
  port: fc.integer({ min: 0, max: 40 }),
  base: fc.nat({ max: 1_000_000 }),
});

test('agrees with a Map model under random inserts, replacements, deletes and growth', (t) => {
  holds(
    t,
    fc.property(fc.array(opArb, { maxLength: 600, size: 'max' }), (ops) => {
      const index = new EntryIndex();
      const model = new Map<string, EntryRef>();
      for (const { del, proto, ip, port, base } of ops) {
        const key = `${proto}|${ip}|${port}`;
        if (del) {
          if (index.delete(proto, ip, port) !== model.delete(key)) return false;
        } else {
          const r = ref(base, base % 7, (base % 7) + 3);
          index.set(proto, ip, port, r);
          model.set(key, r);
        }
        if (index.size !== model.size) return false;
      }
      for (let proto = 1; proto <= 3; proto++)
        for (const ip of ADDRESSES)
          for (let port = 0; port <= 40; port++) {
            const want = model.get(`${proto}|${ip}|${port}`);
            const slot = index.find(proto, ip, port);
            if (want === undefined ? slot !== -1 : index.refAt(slot) !== want) return false;
            if (want !== undefined && (index.baseAt(slot) !== want.base || index.endAt(slot) !== want.end))
              return false;
          }
      return true;
    }),
    { numRuns: 200 },
  );
});
