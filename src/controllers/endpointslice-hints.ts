/**
 * Topology hints on the EndpointSlices the controller manages, as upstream's reconciler chooses them
 * (k8s.io/endpointslice: reconciler.go, trafficdist/, topologycache/). kube-proxy reads these hints (topology.ts);
 * without them `trafficDistribution` and the topology annotation would change nothing.
 *
 * - The annotation `service.kubernetes.io/topology-aware-hints` (deprecated, read first) or
 *   `service.kubernetes.io/topology-mode` set to `Auto`/`auto`: the topology cache's heuristic. Endpoints go to zones
 *   in proportion to the allocatable CPU of the ready worker nodes there, within 20% overload; when that is
 *   impossible (fewer endpoints than zones, one zone only, a node without zone or CPU, an endpoint without zone) no
 *   endpoint gets hints.
 * - Otherwise `spec.trafficDistribution` PreferClose or PreferSameZone: each ready endpoint is hinted for its own
 *   zone; PreferSameNode adds its own node (the PreferSameTrafficDistribution gate is on, as from 1.34).
 * - Otherwise every hint is removed.
 *
 * Slices the reconcile leaves unchanged keep hints that are still right; one whose hints are wrong moves to the
 * updates. Endpoints are replaced, never modified: unchanged drafts hold the stored objects.
 *
 * Where upstream walks Go maps (random order) to pick which endpoints a zone gives away, we take zones in name order.
 */

import { milliCPU } from '../model/quantity.js';
import type { Endpoint, EndpointSlice, Node, Service } from '../model/types.js';
import { LABEL_ZONE } from './scheduling-rules.js';

export const ANNOTATION_TOPOLOGY_MODE = 'service.kubernetes.io/topology-mode';
export const ANNOTATION_TOPOLOGY_AWARE_HINTS = 'service.kubernetes.io/topology-aware-hints';

/** The most overload the topology cache lets any zone's endpoints take. */
const OVERLOAD_THRESHOLD = 0.2;

/** What hints reconciliation works on: slices being created or updated, and unchanged ones it may move to updates. */
export interface HintDrafts<D extends { endpoints: Endpoint[] }> {
  create: D[];
  update: D[];
  unchanged: D[];
}

/** hintsEnabled: the deprecated annotation wins when present; only "Auto" or "auto" turn hints on. */
export function topologyAnnotationAuto(service: Service): boolean {
  const annotations = service.metadata.annotations ?? {};
  const value = annotations[ANNOTATION_TOPOLOGY_AWARE_HINTS] ?? annotations[ANNOTATION_TOPOLOGY_MODE];
  return value === 'Auto' || value === 'auto';
}

const CLOSE = new Set(['PreferClose', 'PreferSameZone', 'PreferSameNode']);

/** Give the drafts of one address type their hints (mutates the lists and replaces endpoint objects). */
export function reconcileHints<D extends { endpoints: Endpoint[] }>(
  service: Service,
  nodes: Iterable<Node>,
  drafts: HintDrafts<D>,
): void {
  if (topologyAnnotationAuto(service)) addProportionalHints(zoneCPURatios(nodes), drafts);
  else if (CLOSE.has(service.spec.trafficDistribution ?? '')) addCloseHints(service, drafts);
  else removeHints(drafts);
}

const isReady = (ep: Endpoint): boolean => ep.conditions.ready === true;

function withHints(ep: Endpoint, hints: Endpoint['hints']): Endpoint {
  const out: Endpoint = { ...ep };
  if (hints) out.hints = hints;
  else delete out.hints;
  return out;
}

/** Move the unchanged drafts `stale` picks to the updates. */
function takeStale<D extends { endpoints: Endpoint[] }>(drafts: HintDrafts<D>, stale: (d: D) => boolean): void {
  const keep: D[] = [];
  for (const d of drafts.unchanged) {
    if (stale(d)) drafts.update.push(d);
    else keep.push(d);
  }
  drafts.unchanged = keep;
}

function eachChanging<D extends { endpoints: Endpoint[] }>(
  drafts: HintDrafts<D>,
  visit: (ep: Endpoint) => Endpoint,
): void {
  for (const d of [...drafts.create, ...drafts.update]) d.endpoints = d.endpoints.map(visit);
}

/** RemoveHintsFromSlices: no hints anywhere; an unchanged slice that had some is updated. */
function removeHints<D extends { endpoints: Endpoint[] }>(drafts: HintDrafts<D>): void {
  takeStale(drafts, (d) => d.endpoints.some((ep) => ep.hints !== undefined));
  eachChanging(drafts, (ep) => (ep.hints === undefined ? ep : withHints(ep, undefined)));
}

