/** What `resolv-conf` and `resolve` share: the pod, and the DNS settings kubelet on its node would use. */
import type { Cluster } from '../../cluster/cluster.js';
import {
  defaultNodeResolvConf,
  type NodeDnsSettings,
  type PodResolvConf,
  podResolvConf,
} from '../../dns/client/index.js';
import { NotFoundError } from '../../errors.js';
import type { HostsNode } from '../../kubelet/hosts-file.js';
import type { Pod } from '../../model/types.js';
import { parseNamespacedName } from './load.js';

export function findPod(cluster: Cluster, ref: string): Pod {
  const { namespace, name } = parseNamespacedName(ref);
  const pod = cluster.get('Pod', name, namespace);
  if (!pod) throw new NotFoundError(`pod "${name}" not found in namespace "${namespace}"`);
  return pod;
}

/** The node a pod runs on, its name and InternalIPs (kubelet's node IPs), or undefined when it is not placed. */
export function podNode(cluster: Cluster, pod: Pod): HostsNode | undefined {
  const node = pod.spec.nodeName ? cluster.get('Node', pod.spec.nodeName) : undefined;
  if (!node) return undefined;
  const addresses = node.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address);
  return { name: node.metadata.name, addresses };
}

/** kubelet's --cluster-dns is the kube-dns Service's ClusterIP(s); its --resolv-conf is the node's own file. */
export function nodeDnsSettings(cluster: Cluster, pod: Pod): NodeDnsSettings {
  const kubeDns = cluster.get('Service', 'kube-dns', 'kube-system');
  return {
    clusterDomain: cluster.config.clusterDomain,
    clusterDNS: (kubeDns?.spec.clusterIPs ?? []).filter((ip) => ip !== 'None'),
    hostResolvConf: defaultNodeResolvConf(cluster.config.nodeNetworks),
    nodeIPs: podNode(cluster, pod)?.addresses ?? [],
  };
}

export function resolvConfOf(cluster: Cluster, pod: Pod): PodResolvConf {
  return podResolvConf(pod, nodeDnsSettings(cluster, pod));
}
