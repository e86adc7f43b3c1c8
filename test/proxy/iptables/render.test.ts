/**
 * iptables-save rendering: TestOverallIPTablesRules byte for byte, then the variants upstream's rule writer produces
 * for each flag and policy (checked chain by chain).
 */
import test from 'ava';
import type { Node, Service } from '../../../src/model/types.js';
import { type ProxyConfigInput, proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import type { ServiceTableOptions } from '../../../src/proxy/service-table.js';
import { Rng } from '../../../src/util/rng.js';
import { type EndpointSpec, node, service, slice, storeWith, tableFor } from '../fixtures.js';
import { expected, NODE, objects } from './upstream-overall.js';

function render(
  objs: Parameters<typeof storeWith>,
  config: ProxyConfigInput = { clusterCIDR: '10.0.0.0/8' },
  family: 'IPv4' | 'IPv6' = 'IPv4',
  options: ServiceTableOptions = {},
): string {
  const table = tableFor(storeWith(...objs), NODE, { families: [family], ...options });
  return new IptablesEngine({ table, config: proxyConfig(config), rng: new Rng(1) }).rules(family);
}

/** The `-A` lines of one chain in one table. */
function chain(text: string, table: 'filter' | 'nat', name: string): string[] {
  const start = text.indexOf(`*${table}\n`);
  const end = text.indexOf('COMMIT', start);
  return text
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith(`-A ${name} `) || l === `-A ${name}`);
}

