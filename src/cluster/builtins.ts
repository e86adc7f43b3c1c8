/**
 * What a fresh kubeadm cluster already has before the user applies anything: its namespaces, the `kubernetes`
 * Service, CoreDNS behind the `kube-dns` Service, and (when the input defines no Node) the nodes the ClusterConfig
 * asks for. Objects the input defines itself win over these.
 */
import type { ClusterConfigSpec, Deployment, Namespace, Node, Service } from '../model/types.js';

export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'] as const;

/** The label kubeadm puts on CoreDNS pods and uses as the kube-dns Service selector. */
export const KUBE_DNS_LABELS = { 'k8s-app': 'kube-dns' } as const;

export const CONTROL_PLANE_TAINT = 'node-role.kubernetes.io/control-plane';

export function builtinNamespaces(): Namespace[] {
  return BUILTIN_NAMESPACES.map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
    status: { phase: 'Active' },
  }));
}

/**
 * The `kubernetes` Service: kube-apiserver reserves the first address of each service CIDR for it.
 * Its endpoints are the control-plane nodes' addresses on 6443 (written by the cluster, not the slice controller).
 */
export function kubernetesService(firstServiceIPs: string[]): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { component: 'apiserver', provider: 'kubernetes' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP: firstServiceIPs[0],
      clusterIPs: firstServiceIPs.slice(0, 1),
      ipFamilies: [firstServiceIPs[0]!.includes(':') ? 'IPv6' : 'IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

/**
 * kubeadm's kube-dns Service: the tenth address of the first service CIDR (kubeadm's DNSIP), DNS on 53/UDP and
 * 53/TCP, metrics on 9153. Its manifest sets only `clusterIP`, so it is single-stack even on a dual-stack cluster,
 * and kubelet's clusterDNS (every pod's nameserver line) is that one address.
 */
export function kubeDnsService(tenthServiceIPs: string[]): Service {
  const dnsIP = tenthServiceIPs[0]!;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      type: 'ClusterIP',
      selector: { ...KUBE_DNS_LABELS },
      clusterIP: dnsIP,
      clusterIPs: [dnsIP],
      ipFamilies: [dnsIP.includes(':') ? 'IPv6' : 'IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 53 },
        { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 53 },
        { name: 'metrics', protocol: 'TCP', port: 9153, targetPort: 9153 },
      ],
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

/** kubeadm's CoreDNS Deployment: two replicas that tolerate the control-plane taint. */
export function coreDnsDeployment(): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'coredns', namespace: 'kube-system', labels: { ...KUBE_DNS_LABELS } },
    spec: {
      replicas: 2,
      // kubeadm's manifest: one replica down at a time (maxSurge is then defaulted to 25%).
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      selector: { matchLabels: { ...KUBE_DNS_LABELS } },
      template: {
        metadata: { labels: { ...KUBE_DNS_LABELS } },
        spec: {
          containers: [
            {
              name: 'coredns',
              image: 'registry.k8s.io/coredns/coredns:v1.12.0',
              ports: [
                { name: 'dns', containerPort: 53, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
                { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
              ],
              resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi' } },
            },
          ],
          dnsPolicy: 'Default',
          tolerations: [
            { key: 'CriticalAddonsOnly', operator: 'Exists' },
            { key: CONTROL_PLANE_TAINT, effect: 'NoSchedule' },
          ],
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          priority: 2000000000,
        },
      },
    },
  };
}

/**
 * The nodes a ClusterConfig asks for, named as kind names them (`<prefix>-control-plane`, `<prefix>-worker`,
 * `<prefix>-worker2`, …). Addresses are filled in by the cluster from the node networks.
 */
export function configuredNodes(spec: ClusterConfigSpec): Node[] {
  const { controlPlane, workers, namePrefix } = spec.nodes;
  const nodes: Node[] = [];
  const make = (name: string, role: 'control-plane' | 'worker'): Node => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        ...(role === 'control-plane'
          ? { [CONTROL_PLANE_TAINT]: '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' }
          : {}),
      },
    },
    spec: role === 'control-plane' ? { taints: [{ key: CONTROL_PLANE_TAINT, effect: 'NoSchedule' }] } : {},
    status: {
      addresses: [],
      allocatable: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      capacity: { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
    },
  });
  for (let i = 1; i <= controlPlane; i++) {
    nodes.push(make(`${namePrefix}-control-plane${i === 1 ? '' : i}`, 'control-plane'));
  }
  for (let i = 1; i <= workers; i++) nodes.push(make(`${namePrefix}-worker${i === 1 ? '' : i}`, 'worker'));
  return nodes;
}
