/**
 * The /etc/hosts kubelet writes into a pod (pkg/kubelet/kubelet_pods.go managedHostsFileContent): the localhost and
 * IPv6 multicast lines, one line per pod IP naming the pod's hostname (fully qualified first when the pod has a
 * subdomain), then `spec.hostAliases`. A hostNetwork pod sees the node's own file (nodeHostsFileContent) plus its
 * hostAliases: for a kind node, the file Docker writes into the node's container, whose last lines name the node
 * after each of its addresses. getaddrinfo reads these lines before it asks DNS.
 */
import type { Pod } from '../model/types.js';

export interface HostsLine {
  address: string;
  names: string[];
}

const LOCAL_LINES: readonly HostsLine[] = [
  { address: '127.0.0.1', names: ['localhost'] },
  { address: '::1', names: ['localhost', 'ip6-localhost', 'ip6-loopback'] },
  { address: 'fe00::0', names: ['ip6-localnet'] },
  { address: 'fe00::0', names: ['ip6-mcastprefix'] },
  { address: 'fe00::1', names: ['ip6-allnodes'] },
  { address: 'fe00::2', names: ['ip6-allrouters'] },
];

/** The file Docker writes into a container (a kind node): its localhost and IPv6 lines, then the container's addresses. */
const DOCKER_LINES: readonly HostsLine[] = [
  { address: '127.0.0.1', names: ['localhost'] },
  { address: '::1', names: ['localhost', 'ip6-localhost', 'ip6-loopback'] },
  { address: 'fe00::0', names: ['ip6-localnet'] },
  { address: 'ff00::0', names: ['ip6-mcastprefix'] },
  { address: 'ff02::1', names: ['ip6-allnodes'] },
  { address: 'ff02::2', names: ['ip6-allrouters'] },
];

/** The node a pod runs on, as its hosts file needs it: its name and its addresses (InternalIPs). */
export interface HostsNode {
  readonly name: string;
  readonly addresses: readonly string[];
}

/** The pod's hostname as kubelet sets it: spec.hostname, else the pod name cut to 63 characters (GeneratePodHostNameAndDomain). */
export function podHostname(pod: Pod): string {
  if (pod.spec.hostname) return pod.spec.hostname;
  return pod.metadata.name.slice(0, 63).replace(/[-.]+$/, '');
}

/** The pod's /etc/hosts. `node`: the node it runs on (a hostNetwork pod's file names it); none when unscheduled. */
export function podHostsLines(pod: Pod, clusterDomain: string, node?: HostsNode): HostsLine[] {
  const lines: HostsLine[] = pod.spec.hostNetwork ? [...DOCKER_LINES] : [...LOCAL_LINES];
  if (pod.spec.hostNetwork) {
    for (const address of node?.addresses ?? []) lines.push({ address, names: [node!.name] });
  } else {
    const hostname = podHostname(pod);
    const domain = pod.spec.subdomain ? `${pod.spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}` : '';
    const ips = pod.status.podIPs?.map((p) => p.ip) ?? (pod.status.podIP ? [pod.status.podIP] : []);
    for (const ip of ips) lines.push({ address: ip, names: domain ? [`${hostname}.${domain}`, hostname] : [hostname] });
  }
  for (const alias of pod.spec.hostAliases ?? [])
    lines.push({ address: alias.ip, names: [...(alias.hostnames ?? [])] });
  return lines;
}
