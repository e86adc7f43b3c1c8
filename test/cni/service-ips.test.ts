import test from 'ava';
import fc from 'fast-check';
import { AlreadyAllocatedError, OutOfRangeError } from '../../src/cni/allocation-errors.js';
import { parseCIDR } from '../../src/cni/ip.js';
import { ServiceIPAllocator, serviceRangeOffset } from '../../src/cni/service-ips.js';
import { ErrorCodes, RangeExhaustedError } from '../../src/errors.js';
import { noJournal } from '../../src/model/journal.js';
import { Rng } from '../../src/util/rng.js';
import { holds, opLists, outcome, rollbackIsInvisible } from './helpers.js';

function allocator(cidr: string, seed = 1): ServiceIPAllocator {
  return new ServiceIPAllocator(parseCIDR(cidr)!, new Rng(seed));
}

/** Position of an address in the CIDR (0 = network address). */
function indexIn(cidr: string, ip: string): bigint {
  return parseCIDR(cidr)!.indexOf(ip)!;
}

// [cidr, usable addresses, static band size, static band]
const ranges: [string, number, number, string | undefined][] = [
  ['10.96.0.0/28', 14, 0, undefined], // 16 addresses: no band (cidrSize <= 16)
  ['10.96.0.0/27', 30, 16, '10.96.0.1-10.96.0.16'], // 32/16 = 2, raised to the minimum 16
  ['10.96.0.0/24', 254, 16, '10.96.0.1-10.96.0.16'],
  ['10.96.0.0/21', 2046, 128, '10.96.0.1-10.96.0.128'], // 2048/16
  ['10.96.0.0/20', 4094, 256, '10.96.0.1-10.96.1.0'],
  ['10.96.0.0/12', 2 ** 20 - 2, 256, '10.96.0.1-10.96.1.0'], // capped at 256
  ['10.96.0.1/32', 0, 0, undefined],
  ['fd00::/124', 15, 0, undefined], // IPv6 keeps its last address
  ['fd00::/123', 31, 16, 'fd00::1-fd00::10'],
  ['fd00:10:96::/112', 65535, 256, 'fd00:10:96::1-fd00:10:96::100'],
  ['fd00:10:96::/108', 65535, 256, 'fd00:10:96::1-fd00:10:96::100'], // bitmap capped at 65536 addresses
  ['fd00::1/128', 0, 0, undefined],
];

for (const [cidr, size, bandSize, band] of ranges) {
  test(`service range ${cidr}: ${size} usable, static band ${band ?? 'none'}`, (t) => {
    const a = allocator(cidr);
    t.is(a.size, size);
    t.is(a.staticBandSize, bandSize);
    t.is(serviceRangeOffset(parseCIDR(cidr)!.size), bandSize);
    t.is(a.staticBand && `${a.staticBand.first}-${a.staticBand.last}`, band);
  });
}

test('a requested IP outside the range gets Kubernetes wording', (t) => {
  const a = allocator('10.96.0.0/12');
  for (const ip of ['10.0.0.1', '10.96.0.0', '10.111.255.255', 'fd00::1']) {
    const err = t.throws(() => a.allocate(ip, noJournal), { instanceOf: OutOfRangeError });
    t.is(
      err?.message,
      `failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is 10.96.0.0/12`,
    );
    t.is(err?.code, ErrorCodes.OUT_OF_RANGE);
  }
});

test('a requested IP held already is refused; release makes it available again', (t) => {
  const a = allocator('10.96.0.0/12');
  t.is(a.allocate('10.96.0.10', noJournal), '10.96.0.10');
  const err = t.throws(() => a.allocate('10.96.0.10', noJournal), { instanceOf: AlreadyAllocatedError });
  t.is(err?.message, 'failed to allocate IP 10.96.0.10: provided IP is already allocated');
  t.true(a.has('10.96.0.10'));
  t.true(a.release('10.96.0.10', noJournal));
  t.false(a.release('10.96.0.10', noJournal)); // a no-op, as upstream
  t.false(a.release('192.168.0.1', noJournal));
  t.notThrows(() => a.allocate('10.96.0.10', noJournal));
});

test('IPv6 addresses beyond the 65536 bitmap cap are not in the valid range', (t) => {
  const a = allocator('fd00:10:96::/108');
  t.true(a.isAllocatable('fd00:10:96::ffff'));
  t.false(a.isAllocatable('fd00:10:96::1:0'));
  t.throws(() => a.allocate('fd00:10:96::1:0', noJournal), { instanceOf: OutOfRangeError });
});

test('exhaustion names the service CIDR', (t) => {
  const a = allocator('10.96.0.0/28');
  for (let i = 0; i < 14; i++) a.allocateNext(noJournal);
  const err = t.throws(() => a.allocateNext(noJournal), { instanceOf: RangeExhaustedError });
  t.is(err?.message, 'failed to allocate a serviceIP: range 10.96.0.0/28 is full');
  t.is((err as RangeExhaustedError).range, '10.96.0.0/28');
});

