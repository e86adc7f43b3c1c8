/** kube-proxy's service health answers on healthCheckNodePort. */
import test from 'ava';
import { healthCheck, serviceHealth } from '../../src/proxy/healthcheck.js';
import { node, service, slice, storeWith, tableFor } from './fixtures.js';

function table(
  eps: Parameters<typeof slice>[2],
  extra: Record<string, unknown> = {},
  slicePorts: Parameters<typeof slice>[3] = [{ name: 'http', port: 8080 }],
) {
  return tableFor(
    storeWith(
      node('n1', ['192.168.0.2']),
      service('ns', 'web', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
        ...extra,
      }),
      slice('ns', 'web', eps, slicePorts),
    ),
    'n1',
  );
}

test('200 with the local ready endpoint count, body and headers as kube-proxy writes them', (t) => {
  const r = healthCheck(
    table([
      { ip: '10.1.0.1', node: 'n1' },
      { ip: '10.1.0.2', node: 'n1' },
      { ip: '10.1.0.3', node: 'n2' },
    ]),
    32000,
  )!;
  t.is(r.status, 200);
  t.is(r.localEndpoints, 2);
  t.deepEqual(r.headers, {
    'Content-Type': 'application/json',
    'X-Content-Type-Options': 'nosniff',
    'X-Load-Balancing-Endpoint-Weight': '2',
    'Content-Length': String(r.body.length),
  });
  t.is(r.headers['Content-Length'], '109');
  t.is(
    r.body,
    '{\n\t"service": {\n\t\t"namespace": "ns",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}',
  );
  t.deepEqual(JSON.parse(r.body), {
    service: { namespace: 'ns', name: 'web' },
    localEndpoints: 2,
    serviceProxyHealthy: true,
  });
});

test('503 without local ready endpoints; terminating ones do not count', (t) => {
  const r = healthCheck(
    table([
      { ip: '10.1.0.1', node: 'n1', ready: false, serving: true, terminating: true },
      { ip: '10.1.0.3', node: 'n2' },
    ]),
    32000,
  )!;
  t.is(r.status, 503);
  t.is(r.localEndpoints, 0);
  t.is(r.headers['X-Load-Balancing-Endpoint-Weight'], '0');
});

test('503 when kube-proxy itself is unhealthy', (t) => {
  const r = healthCheck(table([{ ip: '10.1.0.1', node: 'n1' }]), 32000, { proxyHealthy: false })!;
  t.is(r.status, 503);
  t.true(r.body.includes('"serviceProxyHealthy": false'));
});

test('no listener: unknown port, or a Service that needs no health check', (t) => {
  t.is(healthCheck(table([{ ip: '10.1.0.1', node: 'n1' }]), 32001), null);
  t.is(healthCheck(table([{ ip: '10.1.0.1', node: 'n1' }], { externalTrafficPolicy: 'Cluster' }), 32000), null);
  t.is(serviceHealth(table([{ ip: '10.1.0.1', node: 'n1' }], { externalTrafficPolicy: 'Cluster' }), 'ns/web'), null);
  t.is(serviceHealth(table([{ ip: '10.1.0.1', node: 'n1' }]), 'ns/web')!.status, 200);
});

test('an endpoint backing two ports counts once: the count is of distinct local IPs (LocalReadyEndpoints)', (t) => {
  const twoPorts = table(
    [
      { ip: '10.1.0.1', node: 'n1' },
      { ip: '10.1.0.2', node: 'n1' },
      { ip: '10.1.0.3', node: 'n2' },
    ],
    {
      ports: [
        { name: 'http', port: 80, nodePort: 30080 },
        { name: 'https', port: 443, nodePort: 30443 },
      ],
    },
    [
      { name: 'http', port: 8080 },
      { name: 'https', port: 8443 },
    ],
  );
  const r = healthCheck(twoPorts, 32000)!;
  t.is(r.localEndpoints, 2);
  t.is(r.headers['X-Load-Balancing-Endpoint-Weight'], '2');
});

test('a local endpoint listed only under a port the Service does not declare still counts (the map is built from slices)', (t) => {
  const r = healthCheck(table([{ ip: '10.1.0.1', node: 'n1' }], {}, [{ name: 'metrics', port: 9090 }]), 32000)!;
  t.is(r.status, 200);
  t.is(r.localEndpoints, 1);
});
