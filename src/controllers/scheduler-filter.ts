/**
 * The scheduler's Filter plugins, in the default profile's order (NodeUnschedulable, TaintToleration, NodeAffinity,
 * NodePorts, NodeResourcesFit), each node stopping at the first that rejects it, and how far the search goes
 * (numFeasibleNodesToFind).
 */
import { matchesMap } from '../model/labels.js';
import type { OwnerReference, Pod } from '../model/types.js';
import { F, type NodeState } from './scheduler-nodes.js';
import type { PodInfo } from './scheduler-score.js';
import { tolerationsTolerate } from './scheduling-rules.js';

/** minFeasibleNodesToFind and minFeasibleNodesPercentageToFind. */
const MIN_FEASIBLE_NODES = 100;
const MIN_FEASIBLE_PERCENTAGE = 5;

/** How many feasible nodes the scheduler looks for before it stops filtering (upstream numFeasibleNodesToFind). */
export function numFeasibleNodesToFind(numAllNodes: number, percentageOfNodesToScore = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES) return numAllNodes;
  let percentage = percentageOfNodesToScore;
  if (percentage === 0) {
    percentage = 50 - Math.trunc(numAllNodes / 125);
    if (percentage < MIN_FEASIBLE_PERCENTAGE) percentage = MIN_FEASIBLE_PERCENTAGE;
  }
  const num = Math.trunc((numAllNodes * percentage) / 100);
  return Math.max(num, MIN_FEASIBLE_NODES);
}

/**
 * The key last computed for an owner-reference array, with the namespace it was computed in. A controller gives
 * every pod it creates in one sync the same array, so a bulk load builds (and hashes, as a Map key) one string per
 * ReplicaSet rather than two per pod. Stored objects are not modified, so an array's owners do not change.
 */
const ownerKeys = new WeakMap<readonly OwnerReference[], { namespace: string; key: string | undefined }>();

/** The default spread key: `namespace/Kind/name` of the pod's controller owner. */
export function ownerSpreadKey(pod: Pod): string | undefined {
  const refs = pod.metadata.ownerReferences;
  if (!refs) return undefined;
  const namespace = pod.metadata.namespace ?? 'default';
  const cached = ownerKeys.get(refs);
  if (cached?.namespace === namespace) return cached.key;
  const owner = refs.find((o) => o.controller);
  const key = owner ? `${namespace}/${owner.kind}/${owner.name}` : undefined;
  ownerKeys.set(refs, { namespace, key });
  return key;
}

/** A node fits, is rejected in a way preemption could resolve, or in a way it cannot. */
export type Verdict = 0 | 1 | 2;
export const FIT: Verdict = 0;
export const RESOLVABLE: Verdict = 1;
export const UNRESOLVABLE: Verdict = 2;

const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const REASON_TAINT = 'node(s) had untolerated taint(s)';
const REASON_SELECTOR = "node(s) didn't match Pod's node affinity/selector";
const REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";

/** One node through the filter plugins, in order; failures are counted into `reasons`. */
export function filterNode(
  node: NodeState,
  d: Float64Array,
  base: number,
  p: PodInfo,
  reasons: Map<string, number>,
  detailedTaints: boolean,
): Verdict {
  if (node.unschedulable && !p.toleratesUnschedulable) return reject(reasons, REASON_UNSCHEDULABLE, UNRESOLVABLE);
  for (const taint of node.hardTaints) {
    if (tolerationsTolerate(p.tolerations, taint)) continue;
    const reason = detailedTaints ? `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}` : REASON_TAINT;
    return reject(reasons, reason, UNRESOLVABLE);
  }
  if (p.nodeSelector && !matchesMap(node.labels, p.nodeSelector)) {
    return reject(reasons, REASON_SELECTOR, UNRESOLVABLE);
  }
  if (p.ports && node.hostPorts) {
    for (const port of p.ports) if (node.hostPorts.get(port)) return reject(reasons, REASON_PORTS, RESOLVABLE);
  }
  const allocCpu = d[base + F.allocCpu]!;
  const allocMemory = d[base + F.allocMemory]!;
  const tooManyPods = d[base + F.pods]! + 1 > d[base + F.allowedPods]!;
  const noCpu = p.cpu > 0 && p.cpu > allocCpu - d[base + F.reqCpu]!;
  const noMemory = p.memory > 0 && p.memory > allocMemory - d[base + F.reqMemory]!;
  if (!tooManyPods && !noCpu && !noMemory) return FIT;
  if (tooManyPods) reasons.set('Too many pods', (reasons.get('Too many pods') ?? 0) + 1);
  if (noCpu) reasons.set('Insufficient cpu', (reasons.get('Insufficient cpu') ?? 0) + 1);
  if (noMemory) reasons.set('Insufficient memory', (reasons.get('Insufficient memory') ?? 0) + 1);
  // Since 1.34 a request larger than the whole node is unresolvable: no preemption could make room.
  const bigger = (noCpu && p.cpu > allocCpu) || (noMemory && p.memory > allocMemory);
  return bigger ? UNRESOLVABLE : RESOLVABLE;
}

function reject(reasons: Map<string, number>, reason: string, verdict: Verdict): Verdict {
  reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  return verdict;
}