/** trafficdist's preferCloseHeuristic: ready endpoints hinted for their own zone (and node, for PreferSameNode). */
function addCloseHints<D extends { endpoints: Endpoint[] }>(service: Service, drafts: HintDrafts<D>): void {
  const forNode = service.spec.trafficDistribution === 'PreferSameNode';
  const wanted = (ep: Endpoint): Endpoint['hints'] => {
    const hints: NonNullable<Endpoint['hints']> = {};
    if (ep.zone !== undefined) hints.forZones = [{ name: ep.zone }];
    if (forNode && ep.nodeName !== undefined) hints.forNodes = [{ name: ep.nodeName }];
    return hints.forZones || hints.forNodes ? hints : undefined;
  };
  const one = (list: readonly { name: string }[] | undefined, name: string | undefined): boolean =>
    name === undefined ? !list?.length : list?.length === 1 && list[0]!.name === name;
  const right = (ep: Endpoint): boolean =>
    one(ep.hints?.forZones, ep.zone) && one(ep.hints?.forNodes, forNode ? ep.nodeName : undefined);
  takeStale(drafts, (d) => d.endpoints.some((ep) => isReady(ep) && !right(ep)));
  // Not-ready endpoints keep whatever they had (upstream skips them).
  eachChanging(drafts, (ep) => (isReady(ep) ? withHints(ep, wanted(ep)) : ep));
}

/**
 * The topology cache's view of the nodes (SetNodes): each zone's share of the allocatable CPU of ready nodes that
 * are not control-plane nodes; null when any such node lacks a zone or CPU, or fewer than two zones remain.
 */
export function zoneCPURatios(nodes: Iterable<Node>): Map<string, number> | null {
  const cpuByZone = new Map<string, number>();
  let total = 0;
  for (const node of nodes) {
    const labels = node.metadata.labels ?? {};
    if ('node-role.kubernetes.io/control-plane' in labels || 'node-role.kubernetes.io/master' in labels) continue;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') continue;
    const zone = labels[LABEL_ZONE];
    const cpu = milliCPU(node.status?.allocatable?.cpu);
    if (!zone || cpu === 0) return null;
    cpuByZone.set(zone, (cpuByZone.get(zone) ?? 0) + cpu);
    total += cpu;
  }
  if (total === 0 || cpuByZone.size < 2) return null;
  const ratios = new Map<string, number>();
  for (const zone of [...cpuByZone.keys()].sort()) ratios.set(zone, cpuByZone.get(zone)! / total);
  return ratios;
}

interface Allocation {
  minimum: number;
  maximum: number;
  desired: number;
}

/** getAllocations: per zone, the fewest and most endpoints it may be given; null when hints are impossible. */
function allocations(ratios: Map<string, number> | null, endpoints: number): Map<string, Allocation> | null {
  if (ratios === null || ratios.size < 2 || ratios.size > endpoints) return null;
  const out = new Map<string, Allocation>();
  let minTotal = 0;
  for (const [zone, ratio] of ratios) {
    const desired = ratio * endpoints;
    const minimum = Math.ceil(desired * (1 / (1 + OVERLOAD_THRESHOLD)));
    out.set(zone, { minimum, maximum: 0, desired: Math.max(desired, minimum) });
    minTotal += minimum;
    if (minTotal > endpoints) return null;
  }
  for (const a of out.values()) a.maximum = a.minimum + endpoints - minTotal;
  return out;
}

