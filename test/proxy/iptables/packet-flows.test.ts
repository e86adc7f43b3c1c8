/**
 * Packet flows from kube-proxy's proxier_test.go (TestLoadBalancer, TestNodePorts, the multi-protocol ClusterIP
 * flows) and the masquerade matrix of TestInternalExternalMasquerade (proxy.md §2.3), replayed through our walk.
 * Upstream's tracer answers with the possible endpoints (or DROP/REJECT/ACCEPT/"") and whether the packet was
 * masqueraded; we check the same two facts over enough seeded flows to see every endpoint.
 */
import test, { type ExecutionContext } from 'ava';
import type { IPFamily, Protocol } from '../../../src/model/types.js';
import { type ProxyConfigInput, proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import type { Origin } from '../../../src/proxy/packet.js';
import { Rng } from '../../../src/util/rng.js';
import { node, service, slice, storeWith, tableFor } from '../fixtures.js';

const NODE = 'test-node';
/** testNodeIPs of the fake proxier: primary, alternate, and the IPv6 pair. */
const NODE_IPS = ['192.168.0.2', '192.168.1.2', '2001:db8::1', '2001:db8:1::2'];

type Objects = Parameters<typeof storeWith>;

function engineFor(objects: Objects, family: IPFamily = 'IPv4', config: ProxyConfigInput = {}): IptablesEngine {
  const table = tableFor(storeWith(node(NODE, NODE_IPS), ...objects), NODE, { families: [family] });
  const clusterCIDR = family === 'IPv4' ? '10.0.0.0/8' : 'fd00:10::/64';
  return new IptablesEngine({ table, config: proxyConfig({ clusterCIDR, ...config }), rng: new Rng(3) });
}

interface Flow {
  name: string;
  source: string;
  dest: string;
  port: number;
  protocol?: Protocol;
  /** `ip:port, ip:port` (sorted), or DROP / REJECT / ACCEPT, or '' for "no rule touched it". */
  output: string;
  masq?: boolean;
}

function originOf(e: IptablesEngine, source: string): Origin {
  if (source.startsWith('10.') || source.startsWith('fd00:10:')) return { from: 'pod', pod: 'ns/client' };
  if (e.ruleset(source.includes(':') ? 'IPv6' : 'IPv4').context.localAddresses.has(source)) return { from: 'node' };
  return { from: 'external' };
}

function runFlows(t: ExecutionContext, e: IptablesEngine, flows: Flow[]): void {
  for (const f of flows) {
    const seen = new Set<string>();
    let masq: boolean | undefined;
    let verdicts = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const src = { ip: f.source, port: 10000 + i };
      const v = e.send(
        { proto: f.protocol ?? 'TCP', src, dst: { ip: f.dest, port: f.port } },
        originOf(e, f.source),
        i,
      );
      verdicts.add(v.verdict);
      if (v.endpoint) seen.add(v.endpoint);
      masq = v.snat !== null;
    }
    verdicts = new Set([...verdicts]);
    let got: string;
    if (seen.size) got = [...seen].sort().join(', ');
    else if (verdicts.has('DROP')) got = 'DROP';
    else if (verdicts.has('REJECT')) got = 'REJECT';
    else got = '';
    const want = f.output === 'ACCEPT' ? '' : f.output;
    t.is(got, want, f.name);
    if (f.masq !== undefined && seen.size) t.is(masq, f.masq, `${f.name}: masquerade`);
  }
}

