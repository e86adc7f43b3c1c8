/**
 * Slim projections of the objects cluster DNS reads, in the manner of CoreDNS's plugin/kubernetes/object/*.go:
 * only what an answer needs, computed once per event, so a query never touches a full API object and the index
 * stays small (8,200 Services and 150,000 endpoints in the scale fixture).
 *
 * Sentinels:
 * - `NO_PORTS`: a Service or EndpointSlice without ports gets one port row with port -1 (CoreDNS's `Port: -1`), so
 *   address queries still produce a row per IP while SRV skips the row (dns.md §3.7).
 * - `SliceRecord.names === undefined`: no endpoint of the slice has an explicit name; every endpoint is named by its
 *   dashed IP. An `undefined` entry inside `names` means the same for that one endpoint.
 * - `ServiceRecord.clusterIPs` is empty for headless and ExternalName services and for a ClusterIP service whose
 *   address is not allocated yet.
 */
import { dashedIP, parseIP } from '../../cni/ip.js';
import type { EndpointSlice, Pod, Service } from '../../model/types.js';
import { LABEL_SERVICE_NAME } from '../../model/types.js';

/** One port of a Service or EndpointSlice as DNS sees it. `protocol` is upper case (`TCP`, `UDP`, `SCTP`). */
export interface PortRecord {
  readonly name: string;
  readonly protocol: string;
  readonly port: number;
}

/** The port list of an object that declares no ports (CoreDNS's sentinel row). */
export const NO_PORTS: readonly PortRecord[] = Object.freeze([Object.freeze({ name: '', protocol: '', port: -1 })]);

export type ServiceKind = 'cluster-ip' | 'headless' | 'external-name';

/** A stripped-down Service: ClusterIP, NodePort and LoadBalancer services are all `cluster-ip` to DNS. */
export interface ServiceRecord {
  readonly name: string;
  readonly namespace: string;
  readonly kind: ServiceKind;
  /** Canonical addresses, primary family first. */
  readonly clusterIPs: readonly string[];
  readonly ports: readonly PortRecord[];
  /** The CNAME target of an ExternalName service as written (no trailing dot added); '' otherwise. */
  readonly externalName: string;
  /** In kube-system and selecting `k8s-app: kube-dns`: the Service whose name the apex NS record carries. */
  readonly kubeDns: boolean;
}

/** A stripped-down EndpointSlice: its Service, its ports and its ready addresses only. */
export interface SliceRecord {
  /** `namespace/name` of the slice. */
  readonly key: string;
  /** The `kubernetes.io/service-name` label. */
  readonly service: string;
  readonly namespace: string;
  readonly ports: readonly PortRecord[];
  /** Canonical IPs of ready endpoints (nil `ready` counts as ready); not-ready endpoints are dropped here. */
  readonly ips: readonly string[];
  /** Explicit endpoint names, parallel to `ips` (see the sentinel note above). */
  readonly names: readonly (string | undefined)[] | undefined;
}

/** Key of a Service in the index, as CoreDNS's ServiceKey: `name.namespace`. */
export function serviceKey(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}

export function toServiceRecord(svc: Service): ServiceRecord {
  const spec = svc.spec;
  const namespace = svc.metadata.namespace ?? 'default';
  const first = spec.clusterIPs?.[0] ?? spec.clusterIP;
  const kind: ServiceKind =
    spec.type === 'ExternalName' ? 'external-name' : first === 'None' ? 'headless' : 'cluster-ip';
  const clusterIPs: string[] = [];
  if (kind === 'cluster-ip') {
    for (const text of spec.clusterIPs?.length ? spec.clusterIPs : [spec.clusterIP ?? '']) {
      const ip = parseIP(text);
      if (ip && !clusterIPs.includes(ip.text)) clusterIPs.push(ip.text);
    }
  }
  const ports = spec.ports?.length
    ? spec.ports.map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port }))
    : NO_PORTS;
  return {
    name: svc.metadata.name,
    namespace,
    kind,
    clusterIPs,
    ports,
    externalName: kind === 'external-name' ? (spec.externalName ?? '') : '',
    kubeDns: namespace === 'kube-system' && spec.selector?.['k8s-app'] === 'kube-dns',
  };
}

/**
 * Project a slice, or `undefined` when DNS cannot use it: no service-name label (CoreDNS would index it under an
 * empty service name that no query can reach) or an FQDN slice (its addresses are not IPs).
 */
export function toSliceRecord(slice: EndpointSlice, endpointPodNames: boolean): SliceRecord | undefined {
  const service = slice.metadata.labels?.[LABEL_SERVICE_NAME];
  if (!service || slice.addressType === 'FQDN') return undefined;
  const namespace = slice.metadata.namespace ?? 'default';
  const ips: string[] = [];
  let names: (string | undefined)[] | undefined;
  for (const endpoint of slice.endpoints ?? []) {
    if (endpoint.conditions?.ready === false) continue;
    // CoreDNS only takes the pod name when it fits in a DNS label.
    const podName = endpointPodNames && endpoint.targetRef && endpoint.targetRef.name.length < 64;
    const name = endpoint.hostname || (podName ? endpoint.targetRef!.name : undefined);
    for (const address of endpoint.addresses) {
      const ip = parseIP(address);
      if (!ip) continue;
      if (name !== undefined && names === undefined) names = ips.map(() => undefined);
      ips.push(ip.text);
      names?.push(name);
    }
  }
  const ports = slice.ports?.length
    ? slice.ports.map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port ?? -1 }))
    : NO_PORTS;
  return { key: `${namespace}/${slice.metadata.name}`, service, namespace, ports, ips, names };
}

/** The DNS name of endpoint `i` of a slice: its hostname, its pod name (endpointPodNames), or its dashed IP. */
export function endpointName(slice: SliceRecord, i: number): string {
  return slice.names?.[i] ?? dashedIP(slice.ips[i]!);
}

/**
 * The address a pod answers `pods verified` queries with, or `undefined` when CoreDNS would not list it: the pod is
 * being deleted, or has finished (CoreDNS watches pods with `status.phase!=Succeeded,Failed,Unknown`). Only the
 * primary `status.podIP`, as written, like CoreDNS's PodIP index (dns.md §5.2).
 */
export function verifiedPodIP(pod: Pod): string | undefined {
  if (pod.metadata.deletionTimestamp) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown') return undefined;
  return pod.status?.podIP || undefined;
}

export function sameService(a: ServiceRecord, b: ServiceRecord): boolean {
  return (
    a.kind === b.kind &&
    a.externalName === b.externalName &&
    a.kubeDns === b.kubeDns &&
    sameList(a.clusterIPs, b.clusterIPs) &&
    samePorts(a.ports, b.ports)
  );
}

export function sameSlice(a: SliceRecord, b: SliceRecord): boolean {
  if (a.service !== b.service || a.namespace !== b.namespace) return false;
  if (!sameList(a.ips, b.ips) || !samePorts(a.ports, b.ports)) return false;
  for (let i = 0; i < a.ips.length; i++) if (a.names?.[i] !== b.names?.[i]) return false;
  return true;
}

function samePorts(a: readonly PortRecord[], b: readonly PortRecord[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((p, i) => p.name === b[i]!.name && p.protocol === b[i]!.protocol && p.port === b[i]!.port);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
