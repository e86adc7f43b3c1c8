/**
 * One batch of changes: admission of each object in dependency order, then the controllers for what the batch
 * touched. Every write goes through the store inside the batch's transaction, so a rejected batch undoes itself.
 */
import type { Ipam } from '../cni/ipam.js';
import type { ControllerContext } from '../controllers/context.js';
import { repackSubsets } from '../controllers/endpoints-repack.js';
import { hintsOverloaded, topologyAnnotationAuto, zoneCPURatios } from '../controllers/endpointslice-hints.js';
import { apiServerEndpoints, mirrorEndpoints } from '../controllers/endpointslice-mirroring.js';
import { deleteServiceSlices, hasSelector, managedSlices, reconcileService } from '../controllers/endpointslices.js';
import type { PodIndex } from '../controllers/pod-index.js';
import type { Scheduler } from '../controllers/scheduler.js';
import {
  deleteWorkload,
  reconcileDaemonSet,
  reconcileDeployment,
  reconcileReplicaSet,
  reconcileStatefulSet,
} from '../controllers/workloads/index.js';
import { applyDefaultsInPlace } from '../model/defaults.js';
import type { Journal } from '../model/journal.js';
import type { Store } from '../model/store.js';
import {
  type AnyObject,
  CLUSTER_SCOPED,
  type ClusterConfigSpec,
  type Endpoints,
  KINDS,
  type Kind,
  type KindMap,
  type Namespace,
  type Node,
  type Pod,
  type Service,
} from '../model/types.js';
import type { Rng } from '../util/rng.js';
import { IssueCollector } from './admission-context.js';
import { admitNode, type NodeAddressPool, type NodeAdmission, releaseNode } from './admit-node.js';
import { admitPod, type PodAdmission, releasePod } from './admit-pod.js';
import { admitService, releaseService, type ServiceAdmission } from './admit-service.js';
import type { ObjectRef } from './cluster.js';
import { sliceWrittenByHand } from './hand-written-slices.js';
import { syncKubernetesEndpoints } from './kubernetes-endpoints.js';
import { kubeletReportOf, markedNotReady, nodeReady, rememberKubeletReport } from './node-readiness.js';

/** What the API server answers every v1 Endpoints request with since 1.33. */
/** The API server's warning on every v1 Endpoints request since 1.33 (a write here, a list in `get endpoints`). */
export const ENDPOINTS_DEPRECATED = 'v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice';

/** Namespaces the API server never deletes (NamespaceLifecycle's immortal namespaces). */
const IMMORTAL_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);

export interface ClusterParts {
  readonly store: Store;
  readonly config: ClusterConfigSpec;
  readonly ipam: Ipam;
  readonly scheduler: Scheduler;
  readonly podIndex: PodIndex;
  readonly nodeAddresses: NodeAddressPool;
  readonly names: Rng;
}

/** Kubernetes sets this on delete; the emulated clock starts at the epoch, so the value only marks the state. */
const DELETION_TIMESTAMP = '1970-01-01T00:00:00Z';

type BatchEnv = NodeAdmission & ServiceAdmission & PodAdmission;

const KIND_ORDER = new Map<string, number>(KINDS.map((k, i) => [k, i]));

export class Batch {
  readonly issues = new IssueCollector();
  readonly #parts: ClusterParts;
  readonly #journal: Journal;
  readonly #ctx: ControllerContext;
  /** Services whose EndpointSlices must be reconciled: `ns/name`. */
  readonly #dirtyServices = new Set<string>();
  /** Endpoints (and the Services of the same name) changed in this batch: `ns/name`, to mirror again. */
  readonly #dirtyMirrors = new Set<string>();
  /** The two queues a slice written by hand adds to (hand-written-slices.ts). */
  readonly #resyncQueues = { services: this.#dirtyServices, mirrors: this.#dirtyMirrors };
  /** Pods changed in this batch (old and new versions), by namespace: their Services need their slices again. */
  readonly #changedPods = new Map<string, Pod[]>();
  #nodesChanged = false;
  /** Workloads whose pods a user deleted in this batch: `Kind/ns/name`. */
  readonly #ownersToReconcile = new Set<string>();

