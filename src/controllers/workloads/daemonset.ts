/**
 * The DaemonSet controller: one pod `<daemonset>-<5 random>` on every node the pod may run on.
 *
 * Which nodes: upstream NodeShouldRunDaemonPod. The node must match the template's nodeSelector and the pod, with
 * the tolerations the controller adds to daemon pods, must tolerate the node's NoSchedule and NoExecute taints. A
 * pod already on a node whose only untolerated taints are NoSchedule is left running; an untolerated NoExecute taint
 * or a selector mismatch removes it.
 *
 * Simplifications: upstream pins a daemon pod with a required node affinity on `metadata.name` and lets the
 * scheduler bind it; we set `spec.nodeName` directly, so the pod skips the scheduler's resource checks. A template
 * change replaces every daemon pod at once (upstream's RollingUpdate goes node by node). Run it again whenever nodes
 * change: it is not told about them.
 */

import { matchesMap } from '../../model/labels.js';
import type { DaemonSet, Node, Pod } from '../../model/types.js';
import type { ControllerContext } from '../context.js';
import { childPrefix, podTemplateHash, uniqueGeneratedName } from '../names.js';
import { daemonPodTolerations, effectiveTaints, isPodTerminal, tolerationsTolerate } from '../scheduling-rules.js';
import {
  controllerRef,
  createPod,
  deletePod,
  LABEL_CONTROLLER_REVISION_HASH,
  namespaceOf,
  ownedBy,
  podFromTemplate,
  podsRefused,
  podTaken,
  warnPodsRefused,
} from './common.js';

/** Whether a daemon pod should be created on the node, and whether one already there may stay. */
export interface DaemonPlacement {
  shouldRun: boolean;
  shouldContinueRunning: boolean;
}

export function daemonPlacement(
  spec: { nodeSelector?: Record<string, string>; tolerations?: Pod['spec']['tolerations'] },
  node: Node,
): DaemonPlacement {
  if (spec.nodeSelector && !matchesMap(node.metadata.labels, spec.nodeSelector)) {
    return { shouldRun: false, shouldContinueRunning: false };
  }
  let shouldRun = true;
  for (const taint of effectiveTaints(node)) {
    if (taint.effect === 'PreferNoSchedule' || tolerationsTolerate(spec.tolerations, taint)) continue;
    if (taint.effect === 'NoExecute') return { shouldRun: false, shouldContinueRunning: false };
    shouldRun = false;
  }
  return { shouldRun, shouldContinueRunning: true };
}

export function reconcileDaemonSet(ctx: ControllerContext, ds: DaemonSet): void {
  const ns = namespaceOf(ds);
  const template = ds.spec.template;
  const revision = podTemplateHash(template);
  const tolerations = daemonPodTolerations(template.spec);
  const probe = { nodeSelector: template.spec.nodeSelector, tolerations };
  const byNode = new Map<string, Pod[]>();
  for (const pod of ownedBy(ctx, 'Pod', ds)) {
    if (pod.metadata.deletionTimestamp) continue;
    const node = pod.spec.nodeName ?? '';
    const list = byNode.get(node);
    if (list) list.push(pod);
    else byNode.set(node, [pod]);
  }
  const refused = podsRefused(template);
  let warned = false;
  const prefix = childPrefix(ds.metadata.name);
  const ownerRefs = [controllerRef(ds)];
  const taken = podTaken(ctx, ns);
  for (const node of ctx.store.each('Node')) {
    const nodeName = node.metadata.name;
    const pods = byNode.get(nodeName) ?? [];
    byNode.delete(nodeName);
    const placement = daemonPlacement(probe, node);
    let keep: Pod | undefined;
    for (const pod of pods) {
      const current = pod.metadata.labels?.[LABEL_CONTROLLER_REVISION_HASH] === revision && !isPodTerminal(pod);
      // One up-to-date pod per node may stay; failed pods, older revisions and duplicates go.
      if (!keep && current && placement.shouldContinueRunning) keep = pod;
      else deletePod(ctx, pod);
    }
    if (keep || !placement.shouldRun) continue;
    // Upstream's create fails (FailedCreate) for each node that needs a pod; one warning says it for them all.
    if (refused !== null) {
      if (!warned) warnPodsRefused(ctx, ds, refused);
      warned = true;
      continue;
    }
    const name = uniqueGeneratedName(prefix, ctx.names, taken);
    createPod(
      ctx,
      podFromTemplate(template, ds, name, {
        generateName: prefix,
        ownerRefs,
        labels: { [LABEL_CONTROLLER_REVISION_HASH]: revision },
        spec: { tolerations, nodeName },
      }),
    );
  }
  // Pods left over sit on nodes that are gone (or were never placed): the pod garbage collector removes them.
  for (const pods of byNode.values()) for (const pod of pods) deletePod(ctx, pod);
}
