/**
 * The Deployment controller: one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`, whose
 * selector and pod labels carry `pod-template-hash`.
 *
 * Simplification: the rollout is instantaneous. The ReplicaSet of the current template gets all the replicas and
 * every older one is scaled to 0 at once (upstream steps through maxSurge/maxUnavailable over time); old ReplicaSets
 * are kept at 0, as upstream keeps them for rollback (revisionHistoryLimit). The revision annotations are not set.
 * Each ReplicaSet is reconciled right away, so the pods follow within the same batch.
 */
import type { Deployment, ReplicaSet } from '../../model/types.js';
import type { ControllerContext } from '../context.js';
import { podTemplateHash, replicaSetName } from '../names.js';
import { controllerRef, LABEL_POD_TEMPLATE_HASH, namespaceOf, ownedBy, putOwned } from './common.js';
import { reconcileReplicaSet } from './replicaset.js';

export function reconcileDeployment(ctx: ControllerContext, d: Deployment): void {
  const ns = namespaceOf(d);
  const owned = ownedBy(ctx, 'ReplicaSet', d);
  let current: ReplicaSet | undefined;
  let desired: ReplicaSet | undefined;
  // Upstream bumps status.collisionCount when the name is taken by a ReplicaSet with another template; we have no
  // Deployment status to keep it in, so we count up from none until the name is free or already ours.
  for (let collision: number | undefined; ; collision = (collision ?? 0) + 1) {
    desired = newReplicaSet(d, podTemplateHash(d.spec.template, collision));
    const existing = ctx.store.get('ReplicaSet', desired.metadata.name, ns);
    if (!existing) break;
    // Same name, ours, and labelled with this hash: made from this template (upstream compares the templates; the
    // hash covers the whole template, so a differing template would carry another hash).
    if (isOwnedBy(existing, d) && existing.metadata.labels?.[LABEL_POD_TEMPLATE_HASH] === hash(desired)) {
      current = existing;
      break;
    }
  }
  if (!current) current = putOwned(ctx, desired);
  else if (current.spec.replicas !== d.spec.replicas) current = putOwned(ctx, scaled(current, d.spec.replicas));
  reconcileReplicaSet(ctx, current);
  for (const rs of owned) {
    if (rs.metadata.name === current.metadata.name) continue;
    reconcileReplicaSet(ctx, rs.spec.replicas === 0 ? rs : putOwned(ctx, scaled(rs, 0)));
  }
}

/** The ReplicaSet for the Deployment's current template, as upstream builds it (getNewReplicaSet). */
export function newReplicaSet(d: Deployment, hash: string): ReplicaSet {
  const template = d.spec.template;
  const labels = { ...template.metadata?.labels, [LABEL_POD_TEMPLATE_HASH]: hash };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: replicaSetName(d.metadata.name, hash),
      namespace: namespaceOf(d),
      labels,
      ownerReferences: [controllerRef(d)],
    },
    spec: {
      replicas: d.spec.replicas,
      selector: {
        ...d.spec.selector,
        matchLabels: { ...d.spec.selector.matchLabels, [LABEL_POD_TEMPLATE_HASH]: hash },
      },
      template: { ...template, metadata: { ...template.metadata, labels } },
    },
  };
}

function scaled(rs: ReplicaSet, replicas: number): ReplicaSet {
  return { ...rs, metadata: { ...rs.metadata }, spec: { ...rs.spec, replicas } };
}

function isOwnedBy(rs: ReplicaSet, d: Deployment): boolean {
  return (
    rs.metadata.ownerReferences?.some((o) => o.controller && o.kind === 'Deployment' && o.name === d.metadata.name) ??
    false
  );
}

function hash(rs: ReplicaSet): string | undefined {
  return rs.metadata.labels?.[LABEL_POD_TEMPLATE_HASH];
}
