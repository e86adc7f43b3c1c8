/**
 * Scheduler decisions: the deterministic sequences of proxy.md §4.4 (each checked by hand against the kernel
 * sources), the lc/wlc/sed/nq formulas on given connection counts, and cursor/threshold bookkeeping on list changes.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  createScheduler,
  type Dest,
  newDest,
  SCHEDULER_NAMES,
  setDestWeight,
} from '../../../src/proxy/ipvs/schedulers/index.js';
import type { RoundRobin } from '../../../src/proxy/ipvs/schedulers/rr.js';
import type { WeightedRoundRobin } from '../../../src/proxy/ipvs/schedulers/wrr.js';
import { holds, PKT, sequence, service } from './helpers.js';

// biome-ignore format: one case per line reads as the table it is
const seqCases: {
  title: string;
  sched: 'rr' | 'wrr' | 'lc' | 'wlc' | 'sed' | 'nq';
  dests: [string, number][];
  keepActive: boolean;
  expect: string;
}[] = [
  {
    title: 'rr equal weights',
    sched: 'rr',
    dests: [
      ['A', 1],
      ['B', 1],
      ['C', 1],
    ],
    keepActive: false,
    expect: 'ABCABCA',
  },
  {
    title: 'rr ignores weight values',
    sched: 'rr',
    dests: [
      ['A', 5],
      ['B', 1],
      ['C', 3],
    ],
    keepActive: false,
    expect: 'ABCABC',
  },
  {
    title: 'rr skips weight 0',
    sched: 'rr',
    dests: [
      ['A', 1],
      ['B', 0],
      ['C', 1],
    ],
    keepActive: false,
    expect: 'ACACAC',
  },
  {
    title: 'wrr 4/3/2',
    sched: 'wrr',
    dests: [
      ['A', 4],
      ['B', 3],
      ['C', 2],
    ],
    keepActive: false,
    expect: 'AABABCABC'.repeat(2),
  },
  {
    title: 'wrr 1/2/3',
    sched: 'wrr',
    dests: [
      ['A', 1],
      ['B', 2],
      ['C', 3],
    ],
    keepActive: false,
    expect: 'CBCABC'.repeat(2),
  },
  {
    title: 'wrr 4/2 (gcd 2)',
    sched: 'wrr',
    dests: [
      ['A', 4],
      ['B', 2],
    ],
    keepActive: false,
    expect: 'AAB'.repeat(3),
  },
  {
    title: 'wrr 5/1/1',
    sched: 'wrr',
    dests: [
      ['A', 5],
      ['B', 1],
      ['C', 1],
    ],
    keepActive: false,
    expect: 'AAAAABC'.repeat(2),
  },
  {
    title: 'wrr skips weight 0',
    sched: 'wrr',
    dests: [
      ['A', 2],
      ['B', 0],
      ['C', 1],
    ],
    keepActive: false,
    expect: 'AAC'.repeat(2),
  },
  {
    title: 'lc idle, conns stay',
    sched: 'lc',
    dests: [
      ['A', 1],
      ['B', 1],
      ['C', 1],
    ],
    keepActive: true,
    expect: 'ABCABCA',
  },
  {
    title: 'wlc 1/3/1',
    sched: 'wlc',
    dests: [
      ['A', 1],
      ['B', 3],
      ['C', 1],
    ],
    keepActive: true,
    expect: 'ABCBBABCBB',
  },
  {
    title: 'sed 1/3/1',
    sched: 'sed',
    dests: [
      ['A', 1],
      ['B', 3],
      ['C', 1],
    ],
    keepActive: true,
    expect: 'BBABCBBABC',
  },
  {
    title: 'nq 1/3/1',
    sched: 'nq',
    dests: [
      ['A', 1],
      ['B', 3],
      ['C', 1],
    ],
    keepActive: true,
    expect: 'ABCBBBBABC',
  },
];

for (const c of seqCases) {
  test(`sequence: ${c.title}`, (t) => {
    const svc = service(c.sched, c.dests);
    t.is(sequence(svc, c.expect.length, c.keepActive).join(''), c.expect);
  });
}

// biome-ignore format: one case per line reads as the table it is
const pointCases: {
  title: string;
  sched: 'lc' | 'wlc' | 'sed' | 'nq';
  /** label, weight, active, inactive */
  dests: [string, number, number, number][];
  expect: string;
}[] = [
  {
    title: 'lc overheads 512/261/259',
    sched: 'lc',
    dests: [
      ['A', 1, 2, 0],
      ['B', 1, 1, 5],
      ['C', 1, 1, 3],
    ],
    expect: 'C',
  },
  {
    title: 'lc tie keeps the first',
    sched: 'lc',
    dests: [
      ['A', 1, 1, 0],
      ['B', 1, 1, 0],
      ['C', 1, 1, 0],
    ],
    expect: 'A',
  },
  {
    title: 'lc ignores weight magnitude',
    sched: 'lc',
    dests: [
      ['A', 100, 3, 0],
      ['B', 1, 2, 0],
    ],
    expect: 'B',
  },
  {
    title: 'lc skips weight 0',
    sched: 'lc',
    dests: [
      ['A', 0, 0, 0],
      ['B', 1, 9, 0],
    ],
    expect: 'B',
  },
  {
    title: 'wlc 3/2/1 active 10/6/1',
    sched: 'wlc',
    dests: [
      ['A', 3, 10, 0],
      ['B', 2, 6, 0],
      ['C', 1, 1, 0],
    ],
    expect: 'C',
  },
  {
    title: 'wlc 4/2/1 active 4/3/1: tie A/C',
    sched: 'wlc',
    dests: [
      ['A', 4, 4, 0],
      ['B', 2, 3, 0],
      ['C', 1, 1, 0],
    ],
    expect: 'A',
  },
  {
    title: 'wlc counts inactive',
    sched: 'wlc',
    dests: [
      ['A', 1, 1, 10],
      ['B', 1, 1, 2],
    ],
    expect: 'B',
  },
  {
    title: 'sed 1/3/1 active 2/5/0',
    sched: 'sed',
    dests: [
      ['A', 1, 2, 0],
      ['B', 3, 5, 0],
      ['C', 1, 0, 0],
    ],
    expect: 'C',
  },
  {
    title: 'sed ignores inactive',
    sched: 'sed',
    dests: [
      ['A', 1, 1, 900],
      ['B', 1, 2, 0],
    ],
    expect: 'A',
  },
  {
    title: 'nq picks the idle one',
    sched: 'nq',
    dests: [
      ['A', 1, 2, 0],
      ['B', 3, 5, 0],
      ['C', 1, 0, 0],
    ],
    expect: 'C',
  },
  {
    title: 'nq no idle: sed, B/C tie',
    sched: 'nq',
    dests: [
      ['A', 1, 2, 0],
      ['B', 3, 5, 0],
      ['C', 1, 1, 0],
    ],
    expect: 'B',
  },
  {
    title: 'nq idle but weight 0 skipped',
    sched: 'nq',
    dests: [
      ['A', 0, 0, 0],
      ['B', 1, 3, 0],
    ],
    expect: 'B',
  },
];

for (const c of pointCases) {
  test(`formula: ${c.title}`, (t) => {
    const svc = service(
      c.sched,
      c.dests.map(([l, w]) => [l, w] as [string, number]),
    );
    c.dests.forEach(([, , a, i], k) => {
      svc.dests[k]!.activeConns = a;
      svc.dests[k]!.inactConns = i;
    });
    t.is(svc.label(svc.sched.schedule(svc.dests, PKT, 0)), c.expect);
  });
}

test('wlc trace shows each overhead and weight', (t) => {
  const svc = service('wlc', [
    ['A', 3],
    ['B', 2],
  ]);
  svc.dests[0]!.activeConns = 2;
  svc.dests[1]!.inactConns = 7;
  const trace: string[] = [];
  svc.sched.schedule(svc.dests, PKT, 0, trace);
  t.deepEqual(trace, [
    'wlc: 10.0.0.1:80 overhead 2*256+0=512 weight 3',
    'wlc: 10.0.0.2:80 overhead 0*256+7=7 weight 2',
    'wlc: least overhead/weight 7/2 at 10.0.0.2:80',
  ]);
});

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
