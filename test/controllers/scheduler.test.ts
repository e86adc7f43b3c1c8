import test from 'ava';
import { numFeasibleNodesToFind, Scheduler } from '../../src/controllers/scheduler.js';
import { noJournal } from '../../src/model/journal.js';
import type { Pod } from '../../src/model/types.js';
import { Rng } from '../../src/util/rng.js';
import { CONTROL_PLANE_TAINT, container, type NodeOptions, node, pod, TestCluster } from './helpers.js';

function schedulerWith(nodes: [string, NodeOptions][], taintMessage?: 'current' | 'detailed'): Scheduler {
  const s = new Scheduler({ rng: new Rng(1), ...(taintMessage ? { taintMessage } : {}) });
  for (const [name, o] of nodes) s.addNode(node(name, o), noJournal);
  return s;
}

/** Bind a filler pod so a node has `cpu` requested. */
function fill(s: Scheduler, nodeName: string, cpu: string): void {
  s.bind(pod(`fill-${nodeName}-${cpu}`, { containers: [container({ cpu })], nodeName }), nodeName, noJournal);
}

const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
const NO_VICTIMS = 'No preemption victims found for incoming pod';

interface Case {
  title: string;
  nodes: [string, NodeOptions][];
  fill?: [string, string][];
  pod: Pod;
  taintMessage?: 'current' | 'detailed';
  expect: string;
}

const cases: Case[] = [
  {
    title: 'control-plane taint and full workers, in the current (1.34+) wording',
    nodes: [
      ['cp', { taints: [CONTROL_PLANE_TAINT] }],
      ['w1', { cpu: '2' }],
      ['w2', { cpu: '2' }],
    ],
    fill: [
      ['w1', '1500m'],
      ['w2', '1500m'],
    ],
    pod: pod('p', { containers: [container({ cpu: '1' })] }),
    expect: `0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 ${NOT_HELPFUL}, 2 ${NO_VICTIMS}.`,
  },
  {
    title: 'the detailed (up to 1.33) taint wording names the taint',
    nodes: [
      ['cp', { taints: [CONTROL_PLANE_TAINT] }],
      ['w1', { cpu: '2' }],
      ['w2', { cpu: '2' }],
    ],
    fill: [
      ['w1', '1500m'],
      ['w2', '1500m'],
    ],
    taintMessage: 'detailed',
    pod: pod('p', { containers: [container({ cpu: '1' })] }),
    expect: `0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 ${NOT_HELPFUL}, 2 ${NO_VICTIMS}.`,
  },
  {
    title: 'a request bigger than the whole node cannot be helped by preemption',
    nodes: [
      ['w1', { cpu: '2', memory: '1Gi' }],
      ['w2', { cpu: '2', memory: '1Gi' }],
    ],
    pod: pod('p', { containers: [container({ cpu: '4', memory: '2Gi' })] }),
    expect: `0/2 nodes are available: 2 Insufficient cpu, 2 Insufficient memory. preemption: 0/2 nodes are available: 2 ${NOT_HELPFUL}.`,
  },
  {
    title: 'a not-ready node carries the not-ready taint',
    nodes: [['w1', { ready: 'False' }]],
    taintMessage: 'detailed',
    pod: pod('p'),
    expect: `0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 ${NOT_HELPFUL}.`,
  },
  {
    title: 'an unreachable node (Ready Unknown) carries the unreachable taint',
    nodes: [['w1', { ready: 'Unknown' }]],
    taintMessage: 'detailed',
    pod: pod('p'),
    expect: `0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. preemption: 0/1 nodes are available: 1 ${NOT_HELPFUL}.`,
  },
  {
    title: 'a cordoned node',
    nodes: [['w1', { unschedulable: true }]],
    pod: pod('p'),
    expect: `0/1 nodes are available: 1 node(s) were unschedulable. preemption: 0/1 nodes are available: 1 ${NOT_HELPFUL}.`,
  },
  {
    title: 'nodeSelector matching no node',
    nodes: [
      ['w1', {}],
      ['w2', {}],
    ],
    pod: pod('p', { nodeSelector: { disk: 'ssd' } }),
    expect: `0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/2 nodes are available: 2 ${NOT_HELPFUL}.`,
  },
  {
    title: 'a node full of pods',
    nodes: [['w1', { pods: '1' }]],
    fill: [['w1', '100m']],
    pod: pod('p'),
    expect: `0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are available: 1 ${NO_VICTIMS}.`,
  },
  {
    title: 'counts sort as strings, as Go sort.Strings does ("10 …" before "2 …")',
    nodes: [
      ...Array.from({ length: 10 }, (_, i): [string, NodeOptions] => [`t${i}`, { taints: [CONTROL_PLANE_TAINT] }]),
      ['s1', { unschedulable: true }],
      ['s2', { unschedulable: true }],
    ],
    pod: pod('p'),
    expect: `0/12 nodes are available: 10 node(s) had untolerated taint(s), 2 node(s) were unschedulable. preemption: 0/12 nodes are available: 12 ${NOT_HELPFUL}.`,
  },
];