const me: Node = node(NODE, ['192.168.0.2']);
const web = (extra: Partial<Parameters<typeof service>[2]> = {}): Service =>
  service('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80 }], ...extra });
const eps = (...e: (EndpointSpec | string)[]) => slice('ns1', 'svc1', e, [{ name: 'p80', port: 80 }]);

test('TestOverallIPTablesRules, byte for byte', (t) => {
  t.is(render(objects), expected);
});

test('the random cascade: 1/(n−i), endpoints in ip:port string order, last rule unconditional', (t) => {
  const text = render([me, web(), eps('10.0.0.1', '10.0.0.11', '10.0.0.2')]);
  const svc = chain(text, 'nat', 'KUBE-SVC-XPGD46QRK7WJZT7O');
  t.deepEqual(
    svc.slice(1).map((l) => l.replace(/ -j KUBE-SEP-\w+$/, '')),
    [
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.0.0.11:80" -m statistic --mode random --probability 0.3333333333',
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.0.0.1:80" -m statistic --mode random --probability 0.5000000000',
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.0.0.2:80"',
    ],
  );
});

test('IPv6: no localhost NodePorts, ::1 excluded, bracketed DNAT, no KUBE-FIREWALL', (t) => {
  const text = render(
    [
      node(NODE, ['2001:db8::1']),
      service('ns1', 'svc1', {
        type: 'NodePort',
        clusterIP: 'fd00:172:30::41',
        ports: [{ name: 'p80', port: 80, nodePort: 3001 }],
      }),
      slice('ns1', 'svc1', ['fd00:10:180::1'], [{ name: 'p80', port: 80 }]),
    ],
    { clusterCIDR: 'fd00:10::/64' },
    'IPv6',
  );
  t.false(text.includes('KUBE-FIREWALL'));
  t.false(text.includes('127.0.0.0/8'));
  t.deepEqual(chain(text, 'nat', 'KUBE-NODEPORTS'), [
    '-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-XPGD46QRK7WJZT7O',
  ]);
  t.true(
    text.includes(
      '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d ::1/128 -j KUBE-NODEPORTS',
    ),
  );
  t.true(text.includes('-m tcp -p tcp -j DNAT --to-destination [fd00:10:180::1]:80'));
  t.true(text.includes('-d fd00:172:30::41 --dport 80 ! -s fd00:10::/64 -j KUBE-MARK-MASQ'));
});

test('nodePortAddresses: one NodePort jump per matching node address, localhost NodePorts off', (t) => {
  const text = render(
    [
      node(NODE, ['192.168.0.2', '10.1.0.2']),
      web({ type: 'NodePort', ports: [{ name: 'p80', port: 80, nodePort: 3001 }] }),
      eps('10.180.0.1'),
    ],
    {
      clusterCIDR: '10.0.0.0/8',
      nodePortAddresses: ['192.168.0.0/16', '10.1.0.0/16'],
    },
  );
  const tail = chain(text, 'nat', 'KUBE-SERVICES').filter((l) => l.includes('KUBE-NODEPORTS'));
  t.deepEqual(tail, [
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.0.2 -j KUBE-NODEPORTS',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 10.1.0.2 -j KUBE-NODEPORTS',
  ]);
  t.false(
    text.includes('localhost_nps_accepted_pkts'),
    'nodePortAddresses without loopback disable localhost NodePorts',
  );
  t.false(text.includes(':KUBE-FIREWALL'));
});

// NewNodePortAddresses counts a CIDR as loopback when its address is a loopback one or it holds 127.0.0.0; such a
// CIDR keeps localhost NodePorts on even when it does not hold 127.0.0.1 (and then no address gets a NodePort jump).
const loopbackCidrs: { cidr: string; localhost: boolean; jumps: string[] }[] = [
  { cidr: '127.0.0.2/32', localhost: true, jumps: [] },
  { cidr: '127.0.0.0/32', localhost: true, jumps: [] },
  { cidr: '126.0.0.0/7', localhost: true, jumps: ['127.0.0.1'] },
  { cidr: '10.99.0.0/16', localhost: false, jumps: [] },
];
for (const { cidr, localhost, jumps } of loopbackCidrs)
  test(`nodePortAddresses [${cidr}]: localhost NodePorts ${localhost ? 'stay on' : 'are off'}`, (t) => {
    const text = render(
      [me, web({ type: 'NodePort', ports: [{ name: 'p80', port: 80, nodePort: 3001 }] }), eps('10.180.0.1')],
      { clusterCIDR: '10.0.0.0/8', nodePortAddresses: [cidr] },
    );
    t.is(text.includes(':KUBE-FIREWALL'), localhost);
    t.is(text.includes('-d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts'), localhost);
    const nodePortJumps = chain(text, 'nat', 'KUBE-SERVICES').filter((l) => l.endsWith('-j KUBE-NODEPORTS'));
    t.deepEqual(
      nodePortJumps.map((l) => l.split(' -d ')[1]!.split(' ')[0]),
      jumps,
      'a jump only for the interface addresses inside the CIDR',
    );
  });

test('localhostNodePorts=false: the NodePort jump excludes 127.0.0.0/8', (t) => {
  const text = render([me, web(), eps('10.180.0.1')], { clusterCIDR: '10.0.0.0/8', localhostNodePorts: false });
  t.true(text.includes('-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS'));
  t.false(text.includes(':KUBE-FIREWALL'));
});

test('masqueradeAll: the ClusterIP masquerade rule has no source test', (t) => {
  const text = render([me, web(), eps('10.180.0.1')], { clusterCIDR: '10.0.0.0/8', masqueradeAll: true });
  t.is(
    chain(text, 'nat', 'KUBE-SVC-XPGD46QRK7WJZT7O')[0],
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ',
  );
});

test('no clusterCIDR: no ClusterIP masquerade rule, no pod short-circuit', (t) => {
  const text = render(
    [
      me,
      web({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'p80', port: 80, nodePort: 3001 }] }),
      eps({ ip: '10.180.0.1', node: NODE }),
    ],
    {},
  );
  t.false(text.includes('KUBE-MARK-MASQ') && text.includes('cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s'));
  t.deepEqual(chain(text, 'nat', 'KUBE-EXT-XPGD46QRK7WJZT7O'), [
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-XPGD46QRK7WJZT7O',
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVL-XPGD46QRK7WJZT7O',
  ]);
});

test('eTP Local with a local endpoint: KUBE-SVL holds the local endpoint, no DROP rules', (t) => {
  const text = render([
    me,
    web({ type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'p80', port: 80, nodePort: 3001 }] }),
    eps({ ip: '10.180.0.1', node: NODE }, { ip: '10.180.0.2', node: 'other' }),
  ]);
  t.deepEqual(chain(text, 'nat', 'KUBE-SVL-XPGD46QRK7WJZT7O'), [
    '-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ',
  ]);
  t.is(chain(text, 'filter', 'KUBE-EXTERNAL-SERVICES').length, 0);
  t.is(chain(text, 'nat', 'KUBE-SVC-XPGD46QRK7WJZT7O').length, 3, 'masquerade rule + two endpoints');
});

