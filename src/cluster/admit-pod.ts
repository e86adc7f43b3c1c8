/**
 * Pod admission: scheduling (unless spec.nodeName is set), addresses from the node's pod CIDRs (host-local style;
 * hostNetwork pods take the node's own addresses; a pinned status.podIP(s) is checked and reserved), and the status
 * kubelet would report once the containers run.
 */

import { parseCIDR } from '../cni/ip.js';
import type { Ipam } from '../cni/ipam.js';
import type { Scheduler } from '../controllers/scheduler.js';
import { type FieldPath, wasWritten } from '../model/source.js';
import type { Node, Pod, PodCondition, PodStatus } from '../model/types.js';
import type { AdmissionEnv } from './admission-context.js';
import { kubeletReportOf, markedNotReady, nodeReady, rememberKubeletReport } from './node-readiness.js';

export interface PodAdmission extends AdmissionEnv {
  readonly ipam: Ipam;
  readonly scheduler: Scheduler;
}

const TRUE = 'True' as const;

/** The conditions of a running pod; shared, frozen arrays keep 150,000 pods cheap. */
const RUNNING_READY: readonly PodCondition[] = Object.freeze(
  ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) =>
    Object.freeze({ type, status: TRUE }),
  ),
) as readonly PodCondition[];

/**
 * The same with readiness gates no condition has answered yet: kubelet's GeneratePodReadyCondition leaves the pod
 * not Ready (containers ready, reason ReadinessGatesNotReady), so its endpoints are not ready either.
 */
const GATED: readonly PodCondition[] = Object.freeze(
  RUNNING_READY.map((c) =>
    c.type === 'Ready'
      ? Object.freeze({ type: 'Ready', status: 'False' as const, reason: 'ReadinessGatesNotReady' })
      : c,
  ),
) as readonly PodCondition[];

/** A node's InternalIPs, per node object (stored objects do not change; an updated node is a new object). */
const internalIPs = new WeakMap<Node, string[]>();

function nodeInternalIPs(node: Node): string[] {
  let ips = internalIPs.get(node);
  if (!ips) {
    ips = node.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address);
    internalIPs.set(node, ips);
  }
  return ips;
}

/**
 * A shallow copy, as `{ ...obj }` makes it (own enumerable keys, in order), for a copy that gets fields added.
 * V8 gives an object cloned by spread a map of its own, and adding a field to it (a pod's nodeName, the addresses
 * of its status) then takes a slow path: copying key by key is several times faster, which counts at 150,000 pods.
 */
function copyForAdding<T extends object>(obj: T): T {
  const out = {} as T;
  for (const key in obj) if (Object.hasOwn(obj, key)) out[key] = obj[key];
  return out;
}

function pinnedIPs(pod: Pod): string[] | undefined {
  if (pod.spec.hostNetwork) return undefined;
  const ips = pod.status.podIPs?.map((p) => p.ip) ?? (pod.status.podIP ? [pod.status.podIP] : []);
  return ips.length ? ips : undefined;
}

function nodeHolding(env: PodAdmission, ip: string): string | undefined {
  for (const node of env.store.each('Node')) {
    if (node.spec.podCIDRs?.some((cidr) => parseCIDR(cidr)?.contains(ip))) return node.metadata.name;
  }
  return undefined;
}

// Constant field paths: built once, not per pod.
const PATH_POD_IPS: FieldPath = ['status', 'podIPs'];
const PATH_POD_IP: FieldPath = ['status', 'podIP'];

/**
 * A pod left Pending (no node fitted) → the pod as it was submitted. When nodes change, pending pods are admitted
 * again, and the scheduler's PodScheduled=False is its own verdict, not status the manifest pinned: the retry starts
 * from the submitted pod, so a pod placed later gets the conditions kubelet reports.
 */
const submittedPods = new WeakMap<Pod, Pod>();

