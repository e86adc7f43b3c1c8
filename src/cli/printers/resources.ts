/**
 * Column definitions for `kube-netsim get`, matching kubectl's printers (pkg/printers/internalversion/printers.go)
 * without the AGE column: an emulated cluster has no meaningful age.
 */
import { formatSelector } from '../../model/labels.js';
import type {
  DaemonSet,
  Deployment,
  EndpointSlice,
  Endpoints,
  Namespace,
  NetworkPolicy,
  Node,
  Pod,
  ReplicaSet,
  Service,
  StatefulSet,
} from '../../model/types.js';
import { hostPort } from '../../proxy/packet.js';

/**
 * Version the emulated kubelets report when a Node does not say (status.nodeInfo.kubeletVersion): the release whose
 * defaults the model follows (feature gates such as PreferSameTrafficDistribution, the scheduler's messages).
 */
export const KUBELET_VERSION = 'v1.34.0';

export interface Columns<T> {
  headers: string[];
  wide: string[];
  row(obj: T, wide: boolean): string[];
}

export function isPodReady(pod: Pod): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

const isTerminalPhase = (pod: Pod): boolean => pod.status.phase === 'Succeeded' || pod.status.phase === 'Failed';

function podStatus(pod: Pod): string {
  // printPod: a pod being deleted from a node that stopped answering (NodeLost) is Unknown; a finished pod keeps its
  // phase even while it is being deleted; any other is Terminating.
  if (pod.metadata.deletionTimestamp && pod.status.reason === 'NodeLost') return 'Unknown';
  if (pod.metadata.deletionTimestamp && !isTerminalPhase(pod)) return 'Terminating';
  // A pod held by scheduling gates reads SchedulingGated, whatever its phase says.
  if (pod.status.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated'))
    return 'SchedulingGated';
  if (pod.status.reason) return pod.status.reason;
  return pod.status.phase;
}

export const podColumns: Columns<Pod> = {
  headers: ['NAME', 'READY', 'STATUS', 'RESTARTS'],
  wide: ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
  row(pod, wide) {
    // printPod counts sidecars (restartable init containers) with the app containers.
    const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').length;
    const total = pod.spec.containers.length + sidecars;
    // printPod counts containers that are ready and running: none in a finished pod. Containers, not the pod: a pod
    // waiting on a readiness gate is not Ready, but its containers are (ContainersReady; Ready when that is absent).
    const ready = containersReady(pod) && !isTerminalPhase(pod) ? total : 0;
    const base = [pod.metadata.name, `${ready}/${total}`, podStatus(pod), '0'];
    if (!wide) return base;
    return [...base, pod.status.podIP ?? '<none>', pod.spec.nodeName ?? '<none>', '<none>', readinessGates(pod)];
  },
};

function containersReady(pod: Pod): boolean {
  const conditions = pod.status.conditions ?? [];
  const containers = conditions.find((c) => c.type === 'ContainersReady');
  return containers ? containers.status === 'True' : isPodReady(pod);
}

/** `true/all` of the pod's readiness gates (a gate is true when its condition's status is True), or `<none>`. */
function readinessGates(pod: Pod): string {
  const gates = pod.spec.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  const conditions = pod.status.conditions ?? [];
  const met = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === 'True').length;
  return `${met}/${gates.length}`;
}

