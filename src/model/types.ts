/**
 * The object model: Kubernetes objects as kubectl shows them, trimmed to the fields kube-netsim reads or writes.
 * Objects are stored after defaulting, so optional fields that the API server defaults are present in the store.
 * Objects in the store are treated as immutable: a change replaces the object.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  resourceVersion?: string;
  generateName?: string;
  /** Set when a delete has begun and the object is terminating (pods only). */
  deletionTimestamp?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  controller?: boolean;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface KubeObject<K extends string = string> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
}

// ---------------------------------------------------------------- Namespace, Node

export interface Namespace extends KubeObject<'Namespace'> {
  /** The namespace registry sets `[kubernetes]` on create (nothing here reads it). */
  spec?: { finalizers?: string[] };
  status?: { phase: 'Active' | 'Terminating' };
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
}

export interface Node extends KubeObject<'Node'> {
  spec: {
    podCIDR?: string;
    podCIDRs?: string[];
    taints?: Taint[];
    unschedulable?: boolean;
  };
  status: {
    addresses: NodeAddress[];
    /** Quantities as strings, as the API shows them: cpu "8", memory "32Gi", pods "110". */
    allocatable: Record<string, string>;
    capacity?: Record<string, string>;
    conditions: NodeCondition[];
    /** What the node's kubelet reports about itself (kubectl's VERSION and wide columns). */
    nodeInfo?: NodeSystemInfo;
  };
}

export interface NodeSystemInfo {
  kubeletVersion?: string;
  osImage?: string;
  kernelVersion?: string;
  containerRuntimeVersion?: string;
}

// ---------------------------------------------------------------- Pod

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol: Protocol;
  hostPort?: number;
  /** The host address a host port binds (the schema already took it; validation compares host ports by it). */
  hostIP?: string;
}

export interface Container {
  name: string;
  image?: string;
  /** Init containers only: `Always` makes it a sidecar (restartable init container) that runs beside the others. */
  restartPolicy?: 'Always';
  ports?: ContainerPort[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  env?: { name: string; value?: string }[];
  /** Defaulted as the API server does (SetDefaults_Container); nothing here reads them. */
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  terminationMessagePath?: string;
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export interface PodDNSConfig {
  nameservers?: string[];
  searches?: string[];
  options?: { name: string; value?: string }[];
}

export interface HostAlias {
  ip: string;
  hostnames?: string[];
}

export type DNSPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  hostname?: string;
  subdomain?: string;
  /** Extra /etc/hosts lines kubelet writes into the pod's managed hosts file. */
  hostAliases?: HostAlias[];
  hostNetwork?: boolean;
  dnsPolicy: DNSPolicy;
  dnsConfig?: PodDNSConfig;
  enableServiceLinks?: boolean;
  setHostnameAsFQDN?: boolean;
  restartPolicy?: string;
  schedulerName?: string;
  /** While any gate is listed, no scheduler places the pod: it stays Pending, PodScheduled False SchedulingGated. */
  schedulingGates?: { name: string }[];
  priority?: number;
  /** Extra conditions the pod's readiness waits on; only `get -o wide` reads them (READINESS GATES). */
  readinessGates?: { conditionType: string }[];
  /** Defaulted as the API server does (SetDefaults_PodSpec); nothing here reads them. */
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
}

export interface PodCondition {
  type: 'PodScheduled' | 'Initialized' | 'ContainersReady' | 'Ready' | string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodStatus {
  phase: PodPhase;
  podIP?: string;
  podIPs?: { ip: string }[];
  hostIP?: string;
  hostIPs?: { ip: string }[];
  conditions?: PodCondition[];
  reason?: string;
  message?: string;
}

export interface Pod extends KubeObject<'Pod'> {
  spec: PodSpec;
  status: PodStatus;
}

export interface PodTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: PodSpec;
}

// ---------------------------------------------------------------- Service

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type IPFamily = 'IPv4' | 'IPv6';
export type IPFamilyPolicy = 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';

export interface ServicePort {
  name?: string;
  protocol: Protocol;
  port: number;
  /** A number, or the name of a container port. Defaulted to `port`. */
  targetPort: number | string;
  nodePort?: number;
  appProtocol?: string;
}

export interface ServiceSpec {
  type: ServiceType;
  selector?: Record<string, string>;
  ports?: ServicePort[];
  /** "None" for a headless Service. Absent for ExternalName. */
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: IPFamily[];
  ipFamilyPolicy?: IPFamilyPolicy;
  externalName?: string;
  externalIPs?: string[];
  loadBalancerIP?: string;
  loadBalancerSourceRanges?: string[];
  loadBalancerClass?: string;
  allocateLoadBalancerNodePorts?: boolean;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  internalTrafficPolicy?: 'Cluster' | 'Local';
  healthCheckNodePort?: number;
  sessionAffinity: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  publishNotReadyAddresses?: boolean;
  trafficDistribution?: string;
}

export interface LoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ipMode?: 'VIP' | 'Proxy';
}

