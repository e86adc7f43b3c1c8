/**
 * The mh table arena: blocks and runs reused once given back, runs cleared, growth keeping what is there; mh
 * schedulers sharing one arena look up what their own population makes, through any sequence of changes; and an
 * engine gives a deleted virtual server's table back.
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
import { type MaglevHash, mhBackends, populateMaglev } from '../../../src/proxy/ipvs/schedulers/maglev.js';
import { MaglevArena, slotAt } from '../../../src/proxy/ipvs/schedulers/maglev-arena.js';
import { remove, service, slice } from '../fixtures.js';
import { engineOn, POD, storeOf, tcp } from './engine-helpers.js';
import { holds } from './helpers.js';

test('arena: a table block given back is the next one taken; growth keeps the bytes already written', (t) => {
  const arena = new MaglevArena(7);
  const a = arena.takeTable();
  const b = arena.takeTable();
  t.deepEqual([a, b], [0, 7]);
  arena.bytes.fill(3, b, b + 7);
  const c = arena.takeTable(); // the buffer doubles from 14 to 28 bytes here
  t.is(c, 14);
  t.deepEqual([...arena.bytes.subarray(b, b + 7)], [3, 3, 3, 3, 3, 3, 3]);
  t.is(arena.tablesInUse, 3);
  arena.giveTable(b);
  t.is(arena.tablesInUse, 2);
  t.is(arena.takeTable(), b);
});

test('arena: a packed table takes half the bytes (rounded up), two slots to a byte; each width reuses its own blocks', (t) => {
  const arena = new MaglevArena(7);
  const wide = arena.takeTable();
  const packed = arena.takeTable(true);
  t.deepEqual([wide, packed, arena.blockBytes(true)], [0, 7, 4]);
  t.is(arena.takeTable(true), 11, 'packed blocks are 4 bytes for M = 7');
  arena.bytes.set([0x21, 0x43, 0x65, 0x07], packed);
  t.deepEqual(
    Array.from({ length: 7 }, (_, slot) => slotAt(arena.bytes, packed, slot, true)),
    [1, 2, 3, 4, 5, 6, 7],
    'even slots in the low half',
  );
  arena.giveTable(packed, true);
  t.is(arena.takeTable(), 15, 'a byte-per-slot table does not take a packed block');
  t.is(arena.takeTable(true), packed, 'a packed one does');
});

test('arena: destination runs come in power-of-two classes, are reused within a class, and are cleared', (t) => {
  const arena = new MaglevArena(7);
  const cases: [length: number, size: number][] = [
    [1, 16],
    [16, 16],
    [17, 32],
    [255, 256],
  ];
  let end = 0;
  for (const [length, size] of cases) {
    t.is(arena.takeRun(length), end, `a run for ${length} starts where the last ended`);
    end += size;
    t.is(arena.dests.length, end, `a run for ${length} takes ${size} entries`);
  }
  const d = newDest('10.0.0.1', 80);
  const run = arena.takeRun(3);
  arena.dests[run] = d;
  arena.giveRun(run, 3);
  t.is(arena.dests[run] as Dest | undefined, undefined, 'no destination stays reachable from a run given back');
  t.is(arena.takeRun(33), end + 16, 'another class does not take it');
  t.is(arena.takeRun(10), run, 'the same class does');
});

// One step of the property below: on scheduler `which`, add a destination, delete one, set a weight, or delete the
// virtual server (release, then start again with no destinations).
type Step =
  | { which: number; op: 'add'; n: number }
  | { which: number; op: 'del'; at: number }
  | { which: number; op: 'weight'; at: number; weight: number }
  | { which: number; op: 'release' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ which: fc.nat(3), op: fc.constant('add' as const), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ which: fc.nat(3), op: fc.constant('del' as const), at: fc.nat(300) }),
  fc.record({ which: fc.nat(3), op: fc.constant('weight' as const), at: fc.nat(300), weight: fc.nat(5) }),
  fc.record({ which: fc.nat(3), op: fc.constant('release' as const) }),
);

test('mh schedulers sharing an arena each look up exactly what their own population makes, through any changes', (t) => {
  let made = 0;
  holds(
    t,
    fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
      // M = 509 (tab index 9): room for lists past 254 destinations, which leave the arena (a kernel table refuses
      // more destinations than slots, maglev.test.ts).
      const arena = new MaglevArena(509);
      const scheds = Array.from(
        { length: 4 },
        () => createScheduler('mh', { mhTabIndex: 9, mhArena: arena, flags: SvcFlags.SCHED2 }) as MaglevHash,
      );
      const lists: Dest[][] = scheds.map(() => []);
      // Every scheduler's table against its own population: a change to one must leave the others' as they were.
      const tablesRight = (): boolean =>
        scheds.every((sched, i) => {
          const own = lists[i]!;
          const expected = [...populateMaglev(mhBackends(own, 509, 9), 509)].map((k) => own[k]);
          const got = sched.table(own);
          return got.length === expected.length && got.every((d, k) => d === expected[k]);
        });
      if (!tablesRight()) return false;
      for (const s of steps) {
        const sched = scheds[s.which]!;
        const dests = lists[s.which]!;
        if (s.op === 'add') {
          // Up to 300 destinations: lists past 15 are kept a byte per slot, past 254 leave the arena for a 16-bit table
          // of their own, and come back.
          for (let k = 0; k < s.n * 8 && dests.length < 300; k++) {
            const d = newDest(`10.${s.which}.${(made >> 8) & 255}.${made & 255}`, 8080);
            made++;
            dests.unshift(d);
            sched.destsChanged(dests, { kind: 'add', dest: d });
          }
        } else if (s.op === 'del' && dests.length > 0) {
          const index = s.at % dests.length;
          const [gone] = dests.splice(index, 1);
          sched.destsChanged(dests, { kind: 'del', dest: gone!, index });
        } else if (s.op === 'weight' && dests.length > 0) {
          const d = dests[s.at % dests.length]!;
          setDestWeight(d, s.weight);
          sched.destsChanged(dests, { kind: 'upd', dest: d });
        } else if (s.op === 'release') {
          sched.release();
          dests.length = 0;
        }
        if (!tablesRight()) return false;
      }
      // Every table is built (the lookups above); the arena holds those of 254 destinations or fewer.
      return arena.tablesInUse === lists.filter((l) => l.length <= 254).length;
    }),
    { seed: 11, numRuns: 150 },
  );
});

test("ipvs mh: a deleted Service gives its virtual server's table back to the engine's arena", (t) => {
  const web = service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] });
  const eps = slice(
    'default',
    'web',
    [
      { ip: '10.244.1.5', node: 'node-a' },
      { ip: '10.244.2.6', node: 'node-b' },
    ],
    [{ name: 'http', port: 80 }],
  );
  const store = storeOf(web, eps);
  const arena = new MaglevArena(4093);
  const engine = engineOn(store, { scheduler: 'mh' }, { addOrder: 'sorted', mhArena: arena });
  t.is(engine.send(tcp('10.244.1.9', 1000, '10.96.0.10', 80), POD, 1).verdict, 'DNAT');
  t.is(arena.tablesInUse, 1, 'the first lookup built the table');
  remove(store, web, eps);
  engine.sync(2);
  t.is(arena.tablesInUse, 0);
  t.is(engine.send(tcp('10.244.1.9', 1001, '10.96.0.10', 80), POD, 2).endpoint, null);
});
