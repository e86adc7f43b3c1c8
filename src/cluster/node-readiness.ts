/**
 * Pods and their node's Ready condition, as the node lifecycle controller and kubelet leave them. When a node stops
 * being Ready (False, or Unknown: its kubelet unheard from), MarkPodsNotReady turns every Ready=True pod condition on
 * it to False, so its endpoints are neither ready nor serving. When the node is Ready again, its kubelet reports its
 * pods' conditions again: what it reported before, remembered here per stored pod.
 */
import type { Node, Pod, PodCondition } from '../model/types.js';

/** Whether a node is Ready; a node without a Ready condition counts as Ready, as manifests often omit status. */
export function nodeReady(node: Node): boolean {
  const ready = node.status.conditions?.find((c) => c.type === 'Ready');
  return ready === undefined || ready.status === 'True';
}

/** Per stored pod whose Ready its node turned False: the conditions its kubelet reports once the node is back. */
const kubeletReports = new WeakMap<Pod, readonly PodCondition[]>();

/**
 * `conditions` with Ready turned False (MarkPodsNotReady), or undefined when no Ready condition is True: upstream
 * then leaves the pod alone.
 */
export function markedNotReady(conditions: readonly PodCondition[] | undefined): PodCondition[] | undefined {
  if (!conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return undefined;
  return conditions.map((c) => (c.type === 'Ready' ? { type: 'Ready', status: 'False' } : c));
}

/** Remember what kubelet reports for `pod`, stored with its Ready turned False by its node. */
export function rememberKubeletReport(pod: Pod, report: readonly PodCondition[]): void {
  kubeletReports.set(pod, report);
}

/** What kubelet reports again for a pod its node marked not Ready, once the node is Ready; otherwise undefined. */
export function kubeletReportOf(pod: Pod): readonly PodCondition[] | undefined {
  return kubeletReports.get(pod);
}
