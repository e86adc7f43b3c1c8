/**
 * The StatefulSet controller: pods `<name>-0` … `<name>-(n-1)`, each with hostname = its name and
 * subdomain = `spec.serviceName` (so the governing headless Service publishes `<pod>.<service>`), and the labels
 * `statefulset.kubernetes.io/pod-name`, `apps.kubernetes.io/pod-index` and `controller-revision-hash`.
 *
 * Pods are created in ordinal order and removed from the highest ordinal down, as upstream. Simplifications: pods
 * become ready at once here, so OrderedReady and Parallel give the same result; a template change replaces every
 * pod of an older revision in one go (upstream's RollingUpdate does it one pod at a time, highest ordinal first).
 * The revision hash is our pod-template-hash of the template (upstream hashes a ControllerRevision).
 */
import type { Pod, StatefulSet } from '../../model/types.js';
import { dns1123Label } from '../../model/validate/names.js';
import type { ControllerContext } from '../context.js';
import { podTemplateHash, statefulSetPodName } from '../names.js';
import { isPodTerminal } from '../scheduling-rules.js';
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

export function reconcileStatefulSet(ctx: ControllerContext, sts: StatefulSet): void {
  const ns = namespaceOf(sts);
  const name = sts.metadata.name;
  // Apps validation does not check serviceName, but it becomes each pod's subdomain, which Pod validation requires to
  // be a DNS label: upstream's controller then fails every create (FailedCreate) and the set has no pods.
  const subdomainProblems = sts.spec.serviceName ? dns1123Label(sts.spec.serviceName) : [];
  if (subdomainProblems.length > 0) {
    ctx.warn(
      `StatefulSet ${ns}/${name}: FailedCreate: pods get spec.subdomain "${sts.spec.serviceName}" from spec.serviceName, which Pod validation refuses (${subdomainProblems.join('; ')}): no pod is created`,
    );
  }
  const refused = podsRefused(sts.spec.template);
  let warned = false;
  const revision = `${name}-${podTemplateHash(sts.spec.template)}`;
  const ownerRefs = [controllerRef(sts)];
  const byOrdinal = new Map<number, Pod>();
  const strays: Pod[] = [];
  for (const pod of ownedBy(ctx, 'Pod', sts)) {
    const ordinal = ordinalOf(name, pod.metadata.name);
    if (ordinal === undefined) strays.push(pod);
    else byOrdinal.set(ordinal, pod);
  }
  for (let i = 0; subdomainProblems.length === 0 && i < sts.spec.replicas; i++) {
    const podName = statefulSetPodName(name, i);
    const existing = byOrdinal.get(i) ?? ctx.store.get('Pod', podName, ns);
    if (existing) {
      const ours = existing.metadata.ownerReferences?.some(
        (o) => o.controller && o.kind === 'StatefulSet' && o.name === name,
      );
      // Someone else's pod holds the name, or ours is still terminating: upstream waits.
      if (!ours || existing.metadata.deletionTimestamp) continue;
      const stale = existing.metadata.labels?.[LABEL_CONTROLLER_REVISION_HASH] !== revision;
      // Failed and succeeded pods are deleted and created again; so are pods of an older revision.
      if (!stale && !isPodTerminal(existing)) continue;
      deletePod(ctx, existing);
    }
    // Upstream's create fails (FailedCreate) for each pod it needs; one warning says it for them all.
    if (refused !== null) {
      if (!warned) warnPodsRefused(ctx, sts, refused);
      warned = true;
      continue;
    }
    createPod(
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
  }
  const surplus = [...byOrdinal].filter(([i]) => i >= sts.spec.replicas).sort((a, b) => b[0] - a[0]);
  for (const [, pod] of surplus) deletePod(ctx, pod);
  for (const pod of strays) deletePod(ctx, pod);
}

/** The ordinal in `<set>-<ordinal>`, or undefined for a name of another shape. */
export function ordinalOf(setName: string, podName: string): number | undefined {
  if (!podName.startsWith(`${setName}-`)) return undefined;
  const rest = podName.slice(setName.length + 1);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}
