/**
 * Where a packet enters a node, from its source address alone: from a pod on that node (its pod IP), from the node
 * itself (one of its addresses, or loopback), or from outside the cluster, arriving at the node. `trace --src` and the
 * library's one-argument `send(packet)` both answer it this way.
 */
import type { Store } from '../model/store.js';
import type { Origin } from '../proxy/packet.js';

export function originOf(store: Store, node: string, srcIP: string): Origin {
  for (const pod of store.each('Pod')) {
    if (pod.spec.nodeName !== node || pod.spec.hostNetwork) continue;
    if (pod.status.podIPs?.some((p) => p.ip === srcIP))
      return { from: 'pod', pod: `${pod.metadata.namespace}/${pod.metadata.name}` };
  }
  const own = store.get('Node', node)?.status.addresses.some((a) => a.address === srcIP) ?? false;
  if (own || srcIP === '::1' || srcIP.startsWith('127.')) return { from: 'node' };
  return { from: 'external' };
}
