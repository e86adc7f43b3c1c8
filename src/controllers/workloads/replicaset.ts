/**
 * The ReplicaSet controller: keep `spec.replicas` active pods named `<replicaset>-<5 random>`.
 *
 * Simplification: upstream creates at most burstReplicas (500) pods per sync in slow-start batches and lets the
 * next sync continue; here one reconcile reaches the desired count.
 */
import type { Pod, ReplicaSet } from '../../model/types.js';
import type { ControllerContext } from '../context.js';
import { childPrefix, uniqueGeneratedName } from '../names.js';
import { isPodReady } from '../scheduling-rules.js';
import {
  activePods,
  controllerRef,
  createPod,
  deletePod,
  namespaceOf,
  podFromTemplate,
  podsRefused,
  podTaken,
  warnPodsRefused,
} from './common.js';

/** controller.kubernetes.io/pod-deletion-cost: pods with a lower cost go first on scale-down. */
export const ANNOTATION_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

export function reconcileReplicaSet(ctx: ControllerContext, rs: ReplicaSet): void {
  const pods = activePods(ctx, rs);
  const diff = rs.spec.replicas - pods.length;
  const refused = diff > 0 ? podsRefused(rs.spec.template) : null;
  if (refused !== null) warnPodsRefused(ctx, rs, refused);
  else if (diff > 0) {
    const ns = namespaceOf(rs);
    const prefix = childPrefix(rs.metadata.name);
    // One owner-reference array for the pods of this sync: at 150,000 pods every shared array counts.
    const ownerRefs = [controllerRef(rs)];
    const taken = podTaken(ctx, ns);
    for (let i = 0; i < diff; i++) {
      const name = uniqueGeneratedName(prefix, ctx.names, taken);
      createPod(ctx, podFromTemplate(rs.spec.template, rs, name, { generateName: prefix, ownerRefs }));
    }
  } else if (diff < 0) {
    for (const pod of podsToDelete(pods, -diff)) deletePod(ctx, pod);
  }
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * The pods to remove on scale-down, after upstream's ActivePodsWithRanks order: unscheduled before scheduled,
 * Pending before Unknown before Running, not ready before ready, lower pod-deletion-cost first, pods sharing a node
 * with more of their siblings first, then the newest first. We have no creation times; the resourceVersion stands in
 * for them (higher is newer), and the name settles what is left.
 */
export function podsToDelete(pods: readonly Pod[], count: number): Pod[] {
  const perNode = new Map<string, number>();
  for (const p of pods) if (p.spec.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
  const keyed = pods.map((pod) => ({
    pod,
    scheduled: pod.spec.nodeName ? 1 : 0,
    phase: PHASE_RANK[pod.status?.phase ?? 'Pending'] ?? 0,
    ready: isPodReady(pod) ? 1 : 0,
    cost: Number(pod.metadata.annotations?.[ANNOTATION_DELETION_COST] ?? 0) || 0,
    colocated: pod.spec.nodeName ? (perNode.get(pod.spec.nodeName) ?? 0) : 0,
    version: Number(pod.metadata.resourceVersion ?? 0),
  }));
  keyed.sort(
    (a, b) =>
      a.scheduled - b.scheduled ||
      a.phase - b.phase ||
      a.ready - b.ready ||
      a.cost - b.cost ||
      b.colocated - a.colocated ||
      b.version - a.version ||
      (a.pod.metadata.name < b.pod.metadata.name ? -1 : a.pod.metadata.name > b.pod.metadata.name ? 1 : 0),
  );
  return keyed.slice(0, count).map((k) => k.pod);
}
