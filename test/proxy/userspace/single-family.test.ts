/**
 * The userspace proxier as it ran: one family (its node IP's), `spec.clusterIP` only, every LB ingress IP (it predates
 * ipMode), portals in openPortal's order, and a full proxy port range that skips a port instead of failing.
 */
import test from 'ava';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { createUserspaceEngine, type UserspaceEngineOptions } from '../../../src/proxy/userspace/engine.js';
import { Rng } from '../../../src/util/rng.js';
import { node, type ServiceInput, service, slice, storeWith, tableFor } from '../fixtures.js';
import { EXTERNAL, tcp } from '../ipvs/engine-helpers.js';

const V4 = '172.18.0.2';
const V6 = 'fc00::2';

function engineWith(
  nodeAddresses: string[],
  services: [string, Partial<ServiceInput>][],
  opts: UserspaceEngineOptions = {},
) {
  const objects = services.flatMap(([name, spec]) => [
    service('default', name, { ports: [{ name: 'http', port: 80, nodePort: 0 }], ...spec }),
    slice('default', name, [{ ip: '10.244.1.5', node: 'node-a' }], [{ name: 'http', port: 8080 }]),
    slice('default', name, [{ ip: 'fd00:10:1::5', node: 'node-a' }], [{ name: 'http', port: 8080 }], {
      addressType: 'IPv6',
      name: `${name}-v6`,
    }),
  ]);
  const store = storeWith(node('node-a', nodeAddresses), ...objects);
  return createUserspaceEngine(
    { table: tableFor(store, 'node-a'), config: proxyConfig({ mode: 'userspace' }), rng: new Rng(3) },
    opts,
  );
}

const opened = (e: ReturnType<typeof engineWith>) =>
  e.openedPorts().map((o) => `${o.portal.family} ${o.portal.clusterIP}`);

const cases: { title: string; node: string[]; spec: Partial<ServiceInput>; want: string[] }[] = [
  {
    title: 'IPv4 node, IPv4 Service',
    node: [V4, V6],
    spec: { clusterIP: '10.96.0.10', ipFamilies: ['IPv4'] },
    want: ['IPv4 10.96.0.10'],
  },
  {
    title: 'IPv4 node, IPv6-only Service: not served',
    node: [V4, V6],
    spec: { clusterIP: 'fd00:96::10', ipFamilies: ['IPv6'] },
    want: [],
  },
  {
    title: 'IPv4 node, dual-stack IPv4-primary: the IPv4 ClusterIP only',
    node: [V4, V6],
    spec: {
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10', 'fd00:96::10'],
      ipFamilies: ['IPv4', 'IPv6'],
      ipFamilyPolicy: 'PreferDualStack',
    },
    want: ['IPv4 10.96.0.10'],
  },
  {
    title: 'IPv4 node, dual-stack IPv6-primary: spec.clusterIP is IPv6, so nothing',
    node: [V4, V6],
    spec: {
      clusterIP: 'fd00:96::10',
      clusterIPs: ['fd00:96::10', '10.96.0.10'],
      ipFamilies: ['IPv6', 'IPv4'],
      ipFamilyPolicy: 'PreferDualStack',
    },
    want: [],
  },
  {
    title: 'IPv6 node, IPv6-only Service',
    node: [V6, V4],
    spec: { clusterIP: 'fd00:96::10', ipFamilies: ['IPv6'] },
    want: ['IPv6 fd00:96::10'],
  },
];

for (const c of cases) {
  test(`one family: ${c.title}`, (t) => {
    t.deepEqual(opened(engineWith(c.node, [['web', c.spec]])), c.want);
  });
}

test('a NodePort of the IPv4 proxier does not catch IPv6 packets', (t) => {
  const e = engineWith(
    [V4, V6],
    [['web', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }]],
  );
  t.is(e.send(tcp('192.0.2.9', 40000, V4, 30080), EXTERNAL, 1).verdict, 'DNAT');
  const v6 = e.send(tcp('2001:db8::9', 40000, V6, 30080), EXTERNAL, 1);
  t.is(v6.verdict, 'ACCEPT');
  t.is(v6.endpoint, null);
});

