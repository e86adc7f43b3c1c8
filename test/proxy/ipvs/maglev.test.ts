/**
 * Maglev (mh): table sizes, the paper's population example, turns from weights, fill and balance properties, and the
 * disruption when one of N endpoints goes away (compared with sh).
 */
import test from 'ava';
import fc from 'fast-check';
import {
  createScheduler,
  type Dest,
  newDest,
  SvcFlags,
  setDestWeight,
} from '../../../src/proxy/ipvs/schedulers/index.js';
import {
  compactTable,
  type MaglevHash,
  MH_PRIMES,
  mhBackends,
  mhTableSize,
  mhTurns,
  populateMaglev,
} from '../../../src/proxy/ipvs/schedulers/maglev.js';
import { clientKeys, holds, PKT, service } from './helpers.js';

test('Maglev table sizes follow CONFIG_IP_VS_MH_TAB_INDEX', (t) => {
  t.is(mhTableSize(), 4093);
  t.deepEqual(
    Array.from({ length: 10 }, (_, i) => mhTableSize(i + 8)),
    MH_PRIMES,
  );
  t.throws(() => mhTableSize(18), { code: 'E_INVALID_ARGUMENT' } as never);
});

test('Maglev population reproduces the paper example (M = 7)', (t) => {
  const b0 = { offset: 3, skip: 4, turns: 1 };
  const b1 = { offset: 0, skip: 2, turns: 1 };
  const b2 = { offset: 3, skip: 1, turns: 1 };
  t.deepEqual([...populateMaglev([b0, b1, b2], 7)], [1, 0, 1, 0, 2, 2, 0]);
  // B1 removed: its entries 0 and 2 move, and entry 6 moves from B0 to B2 (more than the minimum).
  t.deepEqual(
    [...populateMaglev([b0, b2], 7)].map((i) => [0, 2][i]),
    [0, 0, 0, 0, 2, 2, 2],
  );
});

test('mh turns: gcd reduction and the 6-bit shift; a non-zero weight never rounds to 0', (t) => {
  t.deepEqual(mhTurns([2, 4, 6]), [1, 2, 3]);
  t.deepEqual(mhTurns([100, 50]), [2, 1]);
  t.deepEqual(mhTurns([1000, 1]), [62, 1]);
  t.deepEqual(mhTurns([192, 1]), [48, 1]);
  t.deepEqual(mhTurns([0, 5]), [0, 1]);
  t.deepEqual(mhTurns([0, 0]), [0, 0]);
  // CONFIG_IP_VS_MH_TAB_INDEX 8 (M = 251): IP_VS_MH_TAB_BITS is 4, so max turns stay within 4 bits.
  t.deepEqual(mhTurns([100, 1], 8), [12, 1]);
  t.deepEqual(mhTurns([1000, 1], 17), [1000 >> 2, 1]);
});

test('Maglev: every slot filled, equal weights within one slot of M/N, weights proportional', (t) => {
  holds(
    t,
    fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 50 }), (n, base) => {
      const dests = Array.from({ length: n }, (_, i) => newDest(`10.${base}.${i >> 8}.${i & 0xff}`, 8080));
      const table = populateMaglev(mhBackends(dests, 4093), 4093);
      const counts = new Array(n).fill(0);
      for (const i of table) {
        if (i < 0) return false;
        counts[i]++;
      }
      return counts.every((c) => c === Math.floor(4093 / n) || c === Math.ceil(4093 / n));
    }),
    { seed: 3, numRuns: 40 },
  );
  const dests = [newDest('10.0.0.1', 80, 3), newDest('10.0.0.2', 80, 1)];
  const table = populateMaglev(mhBackends(dests, 4093), 4093);
  const a = table.filter((i) => i === 0).length;
  t.true(Math.abs(a - (3 * 4093) / 4) <= 3, `weight 3 got ${a} of 4093 slots`);
});

test('compact tables: empty slots become the destination count, in the narrowest type that holds it', (t) => {
  const table = Int32Array.from([2, -1, 0, 1]);
  const cases: [count: number, type: string][] = [
    [3, 'Uint8Array'],
    [254, 'Uint8Array'],
    [255, 'Uint16Array'],
    [65534, 'Uint16Array'],
    [65535, 'Uint32Array'],
  ];
  for (const [count, type] of cases) {
    const compact = compactTable(table, count);
    t.is(compact.constructor.name, type, `${count} destinations`);
    t.deepEqual([...compact], [2, count, 0, 1], `${count} destinations`);
  }
});

test('mh looks up the same destinations through a 16-bit table (300 destinations) as the population made', (t) => {
  const dests = Array.from({ length: 300 }, (_, i) => newDest(`10.1.${i >> 8}.${i & 0xff}`, 8080));
  const sched = createScheduler('mh', { flags: SvcFlags.SCHED2 }) as MaglevHash;
  const expected = [...populateMaglev(mhBackends(dests, 4093), 4093)].map((i) => dests[i]);
  t.deepEqual(sched.table(dests), expected);
  const pkt = { ...PKT, srcIP: '192.0.2.7', srcPort: 40000 };
  t.is(sched.schedule(dests, pkt, 0), expected[sched.slot(pkt)]);
});