/** Admit a new or changed pod; returns the pod to store, or undefined when it was rejected. */
export function admitPod(env: PodAdmission, given: Pod, old: Pod | undefined): Pod | undefined {
  const pod = submittedPods.get(given) ?? given;
  const before = env.issues.issues.length;
  if (old?.spec.nodeName) return keepPlacement(env, pod, old);

  const spec = copyForAdding(pod.spec);
  if (spec.nodeName) {
    if (!env.store.get('Node', spec.nodeName)) {
      env.issues.reject(pod, ['spec', 'nodeName'], `node "${spec.nodeName}" not found`);
      return undefined;
    }
  } else if (pinnedIPs(pod)) {
    // A fixture that pins a pod's IP means the node whose pod CIDR holds it: place it there. (A real scheduler knows
    // nothing of IPs; the CNI on any other node would refuse the address.)
    const ip = pinnedIPs(pod)![0]!;
    const node = nodeHolding(env, ip);
    if (!node) {
      env.issues.reject(
        pod,
        wasWritten(pod, PATH_POD_IPS) ? PATH_POD_IPS : PATH_POD_IP,
        `${ip} is not in any node's pod CIDR`,
        'E_OUT_OF_RANGE',
      );
      return undefined;
    }
    spec.nodeName = node;
  } else if (pod.spec.schedulingGates?.length) {
    // The API server marks a gated pod on creation; no scheduler looks at it until its gates are removed.
    return waiting(pod, spec, [
      { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated', message: GATED_MESSAGE },
    ]);
  } else if ((pod.spec.schedulerName ?? DEFAULT_SCHEDULER) !== DEFAULT_SCHEDULER) {
    // Only kube-scheduler runs here: a pod for another scheduler stays Pending, with no condition written.
    return waiting(pod, spec, []);
  } else {
    const decision = env.scheduler.schedule(pod, env.journal);
    if ('unschedulable' in decision) {
      // kube-scheduler leaves it Pending with the reason; nothing else happens to it.
      return waiting(pod, spec, [
        { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: decision.unschedulable },
      ]);
    }
    spec.nodeName = decision.nodeName;
  }
  const node = env.store.get('Node', spec.nodeName)!;
  const ips = assignIPs(env, pod, node);
  if (!ips || env.issues.issues.length > before) return undefined;
  const hostIPs = nodeInternalIPs(node);
  // `{ ...pod.status, phase, podIP, podIPs, hostIP, hostIPs, conditions }`, field by field (see copyForAdding).
  const status = copyForAdding(pod.status);
  status.phase = podPhase(pod);
  status.podIP = ips[0];
  status.podIPs = ips.map((ip) => ({ ip }));
  status.hostIP = hostIPs[0];
  status.hostIPs = hostIPs.map((ip) => ({ ip }));
  // On a node that is not Ready, kubelet's report stands with Ready turned False (node-readiness.ts), and returns
  // once the node is Ready. Conditions the manifest pinned stand as given.
  const pinned = pod.status.conditions?.length ? pod.status.conditions : undefined;
  const report = pod.spec.readinessGates?.length ? GATED : RUNNING_READY;
  const unready = pinned === undefined && !nodeReady(node) ? markedNotReady(report) : undefined;
  status.conditions = pinned ?? unready ?? [...report];
  // One copy of the pod, built whole (the same fields, in the same order, as `{ ...{ ...pod, spec }, status }`).
  // The scheduler reads only metadata, spec and whether the phase is terminal, which the new status keeps.
  const placed: Pod = { ...pod, spec, status };
  if (unready) rememberKubeletReport(placed, report);
  env.scheduler.bind(placed, spec.nodeName, env.journal);
  return placed;
}

const DEFAULT_SCHEDULER = 'default-scheduler';
const GATED_MESSAGE = 'Scheduling is blocked due to non-empty scheduling gates';

/** A pod left Pending with `conditions`, remembered as submitted so a later admission starts from the manifest. */
function waiting(pod: Pod, spec: Pod['spec'], conditions: PodCondition[]): Pod {
  const status: PodStatus = conditions.length ? { phase: 'Pending', conditions } : { phase: 'Pending' };
  const pending: Pod = { ...pod, spec, status };
  submittedPods.set(pending, pod);
  return pending;
}

/** A manifest may say a pod is Pending/Failed/Succeeded; otherwise it runs. */
function podPhase(pod: Pod): PodStatus['phase'] {
  const given = pod.status.phase;
  return given && given !== 'Pending' ? given : 'Running';
}

function assignIPs(env: PodAdmission, pod: Pod, node: Node): string[] | undefined {
  if (pod.spec.hostNetwork) return nodeInternalIPs(node);
  const pinned = pod.status.podIPs?.map((p) => p.ip) ?? (pod.status.podIP ? [pod.status.podIP] : undefined);
  const path = wasWritten(pod, PATH_POD_IPS) ? PATH_POD_IPS : PATH_POD_IP;
  return env.issues.attempt(pod, path, () => env.ipam.allocatePodIPs(node.metadata.name, pinned, env.journal));
}

/** A re-applied pod keeps its node and addresses (both immutable once set); labels and conditions may change. */
function keepPlacement(env: PodAdmission, pod: Pod, old: Pod): Pod | undefined {
  if (pod.spec.nodeName && pod.spec.nodeName !== old.spec.nodeName) {
    env.issues.reject(pod, ['spec', 'nodeName'], `may not change once set, was "${old.spec.nodeName}"`);
    return undefined;
  }
  const pinned = pod.status.podIP;
  if (pinned && old.status.podIP && pinned !== old.status.podIP) {
    env.issues.reject(pod, ['status', 'podIP'], `may not change once set, was "${old.status.podIP}"`);
    return undefined;
  }
  const pinnedConditions = pod.status.conditions?.length ? pod.status.conditions : undefined;
  const status: PodStatus = { ...old.status, conditions: pinnedConditions ?? old.status.conditions };
  const kept: Pod = { ...pod, spec: { ...pod.spec, nodeName: old.spec.nodeName }, status };
  // Kept conditions that its node marked not Ready still return to kubelet's report when the node is Ready again.
  const report = kubeletReportOf(old);
  if (pinnedConditions === undefined && report !== undefined) rememberKubeletReport(kept, report);
  return kept;
}

/** Release what a pod holds: its addresses and its place on the node. */
export function releasePod(env: PodAdmission, pod: Pod): void {
  if (!pod.spec.nodeName || !pod.status.podIPs) return;
  if (!pod.spec.hostNetwork) {
    env.ipam.releasePodIPs(
      pod.spec.nodeName,
      pod.status.podIPs.map((p) => p.ip),
      env.journal,
    );
  }
  env.scheduler.unbind(pod, env.journal);
}
