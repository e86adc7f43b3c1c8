/**
 * Where a packet enters a node, from its source address alone: from a pod on that node (its pod IP), from the node
 * itself (one of its addresses, or loopback), or from outside the cluster, arriving at the node. `trace --src` and the
 * library's one-argument `send(packet)` both answer it this way.
 */
import { podGateways } from '../cni/host-local.js';
import type { Store } from '../model/store.js';
import type { Origin } from '../proxy/packet.js';

export function originOf(store: Store, node: string, srcIP: string): Origin {
  for (const pod of store.each('Pod')) {
    if (pod.spec.nodeName !== node || pod.spec.hostNetwork) continue;
    if (pod.status.podIPs?.some((p) => p.ip === srcIP))
      return { from: 'pod', pod: `${pod.metadata.namespace}/${pod.metadata.name}` };
  }
  const n = store.get('Node', node);
  const own = (n?.status.addresses.some((a) => a.address === srcIP) ?? false) || isPodGateway(n?.spec, srcIP);
  if (own || srcIP === '::1' || srcIP.startsWith('127.')) return { from: 'node' };
  return { from: 'external' };
}

/**
 * Whether `ip` is the pod network's gateway on the node: host-local's default gateway of one of its pod CIDRs, which
 * it skips for pods and the bridge holds on the node. A packet from it is the node's own.
 */
function isPodGateway(spec: { podCIDR?: string; podCIDRs?: string[] } | undefined, ip: string): boolean {
  return podGateways(spec?.podCIDRs ?? (spec?.podCIDR ? [spec.podCIDR] : [])).includes(ip);
}
