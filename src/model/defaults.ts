/**
 * API-server defaulting: the values the API server fills in before it validates and stores an object
 * (pkg/apis/core/v1/defaults.go and the apps, discovery and networking equivalents), plus the ipFamilyPolicy the
 * Service registry infers before allocation. Families themselves are left to admission, which knows the cluster's
 * CIDRs; so is copying `clusterIP` into `clusterIPs` (the registry's PrepareForCreate), which admission does when it
 * allocates. Singular and plural fields (clusterIP(s), podIP(s), podCIDR(s)) are kept as written, so errors about them
 * can name the field the user wrote.
 *
 * Defaulting works on a copy of an object that passed the decoding check and keeps the original's SourceRef, so
 * later errors about defaulted objects still point into the file.
 */
import { attachSource, sourceOf } from './source.js';
import {
  type AnyObject,
  CLUSTER_SCOPED,
  type Container,
  type EndpointSlice,
  type Endpoints,
  type Namespace,
  type NetworkPolicy,
  type Node,
  type Pod,
  type PodSpec,
  type Service,
} from './types.js';

/** The session affinity timeout the API server gives ClientIP affinity (3 hours). */
export const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800;
/** Allocatable resources of a Node that does not state them. */
export const DEFAULT_NODE_ALLOCATABLE: Readonly<Record<string, string>> = { cpu: '8', memory: '32Gi', pods: '110' };

/**
 * SetDefaults_Container's pull policy: Always when the image's tag is `latest`, which an image with neither tag nor
 * digest has by default (ParseImageName), IfNotPresent otherwise.
 */
export function defaultPullPolicy(image: string | undefined): 'Always' | 'IfNotPresent' {
  // No image does not parse, so it has no tag.
  if (!image) return 'IfNotPresent';
  const at = image.indexOf('@');
  const reference = at < 0 ? image : image.slice(0, at);
  // Repository names are lower case: an image that breaks that does not parse either.
  const colonAt = reference.lastIndexOf(':');
  const repository = colonAt > reference.lastIndexOf('/') ? reference.slice(0, colonAt) : reference;
  if (repository !== repository.toLowerCase()) return 'IfNotPresent';
  // The tag follows the last colon after the last slash (a registry's port is before it).
  const last = reference.slice(reference.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  const tag = colon < 0 ? (at < 0 ? 'latest' : '') : last.slice(colon + 1);
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainers(containers: Container[] | undefined, pod: { hostNetwork: boolean } | undefined): void {
  for (const container of containers ?? []) {
    container.imagePullPolicy ||= defaultPullPolicy(container.image);
    container.terminationMessagePath ||= '/dev/termination-log';
    container.terminationMessagePolicy ||= 'File';
    for (const port of container.ports ?? []) {
      // An empty protocol too (SetDefaults_ContainerPort tests for ""; Helm charts often write it).
      port.protocol ||= 'TCP';
      // With host networking a Pod's container ports are host ports (SetDefaults_Pod; not for templates).
      if (pod?.hostNetwork && !port.hostPort) port.hostPort = port.containerPort;
    }
    // A Pod's requests default to its limits (SetDefaults_Pod; templates keep them as written).
    if (pod && container.resources?.limits) {
      container.resources.requests ??= {};
      const requests = container.resources.requests;
      for (const [name, value] of Object.entries(container.resources.limits)) requests[name] ??= value;
    }
  }
}

/** SetDefaults_PodSpec, and with `isPod` the Pod-only parts of SetDefaults_Pod. */
function defaultPodSpec(spec: PodSpec, isPod: boolean): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  if (isPod) spec.enableServiceLinks ??= true;
  const pod = isPod ? { hostNetwork: spec.hostNetwork === true } : undefined;
  defaultContainers(spec.containers, pod);
  defaultContainers(spec.initContainers, pod);
}

/**
 * The spec of a Pod a controller makes from a template: a copy with SetDefaults_Pod's Pod-only parts applied (service
 * links; requests from limits; host ports from container ports under host networking), which the API server runs on
 * every Pod it decodes, the controllers' too. The template keeps what was written, as upstream's does. Containers and
 * their ports and requests are copied; everything else is shared with the template.
 */
export function podSpecFromTemplate(template: PodSpec): PodSpec {
  const spec: PodSpec = { ...template, containers: template.containers.map(copyContainer) };
  if (template.initContainers) spec.initContainers = template.initContainers.map(copyContainer);
  defaultPodSpec(spec, true);
  return spec;
}

function copyContainer(container: Container): Container {
  const copy: Container = { ...container };
  if (container.ports) copy.ports = container.ports.map((port) => ({ ...port }));
  const resources = container.resources;
  if (resources) {
    copy.resources = { ...resources };
    if (resources.requests) copy.resources.requests = { ...resources.requests };
  }
  return copy;
}

function defaultPod(pod: Pod): void {
  pod.spec ??= {} as PodSpec;
  defaultPodSpec(pod.spec, true);
  pod.status ??= { phase: 'Pending' };
  pod.status.phase ??= 'Pending';
}

function defaultService(svc: Service): void {
  svc.spec ??= {} as Service['spec'];
  const spec = svc.spec;
  spec.type ||= 'ClusterIP';
  spec.sessionAffinity ||= 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  else if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_TIMEOUT_SECONDS } };
  }
  for (const port of spec.ports ?? []) {
    port.protocol ||= 'TCP';
    if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '') port.targetPort = port.port;
  }
  const external =
    spec.type === 'NodePort' ||
    spec.type === 'LoadBalancer' ||
    (spec.type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0);
  if (external) spec.externalTrafficPolicy ||= 'Cluster';
  if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.type !== 'ExternalName' && spec.ipFamilyPolicy === undefined) {
    // The registry's inference (initIPFamilyFields): two families or two IPs ask for dual-stack, a headless Service
    // without a selector requires it (whatever the cluster serves), anything else is single-stack.
    const ips = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
    const headlessNoSelector =
      ips[0] === 'None' && Object.keys(spec.selector ?? {}).length === 0 && spec.type === 'ClusterIP';
    if ((spec.ipFamilies?.length ?? 0) === 2 || ips.length === 2) {
      spec.ipFamilyPolicy = 'RequireDualStack';
    } else if (headlessNoSelector) spec.ipFamilyPolicy = 'RequireDualStack';
    else spec.ipFamilyPolicy = 'SingleStack';
  }
  svc.status ??= { loadBalancer: {} };
  svc.status.loadBalancer ??= {};
  if (spec.type === 'LoadBalancer') {
    for (const ingress of svc.status.loadBalancer.ingress ?? []) if (ingress.ip) ingress.ipMode ??= 'VIP';
  }
}