test('iTP Local without local endpoints: filter DROP for the ClusterIP, no nat ClusterIP rule', (t) => {
  const text = render([me, web({ internalTrafficPolicy: 'Local' }), eps({ ip: '10.180.0.2', node: 'other' })]);
  t.deepEqual(chain(text, 'filter', 'KUBE-SERVICES'), [
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP',
  ]);
  t.deepEqual(chain(text, 'nat', 'KUBE-SERVICES').length, 1, 'only the NodePort jump');
  t.false(text.includes('KUBE-SVL-'), 'no local endpoints: no local chain');
});

/** svc1 as a LoadBalancer at 1.2.3.4 with these source ranges, one endpoint. */
function renderLB(loadBalancerSourceRanges: string[]): string {
  return render([
    me,
    web({
      type: 'LoadBalancer',
      ports: [{ name: 'p80', port: 80, nodePort: 3001 }],
      ingress: ['1.2.3.4'],
      loadBalancerSourceRanges,
    }),
    eps('10.180.0.1'),
  ]);
}

test('loadBalancerSourceRanges covering the node: the LB IP itself is allowed too', (t) => {
  const text = renderLB(['192.168.0.0/24']);
  t.deepEqual(chain(text, 'nat', 'KUBE-FW-XPGD46QRK7WJZT7O'), [
    '-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 192.168.0.0/24 -j KUBE-EXT-XPGD46QRK7WJZT7O',
    '-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 1.2.3.4 -j KUBE-EXT-XPGD46QRK7WJZT7O',
    '-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "other traffic to ns1/svc1:p80 will be dropped by KUBE-PROXY-FIREWALL"',
  ]);
});

test('a zero-masked loadBalancerSourceRange allows every source: no firewall chain, as with no ranges', (t) => {
  const text = renderLB(['10.0.0.0/8', '0.0.0.0/0']);
  t.false(text.includes('KUBE-FW-'), text);
  t.false(text.includes('KUBE-PROXY-FIREWALL -m'), 'no DROP rule for the LB IP');
  t.true(
    chain(text, 'nat', 'KUBE-SERVICES').some(
      (l) => l.includes('-d 1.2.3.4') && l.endsWith('-j KUBE-EXT-XPGD46QRK7WJZT7O'),
    ),
  );
});

test("loadBalancerSourceRanges in a family the node has no address of: the proxier's node IP is loopback", (t) => {
  // detectNodeIPs starts each family at its loopback address, so `::/1` holds the IPv6 proxier's node IP.
  const text = render(
    [
      me,
      web({
        clusterIP: 'fd00:30::41',
        ipFamilies: ['IPv6'],
        type: 'LoadBalancer',
        ports: [{ name: 'p80', port: 80, nodePort: 3001 }],
        ingress: ['2001:db8::4'],
        loadBalancerSourceRanges: ['::/1'],
      }),
      slice('ns1', 'svc1', ['fd00:180::1'], [{ name: 'p80', port: 80 }], { addressType: 'IPv6' }),
    ],
    { clusterCIDR: 'fd00:180::/64' },
    'IPv6',
  );
  t.deepEqual(chain(text, 'nat', 'KUBE-FW-XPGD46QRK7WJZT7O').slice(0, 2), [
    '-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s ::/1 -j KUBE-EXT-XPGD46QRK7WJZT7O',
    '-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 2001:db8::4 -j KUBE-EXT-XPGD46QRK7WJZT7O',
  ]);
});

test('large cluster mode (over 1000 endpoints): per-endpoint comments are dropped', (t) => {
  const many = Array.from({ length: 1001 }, (_, i) => `10.${180 + (i >> 8)}.${i & 255}.1`);
  const text = render([me, web(), eps(...many)]);
  const sep = text.split('\n').filter((l) => l.startsWith('-A KUBE-SEP-'));
  t.true(sep.every((l) => !l.includes('--comment')));
  const svc = chain(text, 'nat', 'KUBE-SVC-XPGD46QRK7WJZT7O');
  t.true(svc.slice(1).every((l) => !l.includes('->')));
  t.true(svc[0]!.includes('"ns1/svc1:p80 cluster IP"'), 'Service-level comments stay');
});

test('randomFully adds --random-fully to MASQUERADE (off by default)', (t) => {
  t.true(render([me], { randomFully: true }).includes('-j MASQUERADE --random-fully\n'));
  t.true(render([me]).includes('-j MASQUERADE\n'));
});

