/**
 * trafficDistribution and the topology annotation end to end: the EndpointSlice controller writes hints and the
 * node's proxy keeps traffic in its zone (kube-proxy's side of hints is test/proxy/topology.test.ts).
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/cluster.js';

const NODES = [
  ['n-a1', 'zone-a'],
  ['n-b1', 'zone-b'],
  ['n-c1', 'zone-c'],
] as const;

function world(
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
  cpu = ['4', '4', '4'],
): unknown[] {
  const nodes = NODES.map(([name, zone], i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'topology.kubernetes.io/zone': zone } },
    status: { addresses: [{ type: 'InternalIP', address: `172.18.0.${i + 2}` }], allocatable: { cpu: cpu[i] } },
  }));
  const pods = NODES.map(([nodeName], i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `web-${i}`, namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName, containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 8080 }] }] },
  }));
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', annotations },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...spec },
  };
  return [...nodes, ...pods, svc];
}

/** Where 300 new flows from outside to the ClusterIP go, as seen on n-a1. */
function endpointsFromZoneA(cluster: Cluster): Set<string | null> {
  const proxy = cluster.proxy({ node: 'n-a1', seed: 1 });
  const ip = cluster.get('Service', 'web', 'default')!.spec.clusterIP!;
  const seen = new Set<string | null>();
  for (let port = 1024; port < 1324; port++)
    seen.add(proxy.send({ proto: 'TCP', src: { ip: '192.0.2.9', port }, dst: { ip, port: 80 } }).endpoint);
  return seen;
}

const podIP = (cluster: Cluster, name: string): string => cluster.get('Pod', name, 'default')!.status.podIP!;

const cases: { title: string; spec?: Record<string, unknown>; annotations?: Record<string, string>; local: boolean }[] =
  [
    { title: 'PreferClose keeps traffic in the zone', spec: { trafficDistribution: 'PreferClose' }, local: true },
    { title: 'PreferSameNode keeps traffic on the node', spec: { trafficDistribution: 'PreferSameNode' }, local: true },
    {
      title: 'topology-mode Auto with equal zones keeps traffic in the zone',
      annotations: { 'service.kubernetes.io/topology-mode': 'Auto' },
      local: true,
    },
    { title: 'no preference spreads traffic over every zone', local: false },
  ];

for (const c of cases) {
  test(c.title, (t) => {
    const cluster = Cluster.create(world(c.spec ?? {}, c.annotations));
    const seen = endpointsFromZoneA(cluster);
    if (c.local) t.deepEqual([...seen], [`${podIP(cluster, 'web-0')}:8080`]);
    else t.is(seen.size, 3);
  });
}

test('topology-mode Auto: a node change that overloads a zone requeues the Service, which drops its hints', (t) => {
  const cluster = Cluster.create(world({}, { 'service.kubernetes.io/topology-mode': 'Auto' }));
  t.is(endpointsFromZoneA(cluster).size, 1);
  // Zone a now holds most of the CPU: one endpoint there cannot take its share within 20%, so hints go.
  const [nodeA] = world({}, {}, ['40', '4', '4']) as [Record<string, unknown>];
  cluster.apply([nodeA]);
  const slice = cluster
    .list('EndpointSlice', 'default')
    .find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'web')!;
  t.true(slice.endpoints.every((e) => e.hints === undefined));
  t.is(endpointsFromZoneA(cluster).size, 3);
});
