/**
 * The hashing schedulers: hsiphash against the kernel's own test vectors, the sh/dh 256-bucket tables, Maglev's
 * lookup table (paper example, fill and balance properties, weights) and the disruption each causes when one of N
 * endpoints goes away.
 */
import test from 'ava';
import fc from 'fast-check';
import type { DestinationHash, SourceHash } from '../../../src/proxy/ipvs/schedulers/bucket-hash.js';
import {
  foldAddress,
  goldenMulMask,
  hash32,
  hsiphashBytes,
  hsiphashU32,
  parseIPv4Fast,
} from '../../../src/proxy/ipvs/schedulers/hash.js';
import {
  createScheduler,
  type Dest,
  newDest,
  SvcFlags,
  setDestWeight,
} from '../../../src/proxy/ipvs/schedulers/index.js';
import {
  type MaglevHash,
  MH_PRIMES,
  mhBackends,
  mhTableSize,
  mhTurns,
  populateMaglev,
} from '../../../src/proxy/ipvs/schedulers/maglev.js';
import { clientKeys, holds, PKT, service } from './helpers.js';

// lib/siphash_kunit.c: key 00..0f, message bytes 00..len-1 (64-bit build, where hsiphash is SipHash-1-3).
const KERNEL_KEY = [0x07060504, 0x03020100, 0x0f0e0d0c, 0x0b0a0908] as const;
const KERNEL_VECTORS = [
  0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67, 0xc59f22a7, 0x9bb11140, 0x8d299a8e,
  0x6c063de4, 0x92ff097f, 0xf94dc352, 0x57b4d9a2, 0x1229ffa7, 0xc0f95d34, 0x2a519956, 0x7d908b66, 0x63dbd80c,
];

test('hsiphash matches the kernel self-test vectors', (t) => {
  KERNEL_VECTORS.forEach((expected, len) => {
    const msg = Uint8Array.from({ length: len }, (_, i) => i);
    t.is(hsiphashBytes(msg, KERNEL_KEY), expected, `length ${len}`);
  });
  t.is(hsiphashU32(0x03020100, KERNEL_KEY), 0x88d38328);
});

test('hsiphashU32 equals hashing the little-endian bytes', (t) => {
  holds(
    t,
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
      const bytes = Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
      return hsiphashU32(v, KERNEL_KEY) === hsiphashBytes(bytes, KERNEL_KEY);
    }),
    { seed: 7 },
  );
});

test('hash_32 and the legacy multiplicative hash', (t) => {
  t.is(hash32(1, 8), 0x61);
  t.is(hash32(0xffffffff, 32), Math.imul(0xffffffff, 0x61c88647) >>> 0);
  // 2654435761 ≡ 177 (mod 256): the legacy bucket depends only on the last IPv4 octet.
  t.is(goldenMulMask(parseIPv4Fast('10.1.2.3')!, 255), goldenMulMask(parseIPv4Fast('192.168.77.3')!, 255));
  t.is(goldenMulMask(3, 255), (3 * 177) % 256);
});

test('address folding: IPv4 in host order, IPv6 XOR of its words', (t) => {
  t.is(foldAddress('10.96.0.1'), 0x0a600001);
  t.is(foldAddress('fd00::1'), (0xfd000000 ^ 0 ^ 0 ^ 1) >>> 0);
  t.is(foldAddress('not-an-ip'), undefined);
  t.is(parseIPv4Fast('1.2.3'), undefined);
  t.is(parseIPv4Fast('1.2.3.256'), undefined);
});

function bucketCounts(table: readonly (Dest | undefined)[]): number[] {
  const counts = new Map<Dest | undefined, number>();
  for (const d of table) counts.set(d, (counts.get(d) ?? 0) + 1);
  return [...counts.values()];
}

test('sh: 256 buckets filled cyclically, weight consecutive buckets per destination', (t) => {
  const equal = service('sh', [
    ['A', 1],
    ['B', 1],
    ['C', 1],
  ]);
  t.deepEqual(bucketCounts((equal.sched as SourceHash).table(equal.dests)), [86, 85, 85]);
  const weighted = service('sh', [
    ['A', 2],
    ['B', 1],
  ]);
  const table = (weighted.sched as SourceHash).table(weighted.dests);
  t.deepEqual(bucketCounts(table), [171, 85]);
  t.deepEqual(table.slice(0, 6).map(weighted.label), ['A', 'A', 'B', 'A', 'A', 'B']);
});