  constructor(parts: ClusterParts, journal: Journal) {
    this.#parts = parts;
    this.#journal = journal;
    // The generated-name stream rolls back with the batch, so a rejected batch (a trial run included) leaves every
    // later pod and slice name as it would have been: the same seed, the same names.
    const names = parts.names.clone();
    journal.record(() => parts.names.restore(names));
    const env = this.#env();
    this.#ctx = {
      store: parts.store,
      journal,
      config: parts.config,
      names: parts.names,
      createPod: (pod) => this.#putPod(pod, env) ?? pod,
      deletePod: (pod) => this.#removePod(pod),
      put: (obj) => parts.store.put(obj),
      remove: (kind, name, namespace) => {
        parts.store.remove(kind, name, namespace);
      },
      warn: (message) => this.issues.warn(message),
    };
  }

  /** Admit objects in dependency order: namespaces, nodes, services, pods, workloads, slices, policies. */
  applyAll(objects: readonly AnyObject[]): void {
    const sorted = [...objects].sort((a, b) => (KIND_ORDER.get(a.kind) ?? 99) - (KIND_ORDER.get(b.kind) ?? 99));
    for (const obj of sorted) this.#apply(obj);
  }

  #env(): BatchEnv {
    const p = this.#parts;
    return {
      store: p.store,
      journal: this.#journal,
      config: p.config,
      issues: this.issues,
      ipam: p.ipam,
      scheduler: p.scheduler,
      nodeAddresses: p.nodeAddresses,
    };
  }

  #apply(obj: AnyObject): void {
    const { store } = this.#parts;
    if (!CLUSTER_SCOPED.has(obj.kind)) this.#ensureNamespace(obj.metadata.namespace ?? 'default');
    const env = this.#env();
    switch (obj.kind) {
      case 'Namespace':
        store.put(obj);
        return;
      case 'Node': {
        const old = store.get('Node', obj.metadata.name);
        const node = admitNode(env, obj, old);
        if (!node) return;
        store.put(node);
        if (old) this.#parts.scheduler.updateNode(node, this.#journal);
        else this.#parts.scheduler.addNode(node, this.#journal);
        this.#nodesChanged = true;
        if (old && nodeReady(old) !== nodeReady(node)) this.#nodeReadinessChanged(node, env);
        return;
      }
      case 'Service': {
        const old = store.get('Service', obj.metadata.name, obj.metadata.namespace);
        const svc = admitService(env, obj, old);
        if (!svc) return;
        store.put(svc);
        this.#parts.podIndex.addService(svc, this.#journal);
        this.#dirtyServices.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
        this.#dirtyMirrors.add(`${svc.metadata.namespace}/${svc.metadata.name}`);
        return;
      }
      case 'Endpoints':
        this.#applyEndpoints(obj);
        return;
      case 'Pod':
        this.#putPod(obj, env);
        return;
      case 'Deployment':
        reconcileDeployment(this.#ctx, store.put(obj));
        return;
      case 'ReplicaSet':
        reconcileReplicaSet(this.#ctx, store.put(obj));
        return;
      case 'StatefulSet':
        reconcileStatefulSet(this.#ctx, store.put(obj));
        return;
      case 'DaemonSet':
        reconcileDaemonSet(this.#ctx, store.put(obj));
        return;
      case 'EndpointSlice': {
        const old = store.get('EndpointSlice', obj.metadata.name, obj.metadata.namespace);
        sliceWrittenByHand(store, this.#journal, old, store.put(obj), this.#resyncQueues);
        return;
      }
      case 'NetworkPolicy':
        store.put(obj);
        return;
    }
  }

  /**
   * Hand-written Endpoints: stored in the API server's canonical form (its strategy repacks the subsets) and mirrored
   * into EndpointSlices when its Service has no selector (in `finish`).
   */
  #applyEndpoints(endpoints: Endpoints): void {
    const stored = this.#parts.store.put({ ...endpoints, subsets: repackSubsets(endpoints.subsets ?? []) });
    const ns = stored.metadata.namespace ?? 'default';
    const name = stored.metadata.name;
    this.#dirtyMirrors.add(`${ns}/${name}`);
    // The API server's warning since 1.33; kubectl prints each distinct warning once.
    this.#warnOnce(ENDPOINTS_DEPRECATED);
    const service = this.#parts.store.get('Service', name, ns);
    if (apiServerEndpoints(ns, name)) {
      this.issues.warn(
        'Endpoints default/kubernetes: the API server keeps these itself (labelled skip-mirror) and writes the kubernetes EndpointSlice from its control-plane nodes; they are not mirrored',
      );
    } else if (service && hasSelector(service)) {
      this.issues.warn(
        `Endpoints ${ns}/${stored.metadata.name}: Service ${ns}/${stored.metadata.name} has a selector, so its endpoints come from the pods it selects; these Endpoints are not mirrored to EndpointSlices`,
      );
    }
  }

  #warnOnce(message: string): void {
    if (!this.issues.warnings.includes(message)) this.issues.warn(message);
  }

  /**
   * A node stopped being Ready: MarkPodsNotReady turns its pods' Ready to False. It is Ready again: its kubelet
   * reports what it reported before (node-readiness.ts).
   */
  #nodeReadinessChanged(node: Node, env: BatchEnv): void {
    const ready = nodeReady(node);
    for (const pod of this.#parts.store.list('Pod')) {
      if (pod.spec.nodeName !== node.metadata.name) continue;
      const before = pod.status.conditions;
      const conditions = ready ? kubeletReportOf(pod) : markedNotReady(before);
      if (conditions === undefined) continue;
      const stored = this.#putPod({ ...pod, status: { ...pod.status, conditions: [...conditions] } }, env);
      if (stored && !ready) rememberKubeletReport(stored, before!);
    }
  }

  /** A namespaced object in a namespace nobody created: kubectl would refuse; we create it and warn. */
  #ensureNamespace(name: string): void {
    const { store } = this.#parts;
    if (store.get('Namespace', name)) return;
    // Stored as an applied one is: defaulted (its name label, the kubernetes finalizer, phase Active).
    store.put(applyDefaultsInPlace<Namespace>({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    this.issues.warn(`namespace "${name}" was not defined; created it (kubectl apply would fail with NotFound)`);
  }

  #putPod(pod: Pod, env: BatchEnv): Pod | undefined {
    const { store, podIndex } = this.#parts;
    const old = store.get('Pod', pod.metadata.name, pod.metadata.namespace);
    const admitted = admitPod(env, pod, old);
    if (!admitted) return undefined;
    if (old) podIndex.remove(old, this.#journal);
    const stored = store.put(admitted);
    podIndex.add(stored, this.#journal);
    if (old?.spec.nodeName) this.#parts.scheduler.podChanged(old, stored, this.#journal);
    this.#podChanged(old);
    this.#podChanged(stored);
    return stored;
  }

  #removePod(pod: Pod): void {
    const { store, podIndex } = this.#parts;
    const current = store.get('Pod', pod.metadata.name, pod.metadata.namespace);
    if (!current) return;
    releasePod(this.#env(), current);
    podIndex.remove(current, this.#journal);
    store.remove('Pod', current.metadata.name, current.metadata.namespace);
    this.#podChanged(current);
  }

  #podChanged(pod: Pod | undefined): void {
    if (!pod) return;
    const ns = pod.metadata.namespace ?? 'default';
    let list = this.#changedPods.get(ns);
    if (!list) {
      list = [];
      this.#changedPods.set(ns, list);
    }
    list.push(pod);
  }

  delete(ref: ObjectRef, force: boolean): void {
    const { store } = this.#parts;
    const obj = store.get(ref.kind, ref.name, ref.namespace);
    if (!obj) {
      this.issues.issues.push({
        code: 'E_NOT_FOUND',
        position: { file: '<input>', document: 0, line: 0, column: 0 },
        object: `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`,
        field: '',
        detail: 'not found',
      });
      return;
    }
    if (obj.kind === 'Namespace' && IMMORTAL_NAMESPACES.has(obj.metadata.name)) {
      // The NamespaceLifecycle admission plugin refuses these outright.
      this.issues.issues.push({
        code: 'E_MANIFEST_INVALID',
        position: { file: '<input>', document: 0, line: 0, column: 0 },
        object: `Namespace ${obj.metadata.name}`,
        field: '',
        detail: `namespaces "${obj.metadata.name}" is forbidden: this namespace may not be deleted`,
      });
      return;
    }
    this.#deleteObject(obj, force);
  }

  #deleteObject(obj: AnyObject, force: boolean): void {
    const { store } = this.#parts;
    const env = this.#env();
    switch (obj.kind) {
      case 'Pod': {
        if (force || obj.metadata.deletionTimestamp) this.#removePod(obj);
        else this.#putPod({ ...obj, metadata: { ...obj.metadata, deletionTimestamp: DELETION_TIMESTAMP } }, env);
        // Its controller notices and replaces it (a ReplicaSet at once, a StatefulSet once the name is free).
        const owner = obj.metadata.ownerReferences?.find((o) => o.controller);
        if (owner) this.#ownersToReconcile.add(`${owner.kind}/${obj.metadata.namespace}/${owner.name}`);
        return;
      }
      case 'Service':
        this.#dirtyMirrors.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
        releaseService(env, obj);
        deleteServiceSlices(this.#ctx, obj);
        this.#parts.podIndex.removeService(obj, this.#journal);
        store.remove('Service', obj.metadata.name, obj.metadata.namespace);
        return;
      case 'Node':
        for (const pod of store.list('Pod')) if (pod.spec.nodeName === obj.metadata.name) this.#removePod(pod);
        releaseNode(env, obj);
        this.#parts.scheduler.removeNode(obj, this.#journal);
        store.remove('Node', obj.metadata.name);
        this.#nodesChanged = true;
        return;
      case 'Namespace':
        for (const kind of [...KINDS].reverse()) {
          if (CLUSTER_SCOPED.has(kind)) continue;
          for (const child of store.list(kind, obj.metadata.name)) this.#deleteObject(child as AnyObject, true);
        }
        store.remove('Namespace', obj.metadata.name);
        return;
      case 'Deployment':
      case 'ReplicaSet':
      case 'StatefulSet':
      case 'DaemonSet':
        deleteWorkload(this.#ctx, obj);
        store.remove(obj.kind, obj.metadata.name, obj.metadata.namespace);
        return;
      case 'EndpointSlice':
        store.remove('EndpointSlice', obj.metadata.name, obj.metadata.namespace);
        sliceWrittenByHand(store, this.#journal, obj, undefined, this.#resyncQueues);
        return;
      case 'Endpoints':
        store.remove('Endpoints', obj.metadata.name, obj.metadata.namespace);
        this.#dirtyMirrors.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
        return;
      default:
        store.remove(obj.kind as Kind, obj.metadata.name, obj.metadata.namespace);
    }
  }

  /** Controllers that follow what the batch changed: DaemonSets and pending pods on node changes, then slices. */
  finish(): void {
    const { store } = this.#parts;
    if (this.#nodesChanged) {
      for (const ds of store.list('DaemonSet')) reconcileDaemonSet(this.#ctx, ds);
      const env = this.#env();
      for (const pod of store.list('Pod')) if (!pod.spec.nodeName) this.#putPod(pod, env);
      syncKubernetesEndpoints(store);
      this.#markServicesWithOverloadedHints();
    }
    for (const key of this.#ownersToReconcile) this.#reconcileOwner(key);
    this.#markServicesOfChangedPods();
    for (const key of this.#dirtyServices) {
      const [ns, name] = key.split('/') as [string, string];
      const svc = store.get('Service', name, ns);
      if (!svc?.spec.selector) continue;
      reconcileService(this.#ctx, svc, this.#parts.podIndex.select(ns, svc.spec.selector));
    }
    for (const key of this.#dirtyMirrors) {
      const [ns, name] = key.split('/') as [string, string];
      mirrorEndpoints(this.#ctx, ns, name);
    }
  }

  /** After node changes, the Services whose topology-annotation hints no longer fit the zones' CPU shares. */
  #markServicesWithOverloadedHints(): void {
    const { store } = this.#parts;
    const ratios = zoneCPURatios(store.list('Node'));
    for (const svc of store.list('Service')) {
      if (!topologyAnnotationAuto(svc)) continue;
      if (hintsOverloaded(managedSlices(this.#ctx, svc), ratios))
        this.#dirtyServices.add(`${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`);
    }
  }

  #reconcileOwner(key: string): void {
    const { store } = this.#parts;
    const [kind, ns, name] = key.split('/') as [string, string, string];
    if (kind === 'ReplicaSet') {
      const rs = store.get('ReplicaSet', name, ns);
      if (rs) reconcileReplicaSet(this.#ctx, rs);
    } else if (kind === 'StatefulSet') {
      const sts = store.get('StatefulSet', name, ns);
      if (sts) reconcileStatefulSet(this.#ctx, sts);
    } else if (kind === 'DaemonSet') {
      const ds = store.get('DaemonSet', name, ns);
      if (ds) reconcileDaemonSet(this.#ctx, ds);
    }
  }

  /**
   * Services whose selector matches a changed pod (before or after the change). When a namespace has more changed
   * pods than Services (a bulk load), every Service there is reconciled instead: cheaper than matching each pod.
   */
  #markServicesOfChangedPods(): void {
    const { store, podIndex } = this.#parts;
    for (const [ns, pods] of this.#changedPods) {
      const services: Service[] = store.list('Service', ns);
      if (pods.length > services.length) {
        for (const svc of services) if (svc.spec.selector) this.#dirtyServices.add(`${ns}/${svc.metadata.name}`);
        continue;
      }
      for (const pod of pods) {
        for (const svc of podIndex.servicesSelecting(pod)) this.#dirtyServices.add(`${ns}/${svc.metadata.name}`);
      }
    }
  }
}

export type { KindMap };
