/**
 * sh and dh: the 256-bucket tables as the kernel fills them, weight-0 buckets, sh-fallback and sh-port, and the
 * same-key-same-endpoint property of the hashing schedulers.
 */
import test from 'ava';
import fc from 'fast-check';
import type { DestinationHash, SourceHash } from '../../../src/proxy/ipvs/schedulers/bucket-hash.js';
import { type Dest, SvcFlags, setDestWeight } from '../../../src/proxy/ipvs/schedulers/index.js';
import { clientKeys, holds, PKT, service } from './helpers.js';

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
      t.is(sh.table(svc.dests)[sh.bucket(k)], svc.byLabel('B'));
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
  t.deepEqual([...chosen], [dh.table(svc.dests)[dh.bucket(PKT)]]);
});
