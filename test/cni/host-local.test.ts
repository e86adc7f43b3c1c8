import test from 'ava';
import fc from 'fast-check';
import { AlreadyAllocatedError, OutOfRangeError } from '../../src/cni/allocation-errors.js';
import { HostLocalAllocator } from '../../src/cni/host-local.js';
import { parseCIDR } from '../../src/cni/ip.js';
import { InvalidArgumentError, RangeExhaustedError } from '../../src/errors.js';
import { noJournal } from '../../src/model/journal.js';
import { holds, opLists, outcome, rollbackIsInvisible } from './helpers.js';

function allocator(subnet: string): HostLocalAllocator {
  return new HostLocalAllocator(parseCIDR(subnet)!);
}

test('an IPv4 /24: gateway .1 skipped, pods from .2, broadcast never', (t) => {
  const a = allocator('10.244.1.0/24');
  t.is(a.gateway, '10.244.1.1');
  t.is(a.rangeSetText, '10.244.1.1-10.244.1.254');
  t.is(a.capacity, 253n);
  t.deepEqual(
    [0, 1, 2].map(() => a.allocate(noJournal)),
    ['10.244.1.2', '10.244.1.3', '10.244.1.4'],
  );
  const all = Array.from({ length: 250 }, () => a.allocate(noJournal));
  t.is(all.at(-1), '10.244.1.254');
  const err = t.throws(() => a.allocate(noJournal), { instanceOf: RangeExhaustedError });
  t.is(err?.message, 'no IP addresses available: range 10.244.1.0/24 is full');
});

test('an IPv6 range hands out its last address (no broadcast in IPv6)', (t) => {
  const a = allocator('fd00:10:244:1::/126'); // ::0 network, ::1 gateway, ::2 and ::3 for pods
  t.is(a.capacity, 2n);
  t.deepEqual([a.allocate(noJournal), a.allocate(noJournal)], ['fd00:10:244:1::2', 'fd00:10:244:1::3']);
  t.throws(() => a.allocate(noJournal), { instanceOf: RangeExhaustedError });
  const big = allocator('fd00:10:244:1::/64');
  t.is(big.capacity, 2n ** 64n - 2n);
  const ips = Array.from({ length: 1000 }, () => big.allocate(noJournal));
  t.is(ips[0], 'fd00:10:244:1::2');
  t.is(ips[999], 'fd00:10:244:1::3e9');
});

test('a released address is not reused until the walk wraps round', (t) => {
  const a = allocator('10.244.1.0/29'); // pods get .2-.6
  a.allocate(noJournal); // .2
  a.allocate(noJournal); // .3
  a.allocate(noJournal); // .4
  t.true(a.release('10.244.1.3', noJournal));
  t.is(a.lastReserved, '10.244.1.4'); // releases do not move the cursor
  t.is(a.allocate(noJournal), '10.244.1.5');
  t.is(a.allocate(noJournal), '10.244.1.6');
  t.is(a.allocate(noJournal), '10.244.1.3'); // wrapped: skips the gateway and the held .2
  t.throws(() => a.allocate(noJournal), { instanceOf: RangeExhaustedError });
});

test('a requested address moves the round-robin position, as host-local records every reservation', (t) => {
  const a = allocator('10.244.1.0/24');
  t.is(a.reserve('10.244.1.10', noJournal), '10.244.1.10');
  t.is(a.allocate(noJournal), '10.244.1.11');
});

const badReserve: [string, string, new (...args: never[]) => Error, string][] = [
  ['another subnet', '10.244.2.5', OutOfRangeError, '10.244.2.5 not in range set 10.244.1.1-10.244.1.254'],
  ['another family', 'fd00::5', OutOfRangeError, 'fd00::5 not in range set 10.244.1.1-10.244.1.254'],
  ['the network address', '10.244.1.0', OutOfRangeError, '10.244.1.0 is the network address of 10.244.1.0/24'],
  ['the broadcast address', '10.244.1.255', OutOfRangeError, '10.244.1.255 is the broadcast address of 10.244.1.0/24'],
  ['the gateway', '10.244.1.1', OutOfRangeError, "requested ip 10.244.1.1 is subnet's gateway"],
  [
    'an address in use',
    '10.244.1.2',
    AlreadyAllocatedError,
    'requested IP address 10.244.1.2 is not available in range set 10.244.1.1-10.244.1.254',
  ],
  ['not an address', '10.244.1.002', InvalidArgumentError, '"10.244.1.002" is not a valid IP address'],
];

for (const [what, ip, type, message] of badReserve) {
  test(`reserve refuses ${what}`, (t) => {
    const a = allocator('10.244.1.0/24');
    a.allocate(noJournal);
    const err = t.throws(() => a.reserve(ip, noJournal), { instanceOf: type });
    t.is(err?.message, message);
    t.is(a.usedCount, 1);
    t.is(a.lastReserved, '10.244.1.2');
  });
}

test('subnets with no room for a pod are refused', (t) => {
  for (const subnet of ['10.244.1.0/31', '10.244.1.1/32', 'fd00::/127', 'fd00::1/128']) {
    const err = t.throws(() => allocator(subnet), { instanceOf: InvalidArgumentError });
    t.regex(err?.message ?? '', /too small to allocate from/);
  }
});

type Op = { kind: 'allocate' } | { kind: 'reserve' | 'release'; index: number };
const SUBNET = '10.244.1.0/28'; // pods get .2-.14
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  fc.record({ kind: fc.constantFrom('reserve' as const, 'release' as const), index: fc.integer({ min: 0, max: 17 }) }),
);

function apply(a: HostLocalAllocator, o: Op, journal = noJournal): unknown {
  if (o.kind === 'allocate') return a.allocate(journal);
  const ip = `10.244.1.${o.index}`;
  return o.kind === 'reserve' ? a.reserve(ip, journal) : a.release(ip, journal);
}

test('random create/delete sequences follow the host-local round robin exactly', (t) => {
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 150 }), (ops) => {
      const a = allocator(SUBNET);
      const used = new Set<number>();
      let last: number | undefined;
      for (const o of ops) {
        const result = outcome(() => apply(a, o));
        if (o.kind === 'allocate') {
          if (used.size === 13) {
            if (!('error' in result)) return false;
            continue;
          }
          // walk .1-.14 from after the last reservation, skipping the gateway and held addresses
          let candidate = last === undefined ? 1 : last === 14 ? 1 : last + 1;
          while (candidate === 1 || used.has(candidate)) candidate = candidate === 14 ? 1 : candidate + 1;
          if ('error' in result || result.ok !== `10.244.1.${candidate}`) return false;
          used.add(candidate);
          last = candidate;
        } else if (o.kind === 'reserve') {
          const ok = o.index >= 2 && o.index <= 14 && !used.has(o.index);
          if (ok !== !('error' in result)) return false;
          if (ok) {
            used.add(o.index);
            last = o.index;
          }
        } else if ((result as { ok: boolean }).ok !== used.delete(o.index)) {
          return false;
        }
      }
      const held = a.allocated();
      const forbidden = ['10.244.1.0', '10.244.1.1', '10.244.1.15'];
      return held.length === used.size && !held.some((ip) => forbidden.includes(ip));
    }),
    { numRuns: 1500 },
  );
});

test('a rolled-back journal restores held addresses and the round-robin position', (t) => {
  holds(
    t,
    fc.property(opLists(op), (ops) =>
      rollbackIsInvisible(
        () => allocator(SUBNET),
        (a, o, journal) => apply(a, o, journal),
        (a) => [a.allocated(), a.lastReserved],
        ops,
      ),
    ),
    { numRuns: 1000 },
  );
});
