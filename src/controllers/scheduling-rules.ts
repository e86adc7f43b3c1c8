/**
 * The per-node rules the scheduler and the DaemonSet controller share: taints and tolerations, the taints a node
 * carries because of its conditions, pod resource requests and the tolerations DaemonSet pods get.
 */
import { matchesMap } from '../model/labels.js';
import { milliCPU, quantityValue } from '../model/quantity.js';
import type { Container, Node, Pod, PodSpec, Taint, Toleration } from '../model/types.js';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';
export const TAINT_CONTROL_PLANE = 'node-role.kubernetes.io/control-plane';

export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_REGION = 'topology.kubernetes.io/region';
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';

/** v1helper ToleratesTaint: an empty effect or key matches any; Exists ignores the value; Equal compares it. */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  const op = toleration.operator ?? 'Equal';
  if (op === 'Exists') return true;
  return (toleration.value ?? '') === (taint.value ?? '');
}

export function tolerationsTolerate(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first NoSchedule/NoExecute taint no toleration covers, as FindMatchingUntoleratedTaint finds it. */
export function firstUntoleratedTaint(
  taints: readonly Taint[],
  tolerations: readonly Toleration[] | undefined,
): Taint | undefined {
  for (const taint of taints) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!tolerationsTolerate(tolerations, taint)) return taint;
  }
  return undefined;
}

function conditionStatus(node: Node, type: string): string | undefined {
  for (const c of node.status.conditions ?? []) if (c.type === type) return c.status;
  return undefined;
}

/**
 * The node's taints as a real cluster would show them. The node lifecycle controller (TaintNodesByCondition) adds
 * NoSchedule taints for a Ready condition that is False (not-ready) or Unknown (unreachable), for memory, disk and
 * PID pressure, for an unavailable network, and for `spec.unschedulable`. The scheduler no longer reads conditions
 * itself; it only sees these taints. A node with no Ready condition at all is taken as ready (hand-written Nodes).
 * The NoExecute twins that taint-based eviction adds are left out: every pod tolerates them for 300 s by default.
 */
export function effectiveTaints(node: Node): Taint[] {
  const out = [...(node.spec.taints ?? [])];
  const add = (key: string): void => {
    if (!out.some((t) => t.key === key && t.effect === 'NoSchedule')) out.push({ key, effect: 'NoSchedule' });
  };
  const ready = conditionStatus(node, 'Ready');
  if (ready === 'False') add(TAINT_NOT_READY);
  else if (ready === 'Unknown') add(TAINT_UNREACHABLE);
  if (conditionStatus(node, 'MemoryPressure') === 'True') add(TAINT_MEMORY_PRESSURE);
  if (conditionStatus(node, 'DiskPressure') === 'True') add(TAINT_DISK_PRESSURE);
  if (conditionStatus(node, 'PIDPressure') === 'True') add(TAINT_PID_PRESSURE);
  if (conditionStatus(node, 'NetworkUnavailable') === 'True') add(TAINT_NETWORK_UNAVAILABLE);
  if (node.spec.unschedulable) add(TAINT_UNSCHEDULABLE);
  return out;
}

/** A pod's requests as the scheduler counts them. */
export interface PodRequests {
  /** Actual requests: what NodeResourcesFit filters on. */
  readonly cpu: number;
  readonly memory: number;
  /** Requests with the scheduler's defaults for containers that request nothing: what LeastAllocated scores on. */
  readonly nonZeroCpu: number;
  readonly nonZeroMemory: number;
}

