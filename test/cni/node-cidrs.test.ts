import test from 'ava';
import fc from 'fast-check';
import { AlreadyAllocatedError, OutOfRangeError } from '../../src/cni/allocation-errors.js';
import { parseCIDR } from '../../src/cni/ip.js';
import { NodeCidrAllocator } from '../../src/cni/node-cidrs.js';
import { InvalidArgumentError, RangeExhaustedError } from '../../src/errors.js';
import { noJournal } from '../../src/model/journal.js';
import { holds, opLists, outcome, rollbackIsInvisible } from './helpers.js';

function allocator(cluster: string, mask: number): NodeCidrAllocator {
  return new NodeCidrAllocator(parseCIDR(cluster)!, mask);
}

test('subnets are handed out in address order, both families', (t) => {
  const v4 = allocator('10.244.0.0/16', 24);
  t.is(v4.capacity, 256);
  t.deepEqual(
    [0, 1, 2].map(() => v4.allocate(noJournal)),
    ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24'],
  );
  const v6 = allocator('fd00:10:244::/56', 64);
  t.is(v6.capacity, 256);
  t.deepEqual(
    [0, 1, 2].map(() => v6.allocate(noJournal)),
    ['fd00:10:244::/64', 'fd00:10:244:1::/64', 'fd00:10:244:2::/64'],
  );
});

test('a released subnet is reused only when the scan comes round again (nextCandidate)', (t) => {
  const a = allocator('10.244.0.0/24', 26); // 4 subnets
  a.allocate(noJournal); // .0
  a.allocate(noJournal); // .64
  a.allocate(noJournal); // .128
  t.true(a.release('10.244.0.64/26', noJournal));
  t.is(a.allocate(noJournal), '10.244.0.192/26');
  t.is(a.nextCandidate, 0);
  t.is(a.allocate(noJournal), '10.244.0.64/26'); // wrapped round
  const err = t.throws(() => a.allocate(noJournal), { instanceOf: RangeExhaustedError });
  t.is(
    err?.message,
    'CIDR allocation failed; there are no remaining CIDRs left to allocate: range 10.244.0.0/24 is full',
  );
});

test('occupy marks a pinned subnet without moving nextCandidate', (t) => {
  const a = allocator('10.244.0.0/16', 24);
  t.is(a.occupy('10.244.1.0/24', noJournal), '10.244.1.0/24');
  t.is(a.allocate(noJournal), '10.244.0.0/24');
  t.is(a.allocate(noJournal), '10.244.2.0/24'); // skips the occupied one
  t.true(a.has('10.244.1.0/24'));
  t.deepEqual(a.allocated(), ['10.244.0.0/24', '10.244.1.0/24', '10.244.2.0/24']);
});

const badOccupy: [string, string, new (...args: never[]) => Error, string][] = [
  ['already held', '10.244.0.0/24', AlreadyAllocatedError, 'pod CIDR 10.244.0.0/24 is already allocated'],
  ['outside', '10.245.0.0/24', OutOfRangeError, 'pod CIDR 10.245.0.0/24 is outside the cluster CIDR 10.244.0.0/16'],
  ['other family', 'fd00::/64', OutOfRangeError, 'pod CIDR fd00::/64 is outside the cluster CIDR 10.244.0.0/16'],
  [
    'wrong size',
    '10.244.3.0/25',
    OutOfRangeError,
    'pod CIDR 10.244.3.0/25 is a /25, but nodes get /24 subnets of 10.244.0.0/16',
  ],
  [
    'bigger than the cluster',
    '10.0.0.0/8',
    OutOfRangeError,
    'pod CIDR 10.0.0.0/8 is outside the cluster CIDR 10.244.0.0/16',
  ],
  [
    'host bits',
    '10.244.3.7/24',
    InvalidArgumentError,
    'pod CIDR 10.244.3.7/24 has host bits set; the network is 10.244.3.0/24',
  ],
  ['not a CIDR', '10.244.3.0', InvalidArgumentError, '"10.244.3.0" is not a valid CIDR'],
];

