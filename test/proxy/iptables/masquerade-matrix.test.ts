/**
 * The masquerade matrix of kube-proxy's TestInternalExternalMasquerade (restated in proxy.md §2.3): for each source →
 * destination and each traffic policy, which endpoints are possible and whether the packet is masqueraded. Node
 * 192.168.0.2, pod CIDR 10.0.0.0/8 (the local detector), external client 203.0.113.2; every Service has one local
 * and one remote endpoint. Also the two overrides: --masquerade-all, and no local-traffic detector.
 */
import test from 'ava';
import { type ProxyConfigInput, proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import type { Origin } from '../../../src/proxy/packet.js';
import { Rng } from '../../../src/util/rng.js';
import { node, service, slice, storeWith, tableFor } from '../fixtures.js';

const NODE = 'test-node';
const LOCAL_EP = '10.180.0.1:80';
const ALL = 'all';
const LOCAL = 'local';

type Policy = 'eTP Cluster' | 'eTP Local' | 'iTP Local';
const POLICIES: Policy[] = ['eTP Cluster', 'eTP Local', 'iTP Local'];
const IPS: Record<Policy, { cluster: string; lb: string; nodePort: number }> = {
  'eTP Cluster': { cluster: '172.30.0.41', lb: '1.2.3.41', nodePort: 3001 },
  'eTP Local': { cluster: '172.30.0.42', lb: '1.2.3.42', nodePort: 3002 },
  'iTP Local': { cluster: '172.30.0.43', lb: '1.2.3.43', nodePort: 3003 },
};

function engine(config: ProxyConfigInput): IptablesEngine {
  const objects = POLICIES.flatMap((p, i) => [
    service('ns', `svc${i + 1}`, {
      type: 'LoadBalancer',
      clusterIP: IPS[p].cluster,
      ports: [{ name: 'p80', port: 80, nodePort: IPS[p].nodePort }],
      ingress: [IPS[p].lb],
      ...(p === 'eTP Local' ? { externalTrafficPolicy: 'Local' as const, healthCheckNodePort: 30000 + i } : {}),
      ...(p === 'iTP Local' ? { internalTrafficPolicy: 'Local' as const } : {}),
    }),
    slice(
      'ns',
      `svc${i + 1}`,
      [
        { ip: '10.180.0.1', node: NODE },
        { ip: '10.180.1.1', node: 'other' },
      ],
      [{ name: 'p80', port: 80 }],
    ),
  ]);
  const table = tableFor(storeWith(node(NODE, ['192.168.0.2']), ...objects), NODE, { families: ['IPv4'] });
  return new IptablesEngine({ table, config: proxyConfig(config), rng: new Rng(11) });
}

type Dest = 'ClusterIP' | 'NodePort' | 'LB IP';
interface Row {
  source: string;
  from: Origin;
  dest: Dest;
  /** [endpoints, masquerade] per policy column. */
  expect: Record<Policy, [string, boolean]>;
}

const POD: Origin = { from: 'pod', pod: 'ns/client' };
const NODE_ORIGIN: Origin = { from: 'node' };
const EXT: Origin = { from: 'external' };

const row = (
  source: string,
  from: Origin,
  dest: Dest,
  c: [string, boolean],
  l: [string, boolean],
  i: [string, boolean],
): Row => ({
  source,
  from,
  dest,
  expect: { 'eTP Cluster': c, 'eTP Local': l, 'iTP Local': i },
});

const MATRIX: Row[] = [
  row('10.0.0.2', POD, 'ClusterIP', [ALL, false], [ALL, false], [LOCAL, false]),
  row('10.0.0.2', POD, 'NodePort', [ALL, true], [ALL, false], [ALL, true]),
  row('10.0.0.2', POD, 'LB IP', [ALL, true], [ALL, false], [ALL, true]),
  row('192.168.0.2', NODE_ORIGIN, 'ClusterIP', [ALL, true], [ALL, true], [LOCAL, true]),
  row('192.168.0.2', NODE_ORIGIN, 'NodePort', [ALL, true], [ALL, true], [ALL, true]),
  row('127.0.0.1', NODE_ORIGIN, 'NodePort', [ALL, true], [ALL, true], [ALL, true]),
  row('192.168.0.2', NODE_ORIGIN, 'LB IP', [ALL, true], [ALL, true], [ALL, true]),
  row('203.0.113.2', EXT, 'ClusterIP', [ALL, true], [ALL, true], [LOCAL, true]),
  row('203.0.113.2', EXT, 'NodePort', [ALL, true], [LOCAL, false], [ALL, true]),
  row('203.0.113.2', EXT, 'LB IP', [ALL, true], [LOCAL, false], [ALL, true]),
];

function observe(e: IptablesEngine, r: Row, p: Policy): [string, boolean] {
  const ips = IPS[p];
  const dst =
    r.dest === 'ClusterIP'
      ? { ip: ips.cluster, port: 80 }
      : r.dest === 'LB IP'
        ? { ip: ips.lb, port: 80 }
        : { ip: r.source === '127.0.0.1' ? '127.0.0.1' : '192.168.0.2', port: ips.nodePort };
  const eps = new Set<string>();
  let masq = false;
  for (let i = 0; i < 40; i++) {
    const v = e.send({ proto: 'TCP', src: { ip: r.source, port: 20000 + i }, dst }, r.from, i);
    if (v.endpoint) eps.add(v.endpoint);
    masq = v.snat !== null;
  }
  const kind = eps.size === 2 ? ALL : eps.size === 1 && eps.has(LOCAL_EP) ? LOCAL : [...eps].join(',') || 'none';
  return [kind, masq];
}

for (const r of MATRIX) {
  test(`${r.source} → ${r.dest}`, (t) => {
    const e = engine({ clusterCIDR: '10.0.0.0/8' });
    for (const p of POLICIES) t.deepEqual(observe(e, r, p), r.expect[p], p);
  });
}

test('--masquerade-all: every ClusterIP row is masqueraded', (t) => {
  const e = engine({ clusterCIDR: '10.0.0.0/8', masqueradeAll: true });
  for (const r of MATRIX.filter((x) => x.dest === 'ClusterIP'))
    for (const p of POLICIES) t.true(observe(e, r, p)[1], `${r.source} ${p}`);
});

test('no local-traffic detector: ClusterIP never masqueraded, pod → external with eTP Local gets local endpoints only', (t) => {
  const e = engine({});
  for (const r of MATRIX.filter((x) => x.dest === 'ClusterIP'))
    for (const p of POLICIES) t.false(observe(e, r, p)[1], `${r.source} ${p}`);
  for (const r of MATRIX.filter((x) => x.source === '10.0.0.2' && x.dest !== 'ClusterIP'))
    t.deepEqual(observe(e, r, 'eTP Local'), [LOCAL, false], `${r.dest}: no pod short-circuit`);
});
