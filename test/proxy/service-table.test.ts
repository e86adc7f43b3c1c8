/** The per-node service table: what kube-proxy keeps of Services and EndpointSlices, updated incrementally. */
import test from 'ava';
import type { TableChange } from '../../src/proxy/service-table.js';
import { node, put, remove, service, slice, storeWith, tableFor } from './fixtures.js';

const NODE = 'n1';

test('Service ports per family: ClusterIP, NodePort, filtered externalIPs / LB IPs / source ranges', (t) => {
  const table = tableFor(
    storeWith(
      service('ns', 'web', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10', 'fd00:96::10'],
        ipFamilies: ['IPv4', 'IPv6'],
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
        externalIPs: ['198.51.100.1', '2001:db8::1'],
        ingress: ['1.2.3.4', { ip: '1.2.3.5', ipMode: 'Proxy' }, '2001:db8::5', { hostname: 'lb.example.com' }],
        loadBalancerSourceRanges: [' 203.0.113.0/25', '2001:db8::/32'],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
      }),
    ),
    NODE,
  );
  const v4 = table.get('IPv4', 'ns/web:http/TCP')!.info;
  t.like(v4, {
    name: 'ns/web:http',
    clusterIP: '10.96.0.10',
    nodePort: 30080,
    externalIPs: ['198.51.100.1'],
    loadBalancerVIPs: ['1.2.3.4'],
    loadBalancerSourceRanges: ['203.0.113.0/25'],
    externalPolicyLocal: true,
    healthCheckNodePort: 32000,
    usesClusterEndpoints: true,
    usesLocalEndpoints: true,
  });
  const v6 = table.get('IPv6', 'ns/web:http/TCP')!.info;
  t.like(v6, { clusterIP: 'fd00:96::10', externalIPs: ['2001:db8::1'], loadBalancerVIPs: ['2001:db8::5'] });
  t.deepEqual(v6.loadBalancerSourceRanges, ['2001:db8::/32']);
});