test('sh: a weight-0 destination keeps one bucket per cycle and lookups there fail (no sh-fallback)', (t) => {
  const svc = service('sh', [
    ['A', 1],
    ['B', 1],
    ['C', 1],
  ]);
  setDestWeight(svc.byLabel('B'), 0);
  svc.sched.destsChanged(svc.dests, { kind: 'upd', dest: svc.byLabel('B') });
  const sh = svc.sched as SourceHash;
  t.deepEqual(sh.table(svc.dests).slice(0, 3).map(svc.label), ['A', 'B', 'C']);
  let failed = 0;
  for (const k of clientKeys(3000)) {
    const d = sh.schedule(svc.dests, { ...PKT, ...k }, 0);
    if (d === undefined) {
      failed++;
      t.is(sh.table(svc.dests)[sh.bucket(k.srcIP, k.srcPort)], svc.byLabel('B'));
    }
  }
  t.true(failed > 700 && failed < 1300, `${failed} of 3000 hashed to the quiesced destination`);
});

test('sh-fallback probes other buckets; sh-port makes the source port part of the key', (t) => {
  const fb = service(
    'sh',
    [
      ['A', 1],
      ['B', 1],
      ['C', 1],
    ],
    { flags: SvcFlags.SCHED1 },
  );
  setDestWeight(fb.byLabel('B'), 0);
  fb.sched.destsChanged(fb.dests, { kind: 'upd', dest: fb.byLabel('B') });
  for (const k of clientKeys(500)) t.not(fb.sched.schedule(fb.dests, { ...PKT, ...k }, 0), undefined);

  const noPort = service('sh', [
    ['A', 1],
    ['B', 1],
    ['C', 1],
  ]);
  const withPort = service(
    'sh',
    [
      ['A', 1],
      ['B', 1],
      ['C', 1],
    ],
    { flags: SvcFlags.SCHED2 },
  );
  const byPort = (svc: typeof noPort) =>
    new Set(Array.from({ length: 50 }, (_, p) => svc.sched.schedule(svc.dests, { ...PKT, srcPort: 1000 + p }, 0)));
  t.is(byPort(noPort).size, 1);
  t.true(byPort(withPort).size > 1);
});

test('sh, dh and mh map the same key to the same endpoint, across independent instances', (t) => {
  holds(
    t,
    fc.property(
      fc.constantFrom('sh' as const, 'dh' as const, 'mh' as const),
      fc.integer({ min: 1, max: 12 }),
      fc.ipV4(),
      fc.integer({ min: 1, max: 65535 }),
      (name, n, srcIP, srcPort) => {
        const spec = Array.from({ length: n }, (_, i) => [String.fromCharCode(65 + i), 1] as [string, number]);
        const a = service(name, spec, { flags: SvcFlags.SCHED2 });
        const b = service(name, spec, { flags: SvcFlags.SCHED2 });
        const pkt = { ...PKT, srcIP, srcPort };
        const first = a.sched.schedule(a.dests, pkt, 0);
        return (
          first !== undefined &&
          a.sched.schedule(a.dests, pkt, 5) === first &&
          b.label(b.sched.schedule(b.dests, pkt, 0)) === a.label(first)
        );
      },
    ),
    { seed: 11, numRuns: 200 },
  );
});

test('dh: every connection to one virtual address lands on one endpoint', (t) => {
  const svc = service('dh', [
    ['A', 1],
    ['B', 1],
    ['C', 1],
  ]);
  const dh = svc.sched as DestinationHash;
  const chosen = new Set(clientKeys(500).map((k) => svc.sched.schedule(svc.dests, { ...PKT, ...k }, 0)));
  t.is(chosen.size, 1);
  t.deepEqual([...chosen], [dh.table(svc.dests)[dh.bucket(PKT.dstIP)]]);
});

test('Maglev table sizes follow CONFIG_IP_VS_MH_TAB_INDEX', (t) => {
  t.is(mhTableSize(), 4093);
  t.deepEqual(
    Array.from({ length: 10 }, (_, i) => mhTableSize(i + 8)),
    MH_PRIMES,
  );
  t.throws(() => mhTableSize(18), { instanceOf: RangeError });
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