/** getHintsByZone: an unchanged slice's hints per zone, or null when they must be redone. */
function hintsByZone(
  endpoints: readonly Endpoint[],
  allocated: ReadonlyMap<string, number>,
  plan: ReadonlyMap<string, Allocation>,
): Map<string, number> | null {
  const counts = new Map<string, number>();
  for (const ep of endpoints) {
    if (!isReady(ep)) continue;
    const zones = ep.hints?.forZones ?? [];
    if (zones.length === 0) return null;
    for (const { name } of zones) {
      if (!plan.has(name)) return null;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  for (const [zone, n] of counts) if (n + (allocated.get(zone) ?? 0) > plan.get(zone)!.maximum) return null;
  return counts;
}

/** TopologyCache.AddHints. */
function addProportionalHints<D extends { endpoints: Endpoint[] }>(
  ratios: Map<string, number> | null,
  drafts: HintDrafts<D>,
): void {
  const all = [...drafts.create, ...drafts.update, ...drafts.unchanged];
  const ready = all.reduce((n, d) => n + d.endpoints.filter(isReady).length, 0);
  const plan = allocations(ratios, ready);
  if (plan === null) {
    removeHints(drafts);
    return;
  }
  const allocated = new Map<string, number>();
  takeStale(drafts, (d) => {
    const counts = hintsByZone(d.endpoints, allocated, plan);
    if (counts === null) return true;
    for (const [zone, n] of counts) allocated.set(zone, (allocated.get(zone) ?? 0) + n);
    return false;
  });
  const changing = [...drafts.create, ...drafts.update];
  // Step 1: every ready endpoint hinted for its own zone; one without a zone turns hints off.
  if (changing.some((d) => d.endpoints.some((ep) => isReady(ep) && !ep.zone))) {
    removeHints(drafts);
    return;
  }
  for (const d of changing) {
    d.endpoints = d.endpoints.map((ep) => {
      // Not-ready endpoints keep what they had: upstream clears a copy, not the slice's endpoint.
      if (!isReady(ep)) return ep;
      allocated.set(ep.zone!, (allocated.get(ep.zone!) ?? 0) + 1);
      return withHints(ep, { forZones: [{ name: ep.zone! }] });
    });
  }
  // Steps 2 and 3: zones over their share give endpoints to zones under it.
  const { giving, receiving } = givingAndReceiving(plan, allocated);
  for (const d of changing) {
    d.endpoints = d.endpoints.map((ep) => {
      if (!isReady(ep) || giving.size === 0 || receiving.size === 0) return ep;
      const toGive = giving.get(ep.zone!) ?? 0;
      if (toGive === 0) return ep;
      const to = [...receiving.keys()].sort()[0]!;
      const toReceive = receiving.get(to)!;
      if (toGive === 1) giving.delete(ep.zone!);
      else giving.set(ep.zone!, toGive - 1);
      if (toReceive === 1) receiving.delete(to);
      else receiving.set(to, toReceive - 1);
      return withHints(ep, { forZones: [{ name: to }] });
    });
  }
}

/** getGivingAndReceivingZones: whole endpoints each zone gives or receives to approach its desired share. */
function givingAndReceiving(
  plan: ReadonlyMap<string, Allocation>,
  allocated: ReadonlyMap<string, number>,
): { giving: Map<string, number>; receiving: Map<string, number> } {
  const over = new Map<string, number>();
  const under = new Map<string, number>();
  for (const [zone, a] of plan) {
    const have = allocated.get(zone) ?? 0;
    if (have > a.desired) over.set(zone, have - a.desired);
    else if (have < a.desired) under.set(zone, a.desired - have);
  }
  const most = (m: Map<string, number>): [string, number] => {
    let best: [string, number] = ['', 0];
    for (const [zone, n] of m) if (n > best[1]) best = [zone, n];
    return best;
  };
  const giving = new Map<string, number>();
  const receiving = new Map<string, number>();
  for (;;) {
    const [from, give] = most(over);
    const [to, receive] = most(under);
    if (from === '' || to === '' || (give < 1 && receive < 1) || give < 0.5 || receive < 0.5) break;
    giving.set(from, (giving.get(from) ?? 0) + 1);
    over.set(from, give - 1);
    receiving.set(to, (receiving.get(to) ?? 0) + 1);
    under.set(to, receive - 1);
  }
  return { giving, receiving };
}

/**
 * serviceOverloaded, read from the hints a Service's slices carry: with the nodes' new CPU shares, some zone holds
 * fewer hinted endpoints than its share needs (or no zone has a share). Node changes requeue only such Services.
 */
export function hintsOverloaded(slices: readonly EndpointSlice[], ratios: ReadonlyMap<string, number> | null): boolean {
  const byType = new Map<string, Map<string, number>>();
  for (const slice of slices) {
    let counts = byType.get(slice.addressType);
    if (!counts) {
      counts = new Map();
      byType.set(slice.addressType, counts);
    }
    for (const ep of slice.endpoints)
      if (isReady(ep)) for (const { name } of ep.hints?.forZones ?? []) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const counts of byType.values()) {
    if (counts.size === 0) continue;
    if (ratios === null || ratios.size === 0) return true;
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    for (const [zone, ratio] of ratios)
      if ((counts.get(zone) ?? 0) < Math.ceil(total * ratio * (1 / (1 + OVERLOAD_THRESHOLD)))) return true;
  }
  return false;
}
