/**
 * Column definitions for `kube-netsim get`, matching kubectl's printers (pkg/printers/internalversion/printers.go)
 * without the AGE column: an emulated cluster has no meaningful age.
 */
import { formatSelector } from '../../model/labels.js';
import type {
  DaemonSet,
  Deployment,
  EndpointSlice,
  Node,
  Pod,
  ReplicaSet,
  Service,
  StatefulSet,
} from '../../model/types.js';

/** Version the emulated kubelets report. */
export const KUBELET_VERSION = 'v1.33.0';

export interface Columns<T> {
  headers: string[];
  wide: string[];
  row(obj: T, wide: boolean): string[];
}

export function isPodReady(pod: Pod): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function podStatus(pod: Pod): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  if (pod.status.reason) return pod.status.reason;
  return pod.status.phase;
}

export const podColumns: Columns<Pod> = {
  headers: ['NAME', 'READY', 'STATUS', 'RESTARTS'],
  wide: ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
  row(pod, wide) {
    const total = pod.spec.containers.length;
    const ready = isPodReady(pod) ? total : 0;
    const base = [pod.metadata.name, `${ready}/${total}`, podStatus(pod), '0'];
    if (!wide) return base;
    return [...base, pod.status.podIP ?? '<none>', pod.spec.nodeName ?? '<none>', '<none>', '<none>'];
  },
};

/** `80/TCP`, `80:30080/TCP`, as kubectl's makePortString. */
export function servicePorts(svc: Service): string {
  const ports = svc.spec.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`)).join(',');
}

/** kubectl's getServiceExternalIP. */
export function serviceExternalIP(svc: Service): string {
  const externalIPs = svc.spec.externalIPs ?? [];
  switch (svc.spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'ExternalName':
      return svc.spec.externalName ?? '<none>';
    case 'LoadBalancer': {
      const ingress = (svc.status.loadBalancer.ingress ?? []).map((i) => i.ip ?? i.hostname ?? '');
      const all = [...ingress, ...externalIPs];
      return all.length ? all.join(',') : '<pending>';
    }
  }
}

export const serviceColumns: Columns<Service> = {
  headers: ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)'],
  wide: ['SELECTOR'],
  row(svc, wide) {
    const clusterIP = svc.spec.type === 'ExternalName' ? '<none>' : (svc.spec.clusterIP ?? '<none>');
    const base = [svc.metadata.name, svc.spec.type, clusterIP, serviceExternalIP(svc), servicePorts(svc)];
    return wide ? [...base, formatSelector(svc.spec.selector)] : base;
  },
};

export const endpointSliceColumns: Columns<EndpointSlice> = {
  headers: ['NAME', 'ADDRESSTYPE', 'PORTS', 'ENDPOINTS'],
  wide: [],
  row(slice) {
    const ports = slice.ports?.length ? slice.ports.map((p) => String(p.port ?? '<unset>')).join(',') : '<unset>';
    const addresses = slice.endpoints.flatMap((e) => e.addresses);
    let endpoints = '<unset>';
    if (addresses.length) {
      endpoints = addresses.slice(0, 3).join(',');
      if (addresses.length > 3) endpoints += ` + ${addresses.length - 3} more...`;
    }
    return [slice.metadata.name, slice.addressType, ports, endpoints];
  },
};

function nodeRoles(node: Node): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean)
    .sort();
  return roles.length ? roles.join(',') : '<none>';
}

function nodeStatus(node: Node): string {
  const ready = node.status.conditions.find((c) => c.type === 'Ready');
  const status = ready?.status === 'True' ? 'Ready' : ready?.status === 'False' ? 'NotReady' : 'Unknown';
  return node.spec.unschedulable ? `${status},SchedulingDisabled` : status;
}

export const nodeColumns: Columns<Node> = {
  headers: ['NAME', 'STATUS', 'ROLES', 'VERSION'],
  wide: ['INTERNAL-IP', 'EXTERNAL-IP', 'POD-CIDRS'],
  row(node, wide) {
    const base = [node.metadata.name, nodeStatus(node), nodeRoles(node), KUBELET_VERSION];
    if (!wide) return base;
    const addr = (type: string) =>
      node.status.addresses
        .filter((a) => a.type === type)
        .map((a) => a.address)
        .join(',') || '<none>';
    return [...base, addr('InternalIP'), addr('ExternalIP'), (node.spec.podCIDRs ?? []).join(',') || '<none>'];
  },
};

/** Workload columns need the pods they own to count ready replicas. */
export interface WorkloadCounts {
  current: number;
  ready: number;
}

export function deploymentColumns(counts: (d: Deployment) => WorkloadCounts): Columns<Deployment> {
  return {
    headers: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE'],
    wide: ['SELECTOR'],
    row(d, wide) {
      const c = counts(d);
      const base = [d.metadata.name, `${c.ready}/${d.spec.replicas}`, String(c.current), String(c.ready)];
      return wide ? [...base, formatSelector(d.spec.selector)] : base;
    },
  };
}

export function replicaSetColumns(counts: (rs: ReplicaSet) => WorkloadCounts): Columns<ReplicaSet> {
  return {
    headers: ['NAME', 'DESIRED', 'CURRENT', 'READY'],
    wide: ['SELECTOR'],
    row(rs, wide) {
      const c = counts(rs);
      const base = [rs.metadata.name, String(rs.spec.replicas), String(c.current), String(c.ready)];
      return wide ? [...base, formatSelector(rs.spec.selector)] : base;
    },
  };
}

export function statefulSetColumns(counts: (s: StatefulSet) => WorkloadCounts): Columns<StatefulSet> {
  return {
    headers: ['NAME', 'READY'],
    wide: [],
    row: (s) => [s.metadata.name, `${counts(s).ready}/${s.spec.replicas}`],
  };
}

export function daemonSetColumns(counts: (ds: DaemonSet) => WorkloadCounts & { desired: number }): Columns<DaemonSet> {
  return {
    headers: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR'],
    wide: [],
    row(ds) {
      const c = counts(ds);
      const selector = ds.spec.template.spec.nodeSelector;
      const sel = selector && Object.keys(selector).length ? formatSelector(selector) : '<none>';
      return [
        ds.metadata.name,
        String(c.desired),
        String(c.current),
        String(c.ready),
        String(c.current),
        String(c.ready),
        sel,
      ];
    },
  };
}