test('every LB ingress IP gets a portal, ipMode Proxy too, after the externalIPs (openPortal order)', (t) => {
  const e = engineWith(
    [V4],
    [
      [
        'lb',
        {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.10',
          externalIPs: ['198.51.100.20'],
          ingress: [{ ip: '198.51.100.10', ipMode: 'Proxy' }],
          ports: [{ name: 'http', port: 80, nodePort: 30080 }],
        },
      ],
    ],
  );
  const container = e
    .rules('IPv4')
    .split('\n')
    .filter((l) => l.startsWith('-A KUBE-PORTALS-CONTAINER'));
  t.deepEqual(
    container.map((l) => / -d (\S+)/.exec(l)![1]),
    ['10.96.0.10/32', '198.51.100.20/32', '198.51.100.20/32', '198.51.100.10/32'],
  );
  t.is(e.send(tcp('192.0.2.9', 40000, '198.51.100.10', 80), EXTERNAL, 1).verdict, 'DNAT');
});

test('a full proxy port range leaves a Service port unopened instead of failing', (t) => {
  const services: [string, Partial<ServiceInput>][] = [
    ['a', { clusterIP: '10.96.0.1' }],
    ['b', { clusterIP: '10.96.0.2' }],
    ['c', { clusterIP: '10.96.0.3' }],
  ];
  const e = engineWith([V4], services, { proxyPortRange: { first: 40000, last: 40001 } });
  t.is(e.openedPorts().length, 2);
  const served = ['10.96.0.1', '10.96.0.2', '10.96.0.3'].map(
    (ip, i) => e.send(tcp('10.244.1.9', 41000 + i, ip, 80), EXTERNAL, 1).verdict,
  );
  t.deepEqual([...served].sort(), ['ACCEPT', 'DNAT', 'DNAT']);
});

const portalsOf = (e: ReturnType<typeof engineWith>) =>
  e
    .rules('IPv4')
    .split('\n')
    .filter((l) => l.startsWith('-A KUBE-PORTALS-CONTAINER') || l.startsWith('-A KUBE-NODEPORT-CONTAINER'))
    .map((l) => / -d (\S+)/.exec(l)?.[1] ?? 'nodePort');

// openPortal installs the ClusterIP, externalIPs, LB ingress IPs, then the NodePort, and returns at the first error:
// the other family's address makes a malformed iptables rule (exit status 2), so nothing after it is installed.
const cutCases: { title: string; spec: Partial<ServiceInput>; want: string[] }[] = [
  {
    title: 'an IPv6 externalIP stops the portals after it, LB IPs and NodePort included',
    spec: { externalIPs: ['198.51.100.20', '2001:db8::1', '198.51.100.21'], ingress: [{ ip: '198.51.100.10' }] },
    want: ['10.96.0.10/32', '198.51.100.20/32', '198.51.100.20/32'],
  },
  {
    title: 'a dual-stack LB status [v4, v6]: the IPv4 LB IP is served, the NodePort is not',
    spec: { ingress: [{ ip: '198.51.100.10' }, { ip: 'fc00::1' }] },
    want: ['10.96.0.10/32', '198.51.100.10/32'],
  },
  {
    title: 'one family only: every portal, the NodePort last',
    spec: { externalIPs: ['198.51.100.20'], ingress: [{ ip: '198.51.100.10' }] },
    want: ['nodePort', '10.96.0.10/32', '198.51.100.20/32', '198.51.100.20/32', '198.51.100.10/32'],
  },
];

for (const c of cutCases) {
  test(`openPortal stops at the first error: ${c.title}`, (t) => {
    const e = engineWith(
      [V4, V6],
      [
        [
          'lb',
          {
            type: 'LoadBalancer',
            clusterIP: '10.96.0.10',
            ports: [{ name: 'http', port: 80, nodePort: 30080 }],
            ...c.spec,
          },
        ],
      ],
    );
    t.deepEqual(portalsOf(e), c.want);
    const nodePort = e.send(tcp('192.0.2.9', 40000, V4, 30080), EXTERNAL, 1).verdict;
    t.is(nodePort, c.want.includes('nodePort') ? 'DNAT' : 'ACCEPT');
  });
}

test("the other family's tables hold none of the proxier's chains (one iptables interface)", (t) => {
  const e = engineWith([V4, V6], [['web', { clusterIP: '10.96.0.10' }]]);
  const v6 = e.rules('IPv6');
  t.false(v6.includes('KUBE-'));
  t.regex(v6, /^\*nat\n:PREROUTING ACCEPT \[0:0\]/);
  t.true(e.rules('IPv4').includes('KUBE-PORTALS-CONTAINER'));
});
