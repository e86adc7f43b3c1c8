/**
 * The EndpointSliceMirroring controller (pkg/controller/endpointslicemirroring): a v1 Endpoints object written by
 * hand for a Service without a selector is mirrored into EndpointSlices, which is what kube-proxy and CoreDNS read.
 *
 * - Mirrored when the Service of the same name exists and has no selector, unless the Endpoints carries the label
 *   `endpointslice.kubernetes.io/skip-mirror: "true"` or the leader-election annotation; otherwise (and once either
 *   object is gone) its mirrored slices are deleted.
 * - The subsets are repacked first (endpoints-repack.ts). Each subset gives one slice per address family, with the
 *   subset's ports (in upstream's hash order); at most 1000 addresses of a subset are mirrored, ready ones first.
 * - An endpoint is `ready: true` from `addresses`, `ready: false` from `notReadyAddresses`; `serving` and
 *   `terminating` stay unset. Hostname, node name and target are copied; the IP is written canonically.
 * - A slice is named `<endpoints>-xxxxx`, owned by the Endpoints, and carries its labels (plus the service-name and
 *   managed-by labels) and annotations (except kubectl's last-applied configuration and the trigger time).
 * - A slice already as desired is not rewritten; a slice due for deletion is reused for a new one of its family.
 *
 * Where upstream lists a slice's endpoints in map order, we list them by address.
 */
import { canonicalIP, ipFamilyOf } from '../cni/ip.js';
import {
  type AddressType,
  type Endpoint,
  type EndpointAddress,
  type EndpointPort,
  type EndpointSlice,
  type Endpoints,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  LABEL_SKIP_MIRROR,
  MIRRORING_CONTROLLER_NAME,
  type Service,
} from '../model/types.js';
import type { ControllerContext } from './context.js';
import { repackSubsets } from './endpoints-repack.js';
import { portsKey } from './endpointslice-desired.js';
import { hasSelector } from './endpointslices.js';
import { mirroredSliceIndex } from './group-index.js';
import { childPrefix, uniqueGeneratedName } from './names.js';
import { inSliceOrder } from './port-order.js';

/** MirroringMaxEndpointsPerSubset's default. */
export const MAX_MIRRORED_PER_SUBSET = 1000;

/** Annotations that are not copied to mirrored slices. */
const NOT_MIRRORED_ANNOTATIONS = new Set([
  'endpoints.kubernetes.io/last-change-trigger-time',
  'kubectl.kubernetes.io/last-applied-configuration',
]);

/** Endpoints that an elected leader keeps (old-style leader election), never mirrored. */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';

/** One desired slice: the family and ports of one subset, and its endpoints by identity. */
interface Desired {
  addressType: AddressType;
  ports: EndpointPort[];
  endpoints: Map<string, Endpoint>;
}

/**
 * Whether these Endpoints belong to the API server's endpoint reconciler (`default/kubernetes`), which labels them
 * skip-mirror and writes the Service's slice itself (cluster/kubernetes-endpoints.ts).
 */
export function apiServerEndpoints(namespace: string | undefined, name: string): boolean {
  return (namespace ?? 'default') === 'default' && name === 'kubernetes';
}

/** Whether the Endpoints of this Service are mirrored (shouldMirror, and a Service without a selector). */
export function mirrors(endpoints: Endpoints | undefined, service: Service | undefined): endpoints is Endpoints {
  if (!endpoints || !service) return false;
  if (apiServerEndpoints(endpoints.metadata.namespace, endpoints.metadata.name)) return false;
  if (endpoints.metadata.labels?.[LABEL_SKIP_MIRROR] === 'true') return false;
  if (endpoints.metadata.annotations?.[LEADER_ANNOTATION] !== undefined) return false;
  return !hasSelector(service);
}