export interface Service extends KubeObject<'Service'> {
  spec: ServiceSpec;
  status: { loadBalancer: { ingress?: LoadBalancerIngress[] } };
}

// ---------------------------------------------------------------- EndpointSlice

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

export interface EndpointConditions {
  /** nil counts as ready (consumers must treat undefined as true). */
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions: EndpointConditions;
  hostname?: string;
  nodeName?: string;
  zone?: string;
  targetRef?: { kind: string; namespace?: string; name: string; uid?: string };
  hints?: { forZones?: { name: string }[]; forNodes?: { name: string }[] };
}

export interface EndpointPort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject<'EndpointSlice'> {
  addressType: AddressType;
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

/** One address of a v1 Endpoints subset. */
export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: string; namespace?: string; name: string; uid?: string };
}

/** A port of a v1 Endpoints subset. */
export interface EndpointsPort {
  name?: string;
  port: number;
  protocol?: Protocol;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointsPort[];
}

/**
 * The v1 Endpoints of a Service (deprecated since 1.33 in favour of EndpointSlices). kube-netsim reads only those a
 * user writes for a Service without a selector, and mirrors them into EndpointSlices as upstream's
 * EndpointSliceMirroring controller does (controllers/endpointslice-mirroring.ts).
 */
export interface Endpoints extends KubeObject<'Endpoints'> {
  subsets?: EndpointSubset[];
}

/** Label naming the Service an EndpointSlice belongs to. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** Label naming who manages an EndpointSlice. */
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
/** The value of LABEL_MANAGED_BY for slices our controller owns (Kubernetes' own value). */
export const ENDPOINTSLICE_CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
/** The value of LABEL_MANAGED_BY for slices mirrored from v1 Endpoints (Kubernetes' own value). */
export const MIRRORING_CONTROLLER_NAME = 'endpointslicemirroring-controller.k8s.io';
/** Label on v1 Endpoints that the mirroring controller must leave alone (exactly "true"). */
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';

// ---------------------------------------------------------------- Workloads

export interface Deployment extends KubeObject<'Deployment'> {
  spec: {
    replicas: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    minReadySeconds?: number;
    /** Defaulted as the API server does (a rollout here is instantaneous: nothing reads it). */
    strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
  };
}

export interface ReplicaSet extends KubeObject<'ReplicaSet'> {
  spec: { replicas: number; selector: LabelSelector; template: PodTemplateSpec; minReadySeconds?: number };
}

export interface StatefulSet extends KubeObject<'StatefulSet'> {
  spec: {
    replicas: number;
    serviceName?: string;
    selector: LabelSelector;
    template: PodTemplateSpec;
    podManagementPolicy?: 'OrderedReady' | 'Parallel';
    minReadySeconds?: number;
    /** The first pod's ordinal (StatefulSetStartOrdinal, GA in 1.31): pods are start … start + replicas − 1. */
    ordinals?: { start?: number };
  };
}

export interface DaemonSet extends KubeObject<'DaemonSet'> {
  spec: { selector: LabelSelector; template: PodTemplateSpec; minReadySeconds?: number };
}

// ---------------------------------------------------------------- NetworkPolicy (stored now, evaluated later)

export interface NetworkPolicyPort {
  protocol?: Protocol;
  port?: number | string;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicy extends KubeObject<'NetworkPolicy'> {
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
    egress?: { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }[];
  };
}

