/**
 * Which endpoints a node may use for a Service port: upstream's CategorizeEndpoints (pkg/proxy/topology.go).
 *
 * - Cluster endpoints (when the port uses them): ready endpoints that pass the topology filter; when there are none,
 *   serving-and-terminating endpoints (KEP-1669). The topology filter comes from EndpointSlice hints:
 *   PreferSameNode when every ready endpoint has node hints and one names this node (PreferSameTrafficDistribution,
 *   on by default since 1.34), else PreferSameZone when every ready endpoint has zone hints and one names this
 *   node's zone, else none.
 * - Local endpoints (when the port uses them): ready endpoints on this node, else serving-and-terminating ones on
 *   this node. Local policy ignores hints.
 * - allReachable: the union, which is what gets SEP chains / real servers on this node.
 * - hasAnyEndpoints: some endpoint anywhere is ready or serving-and-terminating; false means "no endpoints"
 *   (REJECT), as opposed to "no local endpoints" (DROP).
 */
import type { EndpointInfo } from './endpoints.js';
import type { ServicePortInfo } from './service-port.js';

export type TopologyMode = 'PreferSameNode' | 'PreferSameZone' | null;

/** The outcome of categorization, with the reasons a trace can print. */
export interface CategorizedEndpoints {
  /** Null when the port never uses cluster endpoints (iTP=Local and not externally accessible). */
  readonly cluster: readonly EndpointInfo[] | null;
  /** Null when the port never uses local endpoints. */
  readonly local: readonly EndpointInfo[] | null;
  /** Endpoints reachable from this node (sorted by address): the ones a data plane programs. */
  readonly allReachable: readonly EndpointInfo[];
  readonly hasAnyEndpoints: boolean;
  readonly topology: TopologyMode;
  /** The cluster set fell back to serving-terminating endpoints. */
  readonly clusterUsesTerminating: boolean;
  /** The local set fell back to serving-terminating endpoints. */
  readonly localUsesTerminating: boolean;
}

/** Node facts categorization needs. */
export interface TopologyNode {
  readonly name: string;
  /** The node's `topology.kubernetes.io/zone` label, or '' when unset. */
  readonly zone: string;
}

export interface CategorizeOptions {
  /** The PreferSameTrafficDistribution feature gate (default on, as in 1.34+). */
  readonly preferSameNode?: boolean;
}

const byAddress = (a: EndpointInfo, b: EndpointInfo) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

/** CategorizeEndpoints for one Service port on one node. `endpoints` must be sorted by address. */
export function categorizeEndpoints(
  endpoints: readonly EndpointInfo[],
  port: ServicePortInfo,
  node: TopologyNode,
  options: CategorizeOptions = {},
): CategorizedEndpoints {
  let cluster: EndpointInfo[] | null = null;
  let local: EndpointInfo[] | null = null;
  let topology: TopologyMode = null;
  let hasAnyEndpoints = false;
  let clusterUsesTerminating = false;
  let localUsesTerminating = false;

  if (port.usesClusterEndpoints) {
    topology = topologyModeFromHints(endpoints, node, options.preferSameNode ?? true);
    cluster = endpoints.filter((ep) => ep.ready && availableForTopology(ep, topology, node));
    if (cluster.length === 0) {
      // No ready endpoint anywhere (topology would have been ignored otherwise): KEP-1669 fallback.
      cluster = endpoints.filter((ep) => ep.serving && ep.terminating);
      clusterUsesTerminating = cluster.length > 0;
    }
    if (cluster.length > 0) hasAnyEndpoints = true;
  }

  if (!port.usesLocalEndpoints) {
    return freeze({
      cluster,
      local,
      allReachable: cluster ?? [],
      hasAnyEndpoints,
      topology,
      clusterUsesTerminating,
      localUsesTerminating,
    });
  }

  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const ep of endpoints) {
    if (ep.ready) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalReady = true;
    } else if (ep.serving && ep.terminating) {
      hasAnyEndpoints = true;
      if (ep.isLocal) hasLocalServingTerminating = true;
    }
  }
  if (hasLocalReady) local = endpoints.filter((ep) => ep.isLocal && ep.ready);
  else if (hasLocalServingTerminating) {
    localUsesTerminating = true;
    local = endpoints.filter((ep) => ep.isLocal && ep.serving && ep.terminating);
  } else local = [];

  if (cluster === null) {
    return freeze({
      cluster,
      local,
      allReachable: local,
      hasAnyEndpoints,
      topology,
      clusterUsesTerminating,
      localUsesTerminating,
    });
  }
  if (topology === null && !localUsesTerminating) {
    // cluster holds every ready endpoint, and local only ready ones: cluster is already the union.
    return freeze({
      cluster,
      local,
      allReachable: cluster,
      hasAnyEndpoints,
      topology,
      clusterUsesTerminating,
      localUsesTerminating,
    });
  }
  const union = new Map<string, EndpointInfo>();
  for (const ep of cluster) union.set(ep.address, ep);
  for (const ep of local) union.set(ep.address, ep);
  const allReachable = [...union.values()].sort(byAddress);
  return freeze({
    cluster,
    local,
    allReachable,
    hasAnyEndpoints,
    topology,
    clusterUsesTerminating,
    localUsesTerminating,
  });
}

function topologyModeFromHints(
  endpoints: readonly EndpointInfo[],
  node: TopologyNode,
  preferSameNode: boolean,
): TopologyMode {
  let hasForNode = false;
  let allHaveNodeHints = true;
  let hasForZone = false;
  let allHaveZoneHints = true;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    if (!ep.nodeHints) allHaveNodeHints = false;
    else if (ep.nodeHints.has(node.name)) hasForNode = true;
    if (!ep.zoneHints) allHaveZoneHints = false;
    else if (ep.zoneHints.has(node.zone)) hasForZone = true;
  }
  if (preferSameNode && allHaveNodeHints && hasForNode) return 'PreferSameNode';
  if (allHaveZoneHints && hasForZone) return 'PreferSameZone';
  return null;
}

function availableForTopology(ep: EndpointInfo, mode: TopologyMode, node: TopologyNode): boolean {
  if (mode === null) return true;
  if (mode === 'PreferSameNode') return ep.nodeHints?.has(node.name) ?? false;
  return ep.zoneHints?.has(node.zone) ?? false;
}

function freeze(c: CategorizedEndpoints): CategorizedEndpoints {
  return Object.freeze(c);
}
