import test from 'ava';
import {
  daemonPodTolerations,
  effectiveTaints,
  isEligibleForDaemonSet,
  podRequests,
  toleratesTaint,
} from '../../src/controllers/scheduling-rules.js';
import type { Taint, Toleration } from '../../src/model/types.js';
import { CONTROL_PLANE_TAINT, container, node, pod } from './helpers.js';

const taint: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
const tolerationCases: [string, Toleration, boolean][] = [
  ['Equal with the same value', { key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }, true],
  ['Equal is the default operator', { key: 'dedicated', value: 'gpu' }, true],
  ['Equal with another value', { key: 'dedicated', operator: 'Equal', value: 'cpu' }, false],
  ['Exists ignores the value', { key: 'dedicated', operator: 'Exists' }, true],
  ['an empty key with Exists tolerates everything', { operator: 'Exists' }, true],
  ['another effect', { key: 'dedicated', operator: 'Exists', effect: 'NoExecute' }, false],
  ['another key', { key: 'other', operator: 'Exists' }, false],
];
for (const [title, toleration, expected] of tolerationCases) {
  test(`toleratesTaint: ${title}`, (t) => {
    t.is(toleratesTaint(toleration, taint), expected);
  });
}

test('node conditions and cordons become NoSchedule taints, once', (t) => {
  t.deepEqual(
    effectiveTaints(node('n', { ready: 'False', unschedulable: true })).map((x) => `${x.key}:${x.effect}`),
    ['node.kubernetes.io/not-ready:NoSchedule', 'node.kubernetes.io/unschedulable:NoSchedule'],
  );
  t.is(
    effectiveTaints(
      node('n', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }], ready: 'False' }),
    ).length,
    1,
  );
  t.deepEqual(effectiveTaints(node('n')), []);
});

test('daemon pods tolerate node problems but not the control-plane taint', (t) => {
  const spec = { ...pod('d').spec };
  const daemon = { spec: { ...spec, tolerations: daemonPodTolerations(spec) } };
  // Unreachable: the NoSchedule taint is not covered (only NoExecute is); cordoned: covered.
  t.false(isEligibleForDaemonSet(daemon, node('n', { ready: 'Unknown', unschedulable: true })));
  t.true(isEligibleForDaemonSet(daemon, node('n', { unschedulable: true })));
  t.false(isEligibleForDaemonSet(daemon, node('n', { taints: [CONTROL_PLANE_TAINT] })));
  t.false(isEligibleForDaemonSet({ spec: { ...daemon.spec, nodeSelector: { disk: 'ssd' } } }, node('n')));
});

test('pod requests: containers add up, init containers count as their maximum, defaults for scoring', (t) => {
  const r = podRequests({
    ...pod('p').spec,
    containers: [container({ cpu: '250m' }), container({ memory: '1Gi' })],
    initContainers: [container({ cpu: '1' })],
  });
  t.deepEqual(r, { cpu: 1000, memory: 2 ** 30, nonZeroCpu: 1000, nonZeroMemory: 200 * 2 ** 20 + 2 ** 30 });
});