// TestDropInvalidRule: kube-proxy sets nf_conntrack_tcp_be_liberal before making its proxier, which then leaves the
// INVALID drop out of KUBE-FORWARD.
for (const { tcpBeLiberal, invalidDrop } of [
  { tcpBeLiberal: undefined, invalidDrop: true },
  { tcpBeLiberal: false, invalidDrop: true },
  { tcpBeLiberal: true, invalidDrop: false },
])
  test(`KUBE-FORWARD with tcpBeLiberal ${tcpBeLiberal}: INVALID ${invalidDrop ? 'dropped' : 'not dropped'}`, (t) => {
    const config: ProxyConfigInput = tcpBeLiberal === undefined ? {} : { tcpBeLiberal };
    const rules = chain(render([me, web(), eps('10.180.0.1')], config), 'filter', 'KUBE-FORWARD');
    t.deepEqual(rules, [
      ...(invalidDrop
        ? [
            '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP',
          ]
        : []),
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
      '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ]);
  });

test('builtin chains and kube-proxy jumps on request', (t) => {
  const table = tableFor(storeWith(me, web(), eps('10.180.0.1')), NODE, { families: ['IPv4'] });
  const text = new IptablesEngine({ table, config: proxyConfig(), rng: new Rng(1) }).rules('IPv4', { builtin: true });
  t.true(text.includes(':PREROUTING ACCEPT [0:0]\n'));
  t.true(text.includes('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n'));
  t.true(text.includes('-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD\n'));
});

// kube-proxy ensures KUBE-FIREWALL and the INPUT and OUTPUT jumps to it on every full sync; only the guard rule in it
// depends on localhost NodePorts (IPv4, flag on). Without the rule the chain is empty: the jump is taken and returns.
const firewallCases: { name: string; family: 'IPv4' | 'IPv6'; config: ProxyConfigInput; guard: boolean }[] = [
  { name: 'IPv4, localhost NodePorts on', family: 'IPv4', config: {}, guard: true },
  { name: 'IPv4, localhostNodePorts: false', family: 'IPv4', config: { localhostNodePorts: false }, guard: false },
  { name: 'IPv6', family: 'IPv6', config: {}, guard: false },
];
for (const { name, family, config, guard } of firewallCases)
  test(`KUBE-FIREWALL jumps are always there (${name}); the guard rule ${guard ? 'too' : 'is not'}`, (t) => {
    const v4 = family === 'IPv4';
    const objs = [
      node(NODE, [v4 ? '192.168.0.2' : 'fd00:192::2']),
      web(v4 ? {} : { clusterIP: 'fd00:30::41', ipFamilies: ['IPv6'] }),
      slice('ns1', 'svc1', [v4 ? '10.180.0.1' : 'fd00:180::1'], [{ name: 'p80', port: 80 }], { addressType: family }),
    ];
    const table = tableFor(storeWith(...objs), NODE, { families: [family] });
    const e = new IptablesEngine({ table, config: proxyConfig(config), rng: new Rng(1) });
    const full = e.rules(family, { builtin: true });
    t.true(full.includes(':KUBE-FIREWALL - [0:0]\n'));
    t.true(full.includes('-A INPUT -j KUBE-FIREWALL\n'));
    t.true(full.includes('-A OUTPUT -j KUBE-FIREWALL\n'));
    t.is(full.includes('-A KUBE-FIREWALL '), guard);
    t.is(e.rules(family).includes(':KUBE-FIREWALL'), guard, 'restore data declares the chain only with its rule');
    const nodeIP = v4 ? '192.168.0.2' : 'fd00:192::2';
    const v = e.send(
      { proto: 'TCP', src: { ip: nodeIP, port: 40000 }, dst: { ip: nodeIP, port: 22 } },
      { from: 'node' },
      0,
    );
    t.true(v.steps.some((s) => s.where === 'filter/OUTPUT' && s.rule.endsWith('-j KUBE-FIREWALL')));
  });

test('terminating endpoints: only serving ones are used when none is ready', (t) => {
  const text = render([
    me,
    web(),
    eps(
      { ip: '10.180.0.1', ready: false, serving: true, terminating: true },
      { ip: '10.180.0.2', ready: false, serving: false, terminating: true },
    ),
  ]);
  t.deepEqual(chain(text, 'nat', 'KUBE-SVC-XPGD46QRK7WJZT7O').slice(1), [
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ',
  ]);
});

test('ExternalName, headless and ClusterIP-less Services render nothing', (t) => {
  const text = render([
    me,
    service('ns1', 'ext', { type: 'ExternalName', externalName: 'example.com', ports: [{ port: 80 }] }),
    service('ns1', 'headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
  ]);
  t.is(text, render([me]));
});
