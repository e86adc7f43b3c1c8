/**
 * Scheduler decisions: the deterministic sequences of proxy.md §4.4 (each checked by hand against the kernel
 * sources), the lc/wlc/sed/nq formulas on given connection counts, and cursor/threshold bookkeeping on list changes.
 */
import test from 'ava';
import { PKT, sequence, service } from './helpers.js';

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
