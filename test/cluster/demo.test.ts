/** The demo cluster through the whole pipeline: built-ins, controllers, CNI, EndpointSlices, determinism. */
import test from 'ava';
import { Cluster } from '../../src/cluster/cluster.js';
import type { EndpointSlice } from '../../src/model/types.js';

const load = () => Cluster.load(['fixtures/demo']);

function slicesOf(cluster: Cluster, ns: string, svc: string): EndpointSlice[] {
  return cluster.list('EndpointSlice', ns).filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc);
}

test('kubeadm built-ins: namespaces, the kubernetes and kube-dns Services, CoreDNS pods', async (t) => {
  const cluster = await load();
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'shop'])
    t.truthy(cluster.get('Namespace', ns), ns);
  t.is(cluster.get('Service', 'kubernetes', 'default')?.spec.clusterIP, '10.96.0.1');
  const dns = cluster.get('Service', 'kube-dns', 'kube-system')!;
  // kubeadm's manifest sets only clusterIP: single-stack, on the first service CIDR, even on a dual-stack cluster.
  t.deepEqual(dns.spec.clusterIPs, ['10.96.0.10']);
  t.is(dns.spec.ipFamilyPolicy, 'SingleStack');
  t.deepEqual(
    dns.spec.ports?.map((p) => `${p.name}:${p.port}/${p.protocol}`),
    ['dns:53/UDP', 'dns-tcp:53/TCP', 'metrics:9153/TCP'],
  );
  const coredns = cluster.list('Pod', 'kube-system').filter((p) => p.metadata.labels?.['k8s-app'] === 'kube-dns');
  t.is(coredns.length, 2);
  t.true(coredns.every((p) => p.status.phase === 'Running' && p.status.podIP !== undefined));
});