/** schedutil.DefaultMilliCPURequest and DefaultMemoryRequest. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

interface Sum {
  cpu: number;
  memory: number;
  nonZeroCpu: number;
  nonZeroMemory: number;
}

// Pods made from one template share its containers array, so a cache keyed by the array parses each template once.
const sumCache = new WeakMap<readonly Container[], Sum>();

function containerSum(containers: readonly Container[], max: boolean): Sum {
  const cached = sumCache.get(containers);
  if (cached && !max) return cached;
  const s: Sum = { cpu: 0, memory: 0, nonZeroCpu: 0, nonZeroMemory: 0 };
  for (const c of containers) {
    const req = c.resources?.requests;
    const cpu = milliCPU(req?.cpu);
    const mem = quantityValue(req?.memory);
    const nzCpu = req?.cpu === undefined ? DEFAULT_MILLI_CPU_REQUEST : cpu;
    const nzMem = req?.memory === undefined ? DEFAULT_MEMORY_REQUEST : mem;
    if (max) {
      s.cpu = Math.max(s.cpu, cpu);
      s.memory = Math.max(s.memory, mem);
      s.nonZeroCpu = Math.max(s.nonZeroCpu, nzCpu);
      s.nonZeroMemory = Math.max(s.nonZeroMemory, nzMem);
    } else {
      s.cpu += cpu;
      s.memory += mem;
      s.nonZeroCpu += nzCpu;
      s.nonZeroMemory += nzMem;
    }
  }
  if (!max) sumCache.set(containers, s);
  return s;
}

/**
 * Containers run together, so their requests add up; init containers run one at a time before them, so the pod
 * needs the larger of the sum and each init container (resource.PodRequests).
 */
export function podRequests(spec: PodSpec): PodRequests {
  const sum = containerSum(spec.containers, false);
  if (!spec.initContainers?.length) return sum;
  const init = containerSum(spec.initContainers, true);
  return {
    cpu: Math.max(sum.cpu, init.cpu),
    memory: Math.max(sum.memory, init.memory),
    nonZeroCpu: Math.max(sum.nonZeroCpu, init.nonZeroCpu),
    nonZeroMemory: Math.max(sum.nonZeroMemory, init.nonZeroMemory),
  };
}

/** `TCP/8080` keys for a pod's host ports (NodePorts plugin); undefined when it uses none. */
export function podHostPorts(spec: PodSpec): string[] | undefined {
  let out: string[] | undefined;
  for (const c of spec.containers) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out ??= [];
      out.push(`${p.protocol ?? 'TCP'}/${p.hostPort}`);
    }
  }
  return out;
}

/**
 * The tolerations the DaemonSet controller adds to every daemon pod (AddOrUpdateDaemonPodTolerations), so daemons
 * survive node problems: not-ready and unreachable NoExecute, the pressure and unschedulable NoSchedule taints, and
 * network-unavailable for host-network pods.
 */
export function daemonPodTolerations(spec: PodSpec): Toleration[] {
  const out = [...(spec.tolerations ?? [])];
  const add = (key: string, effect: Toleration['effect']): void => {
    if (!out.some((t) => t.key === key && t.effect === effect && t.operator === 'Exists')) {
      out.push({ key, operator: 'Exists', effect });
    }
  };
  add(TAINT_NOT_READY, 'NoExecute');
  add(TAINT_UNREACHABLE, 'NoExecute');
  add(TAINT_DISK_PRESSURE, 'NoSchedule');
  add(TAINT_MEMORY_PRESSURE, 'NoSchedule');
  add(TAINT_PID_PRESSURE, 'NoSchedule');
  add(TAINT_UNSCHEDULABLE, 'NoSchedule');
  if (spec.hostNetwork) add(TAINT_NETWORK_UNAVAILABLE, 'NoSchedule');
  return out;
}

/**
 * Whether a daemon pod belongs on a node (DaemonSet NodeShouldRunDaemonPod): the node matches the pod's nodeSelector
 * and the pod tolerates every NoSchedule/NoExecute taint. `pod` should already carry the daemon tolerations
 * (`daemonPodTolerations`). Resources are not checked here, as upstream leaves them to the scheduler.
 */
export function isEligibleForDaemonSet(pod: Pick<Pod, 'spec'>, node: Node): boolean {
  if (pod.spec.nodeSelector && !matchesMap(node.metadata.labels, pod.spec.nodeSelector)) return false;
  return firstUntoleratedTaint(effectiveTaints(node), pod.spec.tolerations) === undefined;
}

export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export function isPodReady(pod: Pod): boolean {
  for (const c of pod.status?.conditions ?? []) if (c.type === 'Ready') return c.status === 'True';
  return false;
}
