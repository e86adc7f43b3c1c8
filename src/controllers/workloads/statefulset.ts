/**
 * The StatefulSet controller: pods `<name>-<start>` … `<name>-<start + replicas − 1>` (`spec.ordinals.start`, 0 by
 * default), each with hostname = its name and subdomain = `spec.serviceName` (so the governing headless Service
 * publishes `<pod>.<service>`), and the labels `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index`
 * and `controller-revision-hash`.
 *
 * Pods are created in ordinal order and removed from the highest ordinal down, as upstream. Under OrderedReady (the
 * default) the controller goes no further than the first pod that is not Running and Ready (unschedulable, a readiness
 * gate unanswered, a create the API server refused), and removes no surplus pod while one is waiting; Parallel creates
 * and removes them all at once. Simplifications: a template change replaces every pod of an older revision in one go
 * (upstream's RollingUpdate does it one pod at a time, highest ordinal first). The revision hash is our
 * pod-template-hash of the template (upstream hashes a ControllerRevision); both make `<name>-<hash>`, a label value
 * that must fit 63 characters, so a set named longer than 52 gets no pods (kubernetes#64023).
 */
import type { Pod, StatefulSet } from '../../model/types.js';
import { dns1123Label, labelValue } from '../../model/validate/names.js';
import type { ControllerContext } from '../context.js';
import { podTemplateHash, statefulSetPodName } from '../names.js';
import { isPodReady, isPodTerminal } from '../scheduling-rules.js';
import {
  controllerRef,
  createPod,
  deletePod,
  LABEL_CONTROLLER_REVISION_HASH,
  namespaceOf,
  ownedBy,
  podFromTemplate,
  podsRefused,
  warnPodsRefused,
} from './common.js';

export const LABEL_STATEFULSET_POD_NAME = 'statefulset.kubernetes.io/pod-name';
export const LABEL_POD_INDEX = 'apps.kubernetes.io/pod-index';

/** isRunningAndReady in the StatefulSet controller: what OrderedReady waits for before the next ordinal. */
function runningAndReady(pod: Pod): boolean {
  return pod.status.phase === 'Running' && isPodReady(pod);
}

/** Pod validation's errors for every pod of the set, whatever its ordinal, as the API server words them. */
function setWideProblems(sts: StatefulSet, revision: string): string[] {
  const problems: string[] = [];
  const refused = podsRefused(sts.spec.template);
  if (refused !== null) problems.push(refused);
  // Apps validation does not check serviceName, but it becomes each pod's subdomain, which Pod validation requires to
  // be a DNS label.
  const subdomain = sts.spec.serviceName;
  for (const p of subdomain ? dns1123Label(subdomain) : []) {
    problems.push(`spec.subdomain: Invalid value: "${subdomain}": ${p}`);
  }
  for (const p of labelValue(revision)) {
    problems.push(`metadata.labels: Invalid value: "${revision}": ${p}`);
  }
  return problems;
}

/** The same for one pod's name, which is its hostname and a label value. */
function podNameProblems(podName: string): string[] {
  return [
    ...labelValue(podName).map((p) => `metadata.labels: Invalid value: "${podName}": ${p}`),
    ...dns1123Label(podName).map((p) => `spec.hostname: Invalid value: "${podName}": ${p}`),
  ];
}

export function reconcileStatefulSet(ctx: ControllerContext, sts: StatefulSet): void {
  const ns = namespaceOf(sts);
  const name = sts.metadata.name;
  const ordered = (sts.spec.podManagementPolicy ?? 'OrderedReady') === 'OrderedReady';
  const start = sts.spec.ordinals?.start ?? 0;
  const end = start + sts.spec.replicas;
  const revision = `${name}-${podTemplateHash(sts.spec.template)}`;
  const setProblems = setWideProblems(sts, revision);
  const ownerRefs = [controllerRef(sts)];
  const byOrdinal = new Map<number, Pod>();
  const strays: Pod[] = [];
  for (const pod of ownedBy(ctx, 'Pod', sts)) {
    const ordinal = ordinalOf(name, pod.metadata.name);
    if (ordinal === undefined) strays.push(pod);
    else byOrdinal.set(ordinal, pod);
  }
  const refused: string[] = [];
  // Under OrderedReady, the first ordinal still waiting (to be created, to run, to be Ready) stops the rest.
  let waiting = false;
  for (let i = start; i < end && !(ordered && waiting); i++) {
    const podName = statefulSetPodName(name, i);
    const existing = byOrdinal.get(i) ?? ctx.store.get('Pod', podName, ns);
    if (existing) {
      const ours = existing.metadata.ownerReferences?.some(
        (o) => o.controller && o.kind === 'StatefulSet' && o.name === name,
      );
      // Someone else's pod holds the name, or ours is still terminating: upstream waits.
      if (!ours || existing.metadata.deletionTimestamp) {
        waiting = true;
        continue;
      }
      const stale = existing.metadata.labels?.[LABEL_CONTROLLER_REVISION_HASH] !== revision;
      // Failed and succeeded pods are deleted and created again; so are pods of an older revision.
      if (!stale && !isPodTerminal(existing)) {
        waiting ||= !runningAndReady(existing);
        continue;
      }
      deletePod(ctx, existing);
    }
    // Upstream's create fails (FailedCreate) for each pod the API server refuses; one warning says it for them all.
    const problems = setProblems.length > 0 ? setProblems : podNameProblems(podName);
    if (problems.length > 0) {
      if (refused.length === 0) refused.push(...problems);
      waiting = true;
      continue;
    }
    const created = createPod(
      ctx,
      podFromTemplate(sts.spec.template, sts, podName, {
        ownerRefs,
        labels: {
          [LABEL_CONTROLLER_REVISION_HASH]: revision,
          [LABEL_STATEFULSET_POD_NAME]: podName,
          [LABEL_POD_INDEX]: String(i),
        },
        spec: { hostname: podName, ...(sts.spec.serviceName ? { subdomain: sts.spec.serviceName } : {}) },
      }),
    );
    waiting ||= !runningAndReady(created);
  }
  if (refused.length > 0) {
    const outcome = ordered ? 'no pod from the first refused ordinal on is created' : 'those pods are not created';
    warnPodsRefused(ctx, sts, refused.join('; '), outcome);
  }
  removeSurplus(ctx, byOrdinal, start, end, ordered, waiting);
  for (const pod of strays) deletePod(ctx, pod);
}

/**
 * Pods outside start … end − 1, highest ordinal first. OrderedReady removes none while a wanted pod is waiting, and
 * stops at a surplus pod that is not Running and Ready unless it is the lowest such (processCondemned).
 */
function removeSurplus(
  ctx: ControllerContext,
  byOrdinal: Map<number, Pod>,
  start: number,
  end: number,
  ordered: boolean,
  waiting: boolean,
): void {
  if (ordered && waiting) return;
  const surplus = [...byOrdinal].filter(([i]) => i < start || i >= end).sort((a, b) => b[0] - a[0]);
  const unhealthy = surplus.filter(([, pod]) => !runningAndReady(pod));
  const firstUnhealthy = unhealthy.length > 0 ? unhealthy[unhealthy.length - 1]![1] : undefined;
  for (const [, pod] of surplus) {
    if (ordered && !runningAndReady(pod) && pod !== firstUnhealthy) return;
    deletePod(ctx, pod);
  }
}

/** The ordinal in `<set>-<ordinal>`, or undefined for a name of another shape. */
export function ordinalOf(setName: string, podName: string): number | undefined {
  if (!podName.startsWith(`${setName}-`)) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}
