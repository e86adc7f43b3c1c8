/**
 * StatefulSet pod management through the whole cluster (admission, scheduler, kubelet's status): OrderedReady waits
 * for each ordinal to be Running and Ready, Parallel does not; spec.ordinals.start numbers the pods; a set whose
 * pods the API server would refuse (a name too long for a label value or a hostname) gets none.
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/cluster.js';

function statefulSet(name: string, spec: Record<string, unknown>, podSpec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: {
      serviceName: 'db',
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'c', image: 'postgres' }], ...podSpec },
      },
      ...spec,
    },
  };
}

const podNames = (cluster: Cluster, app: string) =>
  cluster
    .list('Pod', 'default')
    .filter((p) => p.metadata.labels?.app === app)
    .map((p) => p.metadata.name)
    .sort();

const gated = { readinessGates: [{ conditionType: 'example.com/ready' }] };
const unschedulable = { nodeSelector: { pool: 'none' } };

const CASES: [what: string, spec: Record<string, unknown>, podSpec: Record<string, unknown>, pods: string[]][] = [
  ['OrderedReady, every pod Ready', {}, {}, ['s-0', 's-1', 's-2']],
  ['OrderedReady, pod 0 not Ready (a readiness gate unanswered)', {}, gated, ['s-0']],
  ['OrderedReady, pod 0 Pending (no node fits)', {}, unschedulable, ['s-0']],
  ['Parallel, pods not Ready', { podManagementPolicy: 'Parallel' }, gated, ['s-0', 's-1', 's-2']],
  ['Parallel, pods Pending', { podManagementPolicy: 'Parallel' }, unschedulable, ['s-0', 's-1', 's-2']],
  ['ordinals.start 5', { ordinals: { start: 5 }, replicas: 2 }, {}, ['s-5', 's-6']],
  ['ordinals.start 0, as the default', { ordinals: { start: 0 }, replicas: 1 }, {}, ['s-0']],
];
for (const [what, spec, podSpec, pods] of CASES) {
  test(`StatefulSet pods: ${what}`, (t) => {
    const cluster = Cluster.create([statefulSet('s', spec, podSpec)]);
    t.deepEqual(podNames(cluster, 's'), pods);
  });
}

test('ordinals.start numbers the pod-index label and hostname; moving it replaces the pods outside the range', (t) => {
  const cluster = Cluster.create([statefulSet('s', { ordinals: { start: 5 }, replicas: 2 })]);
  const pod = cluster.get('Pod', 's-6', 'default')!;
  t.is(pod.metadata.labels?.['apps.kubernetes.io/pod-index'], '6');
  t.is(pod.spec.hostname, 's-6');
  cluster.apply([statefulSet('s', { ordinals: { start: 6 }, replicas: 2 })]);
  t.deepEqual(podNames(cluster, 's'), ['s-6', 's-7']);
});

test('OrderedReady removes no surplus pod while a wanted one waits; Parallel removes them at once', (t) => {
  for (const [policy, left] of [
    ['OrderedReady', ['s-0', 's-1', 's-2']],
    ['Parallel', ['s-0']],
  ] as const) {
    const cluster = Cluster.create([statefulSet('s', { podManagementPolicy: policy })]);
    // Pod 0 becomes not Ready (its readiness gate pinned False), then the set scales down to 1.
    const pod0 = cluster.get('Pod', 's-0', 'default')!;
    cluster.apply([
      {
        ...pod0,
        metadata: { ...pod0.metadata, resourceVersion: undefined },
        status: { conditions: [{ type: 'Ready', status: 'False' }] },
      },
    ]);
    cluster.apply([statefulSet('s', { podManagementPolicy: policy, replicas: 1 })]);
    t.deepEqual(podNames(cluster, 's'), left, policy);
  }
});

test('a StatefulSet named longer than 52 characters gets no pods: its controller-revision-hash label would not fit', (t) => {
  const fits = 'a'.repeat(52);
  const tooLong = 'b'.repeat(53);
  const cluster = Cluster.create([statefulSet(fits, { replicas: 1 }), statefulSet(tooLong, { replicas: 1 })]);
  t.deepEqual(podNames(cluster, fits), [`${fits}-0`]);
  t.deepEqual(podNames(cluster, tooLong), []);
  const warning = cluster.warnings.find((w) => w.includes(tooLong));
  t.truthy(warning);
  t.regex(
    warning!,
    /FailedCreate: .*metadata\.labels: Invalid value: "b{53}-[a-z0-9]+": must be no more than 63 characters/,
  );
});
