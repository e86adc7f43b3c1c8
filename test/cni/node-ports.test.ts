import test from 'ava';
import fc from 'fast-check';
import { AlreadyAllocatedError, OutOfRangeError } from '../../src/cni/allocation-errors.js';
import { DEFAULT_NODE_PORT_RANGE, NodePortAllocator, nodePortRangeOffset } from '../../src/cni/node-ports.js';
import { ErrorCodes, InvalidArgumentError, RangeExhaustedError } from '../../src/errors.js';
import { noJournal } from '../../src/model/journal.js';
import { Rng } from '../../src/util/rng.js';
import { holds, opLists, outcome, rollbackIsInvisible } from './helpers.js';

// [range size, static band size]: min(max(16, size/32), 128), 0 for 16 ports or fewer
const offsets: [number, number][] = [
  [1, 0],
  [16, 0],
  [17, 16],
  [512, 16],
  [1024, 32],
  [2768, 86], // the default 30000-32767
  [4096, 128],
  [65535, 128],
];

for (const [size, offset] of offsets) {
  test(`a node port range of ${size} ports has a static band of ${offset}`, (t) => {
    t.is(nodePortRangeOffset(size), offset);
  });
}

test('the default range: 2768 ports, static band 30000-30085', (t) => {
  const a = new NodePortAllocator(DEFAULT_NODE_PORT_RANGE, new Rng(1));
  t.is(a.size, 2768);
  t.is(a.rangeText, '30000-32767');
  t.deepEqual(a.staticBand, { first: 30000, last: 30085 });
  const ports = Array.from({ length: 500 }, () => a.allocateNext(noJournal));
  t.is(new Set(ports).size, 500);
  t.true(ports.every((p) => p >= 30086 && p <= 32767));
});

test('requested ports get Kubernetes wording', (t) => {
  const a = new NodePortAllocator(DEFAULT_NODE_PORT_RANGE, new Rng(1));
  for (const port of [80, 29999, 32768, 30000.5]) {
    const err = t.throws(() => a.allocate(port, noJournal), { instanceOf: OutOfRangeError });
    t.is(err?.message, 'provided port is not in the valid range. The range of valid ports is 30000-32767');
  }
  a.allocate(30080, noJournal);
  const err = t.throws(() => a.allocate(30080, noJournal), { instanceOf: AlreadyAllocatedError });
  t.is(err?.message, 'provided port is already allocated');
  t.is(err?.code, ErrorCodes.ALREADY_ALLOCATED);
  t.true(a.release(30080, noJournal));
  t.false(a.has(30080));
});

test('bad ranges are refused', (t) => {
  for (const range of [
    { first: 0, last: 10 },
    { first: 100, last: 99 },
    { first: 30000, last: 70000 },
  ]) {
    t.throws(() => new NodePortAllocator(range, new Rng(1)), { instanceOf: InvalidArgumentError });
  }
});

test('exhaustion names the port range; the static band is used last', (t) => {
  const a = new NodePortAllocator({ first: 30000, last: 30031 }, new Rng(3)); // 32 ports, band 30000-30015
  const upper = Array.from({ length: 16 }, () => a.allocateNext(noJournal));
  t.true(upper.every((p) => p >= 30016));
  const lower = Array.from({ length: 16 }, () => a.allocateNext(noJournal));
  t.true(lower.every((p) => p <= 30015));
  const err = t.throws(() => a.allocateNext(noJournal), { instanceOf: RangeExhaustedError });
  t.is(err?.message, 'failed to allocate a nodePort: range 30000-30031 is full');
});

type Op = { kind: 'next' } | { kind: 'pin' | 'release'; port: number };
const RANGE = { first: 30000, last: 30063 }; // 64 ports, band 30000-30015
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'next' as const }) },
  fc.record({
    kind: fc.constantFrom('pin' as const, 'release' as const),
    port: fc.integer({ min: 29998, max: 30065 }),
  }),
);

function apply(a: NodePortAllocator, o: Op, journal = noJournal): unknown {
  if (o.kind === 'next') return a.allocateNext(journal);
  return o.kind === 'pin' ? a.allocate(o.port, journal) : a.release(o.port, journal);
}

test('random create/delete sequences: no port twice, always in range, upper band first', (t) => {
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 150 }), fc.integer(), (ops, seed) => {
      const a = new NodePortAllocator(RANGE, new Rng(seed));
      const held = new Set<number>();
      for (const o of ops) {
        let upperFree = false;
        for (let p = 30016; p <= 30063; p++) if (!held.has(p)) upperFree = true;
        const result = outcome(() => apply(a, o));
        if (o.kind === 'next') {
          if ('error' in result) {
            if (held.size !== 64) return false;
            continue;
          }
          const port = result.ok as number;
          if (port < 30000 || port > 30063 || held.has(port) || (upperFree && port < 30016)) return false;
          held.add(port);
        } else if (o.kind === 'pin') {
          const inRange = o.port >= 30000 && o.port <= 30063;
          if ('error' in result) {
            if (inRange && !held.has(o.port)) return false;
          } else {
            if (!inRange || held.has(o.port)) return false;
            held.add(o.port);
          }
        } else if ((result as { ok: boolean }).ok !== held.delete(o.port)) {
          return false;
        }
        if (a.allocated().join() !== [...held].sort((x, y) => x - y).join()) return false;
      }
      return true;
    }),
    { numRuns: 1500 },
  );
});

test('the same seed gives the same NodePorts', (t) => {
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 80 }), fc.integer(), (ops, seed) => {
      const a = new NodePortAllocator(RANGE, new Rng(seed));
      const b = new NodePortAllocator(RANGE, new Rng(seed));
      return ops.every(
        (o) => JSON.stringify(outcome(() => apply(a, o))) === JSON.stringify(outcome(() => apply(b, o))),
      );
    }),
    { numRuns: 500 },
  );
});

test('a rolled-back journal leaves no trace in the NodePort allocator', (t) => {
  holds(
    t,
    fc.property(opLists(op), fc.integer(), (ops, seed) =>
      rollbackIsInvisible(
        () => new NodePortAllocator(RANGE, new Rng(seed)),
        (a, o, journal) => apply(a, o, journal),
        (a) => a.allocated(),
        ops,
      ),
    ),
    { numRuns: 1000 },
  );
});
