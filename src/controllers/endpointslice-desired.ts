/**
 * What the EndpointSlice controller wants, per pod and per Service, as upstream's k8s.io/endpointslice utils.go
 * computes it: the endpoint a pod contributes, the ports it serves, the slice labels and the address types.
 */
import {
  type AddressType,
  type Container,
  ENDPOINTSLICE_CONTROLLER_NAME,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  type Node,
  type Pod,
  type Service,
} from '../model/types.js';
import { inSliceOrder } from './port-order.js';
import { isPodReady, isPodTerminal, LABEL_ZONE } from './scheduling-rules.js';

/** Label set on the slices of a Service without a cluster IP. */
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';

/** The controller's maxEndpointsPerSlice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

const isIPv6 = (ip: string): boolean => ip.includes(':');

/**
 * The address types a Service's slices use (getAddressTypesForService): its ipFamilies; failing that the family of
 * its cluster IP; a headless Service with neither gets both IPv4 and IPv6, as upstream assumes dual-stack until the
 * API server defaults the families.
 */
export function addressTypesFor(service: Service): AddressType[] {
  const fromFamilies = [...new Set(service.spec.ipFamilies ?? [])];
  if (fromFamilies.length) return fromFamilies;
  const ip = service.spec.clusterIP;
  if (ip && ip !== 'None') return [isIPv6(ip) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/** ShouldPodBeInEndpoints(pod, includeTerminating=true): not Succeeded/Failed, and has an address. */
export function shouldPodBeInEndpoints(pod: Pod): boolean {
  if (isPodTerminal(pod)) return false;
  return Boolean(pod.status?.podIP || pod.status?.podIPs?.length);
}

/**
 * The ports a pod serves for a Service (getEndpointPorts), in the order its slice lists them (port-order.ts): each
 * Service port, its targetPort resolved on this pod. A named targetPort is looked up among the pod's container ports by name and protocol; a Service port
 * the pod cannot resolve is left out for that pod, so pods with different resolutions land in different slices.
 * A headless Service may have no ports at all.
 */
export function endpointPorts(service: Service, pod: Pod): EndpointPort[] {
  const out: EndpointPort[] = [];
  for (const sp of service.spec.ports ?? []) {
    let port: number | undefined;
    if (typeof sp.targetPort === 'number') port = sp.targetPort;
    else {
      // FindPort: the containers first, then sidecars (init containers with restartPolicy Always).
      const candidates = [...pod.spec.containers, ...(pod.spec.initContainers ?? []).filter(isSidecar)];
      outer: for (const c of candidates) {
        for (const cp of c.ports ?? []) {
          if (cp.name === sp.targetPort && (cp.protocol ?? 'TCP') === sp.protocol) {
            port = cp.containerPort;
            break outer;
          }
        }
      }
    }
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol };
    if (sp.appProtocol !== undefined) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return inSliceOrder(out);
}

/** A restartable init container: it keeps running beside the app containers and may serve ports. */
export function isSidecar(container: Container): boolean {
  return container.restartPolicy === 'Always';
}

/** Identity of a port list regardless of order (upstream PortMapKey). */
export function portsKey(ports: readonly EndpointPort[] | undefined): string {
  return (ports ?? [])
    .map((p) => `${p.name ?? ''}\0${p.protocol ?? ''}\0${p.port ?? ''}\0${p.appProtocol ?? ''}`)
    .sort()
    .join('\n');
}

/** The pod's addresses of one family, from status.podIPs (podIP when podIPs is missing, as the API fills it in). */
function addressesOf(pod: Pod, addressType: AddressType): string[] {
  const v6 = addressType === 'IPv6';
  const podIPs = pod.status?.podIPs;
  const out: string[] = [];
  if (podIPs) {
    // One pass, no intermediate array: this runs for every pod of every Service.
    for (const { ip } of podIPs) if (isIPv6(ip) === v6) out.push(ip);
  } else if (pod.status?.podIP && isIPv6(pod.status.podIP) === v6) out.push(pod.status.podIP);
  return out;
}

/**
 * The endpoint a pod contributes (podToEndpoint): serving is the pod's Ready condition; terminating is a set
 * deletionTimestamp; ready is `publishNotReadyAddresses || (serving && !terminating)`. The hostname is published only
 * when the pod names this Service as its subdomain (ShouldSetHostname).
 */
export function podToEndpoint(pod: Pod, node: Node | undefined, service: Service, addressType: AddressType): Endpoint {
  const serving = isPodReady(pod);
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  const ready = service.spec.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses: addressesOf(pod, addressType),
    conditions: { ready, serving, terminating },
  };
  if (shouldSetHostname(pod, service)) ep.hostname = pod.spec.hostname!;
  ep.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name };
  if (pod.spec.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[LABEL_ZONE];
  if (zone) ep.zone = zone;
  return ep;
}

export function shouldSetHostname(pod: Pod, service: Service): boolean {
  return (
    Boolean(pod.spec.hostname) &&
    pod.spec.subdomain === service.metadata.name &&
    (pod.metadata.namespace ?? 'default') === (service.metadata.namespace ?? 'default')
  );
}

/** Endpoint identity (upstream hashEndpoint): addresses, hostname and the pod it points to. */
export function endpointKey(ep: Endpoint): string {
  const addresses = ep.addresses.length > 1 ? [...ep.addresses].sort() : ep.addresses;
  return `${addresses.join(',')}\0${ep.hostname ?? ''}\0${ep.targetRef?.namespace ?? ''}/${ep.targetRef?.name ?? ''}`;
}

/** EndpointsEqualBeyondHash: same conditions, node and zone (hints are not compared: endpointslice-hints.ts). */
export function endpointsEqualBeyondKey(a: Endpoint, b: Endpoint): boolean {
  return (
    a.conditions.ready === b.conditions.ready &&
    a.conditions.serving === b.conditions.serving &&
    a.conditions.terminating === b.conditions.terminating &&
    a.nodeName === b.nodeName &&
    a.zone === b.zone
  );
}

function isReservedLabel(key: string): boolean {
  return key === LABEL_SERVICE_NAME || key === LABEL_MANAGED_BY || key === LABEL_HEADLESS;
}

/**
 * A slice's labels (setEndpointSliceLabels): the Service's labels except the reserved ones, the headless label when
 * the Service has no cluster IP, the service-name and managed-by labels. `changed` compares only the labels copied
 * from the Service, as upstream does.
 */
export function sliceLabels(
  service: Service,
  slice?: EndpointSlice,
): { labels: Record<string, string>; changed: boolean } {
  const labels: Record<string, string> = {};
  let copied = 0;
  for (const [k, v] of Object.entries(service.metadata.labels ?? {})) {
    if (isReservedLabel(k)) continue;
    labels[k] = v;
    copied++;
  }
  let changed = false;
  if (slice) {
    let present = 0;
    for (const [k, v] of Object.entries(slice.metadata.labels ?? {})) {
      if (isReservedLabel(k)) continue;
      present++;
      if (labels[k] !== v) changed = true;
    }
    if (present !== copied) changed = true;
  }
  const ip = service.spec.clusterIP;
  if (!ip || ip === 'None') labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = service.metadata.name;
  labels[LABEL_MANAGED_BY] = ENDPOINTSLICE_CONTROLLER_NAME;
  return { labels, changed };
}

/** ownedBy: the slice's owner references name this Service (we have no UIDs to compare). */
export function sliceOwnedBy(slice: EndpointSlice, service: Service): boolean {
  return (
    slice.metadata.ownerReferences?.some(
      (o) => o.kind === 'Service' && o.apiVersion === 'v1' && o.name === service.metadata.name,
    ) ?? false
  );
}
