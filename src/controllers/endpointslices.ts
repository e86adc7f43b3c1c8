/**
 * The EndpointSlice controller, as upstream's reconciler (k8s.io/endpointslice reconciler.go), deterministic.
 *
 * For a Service with a selector, per address type: the desired endpoints are grouped by the ports they resolve to;
 * each group is reconciled against the existing slices with the same ports. Existing slices keep the endpoints that
 * are still desired (updated in place when their conditions, node or zone changed); slices left empty are deleted;
 * leftover endpoints first fill slices that changed anyway (fullest first), then the unchanged slice they would fill
 * most exactly, then new slices of at most 100. A Service with no endpoints of a type keeps one empty placeholder
 * slice. New slices take the names of slices about to be deleted rather than churning names.
 *
 * Where upstream picks "any" endpoint from a set, we take them in pod-name order; written slices list their endpoints
 * by pod name. Slices of selector-less Services, and slices managed by anyone else, are never touched; ExternalName
 * Services get no slices. Topology hints follow the Service's trafficDistribution or topology annotation
 * (endpointslice-hints.ts).
 */
import { matchesMap } from '../model/labels.js';
import type { AddressType, Container, Endpoint, EndpointPort, EndpointSlice, Pod, Service } from '../model/types.js';
import type { ControllerContext } from './context.js';
import {
  addressTypesFor,
  endpointKey,
  endpointPorts,
  endpointsEqualBeyondKey,
  MAX_ENDPOINTS_PER_SLICE,
  podToEndpoint,
  portsKey,
  shouldPodBeInEndpoints,
  sliceLabels,
  sliceOwnedBy,
} from './endpointslice-desired.js';
import { reconcileHints } from './endpointslice-hints.js';
import { sliceIndex } from './group-index.js';
import { childPrefix, uniqueGeneratedName } from './names.js';

export interface SliceChanges {
  created: number;
  updated: number;
  deleted: number;
}

/** A slice being worked on: an existing one (with a name) or a new one. */
interface Draft {
  name?: string;
  /** The stored slice an update starts from (kept metadata: annotations, owner references). */
  base?: EndpointSlice;
  addressType: AddressType;
  ports: EndpointPort[];
  endpoints: Endpoint[];
  labels: Record<string, string>;
}

interface Plan {
  create: Draft[];
  update: Draft[];
  delete: EndpointSlice[];
  /** Slices the endpoints leave as they are (hints may still change them). */
  unchanged: Draft[];
}

/**
 * Whether a Service selects pods. An empty selector is stored as no selector (protobuf keeps no empty map): such a
 * Service's endpoints are someone else's to write (by hand, or mirrored from its v1 Endpoints).
 */
export function hasSelector(service: Service): boolean {
  return service.spec.selector !== undefined && Object.keys(service.spec.selector).length > 0;
}

/** Whether the controller manages slices for this Service at all. */
export function managesService(service: Service): boolean {
  return service.spec.type !== 'ExternalName' && hasSelector(service);
}

/** The managed slices of a Service, by name. */
export function managedSlices(ctx: Pick<ControllerContext, 'store'>, service: Service): EndpointSlice[] {
  return sliceIndex(ctx.store)
    .members(service.metadata.namespace ?? 'default', service.metadata.name)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}

/**
 * Bring a Service's EndpointSlices in line with the pods it selects. `pods` may hold pods the selector does not
 * match (they are skipped). Writing nothing when nothing changed: re-running is free of new resourceVersions.
 */
export function reconcileService(ctx: ControllerContext, service: Service, pods: Iterable<Pod>): SliceChanges {
  const changes: SliceChanges = { created: 0, updated: 0, deleted: 0 };
  if (!managesService(service)) return changes;
  const selector = service.spec.selector!;
  const ns = service.metadata.namespace ?? 'default';
  const selected = [...pods]
    .filter(
      (p) =>
        (p.metadata.namespace ?? 'default') === ns &&
        matchesMap(p.metadata.labels, selector) &&
        shouldPodBeInEndpoints(p),
    )
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const types = addressTypesFor(service);
  const existing = managedSlices(ctx, service);
  for (const type of types) {
    const plan = planAddressType(
      ctx,
      service,
      selected,
      existing.filter((s) => s.addressType === type),
      type,
    );
    finalize(ctx, service, plan, changes);
  }
  for (const slice of existing) if (!types.includes(slice.addressType)) removeSlice(ctx, slice, changes);
  return changes;
}