for (const [what, cidr, type, message] of badOccupy) {
  test(`occupy refuses a pinned subnet: ${what}`, (t) => {
    const a = allocator('10.244.0.0/16', 24);
    a.allocate(noJournal);
    const err = t.throws(() => a.occupy(cidr, noJournal), { instanceOf: type });
    t.is(err?.message, message);
    t.is(a.usedCount, 1);
  });
}

test('configurations kube-controller-manager refuses', (t) => {
  t.throws(() => allocator('10.244.0.0/16', 15), { instanceOf: InvalidArgumentError });
  t.throws(() => allocator('10.244.0.0/16', 33), { instanceOf: InvalidArgumentError });
  const err = t.throws(() => allocator('fd00::/48', 65), { instanceOf: InvalidArgumentError });
  t.true(err?.message.startsWith('New CIDR set failed; the node CIDR size is too big'));
  t.is(allocator('fd00::/48', 64).capacity, 65536); // 16 bits is the limit
  t.is(allocator('10.0.0.0/8', 32).capacity, 2 ** 24); // IPv4 has no such limit
});

test('realistic sizes: a /16 gives 256 /24s, an IPv6 /48 gives /64s in order', (t) => {
  const v4 = allocator('10.244.0.0/16', 24);
  const all = Array.from({ length: 256 }, () => v4.allocate(noJournal));
  t.is(all[255], '10.244.255.0/24');
  t.is(new Set(all).size, 256);
  t.throws(() => v4.allocate(noJournal), { instanceOf: RangeExhaustedError });
  const v6 = allocator('fd00:10:244::/48', 64);
  const some = Array.from({ length: 1000 }, () => v6.allocate(noJournal));
  t.is(some[999], 'fd00:10:244:3e7::/64');
});

type Op = { kind: 'allocate' } | { kind: 'occupy' | 'release'; index: number };
const CLUSTER = '10.244.0.0/24';
const MASK = 28; // 16 subnets
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  // indexes 16 and 17 fall outside the cluster CIDR
  fc.record({ kind: fc.constantFrom('occupy' as const, 'release' as const), index: fc.integer({ min: 0, max: 17 }) }),
);

function subnetText(index: number): string {
  return `10.244.${Math.floor(index / 16)}.${(index % 16) * 16}/28`;
}

function apply(a: NodeCidrAllocator, o: Op, journal = noJournal): unknown {
  if (o.kind === 'allocate') return a.allocate(journal);
  return o.kind === 'occupy' ? a.occupy(subnetText(o.index), journal) : a.release(subnetText(o.index), journal);
}

test('random create/delete sequences follow the cidrset model and stay disjoint', (t) => {
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const a = allocator(CLUSTER, MASK);
      const used = new Set<number>();
      let next = 0;
      for (const o of ops) {
        const result = outcome(() => apply(a, o));
        if (o.kind === 'allocate') {
          if (used.size === 16) {
            if (!('error' in result)) return false;
            continue;
          }
          let candidate = next;
          while (used.has(candidate)) candidate = (candidate + 1) % 16;
          if ('error' in result || result.ok !== subnetText(candidate)) return false;
          used.add(candidate);
          next = (candidate + 1) % 16;
        } else if (o.kind === 'occupy') {
          const ok = o.index < 16 && !used.has(o.index);
          if (ok !== !('error' in result)) return false;
          if (ok) used.add(o.index);
        } else if ((result as { ok: boolean }).ok !== used.delete(o.index)) {
          return false;
        }
      }
      const cluster = parseCIDR(CLUSTER)!;
      const held = a.allocated().map((text) => parseCIDR(text)!);
      const disjoint = held.every((x, i) => held.every((y, j) => i === j || !x.overlaps(y)));
      return disjoint && held.every((c) => cluster.covers(c)) && held.length === used.size && a.nextCandidate === next;
    }),
    { numRuns: 1500 },
  );
});

test('a rolled-back journal restores used subnets and nextCandidate', (t) => {
  holds(
    t,
    fc.property(opLists(op), (ops) =>
      rollbackIsInvisible(
        () => allocator(CLUSTER, MASK),
        (a, o, journal) => apply(a, o, journal),
        (a) => [a.allocated(), a.nextCandidate],
        ops,
      ),
    ),
    { numRuns: 1000 },
  );
});