for (const c of cases) {
  test(`unschedulable: ${c.title}`, (t) => {
    const s = schedulerWith(c.nodes, c.taintMessage);
    for (const [n, cpu] of c.fill ?? []) fill(s, n, cpu);
    t.deepEqual(s.schedule(c.pod), { unschedulable: c.expect });
  });
}

const placements: { title: string; nodes: [string, NodeOptions][]; pod: Pod; expect: string }[] = [
  {
    title: 'a toleration lets a pod onto the control plane',
    nodes: [
      ['cp', { taints: [CONTROL_PLANE_TAINT] }],
      ['w1', { unschedulable: true }],
    ],
    pod: pod('p', {
      tolerations: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
    }),
    expect: 'cp',
  },
  {
    title: 'nodeSelector picks the labelled node',
    nodes: [
      ['w1', {}],
      ['w2', { labels: { disk: 'ssd' } }],
      ['w3', {}],
    ],
    pod: pod('p', { nodeSelector: { disk: 'ssd' } }),
    expect: 'w2',
  },
  {
    title: 'LeastAllocated prefers the emptier node',
    nodes: [
      ['big', { cpu: '16', memory: '32Gi' }],
      ['small', { cpu: '2', memory: '2Gi' }],
    ],
    pod: pod('p', { containers: [container({ cpu: '1', memory: '1Gi' })] }),
    expect: 'big',
  },
  {
    title: 'PreferNoSchedule steers away without forbidding',
    nodes: [
      ['soft', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }] }],
      ['plain', {}],
    ],
    pod: pod('p'),
    expect: 'plain',
  },
  {
    title: 'tolerating the cordon taint schedules onto a cordoned node',
    nodes: [['w1', { unschedulable: true }]],
    pod: pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists' }] }),
    expect: 'w1',
  },
];

for (const c of placements) {
  test(`placement: ${c.title}`, (t) => {
    t.deepEqual(schedulerWith(c.nodes).schedule(c.pod), { nodeName: c.expect });
  });
}

test('no nodes at all', (t) => {
  t.deepEqual(new Scheduler(new Rng(1)).schedule(pod('p')), { unschedulable: 'no nodes available to schedule pods' });
});