/** Remove every managed slice of a Service (what the garbage collector does when the Service is deleted). */
export function deleteServiceSlices(ctx: ControllerContext, service: Service): void {
  const changes: SliceChanges = { created: 0, updated: 0, deleted: 0 };
  for (const slice of managedSlices(ctx, service)) removeSlice(ctx, slice, changes);
}

function planAddressType(
  ctx: ControllerContext,
  service: Service,
  pods: readonly Pod[],
  existing: readonly EndpointSlice[],
  type: AddressType,
): Plan {
  const plan: Plan = { create: [], update: [], delete: [], unchanged: [] };
  const existingByPorts = new Map<string, EndpointSlice[]>();
  for (const slice of existing) {
    if (!sliceOwnedBy(slice, service)) {
      plan.delete.push(slice);
      continue;
    }
    const key = portsKey(slice.ports);
    const list = existingByPorts.get(key);
    if (list) list.push(slice);
    else existingByPorts.set(key, [slice]);
  }
  const desired = new Map<string, { ports: EndpointPort[]; endpoints: Map<string, Endpoint> }>();
  // Ports resolve from the containers alone, and pods of one template share their containers array.
  const resolved = new Map<Container[], { ports: EndpointPort[]; key: string }>();
  for (const pod of pods) {
    let r = resolved.get(pod.spec.containers);
    if (!r) {
      const found = endpointPorts(service, pod);
      r = { ports: found, key: portsKey(found) };
      resolved.set(pod.spec.containers, r);
    }
    const { ports, key } = r;
    let group = desired.get(key);
    if (!group) {
      group = { ports, endpoints: new Map<string, Endpoint>() };
      desired.set(key, group);
    }
    const node = pod.spec.nodeName ? ctx.store.get('Node', pod.spec.nodeName) : undefined;
    // A pod on a node that does not exist is left out, unless the Service publishes not-ready addresses.
    if (!node && !service.spec.publishNotReadyAddresses) continue;
    const ep = podToEndpoint(pod, node, service, type);
    if (ep.addresses.length) group.endpoints.set(endpointKey(ep), ep);
  }
  for (const [key, group] of desired) {
    planPorts(service, existingByPorts.get(key) ?? [], group.endpoints, type, group.ports, plan);
  }
  for (const [key, slices] of existingByPorts) if (!desired.has(key)) plan.delete.push(...slices);
  if (existing.length === plan.delete.length && plan.create.length === 0) {
    const placeholder = newDraft(service, type, []);
    if (plan.delete.length === 1 && isPlaceholder(plan.delete[0]!, placeholder)) plan.delete = [];
    else plan.create.push(placeholder);
  }
  reconcileHints(service, ctx.store.list('Node'), plan);
  return plan;
}

/** reconcileByPortMapping: keep, update, fill and create the slices of one port mapping. */
function planPorts(
  service: Service,
  existing: readonly EndpointSlice[],
  desired: Map<string, Endpoint>,
  type: AddressType,
  ports: EndpointPort[],
  plan: Plan,
): void {
  const toUpdate: Draft[] = [];
  const unchanged: Draft[] = [];
  for (const slice of existing) {
    const kept: Endpoint[] = [];
    let endpointChanged = false;
    for (const ep of slice.endpoints) {
      const key = endpointKey(ep);
      const want = desired.get(key);
      if (!want) continue;
      kept.push(want);
      if (!endpointsEqualBeyondKey(want, ep)) endpointChanged = true;
      desired.delete(key);
    }
    const { labels, changed } = sliceLabels(service, slice);
    const endpointsChanged = endpointChanged || kept.length !== slice.endpoints.length;
    const draft: Draft = {
      name: slice.metadata.name,
      base: slice,
      addressType: type,
      ports: slice.ports ?? [],
      // A slice whose endpoints change takes the desired ones; otherwise it keeps its own (and their hints).
      endpoints: endpointsChanged ? kept : [...slice.endpoints],
      labels,
    };
    if (endpointsChanged) {
      if (kept.length === 0) plan.delete.push(slice);
      else toUpdate.push(draft);
    } else if (changed) toUpdate.push(draft);
    else unchanged.push(draft);
  }
  // Leftover endpoints go out in the order they were desired: one iterator over what is left (a Map iterator
  // skips entries deleted meanwhile), rather than a new iterator per endpoint.
  const left = desired.entries();
  const take = (): Endpoint => {
    const [key, ep] = left.next().value as [string, Endpoint];
    desired.delete(key);
    return ep;
  };
  // Fill the slices that are changing anyway, fullest first.
  if (desired.size > 0) {
    for (const draft of [...toUpdate].sort((a, b) => b.endpoints.length - a.endpoints.length)) {
      while (desired.size > 0 && draft.endpoints.length < MAX_ENDPOINTS_PER_SLICE) draft.endpoints.push(take());
    }
  }
  while (desired.size > 0) {
    let draft = desired.size < MAX_ENDPOINTS_PER_SLICE ? sliceToFill(unchanged, desired.size) : undefined;
    if (draft) {
      unchanged.splice(unchanged.indexOf(draft), 1);
      draft.endpoints = [...draft.endpoints];
      toUpdate.push(draft);
    } else {
      draft = newDraft(service, type, ports);
      plan.create.push(draft);
    }
    while (desired.size > 0 && draft.endpoints.length < MAX_ENDPOINTS_PER_SLICE) draft.endpoints.push(take());
  }
  plan.update.push(...toUpdate);
  plan.unchanged.push(...unchanged);
}

