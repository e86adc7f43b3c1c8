/**
 * The /etc/hosts kubelet writes into a pod (pkg/kubelet/kubelet_pods.go managedHostsFileContent): the localhost and
 * IPv6 multicast lines, one line per pod IP naming the pod's hostname (fully qualified first when the pod has a
 * subdomain), then `spec.hostAliases`. A hostNetwork pod sees the node's own file, which the model does not know
 * beyond its localhost lines, plus its hostAliases. getaddrinfo reads these lines before it asks DNS.
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

/** The pod's hostname as kubelet sets it: spec.hostname, else the pod name cut to 63 characters (GeneratePodHostNameAndDomain). */
export function podHostname(pod: Pod): string {
  if (pod.spec.hostname) return pod.spec.hostname;
  return pod.metadata.name.slice(0, 63).replace(/[-.]+$/, '');
}

export function podHostsLines(pod: Pod, clusterDomain: string): HostsLine[] {
  const lines: HostsLine[] = [...LOCAL_LINES];
  if (!pod.spec.hostNetwork) {
    const hostname = podHostname(pod);
    const domain = pod.spec.subdomain ? `${pod.spec.subdomain}.${pod.metadata.namespace}.svc.${clusterDomain}` : '';
    const ips = pod.status.podIPs?.map((p) => p.ip) ?? (pod.status.podIP ? [pod.status.podIP] : []);
    for (const ip of ips) lines.push({ address: ip, names: domain ? [`${hostname}.${domain}`, hostname] : [hostname] });
  }
  for (const alias of pod.spec.hostAliases ?? [])
    lines.push({ address: alias.ip, names: [...(alias.hostnames ?? [])] });
  return lines;
}