// ---------------------------------------------------------------- ClusterConfig

export interface ClusterConfigSpec {
  /** Cluster DNS domain. Default cluster.local. */
  clusterDomain: string;
  /** Pod CIDRs, one per family; a second (IPv6) CIDR makes the cluster dual-stack. Default [10.244.0.0/16]. */
  podCIDRs: string[];
  /** Service CIDRs, one per family, same family order as podCIDRs. Default [10.96.0.0/12]. */
  serviceCIDRs: string[];
  /** Prefix length of each node's pod CIDR. Default { ipv4: 24, ipv6: 64 }. */
  nodeCIDRMaskSize: { ipv4: number; ipv6: number };
  /** NodePort range, inclusive. Default 30000-32767. */
  nodePortRange: { first: number; last: number };
  /** Pools for LoadBalancer ingress IPs: CIDRs or first-last ranges. */
  loadBalancerPools: string[];
  /** Network the nodes' own InternalIPs come from (one per family). Default [172.18.0.0/16] (+ fc00:f853:ccd:e793::/64). */
  nodeNetworks: string[];
  /** Nodes created when the input gives no Node objects. */
  nodes: { controlPlane: number; workers: number; namePrefix: string };
  /** Seed for every random choice (generated names, ClusterIPs, NodePorts). */
  seed: number;
  /** Sections added by later features keep their raw, validated form here. */
  dns?: Record<string, unknown>;
  proxy?: Record<string, unknown>;
}

export interface ClusterConfig extends KubeObject<'ClusterConfig'> {
  spec: ClusterConfigSpec;
}

// ---------------------------------------------------------------- Kinds

export interface KindMap {
  Namespace: Namespace;
  Node: Node;
  Pod: Pod;
  Service: Service;
  Endpoints: Endpoints;
  EndpointSlice: EndpointSlice;
  Deployment: Deployment;
  ReplicaSet: ReplicaSet;
  StatefulSet: StatefulSet;
  DaemonSet: DaemonSet;
  NetworkPolicy: NetworkPolicy;
}

export type Kind = keyof KindMap;
export type AnyObject = KindMap[Kind];

export const KINDS: readonly Kind[] = [
  'Namespace',
  'Node',
  'Service',
  'Pod',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'Endpoints',
  'EndpointSlice',
  'NetworkPolicy',
];

/** Kinds that live outside namespaces. */
export const CLUSTER_SCOPED: ReadonlySet<string> = new Set(['Namespace', 'Node', 'ClusterConfig']);

/** The apiVersion each kind is accepted under (the first is what the store writes back). */
export const API_VERSIONS: Record<Kind | 'ClusterConfig', readonly string[]> = {
  Namespace: ['v1'],
  Node: ['v1'],
  Pod: ['v1'],
  Service: ['v1'],
  Endpoints: ['v1'],
  EndpointSlice: ['discovery.k8s.io/v1'],
  Deployment: ['apps/v1'],
  ReplicaSet: ['apps/v1'],
  StatefulSet: ['apps/v1'],
  DaemonSet: ['apps/v1'],
  NetworkPolicy: ['networking.k8s.io/v1'],
  ClusterConfig: ['kube-netsim.io/v1alpha1'],
};

/** Store key: `ns/name` for namespaced objects, `name` for cluster-scoped ones. */
export function keyOf(kind: string, namespace: string | undefined, name: string): string {
  return CLUSTER_SCOPED.has(kind) ? name : `${namespace ?? 'default'}/${name}`;
}

export function objectKey(obj: KubeObject): string {
  return keyOf(obj.kind, obj.metadata.namespace, obj.metadata.name);
}

/** `Service default/web`, `Node worker-1`: how errors and traces name an object. */
export function describeObject(obj: { kind: string; metadata?: { name?: string; namespace?: string } }): string {
  const name = obj.metadata?.name ?? '<unnamed>';
  if (CLUSTER_SCOPED.has(obj.kind)) return `${obj.kind} ${name}`;
  return `${obj.kind} ${obj.metadata?.namespace ?? 'default'}/${name}`;
}