/** Bring the mirrored slices of `namespace/name` in line with its Endpoints and Service. */
export function mirrorEndpoints(ctx: ControllerContext, namespace: string, name: string): void {
  const { store } = ctx;
  const endpoints = store.get('Endpoints', name, namespace);
  const service = store.get('Service', name, namespace);
  const index = mirroredSliceIndex(store);
  const existing = index
    .members(namespace, name)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const desired = mirrors(endpoints, service) ? desiredSlices(ctx, endpoints) : new Map<string, Desired>();
  const byKey = new Map<string, EndpointSlice[]>();
  for (const slice of existing) {
    const key = sliceKey(slice.addressType, slice.ports ?? []);
    byKey.set(key, [...(byKey.get(key) ?? []), slice]);
  }
  const doomed: EndpointSlice[] = [];
  const writes: { name?: string; slice: EndpointSlice }[] = [];
  for (const [key, want] of desired) {
    const [kept, ...extra] = byKey.get(key) ?? [];
    byKey.delete(key);
    doomed.push(...extra);
    if (want.endpoints.size === 0) {
      if (kept) doomed.push(kept);
      continue;
    }
    const duplicate = duplicatePortName(want.ports);
    if (duplicate !== undefined) {
      // The API server refuses such a slice (discovery validation: port names are unique), so upstream's create or
      // update fails and is retried; whatever slice there was stays as it was.
      ctx.warn(
        `Endpoints ${namespace}/${name}: an EndpointSlice with ports ${JSON.stringify(want.ports.map((p) => `${p.name}/${p.port}`))} cannot be written: ports name ${JSON.stringify(duplicate)} twice (FailedToUpdateEndpointSlices)`,
      );
      continue;
    }
    const slice = toSlice(endpoints!, want);
    if (!kept) writes.push({ slice });
    else if (!sameSlice(kept, slice)) writes.push({ name: kept.metadata.name, slice });
  }
  for (const slices of byKey.values()) doomed.push(...slices);
  for (const write of writes) {
    let sliceName = write.name;
    if (sliceName === undefined) {
      // recycleSlices: a new slice takes the name of one of its family that is about to be deleted.
      const reuse = doomed.findIndex((s) => s.addressType === write.slice.addressType);
      if (reuse >= 0) sliceName = doomed.splice(reuse, 1)[0]!.metadata.name;
      else
        sliceName = uniqueGeneratedName(
          childPrefix(name),
          ctx.names,
          (n) => store.get('EndpointSlice', n, namespace) !== undefined,
        );
    }
    const old = store.get('EndpointSlice', sliceName, namespace);
    const stored = ctx.put({ ...write.slice, metadata: { ...write.slice.metadata, name: sliceName } });
    if (old) index.remove(old, ctx.journal);
    index.add(stored, ctx.journal);
  }
  for (const slice of doomed) {
    ctx.remove('EndpointSlice', slice.metadata.name, namespace);
    index.remove(slice, ctx.journal);
  }
}