/**
 * A workload's update strategy as the apps/v1 defaults fill it: an unset (or empty) type is RollingUpdate, and its
 * parameters not given are filled in. Deployments and DaemonSets make the parameters when they have none;
 * StatefulSets only when the type itself was defaulted (`onlyIfTypeUnset`: a given RollingUpdate without parameters
 * keeps none).
 */
function defaultRollingUpdate(
  spec: Record<string, unknown>,
  key: string,
  fill: Record<string, unknown>,
  onlyIfTypeUnset = false,
): void {
  const strategy = ((spec[key] as Record<string, unknown> | undefined) ?? {}) as Record<string, unknown>;
  const typeUnset = !strategy.type;
  if (typeUnset) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate' && (strategy.rollingUpdate !== undefined || !onlyIfTypeUnset || typeUnset)) {
    const rolling = (strategy.rollingUpdate as Record<string, unknown> | undefined) ?? {};
    for (const [field, value] of Object.entries(fill)) rolling[field] ??= value;
    strategy.rollingUpdate = rolling;
  }
  spec[key] = strategy;
}

/** SetDefaults_Deployment, _StatefulSet, _DaemonSet and _ReplicaSet (apps/v1), and the template's pod spec. */
function defaultWorkload(obj: { kind: string; spec: Record<string, unknown> }): void {
  obj.spec ??= {};
  const spec = obj.spec;
  if (obj.kind !== 'DaemonSet') spec.replicas ??= 1;
  if (obj.kind === 'Deployment') {
    defaultRollingUpdate(spec, 'strategy', { maxUnavailable: '25%', maxSurge: '25%' });
    spec.progressDeadlineSeconds ??= 600;
  }
  if (obj.kind === 'StatefulSet') {
    spec.podManagementPolicy ??= 'OrderedReady';
    defaultRollingUpdate(spec, 'updateStrategy', { partition: 0 }, true);
    const retention = (spec.persistentVolumeClaimRetentionPolicy ?? {}) as Record<string, unknown>;
    retention.whenDeleted ||= 'Retain';
    retention.whenScaled ||= 'Retain';
    spec.persistentVolumeClaimRetentionPolicy = retention;
  }
  if (obj.kind === 'DaemonSet') defaultRollingUpdate(spec, 'updateStrategy', { maxUnavailable: 1, maxSurge: 0 });
  if (obj.kind !== 'ReplicaSet') spec.revisionHistoryLimit ??= 10;
  const template = spec.template as { spec?: PodSpec } | undefined;
  if (template?.spec) defaultPodSpec(template.spec, false);
}