test('dynamic allocation fills the upper band before falling back to the static band', (t) => {
  const cidr = '10.96.0.0/27'; // 30 usable: static .1-.16, upper .17-.30
  const a = allocator(cidr, 7);
  const upper = Array.from({ length: 14 }, () => indexIn(cidr, a.allocateNext(noJournal)));
  t.true(upper.every((i) => i >= 17n && i <= 30n));
  t.is(new Set(upper).size, 14);
  const lower = Array.from({ length: 16 }, () => indexIn(cidr, a.allocateNext(noJournal)));
  t.true(lower.every((i) => i >= 1n && i <= 16n));
  t.is(new Set(lower).size, 16);
  t.is(a.freeCount, 0);
});

test('realistic ranges: hundreds of ClusterIPs, all distinct and above the static band', (t) => {
  // [cidr, last index the bitmap covers]: the IPv4 broadcast is excluded, IPv6 stops at the 65536 cap
  for (const [cidr, last] of [
    ['10.96.0.0/12', 2n ** 20n - 2n],
    ['fd00:10:96::/108', 65535n],
  ] as const) {
    const a = allocator(cidr, 42);
    const got = Array.from({ length: 600 }, () => a.allocateNext(noJournal));
    t.is(new Set(got).size, 600);
    t.true(got.every((ip) => indexIn(cidr, ip) > 256n && indexIn(cidr, ip) <= last));
    t.is(a.usedCount, 600);
  }
});

type Op = { kind: 'next' } | { kind: 'pin' | 'release'; index: number };
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'next' as const }) },
  fc.record({ kind: fc.constantFrom('pin' as const, 'release' as const), index: fc.integer({ min: 0, max: 63 }) }),
);
const SMALL = '10.96.0.0/26'; // 64 addresses: 62 usable, static band .1-.16

function apply(a: ServiceIPAllocator, o: Op, journal = noJournal): unknown {
  if (o.kind === 'next') return a.allocateNext(journal);
  const ip = parseCIDR(SMALL)!.nth(BigInt(o.index));
  return o.kind === 'pin' ? a.allocate(ip, journal) : a.release(ip, journal);
}

test('random create/delete sequences: no address twice, never network or broadcast, upper band first', (t) => {
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 150 }), fc.integer(), (ops, seed) => {
      const a = allocator(SMALL, seed);
      const held = new Set<bigint>();
      for (const o of ops) {
        const upperFree = Array.from({ length: 46 }, (_, i) => BigInt(17 + i)).some((i) => !held.has(i));
        const result = outcome(() => apply(a, o));
        if (o.kind === 'next') {
          if ('error' in result) {
            if (result.error !== ErrorCodes.RANGE_EXHAUSTED || held.size !== 62) return false;
            continue;
          }
          const index = indexIn(SMALL, result.ok as string);
          if (index < 1n || index > 62n || held.has(index)) return false;
          if (upperFree && index <= 16n) return false;
          held.add(index);
        } else if (o.kind === 'pin') {
          const index = BigInt(o.index);
          const valid = index >= 1n && index <= 62n;
          const expected = !valid
            ? ErrorCodes.OUT_OF_RANGE
            : held.has(index)
              ? ErrorCodes.ALREADY_ALLOCATED
              : undefined;
          if (expected !== undefined) {
            if (!('error' in result) || result.error !== expected) return false;
          } else {
            if ('error' in result) return false;
            held.add(index);
          }
        } else if ((result as { ok: boolean }).ok !== held.delete(BigInt(o.index))) {
          return false;
        }
        const listed = a.allocated().map((ip) => indexIn(SMALL, ip));
        const model = [...held].sort((x, y) => (x < y ? -1 : 1));
        if (listed.join() !== model.join() || a.usedCount !== held.size) return false;
      }
      return true;
    }),
    { numRuns: 1500 },
  );
});

test('the same seed gives the same ClusterIPs', (t) => {
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 80 }), fc.integer(), (ops, seed) => {
      const a = allocator(SMALL, seed);
      const b = allocator(SMALL, seed);
      return ops.every(
        (o) => JSON.stringify(outcome(() => apply(a, o))) === JSON.stringify(outcome(() => apply(b, o))),
      );
    }),
    { numRuns: 500 },
  );
});

test('a rolled-back journal restores the bitmap and the random stream', (t) => {
  holds(
    t,
    fc.property(opLists(op), fc.integer(), (ops, seed) =>
      rollbackIsInvisible(
        () => allocator(SMALL, seed),
        (a, o, journal) => apply(a, o, journal),
        (a) => a.allocated(),
        ops,
      ),
    ),
    { numRuns: 1000 },
  );
});