/** A port name two ports share (an absent name is the empty name), or undefined. */
function duplicatePortName(ports: readonly EndpointPort[]): string | undefined {
  const seen = new Set<string>();
  for (const port of ports) {
    const name = port.name ?? '';
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

function sliceKey(type: AddressType, ports: readonly EndpointPort[]): string {
  return `${type}\0${portsKey(ports)}`;
}

/** The slices the Endpoints' subsets ask for, by family and ports (an empty one deletes what it replaces). */
function desiredSlices(ctx: ControllerContext, endpoints: Endpoints): Map<string, Desired> {
  const out = new Map<string, Desired>();
  let skipped = 0;
  for (const subset of repackSubsets(endpoints.subsets ?? [])) {
    const ports = inSliceOrder(
      (subset.ports ?? []).map((p) => ({
        name: p.name ?? '',
        protocol: p.protocol ?? 'TCP',
        port: p.port,
        ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
      })),
    );
    const groups = {} as Record<'IPv4' | 'IPv6', Desired>;
    for (const addressType of ['IPv4', 'IPv6'] as const) {
      const key = sliceKey(addressType, ports);
      groups[addressType] = out.get(key) ?? { addressType, ports, endpoints: new Map() };
      out.set(key, groups[addressType]);
    }
    const candidates: [EndpointAddress, boolean][] = [
      ...(subset.addresses ?? []).map((a): [EndpointAddress, boolean] => [a, true]),
      ...(subset.notReadyAddresses ?? []).map((a): [EndpointAddress, boolean] => [a, false]),
    ];
    for (const [address, ready] of candidates.slice(0, MAX_MIRRORED_PER_SUBSET)) {
      const family = ipFamilyOf(address.ip);
      if (!family) continue;
      const endpoint = toEndpoint(address, ready);
      // Two addresses that make the same endpoint: the later one (a not-ready one) wins, as upstream's set does.
      groups[family].endpoints.set(endpointIdentity(endpoint), endpoint);
    }
    skipped += Math.max(0, candidates.length - MAX_MIRRORED_PER_SUBSET);
  }
  if (skipped > 0) {
    // One event per sync, as upstream's (TooManyAddressesToMirror), counting every subset's skipped addresses.
    ctx.warn(
      `Endpoints ${endpoints.metadata.namespace}/${endpoints.metadata.name}: a max of ${MAX_MIRRORED_PER_SUBSET} addresses can be mirrored to EndpointSlices per Endpoints subset; ${skipped} addresses were skipped (TooManyAddressesToMirror)`,
    );
  }
  return out;
}

function toEndpoint(address: EndpointAddress, ready: boolean): Endpoint {
  const endpoint: Endpoint = { addresses: [canonicalIP(address.ip) ?? address.ip], conditions: { ready } };
  if (address.hostname) endpoint.hostname = address.hostname;
  if (address.nodeName) endpoint.nodeName = address.nodeName;
  if (address.targetRef) {
    const { kind, namespace, name, uid } = address.targetRef;
    endpoint.targetRef = {
      kind,
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(uid !== undefined ? { uid } : {}),
    };
  }
  return endpoint;
}

/** What makes two endpoints the same one (upstream's endpoint hash): addresses, hostname, target. */
function endpointIdentity(endpoint: Endpoint): string {
  const ref = endpoint.targetRef;
  return `${endpoint.addresses.join(',')}\0${endpoint.hostname ?? ''}\0${ref?.namespace ?? ''}/${ref?.name ?? ''}`;
}

function toSlice(endpoints: Endpoints, want: Desired): EndpointSlice {
  const { name, namespace } = endpoints.metadata;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(endpoints.metadata.annotations ?? {})) {
    if (!NOT_MIRRORED_ANNOTATIONS.has(k)) annotations[k] = v;
  }
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: '',
      namespace,
      generateName: childPrefix(name),
      labels: {
        ...endpoints.metadata.labels,
        [LABEL_SERVICE_NAME]: name,
        [LABEL_MANAGED_BY]: MIRRORING_CONTROLLER_NAME,
      },
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name, controller: true }],
    },
    addressType: want.addressType,
    endpoints: [...want.endpoints.values()].sort(byAddress),
    ports: want.ports,
  };
}

function byAddress(a: Endpoint, b: Endpoint): number {
  const x = a.addresses[0]!;
  const y = b.addresses[0]!;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether a stored slice already is the desired one (its endpoints, ports, labels and annotations). */
function sameSlice(stored: EndpointSlice, want: EndpointSlice): boolean {
  const text = (s: EndpointSlice) =>
    JSON.stringify([
      s.endpoints,
      s.ports ?? [],
      sortedEntries(s.metadata.labels),
      sortedEntries(s.metadata.annotations),
    ]);
  return text(stored) === text(want);
}

function sortedEntries(map: Record<string, string> | undefined): [string, string][] {
  return Object.entries(map ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
