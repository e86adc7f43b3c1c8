/**
 * Scheduler state under list changes (rr cursor, wrr threshold), and properties every scheduler keeps: weight 0 is
 * never chosen, an empty virtual server has no destination.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  createScheduler,
  type Dest,
  DestFlags,
  newDest,
  SCHEDULER_NAMES,
  setDestWeight,
} from '../../../src/proxy/ipvs/schedulers/index.js';
import type { RoundRobin } from '../../../src/proxy/ipvs/schedulers/rr.js';
import type { WeightedRoundRobin } from '../../../src/proxy/ipvs/schedulers/wrr.js';
import { holds, PKT, sequence, service } from './helpers.js';

test('rr: deleting the destination under the cursor resumes at its successor', (t) => {
  const svc = service('rr', [
    ['A', 1],
    ['B', 1],
    ['C', 1],
    ['D', 1],
  ]);
  t.deepEqual(sequence(svc, 2, false), ['A', 'B']);
  const index = 1;
  const [removed] = svc.dests.splice(index, 1);
  svc.sched.destsChanged(svc.dests, { kind: 'del', dest: removed!, index });
  t.is((svc.sched as RoundRobin).cursor, 0);
  t.deepEqual(sequence(svc, 3, false), ['C', 'D', 'A']);
});

test('rr: a destination added at the head is reached after the current cycle', (t) => {
  const svc = service('rr', [
    ['B', 1],
    ['C', 1],
  ]);
  t.deepEqual(sequence(svc, 1, false), ['B']);
  const d = newDest('10.0.0.1', 80);
  svc.dests.unshift(d);
  svc.sched.destsChanged(svc.dests, { kind: 'add', dest: d });
  const keys = Array.from({ length: 4 }, () => svc.sched.schedule(svc.dests, PKT, 0)?.key);
  t.deepEqual(keys, ['10.0.0.3:80', '10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
});

test('rr: its guess of the next destination never changes a choice (against the same walk asked for a trace)', (t) => {
  // A trace turns the guess off, so the traced scheduler walks the list every time: both must always agree, whatever
  // changes between connections (weights set in place or announced, overload flags, destinations added and deleted).
  const op = fc.oneof(
    fc.constant({ kind: 'schedule' as const }),
    fc.record({ kind: fc.constant('weight' as const), at: fc.nat(7), weight: fc.nat(2), told: fc.boolean() }),
    fc.record({ kind: fc.constant('overload' as const), at: fc.nat(7) }),
    fc.record({ kind: fc.constant('add' as const), label: fc.nat(20) }),
    fc.record({ kind: fc.constant('del' as const), at: fc.nat(7) }),
  );
  holds(
    t,
    fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (n, ops) => {
      const dests: Dest[] = Array.from({ length: n }, (_, i) => newDest(`10.0.1.${i + 1}`, 80));
      const guessing = createScheduler('rr');
      const walking = createScheduler('rr');
      const both = (f: (s: typeof guessing) => void) => {
        f(guessing);
        f(walking);
      };
      for (const o of ops) {
        if (o.kind === 'schedule') {
          const a = guessing.schedule(dests, PKT, 0);
          const b = walking.schedule(dests, PKT, 0, []);
          if (a !== b) return false;
        } else if (o.kind === 'add') {
          const d = newDest(`10.0.2.${o.label + 1}`, 80);
          dests.unshift(d);
          both((s) => s.destsChanged(dests, { kind: 'add', dest: d }));
        } else if (dests.length > 0) {
          const index = o.at % dests.length;
          const d = dests[index]!;
          if (o.kind === 'del') {
            if (dests.length === 1) continue;
            dests.splice(index, 1);
            both((s) => s.destsChanged(dests, { kind: 'del', dest: d, index }));
          } else if (o.kind === 'overload') d.flags ^= DestFlags.OVERLOAD;
          else {
            setDestWeight(d, o.weight);
            if (o.told) both((s) => s.destsChanged(dests, { kind: 'upd', dest: d }));
          }
        }
      }
      return true;
    }),
    { seed: 11, numRuns: 300 },
  );
});

test('wrr: kube-proxy adds real servers one at a time, which shifts the phase but not the cycle', (t) => {
  const sched = createScheduler('wrr') as WeightedRoundRobin;
  const dests: Dest[] = [];
  const labels = new Map<Dest, string>();
  // Final list [A,B,C] with weights 4/3/2: add C, then B, then A (each goes to the head).
  for (const [l, w] of [
    ['C', 2],
    ['B', 3],
    ['A', 4],
  ] as const) {
    const d = newDest(`10.0.0.${l.charCodeAt(0) - 64}`, 80, w);
    labels.set(d, l);
    dests.unshift(d);
    sched.destsChanged(dests, { kind: 'add', dest: d });
  }
  t.deepEqual(sched.state, { cl: -1, cw: 1, mw: 4, di: 1 });
  const got = Array.from({ length: 15 }, () => labels.get(sched.schedule(dests, PKT, 0)!)).join('');
  t.is(got, 'ABC' + 'AABABCABC' + 'AAB');
});

test('wrr: a weight change rounds cw to k*di+1 when di > 1', (t) => {
  const svc = service('wrr', [
    ['A', 6],
    ['B', 3],
  ]);
  const wrr = svc.sched as WeightedRoundRobin;
  t.deepEqual(wrr.state, { cl: -1, cw: 4, mw: 4, di: 3 });
  t.deepEqual(sequence(svc, 1, false), ['A']);
  setDestWeight(svc.dests[1]!, 4);
  svc.sched.destsChanged(svc.dests, { kind: 'upd', dest: svc.dests[1]! });
  t.deepEqual(wrr.state, { cl: -1, cw: 5, mw: 5, di: 2 });
});

test('no scheduler returns a destination with weight 0 (graceful termination quiesces it)', (t) => {
  const arb = fc.record({
    sched: fc.constantFrom(...SCHEDULER_NAMES),
    dests: fc.array(fc.record({ w: fc.nat(4), a: fc.nat(5), i: fc.nat(5) }), { minLength: 1, maxLength: 8 }),
    ports: fc.array(fc.integer({ min: 1024, max: 65535 }), { minLength: 1, maxLength: 20 }),
  });
  holds(
    t,
    fc.property(arb, ({ sched, dests: spec, ports }) => {
      const dests = spec.map((s, k) => {
        const d = newDest(`10.1.0.${k + 1}`, 8080, s.w === 0 ? 1 : s.w);
        // Quiesce after adding, as kube-proxy does: weight 0 with last_weight kept.
        if (s.w === 0) setDestWeight(d, 0);
        d.activeConns = s.a;
        d.inactConns = s.i;
        return d;
      });
      const sch = createScheduler(sched, { flags: sched === 'mh' ? 0x10 : 0 });
      sch.bind?.(dests);
      return ports.every((p) => {
        const d = sch.schedule(dests, { ...PKT, srcPort: p, srcIP: `172.16.${p & 0xff}.${p >> 8}` }, p * 1000);
        return d === undefined || d.weight > 0;
      });
    }),
    { seed: 42, numRuns: 300 },
  );
});

test('every scheduler answers "no destination" on an empty virtual server', (t) => {
  for (const name of SCHEDULER_NAMES) {
    const sch = createScheduler(name);
    sch.bind?.([]);
    t.is(sch.schedule([], PKT, 0), undefined, name);
  }
});