function defaultNetworkPolicy(policy: NetworkPolicy): void {
  policy.spec ??= {} as NetworkPolicy['spec'];
  const spec = policy.spec;
  // An omitted podSelector is the empty selector: every pod in the policy's namespace (networking/v1 types.go).
  spec.podSelector ??= {};
  if ((spec.policyTypes ?? []).length === 0) {
    spec.policyTypes = (spec.egress ?? []).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  for (const rule of [...(spec.ingress ?? []), ...(spec.egress ?? [])]) {
    for (const port of rule.ports ?? []) port.protocol ??= 'TCP';
  }
}

/** SetDefaults_EndpointPort: a port without a name has the empty one, without a protocol TCP. */
function defaultEndpointSlice(slice: EndpointSlice): void {
  slice.endpoints ??= [];
  for (const endpoint of slice.endpoints) endpoint.conditions ??= {};
  for (const port of slice.ports ?? []) {
    port.name ??= '';
    port.protocol ??= 'TCP';
  }
}

/** SetDefaults_Endpoints: a port without a protocol (or with an empty one) is TCP. */
function defaultEndpoints(endpoints: Endpoints): void {
  for (const subset of endpoints.subsets ?? []) for (const port of subset.ports ?? []) port.protocol ||= 'TCP';
}

function defaultNamespace(ns: Namespace): void {
  // The namespace strategy's PrepareForCreate adds the finalizer that lets deletion empty the namespace first.
  const finalizers = ns.spec?.finalizers ?? [];
  ns.spec = { ...ns.spec, finalizers: finalizers.includes('kubernetes') ? finalizers : [...finalizers, 'kubernetes'] };
  ns.status ??= { phase: 'Active' };
  ns.status.phase ??= 'Active';
  // SetDefaults_Namespace: every namespace carries its own name as a label, for namespaceSelectors.
  if (ns.metadata.name) ns.metadata.labels = { ...ns.metadata.labels, 'kubernetes.io/metadata.name': ns.metadata.name };
}

function defaultNode(node: Node): void {
  node.spec ??= {};
  node.status ??= {} as Node['status'];
  const status = node.status;
  status.addresses ??= [];
  // SetDefaults_NodeStatus: allocatable defaults to capacity; then our fixed node size fills the rest.
  status.allocatable ??= { ...(status.capacity ?? {}) };
  for (const [name, value] of Object.entries(DEFAULT_NODE_ALLOCATABLE)) status.allocatable[name] ??= value;
  if ((status.conditions ?? []).length === 0) {
    status.conditions = [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }];
  }
}

/**
 * A defaulted copy of `obj`, with the SourceRef of the original attached. The input must have passed the decoding
 * (type) check; it is not modified.
 */
export function applyDefaults<T extends AnyObject>(obj: T): T {
  const out = structuredClone(obj);
  const source = sourceOf(obj);
  if (source) attachSource(out, source);
  return applyDefaultsInPlace(out);
}

/**
 * Default an object in place and return it. For callers that already hold a private copy (validation decodes each
 * document into a fresh copy), which saves a second deep copy per object.
 */
export function applyDefaultsInPlace<T extends AnyObject>(out: T): T {
  out.metadata ??= {} as T['metadata'];
  if (CLUSTER_SCOPED.has(out.kind)) delete out.metadata.namespace;
  else if (!out.metadata.namespace) out.metadata.namespace = 'default';
  switch (out.kind) {
    case 'Pod':
      defaultPod(out);
      break;
    case 'Service':
      defaultService(out);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      defaultWorkload(out as unknown as { kind: string; spec: Record<string, unknown> });
      break;
    case 'NetworkPolicy':
      defaultNetworkPolicy(out);
      break;
    case 'EndpointSlice':
      defaultEndpointSlice(out);
      break;
    case 'Endpoints':
      defaultEndpoints(out);
      break;
    case 'Namespace':
      defaultNamespace(out);
      break;
    case 'Node':
      defaultNode(out);
      break;
  }
  return out;
}