function moved(name: 'sh' | 'mh', n: number, flags: number): { moved: number; mustMove: number } {
  const spec = Array.from({ length: n }, (_, i) => [String.fromCharCode(65 + i), 1] as [string, number]);
  const before = service(name, spec, { flags });
  const after = service(name, spec, { flags });
  const index = Math.floor(n / 2);
  const [gone] = after.dests.splice(index, 1);
  after.sched.destsChanged(after.dests, { kind: 'del', dest: gone!, index });
  let changed = 0;
  let mustMove = 0;
  const keys = clientKeys(20000, 99);
  for (const k of keys) {
    const x = before.label(before.sched.schedule(before.dests, { ...PKT, ...k }, 0));
    const y = after.label(after.sched.schedule(after.dests, { ...PKT, ...k }, 0));
    if (x === String.fromCharCode(65 + index)) mustMove++;
    if (x !== y) changed++;
  }
  return { moved: changed / keys.length, mustMove: mustMove / keys.length };
}

test('removing one of N endpoints moves about 1/N of keys under mh, most keys under sh', (t) => {
  for (const n of [5, 10, 20]) {
    const mh = moved('mh', n, SvcFlags.SCHED2);
    t.true(mh.moved >= mh.mustMove, `mh N=${n}`);
    t.true(mh.moved < 1 / n + 0.04, `mh N=${n} moved ${mh.moved.toFixed(3)} (1/N = ${(1 / n).toFixed(3)})`);
    const sh = moved('sh', n, 0);
    t.true(sh.moved > 0.5, `sh N=${n} moved ${sh.moved.toFixed(3)}`);
  }
});

test('mh keeps a quiesced destination in the table: its keys fail, every other key keeps its endpoint', (t) => {
  const svc = service(
    'mh',
    [
      ['A', 1],
      ['B', 1],
      ['C', 1],
      ['D', 1],
    ],
    { flags: SvcFlags.SCHED2 },
  );
  const keys = clientKeys(4000, 5);
  const before = keys.map((k) => svc.sched.schedule(svc.dests, { ...PKT, ...k }, 0));
  setDestWeight(svc.byLabel('C'), 0);
  svc.sched.destsChanged(svc.dests, { kind: 'upd', dest: svc.byLabel('C') });
  keys.forEach((k, i) => {
    const now = svc.sched.schedule(svc.dests, { ...PKT, ...k }, 0);
    t.is(now, before[i] === svc.byLabel('C') ? undefined : before[i]);
  });

  const fb = service(
    'mh',
    [
      ['A', 1],
      ['B', 1],
      ['C', 1],
      ['D', 1],
    ],
    { flags: SvcFlags.SCHED1 | SvcFlags.SCHED2 },
  );
  setDestWeight(fb.byLabel('C'), 0);
  fb.sched.destsChanged(fb.dests, { kind: 'upd', dest: fb.byLabel('C') });
  for (const k of keys.slice(0, 500)) {
    const d = fb.sched.schedule(fb.dests, { ...PKT, ...k }, 0);
    t.truthy(d && d.weight > 0);
  }
});

test('mh without mh-port hashes the source address only', (t) => {
  const svc = service('mh', [
    ['A', 1],
    ['B', 1],
    ['C', 1],
  ]);
  const mh = svc.sched as MaglevHash;
  t.is(mh.size, 4093);
  const set = new Set(
    Array.from({ length: 40 }, (_, p) => svc.sched.schedule(svc.dests, { ...PKT, srcPort: p + 1 }, 0)),
  );
  t.is(set.size, 1);
  const trace: string[] = [];
  svc.sched.schedule(svc.dests, PKT, 0, trace);
  t.regex(trace[0]!, /^mh: 192\.168\.1\.10 hashes to slot \d+ of 4093 -> 10\.0\.0\.\d:80$/);
});

test('createScheduler builds an mh with a smaller table on request', (t) => {
  const s = createScheduler('mh', { mhTabIndex: 8 }) as MaglevHash;
  t.is(s.size, 251);
});

test('mh with more destinations than slots keeps the last table that fit (ip_vs_mh_reassign refuses)', (t) => {
  const s = createScheduler('mh', { mhTabIndex: 8, flags: SvcFlags.SCHED2 }) as MaglevHash;
  const list: Dest[] = [];
  const add = (i: number) => {
    const d = newDest(`10.1.${i >> 8}.${i & 0xff}`, 80);
    list.unshift(d);
    s.destsChanged(list, { kind: 'add', dest: d });
  };
  for (let i = 0; i < 251; i++) add(i);
  const fitted = [...list];
  add(251); // one more than M = 251: the table is the 251 destinations' (built now, though never looked up before)
  add(252);
  t.deepEqual(
    s.table(list),
    [...populateMaglev(mhBackends(fitted, 251, 8), 251)].map((i) => fitted[i]),
  );
  t.false(s.table(list).includes(list[0]), 'the newest destinations have no slot');
  const gone = list.splice(0, 2);
  s.destsChanged(list, { kind: 'del', dest: gone[0]!, index: 0 });
  s.destsChanged(list, { kind: 'del', dest: gone[1]!, index: 0 });
  t.deepEqual(
    s.table(list),
    [...populateMaglev(mhBackends(list, 251, 8), 251)].map((i) => list[i]),
    'back to M: rebuilt',
  );
});