test('three nodes with disjoint pod CIDRs of both families; the control plane is tainted', async (t) => {
  const cluster = await load();
  const nodes = cluster.list('Node');
  t.deepEqual(nodes.map((n) => n.metadata.name).sort(), [
    'kube-netsim-control-plane',
    'kube-netsim-worker',
    'kube-netsim-worker2',
  ]);
  const v4 = nodes.map((n) => n.spec.podCIDRs?.[0]);
  t.is(new Set(v4).size, 3);
  t.true(nodes.every((n) => n.spec.podCIDRs?.length === 2 && n.spec.podCIDRs[1]!.endsWith('/64')));
  const cp = cluster.get('Node', 'kube-netsim-control-plane')!;
  t.deepEqual(cp.spec.taints, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
});

test('workloads become scheduled, addressed, ready pods; user pods avoid the control plane', async (t) => {
  const cluster = await load();
  const pods = cluster.list('Pod', 'shop');
  t.is(pods.length, 6);
  for (const pod of pods) {
    t.not(pod.spec.nodeName, 'kube-netsim-control-plane');
    const node = cluster.get('Node', pod.spec.nodeName!)!;
    t.true(pod.status.podIP!.startsWith(node.spec.podCIDRs![0]!.split('.').slice(0, 3).join('.')));
    t.is(pod.status.podIPs?.length, 2);
  }
  const db = pods
    .filter((p) => p.metadata.name.startsWith('db-'))
    .map((p) => [p.metadata.name, p.spec.hostname, p.spec.subdomain]);
  t.deepEqual(db.sort(), [
    ['db-0', 'db-0', 'db'],
    ['db-1', 'db-1', 'db'],
    ['db-2', 'db-2', 'db'],
  ]);
});

test('Services get addresses: ClusterIP, NodePort as pinned, LoadBalancer from the pool, dual-stack', async (t) => {
  const cluster = await load();
  const web = cluster.get('Service', 'web', 'shop')!;
  t.regex(web.spec.clusterIP!, /^10\.96\./);
  t.is(cluster.get('Service', 'db', 'shop')?.spec.clusterIP, 'None');
  t.is(cluster.get('Service', 'web-nodeport', 'shop')?.spec.ports?.[0]?.nodePort, 30080);
  const lb = cluster.get('Service', 'web-lb', 'shop')!;
  t.is(lb.status.loadBalancer.ingress?.[0]?.ip, '172.18.255.200');
  t.truthy(lb.spec.healthCheckNodePort);
  const dual = cluster.get('Service', 'web-dual', 'shop')!;
  t.deepEqual(dual.spec.ipFamilies, ['IPv4', 'IPv6']);
  t.is(dual.spec.clusterIPs?.length, 2);
  t.is(cluster.get('Service', 'payments', 'shop')?.spec.clusterIP, undefined);
});

test('EndpointSlices: named ports resolved, hostnames for the StatefulSet, one family per slice', async (t) => {
  const cluster = await load();
  const web = slicesOf(cluster, 'shop', 'web');
  t.is(web.length, 1);
  t.is(web[0]!.addressType, 'IPv4');
  t.is(web[0]!.endpoints.length, 3);
  t.deepEqual(web[0]!.ports?.map((p) => `${p.name}:${p.port}`).sort(), ['http:8080', 'https:8443']);
  const dual = slicesOf(cluster, 'shop', 'web-dual');
  t.deepEqual(dual.map((s) => s.addressType).sort(), ['IPv4', 'IPv6']);
  const db = slicesOf(cluster, 'shop', 'db').flatMap((s) => s.endpoints.map((e) => e.hostname));
  // A headless Service with a selector and no ipFamilyPolicy is SingleStack: the primary family only.
  t.deepEqual(db.sort(), ['db-0', 'db-1', 'db-2']);
});

test('the same seed gives the same cluster', async (t) => {
  const strip = (c: Cluster) =>
    JSON.stringify(['Pod', 'Service', 'EndpointSlice', 'Node'].map((k) => c.list(k as 'Pod')));
  t.is(strip(await load()), strip(await load()));
});

test('deleting a pod marks it terminating, then removes it; its endpoint follows', async (t) => {
  const cluster = await load();
  const pod = cluster.list('Pod', 'shop').find((p) => p.metadata.name.startsWith('db-0'))!;
  cluster.delete([{ kind: 'Pod', name: pod.metadata.name, namespace: 'shop' }]);
  t.truthy(cluster.get('Pod', pod.metadata.name, 'shop')?.metadata.deletionTimestamp);
  const ep = slicesOf(cluster, 'shop', 'db')
    .flatMap((s) => s.endpoints)
    .find((e) => e.targetRef?.name === pod.metadata.name);
  t.is(ep?.conditions.terminating, true);
  t.is(ep?.conditions.ready, false);
  cluster.delete([{ kind: 'Pod', name: pod.metadata.name, namespace: 'shop' }]);
  // Gone, and its StatefulSet made a new db-0 in its place.
  const replacement = cluster.get('Pod', pod.metadata.name, 'shop');
  t.truthy(replacement);
  t.is(replacement?.metadata.deletionTimestamp, undefined);
  t.not(replacement?.metadata.resourceVersion, pod.metadata.resourceVersion);
});

test('a ReplicaSet replaces a deleted pod at once, while the old one terminates', async (t) => {
  const cluster = await load();
  const web = cluster.list('Pod', 'shop').filter((p) => p.metadata.name.startsWith('web-'));
  cluster.delete([{ kind: 'Pod', name: web[0]!.metadata.name, namespace: 'shop' }]);
  const now = cluster.list('Pod', 'shop').filter((p) => p.metadata.name.startsWith('web-'));
  t.is(now.length, 4);
  t.is(now.filter((p) => !p.metadata.deletionTimestamp).length, 3);
  const endpoints = slicesOf(cluster, 'shop', 'web').flatMap((s) => s.endpoints);
  t.is(endpoints.filter((e) => e.conditions.ready).length, 3);
  t.is(endpoints.filter((e) => e.conditions.terminating).length, 1);
});

test('a pod that pins its IP lands on the node whose pod CIDR holds it', async (t) => {
  const cluster = await load();
  const worker2 = cluster.get('Node', 'kube-netsim-worker2')!;
  const ip = worker2.spec.podCIDRs![0]!.replace(/0\/24$/, '200');
  cluster.apply([
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'pinned', namespace: 'shop' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
      status: { podIP: ip },
    },
  ]);
  const pod = cluster.get('Pod', 'pinned', 'shop')!;
  t.is(pod.spec.nodeName, 'kube-netsim-worker2');
  t.is(pod.status.podIP, ip);
});

test('the API server writes the kubernetes Service endpoints twice: v1 Endpoints (skip-mirror) and the slice, none mirrored', async (t) => {
  const cluster = await load();
  const endpoints = cluster.get('Endpoints', 'kubernetes', 'default');
  t.deepEqual(endpoints?.metadata.labels, { 'endpointslice.kubernetes.io/skip-mirror': 'true' });
  t.deepEqual(endpoints?.subsets, [
    { addresses: [{ ip: '172.18.0.2' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] },
  ]);
  const slices = cluster.list('EndpointSlice', 'default');
  t.deepEqual(
    slices.map((s) => [s.metadata.name, s.endpoints.flatMap((e) => e.addresses)]),
    [['kubernetes', ['172.18.0.2']]],
  );
});
