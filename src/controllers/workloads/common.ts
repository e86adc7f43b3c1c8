/**
 * What the workload controllers share: owner references, pods made from templates, and finding, creating and
 * deleting the objects a workload owns.
 */
import { podSpecFromTemplate } from '../../model/defaults.js';
import { matchesSelector } from '../../model/labels.js';
import type {
  Kind,
  KindMap,
  KubeObject,
  OwnerReference,
  Pod,
  PodSpec,
  PodTemplateSpec,
  ReplicaSet,
} from '../../model/types.js';
import { hostPortConflicts } from '../../model/validate/container.js';
import type { ControllerContext } from '../context.js';
import { ownedIndex, ownerKey } from '../group-index.js';
import { isPodTerminal } from '../scheduling-rules.js';

export const LABEL_POD_TEMPLATE_HASH = 'pod-template-hash';
export const LABEL_CONTROLLER_REVISION_HASH = 'controller-revision-hash';

export function namespaceOf(obj: KubeObject): string {
  return obj.metadata.namespace ?? 'default';
}

/** The controller reference a workload puts on what it creates (metav1.NewControllerRef). */
export function controllerRef(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, controller: true };
}

/** The objects of `kind` whose controller owner is `owner`, read from the store. */
export function ownedBy<K extends Kind>(ctx: ControllerContext, kind: K, owner: KubeObject): KindMap[K][] {
  return ownedIndex(ctx.store, kind).members(namespaceOf(owner), ownerKey(owner.kind, owner.metadata.name));
}

/**
 * Pods that still count toward a workload's replicas (controller.FilterActivePods): not Succeeded or Failed and not
 * terminating. Pods the workload owns but its selector no longer matches are released upstream; we just skip them.
 */
export function activePods(ctx: ControllerContext, owner: KubeObject & { spec: { selector?: unknown } }): Pod[] {
  const selector = owner.spec.selector as Parameters<typeof matchesSelector>[1];
  return ownedBy(ctx, 'Pod', owner).filter(
    (p) => !isPodTerminal(p) && !p.metadata.deletionTimestamp && matchesSelector(p.metadata.labels, selector),
  );
}

/** Each template's spec with the Pod-only defaults (`podSpecFromTemplate`), made once and shared by its pods. */
const podSpecs = new WeakMap<PodSpec, PodSpec>();

function podSpecOf(template: PodSpec): PodSpec {
  let spec = podSpecs.get(template);
  if (spec === undefined) {
    spec = podSpecFromTemplate(template);
    podSpecs.set(template, spec);
  }
  return spec;
}

/**
 * Why the API server refuses every pod made from `template` (as its errors read), or null. A template is validated as
 * written, but each pod is defaulted first (SetDefaults_Pod): under hostNetwork every container port gets its
 * containerPort as host port, so two containers serving one port pass template validation and fail Pod validation
 * (checkHostPortConflicts). Upstream's controller then records FailedCreate for every attempt; the workload has no pods.
 */
export function podsRefused(template: PodTemplateSpec): string | null {
  const conflicts = hostPortConflicts(podSpecOf(template.spec).containers ?? []);
  if (conflicts.length === 0) return null;
  return conflicts
    .map((c) => `spec.containers[${c.container}].ports[${c.port}].hostPort: Duplicate value: "${c.key}"`)
    .join('; ');
}

/** Warn that `owner` creates no pods (or only some: `outcome`) because the API server refuses them (`podsRefused`). */
export function warnPodsRefused(
  ctx: ControllerContext,
  owner: KubeObject,
  why: string,
  outcome = 'no pod is created',
): void {
  ctx.warn(
    `${owner.kind} ${namespaceOf(owner)}/${owner.metadata.name}: FailedCreate: its pods are invalid (${why}): ${outcome}`,
  );
}

/**
 * A new pod from a template, defaulted as the API server defaults every Pod. The pod shares the template's labels
 * (when no label is added) and one defaulted spec per template, so 150,000 pods of a few templates carry a few
 * container arrays; the cluster copies the spec when it places the pod.
 */
export function podFromTemplate(
  template: PodTemplateSpec,
  owner: KubeObject,
  name: string,
  options: {
    labels?: Record<string, string>;
    spec?: Partial<PodSpec>;
    generateName?: string;
    ownerRefs: OwnerReference[];
  },
): Pod {
  const templateLabels = template.metadata?.labels;
  const labels = options.labels ? { ...templateLabels, ...options.labels } : templateLabels;
  const annotations = template.metadata?.annotations;
  // Optional fields are added one by one rather than spread in (`...(x ? { x } : {})`), which V8 runs far slower.
  const metadata: Pod['metadata'] = { name, namespace: namespaceOf(owner) };
  if (options.generateName) metadata.generateName = options.generateName;
  if (labels) metadata.labels = labels;
  if (annotations) metadata.annotations = annotations;
  metadata.ownerReferences = options.ownerRefs;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: options.spec ? { ...podSpecOf(template.spec), ...options.spec } : podSpecOf(template.spec),
    status: { phase: 'Pending' },
  };
}

/** Create a pod through the cluster's admission and file it under its owner. */
export function createPod(ctx: ControllerContext, pod: Pod): Pod {
  const stored = ctx.createPod(pod);
  ownedIndex(ctx.store, 'Pod').add(stored, ctx.journal);
  return stored;
}

export function deletePod(ctx: ControllerContext, pod: Pod): void {
  ctx.deletePod(pod);
  ownedIndex(ctx.store, 'Pod').remove(pod, ctx.journal);
}

/** Write a ReplicaSet and file it under its owner. */
export function putOwned(ctx: ControllerContext, obj: ReplicaSet): ReplicaSet {
  const stored = ctx.put(obj);
  ownedIndex(ctx.store, 'ReplicaSet').add(stored, ctx.journal);
  return stored;
}

export function removeOwned(ctx: ControllerContext, obj: ReplicaSet): void {
  ctx.remove('ReplicaSet', obj.metadata.name, obj.metadata.namespace);
  ownedIndex(ctx.store, 'ReplicaSet').remove(obj, ctx.journal);
}

export function podTaken(ctx: ControllerContext, namespace: string): (name: string) => boolean {
  return (name) => ctx.store.get('Pod', name, namespace) !== undefined;
}