test('TestLoadBalancer flows', (t) => {
  const e = engineFor([
    service('ns1', 'svc1', {
      type: 'LoadBalancer',
      clusterIP: '172.30.0.41',
      ports: [{ name: 'p80', port: 80, nodePort: 3001 }],
      ingress: ['1.2.3.4', '5.6.7.8'],
      loadBalancerSourceRanges: ['192.168.0.0/24', ' 203.0.113.0/25'],
    }),
    slice('ns1', 'svc1', ['10.180.0.1'], [{ name: 'p80', port: 80 }]),
  ]);
  const ep = '10.180.0.1:80';
  runFlows(t, e, [
    { name: 'pod to cluster IP', source: '10.0.0.2', dest: '172.30.0.41', port: 80, output: ep, masq: false },
    { name: 'external to nodePort', source: '203.0.113.2', dest: '192.168.0.2', port: 3001, output: ep, masq: true },
    {
      name: 'nodePort bypasses LoadBalancerSourceRanges',
      source: '203.0.113.130',
      dest: '192.168.0.2',
      port: 3001,
      output: ep,
      masq: true,
    },
    { name: 'accepted external to LB1', source: '203.0.113.2', dest: '1.2.3.4', port: 80, output: ep, masq: true },
    { name: 'accepted external to LB2', source: '203.0.113.2', dest: '5.6.7.8', port: 80, output: ep, masq: true },
    { name: 'blocked external to LB1', source: '203.0.113.130', dest: '1.2.3.4', port: 80, output: 'DROP' },
    { name: 'blocked external to LB2', source: '203.0.113.130', dest: '5.6.7.8', port: 80, output: 'DROP' },
    { name: 'pod to LB1 (blocked)', source: '10.0.0.2', dest: '1.2.3.4', port: 80, output: 'DROP' },
    { name: 'pod to LB2 (blocked)', source: '10.0.0.2', dest: '5.6.7.8', port: 80, output: 'DROP' },
    { name: 'node to LB1 (allowed)', source: '192.168.0.2', dest: '1.2.3.4', port: 80, output: ep, masq: true },
    { name: 'node to LB2 (allowed)', source: '192.168.0.2', dest: '5.6.7.8', port: 80, output: ep, masq: true },
    { name: 'same node to LB1, SNATted to LB1', source: '1.2.3.4', dest: '1.2.3.4', port: 80, output: ep, masq: true },
    { name: 'same node to LB2, SNATted to LB2', source: '5.6.7.8', dest: '5.6.7.8', port: 80, output: ep, masq: true },
  ]);
});

test('ClusterIP flows: hairpin, target ports, TCP/UDP/SCTP on one port', (t) => {
  const eps = (p: number) => ['10.180.0.1', '10.180.2.1'].map((ip) => `${ip}:${p}`).join(', ');
  const e = engineFor([
    service('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80 }] }),
    slice('ns1', 'svc1', ['10.180.0.1'], [{ name: 'p80', port: 80 }]),
    service('ns2', 'svc2', {
      clusterIP: '172.30.0.42',
      ports: [
        { name: 'p80', port: 80 },
        { name: 'p443', port: 443 },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53 },
        { name: 'dns-sctp', port: 53, protocol: 'SCTP' },
      ],
    }),
    slice(
      'ns2',
      'svc2',
      ['10.180.0.1', '10.180.2.1'],
      [
        { name: 'p80', port: 80 },
        { name: 'p443', port: 8443 },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 5353 },
        { name: 'dns-sctp', port: 53, protocol: 'SCTP' },
      ],
    ),
  ]);
  runFlows(t, e, [
    {
      name: 'simple clusterIP',
      source: '10.180.0.2',
      dest: '172.30.0.41',
      port: 80,
      output: '10.180.0.1:80',
      masq: false,
    },
    {
      name: 'hairpin to cluster IP',
      source: '10.180.0.1',
      dest: '172.30.0.41',
      port: 80,
      output: '10.180.0.1:80',
      masq: true,
    },
    { name: 'multiple endpoints', source: '10.180.0.2', dest: '172.30.0.42', port: 80, output: eps(80), masq: false },
    { name: 'TargetPort', source: '10.180.0.2', dest: '172.30.0.42', port: 443, output: eps(8443), masq: false },
    {
      name: 'TCP on shared port',
      source: '10.180.0.2',
      dest: '172.30.0.42',
      port: 53,
      protocol: 'TCP',
      output: eps(5353),
    },
    {
      name: 'UDP on shared port',
      source: '10.180.0.2',
      dest: '172.30.0.42',
      port: 53,
      protocol: 'UDP',
      output: eps(53),
    },
    {
      name: 'SCTP on shared port',
      source: '10.180.0.2',
      dest: '172.30.0.42',
      port: 53,
      protocol: 'SCTP',
      output: eps(53),
    },
    {
      name: 'TCP-only port does not match UDP',
      source: '10.180.0.2',
      dest: '172.30.0.42',
      port: 80,
      protocol: 'UDP',
      output: '',
    },
    { name: "svc1 does not accept svc2's ports", source: '10.180.0.2', dest: '172.30.0.41', port: 443, output: '' },
  ]);
});