/** `80/TCP`, `80:30080/TCP`, as kubectl's makePortString. */
export function servicePorts(svc: Service): string {
  const ports = svc.spec.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`)).join(',');
}

/** kubectl's loadBalancerWidth: without -o wide, longer ingress lists are cut to this many characters. */
const LOAD_BALANCER_WIDTH = 16;

/** kubectl's loadBalancerStatusStringer: ingress IPs (or hostnames), sorted, deduplicated, cut unless wide. */
function loadBalancerIngress(svc: Service, wide: boolean): string {
  const names = new Set<string>();
  for (const i of svc.status.loadBalancer.ingress ?? []) {
    if (i.ip) names.add(i.ip);
    else if (i.hostname) names.add(i.hostname);
  }
  const text = [...names].sort().join(',');
  return !wide && text.length > LOAD_BALANCER_WIDTH ? `${text.slice(0, LOAD_BALANCER_WIDTH - 3)}...` : text;
}

/** kubectl's getServiceExternalIP. */
export function serviceExternalIP(svc: Service, wide = false): string {
  const externalIPs = svc.spec.externalIPs ?? [];
  switch (svc.spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'ExternalName':
      return svc.spec.externalName ?? '<none>';
    case 'LoadBalancer': {
      const ingress = loadBalancerIngress(svc, wide);
      const all = [...(ingress ? ingress.split(',') : []), ...externalIPs];
      return all.length ? all.join(',') : '<pending>';
    }
  }
}

export const serviceColumns: Columns<Service> = {
  headers: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)'],
  wide: ['SELECTOR'],
  row(svc, wide) {
    const clusterIP = svc.spec.type === 'ExternalName' ? '<none>' : (svc.spec.clusterIP ?? '<none>');
    const base = [svc.metadata.name, svc.spec.type, clusterIP, serviceExternalIP(svc, wide), servicePorts(svc)];
    return wide ? [...base, formatSelector(svc.spec.selector)] : base;
  },
};

/** listWithMoreString: the first three joined, then `+ N more...`; `<unset>` when that joins to nothing. */
function firstThree(items: readonly string[]): string {
  const shown = items.slice(0, 3).join(',');
  if (items.length > 3) return `${shown} + ${items.length - 3} more...`;
  return shown === '' ? '<unset>' : shown;
}

/**
 * printEndpoints' formatEndpoints: each subset's ready addresses as `ip:port` for every port (the address alone in a
 * subset without ports), the first three, then `+ N more...`; `<none>` without subsets.
 */
function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const list: string[] = [];
  let count = 0;
  let more = false;
  for (const subset of subsets) {
    const addresses = subset.addresses ?? [];
    const ports = subset.ports?.length ? subset.ports.map((p) => p.port) : [null];
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === 3) {
          more = true;
          break;
        }
        list.push(port === null ? a.ip : hostPort(a.ip, port));
      }
    }
  }
  return more ? `${list.join(',')} + ${count - 3} more...` : list.join(',');
}

export const endpointsColumns: Columns<Endpoints> = {
  headers: ['NAME', 'ENDPOINTS'],
  wide: [],
  row: (ep) => [ep.metadata.name, formatEndpoints(ep)],
};

export const endpointSliceColumns: Columns<EndpointSlice> = {
  headers: ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS'],
  wide: [],
  row(slice) {
    // formatDiscoveryPorts: a port without a number shows its name (the API server defaults it to ""), or `*`.
    const ports = (slice.ports ?? []).map((p) => (p.port !== undefined ? String(p.port) : (p.name ?? '*')));
    const addresses = slice.endpoints.flatMap((e) => e.addresses);
    return [slice.metadata.name, slice.addressType, firstThree(ports), firstThree(addresses)];
  },
};

/** printNamespace: the phase. */
export const namespaceColumns: Columns<Namespace> = {
  headers: ['NAME', 'STATUS'],
  wide: [],
  row: (ns) => [ns.metadata.name, ns.status?.phase ?? ''],
};

/** printNetworkPolicy: the pod selector as FormatLabelSelector prints it (`<none>` when it selects every pod). */
export const networkPolicyColumns: Columns<NetworkPolicy> = {
  headers: ['NAME', 'POD-SELECTOR'],
  wide: [],
  row: (policy) => [policy.metadata.name, formatSelector(policy.spec.podSelector)],
};

/** kubectl's findNodeRoles: `node-role.kubernetes.io/<role>` keys and the older `kubernetes.io/role` value. */
function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role) roles.add(role);
    } else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

/** printNode: Ready or NotReady from the Ready condition (any status but True is NotReady); Unknown without one. */
function nodeStatus(node: Node): string {
  const ready = node.status.conditions.find((c) => c.type === 'Ready');
  const status = ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady';
  return node.spec.unschedulable ? `${status},SchedulingDisabled` : status;
}

export const nodeColumns: Columns<Node> = {
  headers: ['NAME', 'STATUS', 'ROLES', 'VERSION'],
  wide: ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'],
  row(node, wide) {
    const info = node.status.nodeInfo ?? {};
    const base = [node.metadata.name, nodeStatus(node), nodeRoles(node), info.kubeletVersion || KUBELET_VERSION];
    if (!wide) return base;
    // getNodeInternalIP / getNodeExternalIP: the first address of the type.
    const first = (type: string) => node.status.addresses.find((a) => a.type === type)?.address ?? '<none>';
    const known = (v: string | undefined) => v || '<unknown>';
    return [
      ...base,
      first('InternalIP'),
      first('ExternalIP'),
      known(info.osImage),
      known(info.kernelVersion),
      known(info.containerRuntimeVersion),
    ];
  },
};

/** Workload columns need the pods they own to count ready replicas. */
export interface WorkloadCounts {
  current: number;
  ready: number;
}

/** kubectl's layoutContainerCells: the pod template's container names and images, comma-separated. */
function containerCells(spec: { containers: readonly { name: string; image?: string }[] }): [string, string] {
  return [spec.containers.map((c) => c.name).join(','), spec.containers.map((c) => c.image ?? '').join(',')];
}

export function deploymentColumns(counts: (d: Deployment) => WorkloadCounts): Columns<Deployment> {
  return {
    headers: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    row(d, wide) {
      const c = counts(d);
      const base = [d.metadata.name, `${c.ready}/${d.spec.replicas}`, String(c.current), String(c.ready)];
      return wide ? [...base, ...containerCells(d.spec.template.spec), formatSelector(d.spec.selector)] : base;
    },
  };
}

export function replicaSetColumns(counts: (rs: ReplicaSet) => WorkloadCounts): Columns<ReplicaSet> {
  return {
    headers: ['NAME', 'DESIRED', 'CURRENT', 'READY'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    row(rs, wide) {
      const c = counts(rs);
      const base = [rs.metadata.name, String(rs.spec.replicas), String(c.current), String(c.ready)];
      return wide ? [...base, ...containerCells(rs.spec.template.spec), formatSelector(rs.spec.selector)] : base;
    },
  };
}

export function statefulSetColumns(counts: (s: StatefulSet) => WorkloadCounts): Columns<StatefulSet> {
  return {
    headers: ['NAME', 'READY'],
    wide: ['CONTAINERS', 'IMAGES'],
    row(s, wide) {
      const base = [s.metadata.name, `${counts(s).ready}/${s.spec.replicas}`];
      return wide ? [...base, ...containerCells(s.spec.template.spec)] : base;
    },
  };
}

export function daemonSetColumns(counts: (ds: DaemonSet) => WorkloadCounts & { desired: number }): Columns<DaemonSet> {
  return {
    headers: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    row(ds, wide) {
      const c = counts(ds);
      const selector = ds.spec.template.spec.nodeSelector;
      const sel = selector && Object.keys(selector).length ? formatSelector(selector) : '<none>';
      const base = [
        ds.metadata.name,
        String(c.desired),
        String(c.current),
        String(c.ready),
        String(c.current),
        String(c.ready),
        sel,
      ];
      return wide ? [...base, ...containerCells(ds.spec.template.spec), formatSelector(ds.spec.selector)] : base;
    },
  };
}