test('skipped Services: headless, ExternalName, no ClusterIP; an unnamed port has no :suffix', (t) => {
  const table = tableFor(
    storeWith(
      service('ns', 'headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
      service('ns', 'ext', {
        type: 'ExternalName',
        externalName: 'x.example',
        clusterIP: '10.96.0.9',
        ports: [{ port: 80 }],
      }),
      service('ns', 'none', { ports: [{ port: 80 }] }),
      service('ns', 'plain', { clusterIP: '10.96.0.8', ports: [{ port: 80 }] }),
    ),
    NODE,
  );
  t.deepEqual(
    [...table.ports('IPv4')].map((e) => e.key),
    ['ns/plain/TCP'],
  );
});

test('objects kube-proxy does not watch: a Service or slice labelled service-proxy-name or headless (any value)', (t) => {
  const labelled = (svc: ReturnType<typeof service>, labels: Record<string, string>) => ({
    ...svc,
    metadata: { ...svc.metadata, labels },
  });
  const plain = service('ns', 'web', { clusterIP: '10.96.0.8', ports: [{ port: 80 }] });
  const eps = slice('ns', 'web', ['10.244.1.5'], [{ port: 80 }]);
  const store = storeWith(plain, eps);
  const table = tableFor(store, NODE);
  const endpoints = () => table.get('IPv4', 'ns/web/TCP')?.endpoints.map((e) => e.ip);
  t.deepEqual(endpoints(), ['10.244.1.5']);
  for (const [labels, kept] of [
    [{ 'service.kubernetes.io/service-proxy-name': 'cilium' }, false],
    [{ 'service.kubernetes.io/service-proxy-name': '' }, false],
    [{ 'service.kubernetes.io/headless': '' }, false],
    [{ app: 'web' }, true],
  ] as const) {
    put(store, labelled(plain, labels));
    t.is(table.get('IPv4', 'ns/web/TCP') !== undefined, kept, JSON.stringify(labels));
    put(store, plain);
    t.deepEqual(endpoints(), ['10.244.1.5'], 'back when the label goes');
  }
  // A slice with the label is not seen either: the Service keeps its port, with no endpoints from it.
  put(store, {
    ...eps,
    metadata: { ...eps.metadata, labels: { ...eps.metadata.labels, 'service.kubernetes.io/headless': '' } },
  });
  t.deepEqual(endpoints(), []);
});

test('defaults and health-check rules: affinity 10800 s; healthCheckNodePort only for LoadBalancer + eTP Local', (t) => {
  const table = tableFor(
    storeWith(
      service('ns', 'a', { clusterIP: '10.96.0.1', sessionAffinity: 'ClientIP', ports: [{ port: 80 }] }),
      service('ns', 'b', {
        type: 'NodePort',
        clusterIP: '10.96.0.2',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32001,
        ports: [{ port: 80, nodePort: 30001 }],
      }),
      service('ns', 'c', { clusterIP: '10.96.0.3', externalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
    ),
    NODE,
  );
  t.is(table.get('IPv4', 'ns/a/TCP')!.info.affinityTimeoutSeconds, 10800);
  t.is(table.get('IPv4', 'ns/b/TCP')!.info.healthCheckNodePort, 0);
  t.true(table.get('IPv4', 'ns/b/TCP')!.info.externalPolicyLocal);
  t.false(
    table.get('IPv4', 'ns/c/TCP')!.info.externalPolicyLocal,
    'a plain ClusterIP Service is not externally accessible',
  );
});

test('endpoints: sorted as ip:port strings, port by name and protocol, condition defaults', (t) => {
  const table = tableFor(
    storeWith(
      service('ns', 'web', {
        clusterIP: '10.96.0.10',
        ports: [
          { name: 'http', port: 80 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
      }),
      slice(
        'ns',
        'web',
        ['10.1.1.1', '10.1.1.11', { ip: '10.1.1.2', ready: false }],
        [
          { name: 'http', port: 11 },
          { name: 'dns', port: 5353, protocol: 'UDP' },
        ],
      ),
    ),
    NODE,
  );
  const http = table.get('IPv4', 'ns/web:http/TCP')!;
  t.deepEqual(
    http.endpoints.map((e) => e.address),
    ['10.1.1.11:11', '10.1.1.1:11', '10.1.1.2:11'],
  );
  t.like(http.endpoints[0], { ready: true, serving: true, terminating: false });
  t.like(http.endpoints[2], { ready: false, serving: true });
  t.is(table.get('IPv4', 'ns/web:dns/UDP')!.endpoints[0]!.port, 5353);
});

test('the same ip:port in two slices: the non-terminating copy wins', (t) => {
  const table = tableFor(
    storeWith(
      service('ns', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
      slice(
        'ns',
        'web',
        [{ ip: '10.1.1.1', ready: false, serving: false, terminating: true, node: 'old' }],
        [{ port: 80 }],
        { name: 'a' },
      ),
      slice('ns', 'web', [{ ip: '10.1.1.1', node: 'new' }], [{ port: 80 }], { name: 'b' }),
    ),
    NODE,
  );
  t.like(table.get('IPv4', 'ns/web/TCP')!.endpoints[0], { terminating: false, nodeName: 'new' });
});

test('FQDN and wrong-family slices are ignored', (t) => {
  const fqdn = slice('ns', 'web', ['10.1.1.1'], [{ port: 80 }], { name: 'f' });
  (fqdn as { addressType: string }).addressType = 'FQDN';
  const table = tableFor(
    storeWith(
      service('ns', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
      fqdn,
      slice('ns', 'web', ['fd00::1'], [{ port: 80 }], { name: 'x', addressType: 'IPv4' }),
    ),
    NODE,
  );
  t.is(table.get('IPv4', 'ns/web/TCP')!.endpoints.length, 0);
});

test('incremental: a slice change reports only its Service; unchanged writes report nothing', (t) => {
  const store = storeWith(
    node(NODE, ['192.168.0.2']),
    service('ns', 'a', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] }),
    service('ns', 'b', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] }),
    slice('ns', 'a', ['10.1.0.1'], [{ port: 80 }]),
  );
  const table = tableFor(store, NODE);
  const seen: TableChange[] = [];
  table.subscribe((c) => seen.push(...c));
  put(store, slice('ns', 'b', ['10.1.0.2'], [{ port: 80 }]));
  t.deepEqual(
    seen.map((c) => (c.kind === 'service-port' ? `${c.key} ${c.previous ? 'changed' : 'added'}` : c.kind)),
    ['ns/b/TCP changed'],
  );
  seen.length = 0;
  put(store, slice('ns', 'b', ['10.1.0.2'], [{ port: 80 }]));
  t.is(seen.length, 0, 'an identical slice changes nothing');
  remove(store, store.get('Service', 'a', 'ns')!);
  t.deepEqual(
    seen.map((c) => (c.kind === 'service-port' ? `${c.key} ${c.current ? 'changed' : 'removed'}` : c.kind)),
    ['ns/a/TCP removed'],
  );
});

test('a relabelled slice moves to its new Service', (t) => {
  const store = storeWith(
    service('ns', 'a', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] }),
    service('ns', 'b', { clusterIP: '10.96.0.2', ports: [{ port: 80 }] }),
    slice('ns', 'a', ['10.1.0.1'], [{ port: 80 }], { name: 's' }),
  );
  const table = tableFor(store, NODE);
  put(store, slice('ns', 'b', ['10.1.0.1'], [{ port: 80 }], { name: 's' }));
  t.is(table.get('IPv4', 'ns/a/TCP')!.endpoints.length, 0);
  t.is(table.get('IPv4', 'ns/b/TCP')!.endpoints.length, 1);
});

test('a node zone change recategorizes (zone hints) and reports the node', (t) => {
  const store = storeWith(
    node(NODE, ['192.168.0.2'], { zone: 'a' }),
    service('ns', 'web', { clusterIP: '10.96.0.1', ports: [{ port: 80 }] }),
    slice(
      'ns',
      'web',
      [
        { ip: '10.1.0.1', zoneHints: ['a'] },
        { ip: '10.1.0.2', zoneHints: ['b'] },
      ],
      [{ port: 80 }],
    ),
  );
  const table = tableFor(store, NODE);
  t.deepEqual(
    table.get('IPv4', 'ns/web/TCP')!.categorized.cluster!.map((e) => e.ip),
    ['10.1.0.1'],
  );
  const kinds: string[] = [];
  table.subscribe((c) => kinds.push(...c.map((x) => x.kind)));
  put(store, node(NODE, ['192.168.0.2'], { zone: 'b' }));
  t.deepEqual(kinds, ['node', 'service-port']);
  t.deepEqual(
    table.get('IPv4', 'ns/web/TCP')!.categorized.cluster!.map((e) => e.ip),
    ['10.1.0.2'],
  );
  t.is(table.node.zone, 'b');
});