test('host ports conflict on one node', (t) => {
  const c = new TestCluster();
  c.addNodes(node('w1'));
  const withPort = (name: string) =>
    pod(name, { containers: [container({ ports: [{ containerPort: 80, hostPort: 8080, protocol: 'TCP' }] })] });
  c.run((ctx) => ctx.createPod(withPort('a')));
  const b = c.run((ctx) => ctx.createPod(withPort('b')));
  t.regex(b.status.conditions?.[0]?.message ?? '', /1 node\(s\) didn't have free ports for the requested pod ports/);
});

const feasibleCases: [number, number][] = [
  [50, 50],
  [100, 100],
  [500, 230],
  [1000, 420],
  [5000, 500],
  [6000, 300],
];
for (const [nodes, expected] of feasibleCases) {
  test(`numFeasibleNodesToFind(${nodes}) = ${expected}`, (t) => {
    t.is(numFeasibleNodesToFind(nodes), expected);
  });
}
test('numFeasibleNodesToFind honours a set percentage and the minimum of 100', (t) => {
  t.is(numFeasibleNodesToFind(1000, 50), 500);
  t.is(numFeasibleNodesToFind(1000, 1), 100);
  t.is(numFeasibleNodesToFind(1000, 100), 1000);
});

test('the search stops after enough feasible nodes and the next one starts where it stopped', (t) => {
  const names = Array.from({ length: 1000 }, (_, i) => `n${String(i).padStart(4, '0')}`);
  const s = schedulerWith(names.map((n) => [n, {}]));
  const first = (s.schedule(pod('a')) as { nodeName: string }).nodeName;
  const second = (s.schedule(pod('b')) as { nodeName: string }).nodeName;
  t.true(names.indexOf(first) < 420, first);
  t.true(names.indexOf(second) >= 420 && names.indexOf(second) < 840, second);
});

test('nodes are visited round-robin across zones', (t) => {
  // 300 nodes: the search stops after 144 feasible ones. Zone a was added first and is busier; if nodes were visited
  // in insertion order, the 144 would all be in zone a. Interleaved by zone, half are in the idle zone b.
  const s = new Scheduler(new Rng(1));
  for (let i = 0; i < 150; i++) s.addNode(node(`a${i}`, { zone: 'a' }), noJournal);
  for (let i = 0; i < 150; i++) s.addNode(node(`b${i}`, { zone: 'b' }), noJournal);
  for (let i = 0; i < 150; i++) fill(s, `a${i}`, '2');
  const placed = (s.schedule(pod('p')) as { nodeName: string }).nodeName;
  t.true(placed.startsWith('b'), placed);
});

test('pods of one owner spread across nodes and zones', (t) => {
  const c = new TestCluster();
  c.addNodes(
    node('a1', { zone: 'a' }),
    node('a2', { zone: 'a' }),
    node('b1', { zone: 'b' }),
    node('b2', { zone: 'b' }),
  );
  c.run((ctx) => {
    for (let i = 0; i < 8; i++) {
      ctx.createPod({
        ...pod(`web-${i}`),
        metadata: {
          name: `web-${i}`,
          namespace: 'default',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', controller: true }],
        },
      });
    }
  });
  const perNode = new Map<string, number>();
  for (const p of c.podsOf()) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
  t.deepEqual([...perNode.values()].sort(), [2, 2, 2, 2]);
});

test('the same seed gives the same placements', (t) => {
  const place = (seed: number) => {
    const c = new TestCluster({ seed });
    c.addNodes(...Array.from({ length: 20 }, (_, i) => node(`n${i}`, { zone: `z${i % 3}` })));
    return c.run((ctx) => Array.from({ length: 50 }, (_, i) => ctx.createPod(pod(`p${i}`)).spec.nodeName));
  };
  t.deepEqual(place(42), place(42));
});

test('a rejected batch restores node usage, the tie-break stream and the start index', (t) => {
  const c = new TestCluster();
  c.addNodes(...Array.from({ length: 5 }, (_, i) => node(`n${i}`)));
  t.throws(() =>
    c.run((ctx) => {
      ctx.createPod(pod('a', { containers: [container({ cpu: '1' })] }));
      throw new Error('reject');
    }),
  );
  for (let i = 0; i < 5; i++) t.deepEqual(c.scheduler.nodeUsage(`n${i}`), { cpu: 0, memory: 0, pods: 0 });
  const again = c.run((ctx) => ctx.createPod(pod('a', { containers: [container({ cpu: '1' })] })));
  const fresh = new TestCluster();
  fresh.addNodes(...Array.from({ length: 5 }, (_, i) => node(`n${i}`)));
  t.is(
    again.spec.nodeName,
    fresh.run((ctx) => ctx.createPod(pod('a', { containers: [container({ cpu: '1' })] }))).spec.nodeName,
  );
});

test('bind and unbind keep per-node requests; init containers count as their maximum', (t) => {
  const s = schedulerWith([['w1', {}]]);
  const p = pod('p', {
    containers: [container({ cpu: '250m', memory: '64Mi' }), container({ cpu: '250m' })],
    initContainers: [container({ cpu: '1', memory: '32Mi' })],
  });
  s.bind(p, 'w1', noJournal);
  t.deepEqual(s.nodeUsage('w1'), { cpu: 1000, memory: 64 * 2 ** 20, pods: 1 });
  s.unbind(p, noJournal);
  t.deepEqual(s.nodeUsage('w1'), { cpu: 0, memory: 0, pods: 0 });
});

test('a node removed and added again keeps what its pods request', (t) => {
  const s = schedulerWith([['w1', {}]]);
  s.bind(pod('p', { containers: [container({ cpu: '1' })] }), 'w1', noJournal);
  s.removeNode(node('w1'), noJournal);
  s.addNode(node('w1', { cpu: '8' }), noJournal);
  t.deepEqual(s.nodeUsage('w1'), { cpu: 1000, memory: 0, pods: 1 });
});
