import test from 'ava';
import fc from 'fast-check';
import { LoadBalancerPools, parsePool } from '../../src/cni/lb-pools.js';
import { InvalidArgumentError, RangeExhaustedError } from '../../src/errors.js';
import { noJournal } from '../../src/model/journal.js';
import { holds, opLists, outcome, rollbackIsInvisible } from './helpers.js';

const pools: [string, string | undefined, bigint][] = [
  ['192.168.10.0/24', '192.168.10.0/24', 256n],
  ['192.168.10.5-192.168.10.20', '192.168.10.5-192.168.10.20', 16n],
  ['192.168.10.5 - 192.168.10.20', '192.168.10.5-192.168.10.20', 16n],
  ['192.168.10.7-192.168.10.7', '192.168.10.7-192.168.10.7', 1n],
  ['FD00:1B::/120', 'fd00:1b::/120', 256n],
  ['fd00::10-fd00::1f', 'fd00::10-fd00::1f', 16n],
  ['192.168.10.5/24', undefined, 0n], // host bits: ambiguous
  ['192.168.10.20-192.168.10.5', undefined, 0n], // reversed
  ['10.0.0.1-fd00::1', undefined, 0n], // mixed families
  ['10.0.0.1-10.0.0.2-10.0.0.3', undefined, 0n],
  ['010.0.0.0/24', undefined, 0n],
  ['10.0.0.1', undefined, 0n],
  ['', undefined, 0n],
];

for (const [text, canonical, size] of pools) {
  test(`parsePool ${JSON.stringify(text)}`, (t) => {
    const pool = parsePool(text);
    t.is(pool?.text, canonical);
    if (pool) t.is(pool.size, size);
  });
}

test('bad or overlapping pools are refused', (t) => {
  t.throws(() => new LoadBalancerPools(['192.168.10.5/24']), { instanceOf: InvalidArgumentError });
  const err = t.throws(() => new LoadBalancerPools(['192.168.10.0/24', '192.168.10.200-192.168.11.5']), {
    instanceOf: InvalidArgumentError,
  });
  t.is(err?.message, 'LoadBalancer pools 192.168.10.0/24 and 192.168.10.200-192.168.11.5 overlap');
  t.notThrows(() => new LoadBalancerPools(['10.0.0.0/24', 'fd00::/120']));
});

test('the lowest free address over all pools of the family, then exhaustion naming the pools', (t) => {
  const lb = new LoadBalancerPools(['192.168.20.0/31', '192.168.10.5-192.168.10.6', 'fd00::/127']);
  const got = Array.from({ length: 4 }, () => lb.allocate('IPv4', noJournal));
  t.deepEqual(got, ['192.168.10.5', '192.168.10.6', '192.168.20.0', '192.168.20.1']);
  const err = t.throws(() => lb.allocate('IPv4', noJournal), { instanceOf: RangeExhaustedError });
  t.is(
    err?.message,
    'cannot allocate an IPv4 LoadBalancer IP: range 192.168.20.0/31, 192.168.10.5-192.168.10.6 is full',
  );
  t.is(lb.allocate('IPv6', noJournal), 'fd00::');
  t.deepEqual(
    lb.report().map((r) => [r.pool, r.used, r.free]),
    [
      ['192.168.20.0/31', 2, '0'],
      ['192.168.10.5-192.168.10.6', 2, '0'],
      ['fd00::/127', 1, '1'],
    ],
  );
});

test('a family without pools cannot allocate', (t) => {
  const lb = new LoadBalancerPools(['192.168.10.0/24']);
  t.false(lb.hasPools('IPv6'));
  const err = t.throws(() => lb.allocate('IPv6', noJournal), { instanceOf: RangeExhaustedError });
  t.regex(err?.message ?? '', /none configured/);
});

test('pinned addresses: accepted anywhere, held inside pools, shared holders counted', (t) => {
  const lb = new LoadBalancerPools(['192.168.10.0/30']);
  t.deepEqual(lb.pin('203.0.113.7', noJournal), { ip: '203.0.113.7', pool: undefined });
  t.false(lb.has('203.0.113.7'));
  t.false(lb.release('203.0.113.7', noJournal));
  t.deepEqual(lb.pin('192.168.10.0', noJournal), { ip: '192.168.10.0', pool: '192.168.10.0/30' });
  t.deepEqual(lb.pin('192.168.10.0', noJournal).pool, '192.168.10.0/30'); // a second Service shares it
  t.is(lb.allocate('IPv4', noJournal), '192.168.10.1'); // dynamic allocation skips held addresses
  t.true(lb.release('192.168.10.0', noJournal));
  t.true(lb.has('192.168.10.0')); // one holder left
  t.true(lb.release('192.168.10.0', noJournal));
  t.false(lb.has('192.168.10.0'));
  t.is(lb.allocate('IPv4', noJournal), '192.168.10.0');
  t.throws(() => lb.pin('192.168.010.1', noJournal), { instanceOf: InvalidArgumentError });
});

type Op = { kind: 'allocate' } | { kind: 'pin' | 'release'; index: number };
const POOLS = ['10.0.0.8-10.0.0.11', '10.0.0.0/30']; // 10.0.0.0-3 and 10.0.0.8-11
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  fc.record({ kind: fc.constantFrom('pin' as const, 'release' as const), index: fc.integer({ min: 0, max: 13 }) }),
);

function apply(lb: LoadBalancerPools, o: Op, journal = noJournal): unknown {
  if (o.kind === 'allocate') return lb.allocate('IPv4', journal);
  const ip = `10.0.0.${o.index}`;
  return o.kind === 'pin' ? lb.pin(ip, journal) : lb.release(ip, journal);
}

test('random sequences: dynamic addresses are the lowest free pool address and never held', (t) => {
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 100 }), (ops) => {
      const lb = new LoadBalancerPools(POOLS);
      const holders = new Map<number, number>();
      const inPool = (i: number) => i <= 3 || (i >= 8 && i <= 11);
      for (const o of ops) {
        const result = outcome(() => apply(lb, o));
        if (o.kind === 'allocate') {
          const free = [0, 1, 2, 3, 8, 9, 10, 11].filter((i) => !holders.has(i));
          if (free.length === 0) {
            if (!('error' in result)) return false;
            continue;
          }
          if ('error' in result || result.ok !== `10.0.0.${free[0]}`) return false;
          holders.set(free[0]!, 1);
        } else if (o.kind === 'pin') {
          if ('error' in result) return false;
          if (inPool(o.index)) holders.set(o.index, (holders.get(o.index) ?? 0) + 1);
        } else {
          const count = holders.get(o.index);
          if ((result as { ok: boolean }).ok !== (count !== undefined)) return false;
          if (count === 1) holders.delete(o.index);
          else if (count !== undefined) holders.set(o.index, count - 1);
        }
      }
      return lb.report().reduce((sum, r) => sum + r.used, 0) === holders.size;
    }),
    { numRuns: 1000 },
  );
});

test('a rolled-back journal leaves no trace in the pools', (t) => {
  holds(
    t,
    fc.property(opLists(op), (ops) =>
      rollbackIsInvisible(
        () => new LoadBalancerPools(POOLS),
        (lb, o, journal) => apply(lb, o, journal),
        (lb) => [lb.report(), Array.from({ length: 14 }, (_, i) => lb.has(`10.0.0.${i}`))],
        ops,
      ),
    ),
    { numRuns: 1000 },
  );
});