const nodePortCases: {
  name: string;
  family: IPFamily;
  localhostNodePorts: boolean;
  nodePortAddresses: string[];
  allowAltNodeIP: boolean;
  expectFirewall: boolean;
}[] = [
  {
    name: 'ipv4, localhost-nodeports enabled',
    family: 'IPv4',
    localhostNodePorts: true,
    nodePortAddresses: [],
    allowAltNodeIP: true,
    expectFirewall: true,
  },
  {
    name: 'ipv4, localhost-nodeports disabled',
    family: 'IPv4',
    localhostNodePorts: false,
    nodePortAddresses: [],
    allowAltNodeIP: true,
    expectFirewall: false,
  },
  {
    name: 'ipv4, localhost-nodeports disabled, localhost in nodeport-addresses',
    family: 'IPv4',
    localhostNodePorts: false,
    nodePortAddresses: ['192.168.0.0/24', '127.0.0.1/32'],
    allowAltNodeIP: false,
    expectFirewall: false,
  },
  {
    name: 'ipv4, multiple nodeport-addresses',
    family: 'IPv4',
    localhostNodePorts: false,
    nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'],
    allowAltNodeIP: true,
    expectFirewall: false,
  },
  {
    name: 'ipv6, localhost-nodeports enabled',
    family: 'IPv6',
    localhostNodePorts: true,
    nodePortAddresses: [],
    allowAltNodeIP: true,
    expectFirewall: false,
  },
  {
    name: 'ipv6, localhost-nodeports disabled',
    family: 'IPv6',
    localhostNodePorts: false,
    nodePortAddresses: [],
    allowAltNodeIP: true,
    expectFirewall: false,
  },
  {
    name: 'ipv6, multiple nodeport-addresses',
    family: 'IPv6',
    localhostNodePorts: false,
    nodePortAddresses: ['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64'],
    allowAltNodeIP: false,
    expectFirewall: false,
  },
];

for (const tc of nodePortCases) {
  test(`TestNodePorts: ${tc.name}`, (t) => {
    const v4 = tc.family === 'IPv4';
    const svcIP = v4 ? '172.30.0.41' : 'fd00:172:30::41';
    const [ep1, ep2] = v4 ? ['10.180.0.1', '10.180.2.1'] : ['fd00:10:180::1', 'fd00:10:180::2:1'];
    const e = engineFor(
      [
        service('ns1', 'svc1', {
          type: 'NodePort',
          clusterIP: svcIP,
          ports: [{ name: 'p80', port: 80, nodePort: 3001 }],
        }),
        slice('ns1', 'svc1', [ep1!, { ip: ep2!, node: NODE }], [{ name: 'p80', port: 80 }]),
      ],
      tc.family,
      { localhostNodePorts: tc.localhostNodePorts, nodePortAddresses: tc.nodePortAddresses },
    );
    const hp = (ip: string) => (v4 ? `${ip}:80` : `[${ip}]:80`);
    const output = [hp(ep1!), hp(ep2!)].sort().join(', ');
    const [pod, client, nodeIP, alt, lo] = v4
      ? ['10.0.0.2', '203.0.113.2', '192.168.0.2', '192.168.1.2', '127.0.0.1']
      : ['fd00:10::2', '2600:5200::1', '2001:db8::1', '2001:db8:1::2', '::1'];
    runFlows(t, e, [
      { name: 'pod to cluster IP', source: pod!, dest: svcIP, port: 80, output, masq: false },
      { name: 'external to nodePort', source: client!, dest: nodeIP!, port: 3001, output, masq: true },
      { name: 'node to nodePort', source: nodeIP!, dest: nodeIP!, port: 3001, output, masq: true },
      v4 && tc.localhostNodePorts
        ? { name: 'localhost to nodePort gets masqueraded', source: lo!, dest: lo!, port: 3001, output, masq: true }
        : { name: 'localhost to nodePort is ignored', source: lo!, dest: lo!, port: 3001, output: '' },
      tc.allowAltNodeIP
        ? { name: 'external to nodePort on secondary IP', source: client!, dest: alt!, port: 3001, output, masq: true }
        : { name: 'secondary nodeIP ignores NodePorts', source: client!, dest: alt!, port: 3001, output: '' },
    ]);
    const rules = e.rules(tc.family);
    t.is(rules.includes('-A KUBE-FIREWALL'), tc.expectFirewall, 'KUBE-FIREWALL anti-martian rule');
  });
}

test('TestHealthCheckNodePort: the filter accepts the health-check port while the Service exists', (t) => {
  const svc = service('ns1', 'svc1', {
    type: 'LoadBalancer',
    clusterIP: '172.30.0.42',
    ports: [{ name: 'p80', port: 80, nodePort: 3001 }],
    healthCheckNodePort: 30000,
    externalTrafficPolicy: 'Local',
  });
  const e = engineFor([svc], 'IPv4', { nodePortAddresses: ['127.0.0.0/8'] });
  const v = e.send(
    { proto: 'TCP', src: { ip: '1.2.3.4', port: 1 }, dst: { ip: '192.168.0.2', port: 30000 } },
    { from: 'external' },
    0,
  );
  t.is(v.verdict, 'ACCEPT');
  t.true(v.steps.some((s) => s.where === 'filter/KUBE-NODEPORTS' && s.rule.includes('health check node port')));
});