/** getSliceToFill: the unchanged slice that the remaining endpoints would fill most exactly without overflowing. */
function sliceToFill(slices: readonly Draft[], count: number): Draft | undefined {
  let closest = MAX_ENDPOINTS_PER_SLICE;
  let best: Draft | undefined;
  for (const slice of slices) {
    const diff = MAX_ENDPOINTS_PER_SLICE - (count + slice.endpoints.length);
    if (diff >= 0 && diff < closest) {
      closest = diff;
      best = slice;
      if (diff === 0) break;
    }
  }
  return best;
}

function newDraft(service: Service, type: AddressType, ports: EndpointPort[]): Draft {
  return { addressType: type, ports, endpoints: [], labels: sliceLabels(service).labels };
}

/** An existing slice that already is the placeholder we would create (placeholderSliceCompare). */
function isPlaceholder(slice: EndpointSlice, placeholder: Draft): boolean {
  if (slice.endpoints.length || slice.ports?.length || slice.addressType !== placeholder.addressType) return false;
  const a = slice.metadata.labels ?? {};
  const b = placeholder.labels;
  return Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);
}

/** finalize: turn creates into updates of slices about to be deleted, then write everything. */
function finalize(ctx: ControllerContext, service: Service, plan: Plan, changes: SliceChanges): void {
  for (let i = 0; i < plan.delete.length && plan.create.length > 0; ) {
    const doomed = plan.delete[i]!;
    const draft = plan.create[plan.create.length - 1]!;
    if (doomed.addressType === draft.addressType && sliceOwnedBy(doomed, service)) {
      draft.name = doomed.metadata.name;
      plan.create.pop();
      plan.update.push(draft);
      plan.delete.splice(i, 1);
    } else i++;
  }
  const ns = service.metadata.namespace ?? 'default';
  const index = sliceIndex(ctx.store);
  const prefix = childPrefix(service.metadata.name);
  for (const draft of plan.create) {
    const name = uniqueGeneratedName(prefix, ctx.names, (n) => ctx.store.get('EndpointSlice', n, ns) !== undefined);
    index.add(ctx.put(toSlice(service, draft, name)), ctx.journal);
    changes.created++;
  }
  for (const draft of plan.update) {
    const old = ctx.store.get('EndpointSlice', draft.name!, ns);
    const slice = ctx.put(toSlice(service, draft, draft.name!));
    if (old) index.remove(old, ctx.journal);
    index.add(slice, ctx.journal);
    changes.updated++;
  }
  for (const slice of plan.delete) removeSlice(ctx, slice, changes);
}

function removeSlice(ctx: ControllerContext, slice: EndpointSlice, changes: SliceChanges): void {
  ctx.remove('EndpointSlice', slice.metadata.name, slice.metadata.namespace);
  sliceIndex(ctx.store).remove(slice, ctx.journal);
  changes.deleted++;
}

function toSlice(service: Service, draft: Draft, name: string): EndpointSlice {
  const base = draft.base?.metadata;
  const endpoints = [...draft.endpoints].sort(byPod);
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      ...(base ?? {}),
      name,
      namespace: service.metadata.namespace ?? 'default',
      generateName: base?.generateName ?? childPrefix(service.metadata.name),
      labels: draft.labels,
      ownerReferences: base?.ownerReferences ?? [
        { apiVersion: 'v1', kind: 'Service', name: service.metadata.name, controller: true },
      ],
    },
    addressType: draft.addressType,
    endpoints,
    ports: draft.ports,
  };
}

function byPod(a: Endpoint, b: Endpoint): number {
  const x = a.targetRef?.name ?? '';
  const y = b.targetRef?.name ?? '';
  if (x !== y) return x < y ? -1 : 1;
  const p = a.addresses[0] ?? '';
  const q = b.addresses[0] ?? '';
  return p < q ? -1 : p > q ? 1 : 0;
}
