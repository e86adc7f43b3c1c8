/**
 * The IPVS engine end to end over a store: virtual servers per ClusterIP / NodePort / LB / externalIP, rr decisions,
 * conntrack for established flows, masquerading as IPVS mode marks it, local-policy fallback, no-endpoint REJECT,
 * KUBE-IPVS-FILTER, source ranges, and the ipvsadm listing.
 */
import test from 'ava';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { createIptablesEngine } from '../../../src/proxy/iptables/engine.js';
import { setName } from '../../../src/proxy/ipvs/ipsets.js';
import { Rng } from '../../../src/util/rng.js';
import { node, put, type ServiceInput, service, slice, tableFor } from '../fixtures.js';
import { EXTERNAL, engineOn, HOST, NODE_A, POD, replyTo, storeOf, tcp } from './engine-helpers.js';

const WEB_EPS = [
  { ip: '10.244.1.5', node: 'node-a' },
  { ip: '10.244.2.6', node: 'node-b' },
  { ip: '10.244.2.7', node: 'node-b' },
];

function web(extra: Partial<ServiceInput> = {}) {
  return [
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }], ...extra }),
    slice('default', 'web', WEB_EPS, [{ name: 'http', port: 80 }]),
  ];
}

test('ClusterIP: rr walks the real-server list (newest first), later packets follow conntrack', (t) => {
  const engine = engineOn(storeOf(...web()));
  const picks = [1000, 1001, 1002, 1003].map((p) => engine.send(tcp('10.244.1.9', p, '10.96.0.10', 80), POD, 1));
  t.deepEqual(
    picks.map((v) => v.endpoint),
    ['10.244.2.7:80', '10.244.2.6:80', '10.244.1.5:80', '10.244.2.7:80'],
  );
  const first = picks[0]!;
  t.is(first.verdict, 'DNAT');
  t.is(first.conntrack, 'new');
  t.is(first.snat, null);
  t.is(first.service, 'default/web:http');
  t.deepEqual(first.packet.dst, { ip: '10.244.2.7', port: 80 });
  t.true(first.steps.some((s) => s.where === 'ipvs' && s.rule === 'TCP  10.96.0.10:80 rr'));
  t.true(first.steps.some((s) => s.where === 'ipvs/rr' && /next usable destination 10\.244\.2\.7:80/.test(s.decision)));

  const again = engine.send(tcp('10.244.1.9', 1000, '10.96.0.10', 80), POD, 2);
  t.is(again.conntrack, 'established');
  t.is(again.endpoint, '10.244.2.7:80');
  const back = engine.reply(replyTo(again.packet), 2);
  t.is(back.conntrack, 'reply');
  t.deepEqual(back.packet.src, { ip: '10.96.0.10', port: 80 });
  t.deepEqual(back.packet.dst, { ip: '10.244.1.9', port: 1000 });
});

test('masquerade with a local-traffic detector: pods keep their source, the node and outsiders are SNATed', (t) => {
  const engine = engineOn(storeOf(...web({ type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })));
  t.is(engine.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 1).snat, null);
  t.is(engine.send(tcp(NODE_A, 2, '10.96.0.10', 80), HOST, 1).snat, NODE_A);
  t.is(engine.send(tcp('203.0.113.5', 3, '10.96.0.10', 80), EXTERNAL, 1).snat, NODE_A);
  const np = engine.send(tcp('203.0.113.5', 4, NODE_A, 30080), EXTERNAL, 1);
  t.is(np.verdict, 'DNAT');
  t.is(np.snat, NODE_A);
  t.true(np.steps.some((s) => s.where === 'nat/KUBE-NODE-PORT' && s.decision === 'mark for masquerade'));
  // Loopback sources return from KUBE-SERVICES before any mark.
  const lo = engine.send(tcp('127.0.0.1', 5, '10.96.0.10', 80), HOST, 1);
  t.is(lo.snat, null);
  // A trace starts as iptables mode's does: conntrack's miss, the node's OUTPUT jump, then KUBE-SERVICES.
  t.deepEqual(
    lo.steps.slice(0, 3).map((s) => s.rule),
    [
      'no entry for this tuple',
      '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
      '-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN',
    ],
  );
});

// ip_vs_nat_xmit will not route a loopback-sourced packet off the node (crosses_local_route_boundary): such a packet
// is scheduled, then dropped, unless its real server is one of the node's own addresses (a hostNetwork endpoint).
for (const [title, endpoints, verdict, explain] of [
  ['pod endpoints (one on this node): dropped', WEB_EPS, 'DROP', true],
  ['pod endpoints, not explaining: dropped', WEB_EPS, 'DROP', false],
  ['a hostNetwork endpoint on this node: DNATed', [{ ip: NODE_A, node: 'node-a' }], 'DNAT', true],
  ['a hostNetwork endpoint, not explaining: DNATed', [{ ip: NODE_A, node: 'node-a' }], 'DNAT', false],
] as const) {
  test(`the node to a ClusterIP from 127.0.0.1, ${title}`, (t) => {
    const engine = engineOn(
      storeOf(
        service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] }),
        slice('default', 'web', [...endpoints], [{ name: 'http', port: 80 }]),
      ),
      {},
      { addOrder: 'sorted' },
      'node-a',
      explain,
    );
    for (const port of [5, 6]) {
      const v = engine.send(tcp('127.0.0.1', port, '10.96.0.10', 80), HOST, 1);
      t.is(v.verdict, verdict);
      t.is(v.snat, null);
      // A dropped packet leaves no conntrack entry: its retransmission is scheduled and dropped again.
      const again = engine.send(tcp('127.0.0.1', port, '10.96.0.10', 80), HOST, 1);
      t.is(again.verdict, verdict);
      t.is(again.conntrack, verdict === 'DROP' ? 'none' : 'established');
      t.is(engine.conntrack.size, verdict === 'DROP' ? 0 : port - 4);
    }
    // The node's own address reaches any endpoint.
    t.is(engine.send(tcp(NODE_A, 7, '10.96.0.10', 80), HOST, 1).verdict, 'DNAT');
  });
}

test('a loopback-sourced packet is dropped after IPVS scheduled it: rr has moved on', (t) => {
  const engine = engineOn(storeOf(...web()));
  const lo = engine.send(tcp('127.0.0.1', 5, '10.96.0.10', 80), HOST, 1);
  t.is(lo.verdict, 'DROP');
  t.regex(lo.steps.at(-1)!.decision, /^DROP: 10\.244\.2\.7:80 is not a local address/);
  // rr walks 10.244.2.7, 10.244.2.6, 10.244.1.5: the dropped packet took the first.
  t.is(engine.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 1).endpoint, '10.244.2.6:80');
});

test('SCTP NodePorts are in hash:ip,port sets (KUBE-NODE-PORT-SCTP-HASH): a ClusterIP on the same port is not marked', (t) => {
  const sctp = (name: string, clusterIP: string, extra: Partial<ServiceInput>) => [
    service('default', name, { clusterIP, ports: [{ port: 30080, protocol: 'SCTP' }], ...extra }),
    slice('default', name, WEB_EPS, [{ port: 30080, protocol: 'SCTP' }]),
  ];
  const engine = engineOn(
    storeOf(
      ...sctp('np', '10.96.0.10', { type: 'NodePort', ports: [{ port: 80, protocol: 'SCTP', nodePort: 30080 }] }),
      ...sctp('other', '10.96.0.11', {}),
    ),
  );
  const np = engine.send({ ...tcp('203.0.113.5', 4, NODE_A, 30080), proto: 'SCTP' }, EXTERNAL, 1);
  t.is(np.snat, NODE_A);
  t.true(
    np.steps.some(
      (s) =>
        s.rule ===
        `-A KUBE-NODE-PORT -p sctp -m comment --comment "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ`,
    ),
  );
  const pod = engine.send({ ...tcp('10.244.1.9', 5, '10.96.0.11', 30080), proto: 'SCTP' }, POD, 1);
  t.is(pod.verdict, 'DNAT');
  t.is(pod.snat, null, 'the ClusterIP:30080 is in no NodePort set');
});

test('IPv6 ipset names are KUBE-6-…, cut to 31 characters as kube-proxy cuts them', (t) => {
  for (const [base, family, name] of [
    ['KUBE-CLUSTER-IP', 'IPv4', 'KUBE-CLUSTER-IP'],
    ['KUBE-CLUSTER-IP', 'IPv6', 'KUBE-6-CLUSTER-IP'],
    ['KUBE-LOAD-BALANCER-SOURCE-CIDR', 'IPv4', 'KUBE-LOAD-BALANCER-SOURCE-CIDR'],
    ['KUBE-LOAD-BALANCER-SOURCE-CIDR', 'IPv6', 'KUBE-6-LOAD-BALANCER-SOURCE-CID'],
    ['KUBE-NODE-PORT-LOCAL-SCTP-HASH', 'IPv6', 'KUBE-6-NODE-PORT-LOCAL-SCTP-HAS'],
  ] as const)
    t.is(setName(base, family), name, `${base} ${family}`);
});

test('masquerade without a detector marks only VIP-sourced node traffic; --masquerade-all marks all', (t) => {
  const none = engineOn(storeOf(...web()), { clusterCIDR: '' });
  t.is(none.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 1).snat, null);
  t.is(none.send(tcp(NODE_A, 2, '10.96.0.10', 80), HOST, 1).snat, null);
  const fromVip = none.send(tcp('10.96.0.10', 3, '10.96.0.10', 80), HOST, 1);
  t.is(fromVip.snat, NODE_A);
  t.true(fromVip.steps.some((s) => s.rule.endsWith('src,dst -j KUBE-MARK-MASQ')));
  const all = engineOn(storeOf(...web()), { masqueradeAll: true });
  t.is(all.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 1).snat, NODE_A);
});

test("each family's detector is its first clusterCIDR: one CIDR per rule, a second CIDR of a family unused", (t) => {
  const v6 = [
    service('default', 'v6', { clusterIP: 'fd00:10:96::a', ipFamilies: ['IPv6'], ports: [{ port: 80 }] }),
    slice('default', 'v6', [{ ip: 'fd00:10:244:1::5', node: 'node-a' }], [{ port: 80 }], { addressType: 'IPv6' }),
  ];
  const engine = engineOn(storeOf(...web(), ...v6), { clusterCIDR: '10.244.0.0/16,fd00:10:244::/56,10.245.0.0/16' });
  const fromPod = engine.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 1);
  t.is(fromPod.snat, null);
  t.true(fromPod.steps.some((s) => s.rule.endsWith('dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ')));
  // kube-proxy's IPv4 detector is 10.244.0.0/16 alone: a source in the second IPv4 CIDR is off-cluster to it.
  t.is(engine.send(tcp('10.245.1.9', 1, '10.96.0.10', 80), POD, 1).snat, NODE_A);
  const six = engine.send(tcp('fd00:10:244:2::9', 1, 'fd00:10:96::a', 80), POD, 1);
  t.true(six.steps.some((s) => s.rule.endsWith('KUBE-6-CLUSTER-IP dst,dst ! -s fd00:10:244::/56 -j KUBE-MARK-MASQ')));
});

test('hairpin: an endpoint reaching itself through its Service is masqueraded (KUBE-LOOP-BACK)', (t) => {
  const engine = engineOn(
    storeOf(
      service('default', 'solo', { clusterIP: '10.96.0.11', ports: [{ port: 80 }] }),
      slice('default', 'solo', [{ ip: '10.244.1.5', node: 'node-a' }], [{ port: 80 }]),
    ),
  );
  const v = engine.send(tcp('10.244.1.5', 4000, '10.96.0.11', 80), POD, 1);
  t.is(v.endpoint, '10.244.1.5:80');
  t.is(v.snat, NODE_A);
  t.true(v.steps.some((s) => s.rule.includes('KUBE-LOOP-BACK dst,dst,src -j MASQUERADE')));
});

test('eTP=Local: local endpoints without SNAT, for external and pod traffic alike', (t) => {
  const engine = engineOn(
    storeOf(
      ...web({
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      }),
    ),
  );
  for (let p = 1; p <= 4; p++) {
    const ext = engine.send(tcp('203.0.113.5', p, NODE_A, 30080), EXTERNAL, 1);
    t.is(ext.endpoint, '10.244.1.5:80');
    t.is(ext.snat, null);
    // Unlike iptables (pod traffic short-circuits to all endpoints), IPVS gives pods the same local-only server.
    const pod = engine.send(tcp('10.244.1.9', p, NODE_A, 30080), POD, 1);
    t.is(pod.endpoint, '10.244.1.5:80');
  }
  // ClusterIP traffic is not affected by eTP.
  const seen = new Set(
    [1, 2, 3].map((p) => engine.send(tcp('10.244.1.9', 100 + p, '10.96.0.10', 80), POD, 1).endpoint),
  );
  t.is(seen.size, 3);
});

test('eTP=Local with no local endpoint falls back to cluster endpoints, unmasqueraded (#97081)', (t) => {
  const engine = engineOn(
    storeOf(
      service('default', 'far', {
        clusterIP: '10.96.0.12',
        type: 'NodePort',
        externalTrafficPolicy: 'Local',
        ports: [{ port: 80, nodePort: 30081 }],
      }),
      slice('default', 'far', [{ ip: '10.244.2.6', node: 'node-b' }], [{ port: 80 }]),
    ),
  );
  const v = engine.send(tcp('203.0.113.5', 1, NODE_A, 30081), EXTERNAL, 1);
  t.is(v.verdict, 'DNAT');
  t.is(v.endpoint, '10.244.2.6:80');
  t.is(v.snat, null);
  t.true(v.steps.some((s) => /reply bypasses this node/.test(s.decision)));
  // A pod's or the node's reply comes back through this node: nothing is lost, and the trace says nothing of it.
  for (const [src, origin] of [
    ['10.244.1.9', POD],
    [NODE_A, HOST],
  ] as const) {
    const inside = engine.send(tcp(src, 2, NODE_A, 30081), origin, 1);
    t.is(inside.endpoint, '10.244.2.6:80');
    t.false(inside.steps.some((s) => /reply bypasses this node/.test(s.decision)));
  }
});

test('iTP=Local: local endpoints; a ClusterIP-only Service with none has no real servers (REJECT)', (t) => {
  const engine = engineOn(
    storeOf(
      ...web({ internalTrafficPolicy: 'Local' }),
      service('default', 'remote', { clusterIP: '10.96.0.13', internalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
      slice('default', 'remote', [{ ip: '10.244.2.6', node: 'node-b' }], [{ port: 80 }]),
      service('default', 'remote-np', {
        clusterIP: '10.96.0.14',
        type: 'NodePort',
        internalTrafficPolicy: 'Local',
        ports: [{ port: 80, nodePort: 30082 }],
      }),
      slice('default', 'remote-np', [{ ip: '10.244.2.6', node: 'node-b' }], [{ port: 80 }]),
    ),
  );
  for (let p = 1; p <= 3; p++)
    t.is(engine.send(tcp('10.244.1.9', p, '10.96.0.10', 80), POD, 1).endpoint, '10.244.1.5:80');
  const none = engine.send(tcp('10.244.1.9', 9, '10.96.0.13', 80), POD, 1);
  t.is(none.verdict, 'REJECT');
  // Externally accessible: cluster endpoints are computed, so the local policy falls back to them.
  t.is(engine.send(tcp('10.244.1.9', 10, '10.96.0.14', 80), POD, 1).endpoint, '10.244.2.6:80');
});

test('no endpoints: the virtual server exists without real servers and ip_vs_leave rejects', (t) => {
  const engine = engineOn(storeOf(service('default', 'empty', { clusterIP: '10.96.0.20', ports: [{ port: 80 }] })));
  const v = engine.send(tcp('10.244.1.9', 1, '10.96.0.20', 80), POD, 1);
  t.is(v.verdict, 'REJECT');
  t.is(v.service, 'default/empty');
  t.is(v.conntrack, 'none');
  t.regex(v.steps.at(-1)!.decision, /ip_vs_leave sends ICMP port-unreachable/);
  t.regex(engine.rules('IPv4'), /\nTCP {2}10\.96\.0\.20:80 rr\n$/);
});

test('no endpoints, IPv6: ip_vs_leave answers ICMPv6, and iptables REJECT icmp6-port-unreachable', (t) => {
  const empty = service('default', 'empty6', {
    clusterIP: 'fd00:10:96::20',
    ipFamilies: ['IPv6'],
    ports: [{ port: 80 }],
  });
  const ipvs = engineOn(storeOf(empty)).send(tcp('fd00:10:244:1::9', 1, 'fd00:10:96::20', 80), POD, 1);
  t.is(ipvs.verdict, 'REJECT');
  t.regex(ipvs.steps.at(-1)!.decision, /ip_vs_leave sends ICMPv6 port-unreachable/);
  const iptables = createIptablesEngine({
    table: tableFor(storeOf(empty), 'node-a'),
    config: proxyConfig({ mode: 'iptables' }),
    rng: new Rng(1),
  }).send(tcp('fd00:10:244:1::9', 1, 'fd00:10:96::20', 80), POD, 1);
  t.is(iptables.verdict, 'REJECT');
  t.true(iptables.steps.some((s) => s.decision.startsWith('REJECT (icmp6 port-unreachable)')));
});

test('KUBE-IPVS-FILTER rejects a bound VIP on a port no Service uses; other addresses pass', (t) => {
  const engine = engineOn(storeOf(...web()));
  const v = engine.send(tcp('10.244.1.9', 1, '10.96.0.10', 81), POD, 1);
  t.is(v.verdict, 'REJECT');
  t.deepEqual(
    v.steps.map((s) => s.where),
    ['conntrack', 'nat/PREROUTING', 'filter/KUBE-IPVS-FILTER'],
  );
  const other = engine.send(tcp('10.244.1.9', 1, '10.99.0.1', 80), POD, 1);
  t.is(other.verdict, 'ACCEPT');
  t.is(other.endpoint, null);
});

// syncProxyRules ends a Service's turn at its NodePort when no node address serves it (`continue`), before the
// health-check port goes into KUBE-HEALTH-CHECK-NODE-PORT: KUBE-IPVS-FILTER's RETURN for that port then does not
// match, and a new connection to the LB IP on it is rejected like any port no Service uses.
for (const [title, nodePortAddresses, verdict] of [
  ['every node address (the default)', [], 'ACCEPT'],
  ['a CIDR holding the node address', ['172.18.0.0/24'], 'ACCEPT'],
  ['a CIDR holding no node address', ['198.51.100.0/24'], 'REJECT'],
] as const) {
  test(`eTP=Local health-check port on a bound LB IP, --nodeport-addresses ${title}: ${verdict}`, (t) => {
    const store = storeOf(
      ...web({
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32000,
        ports: [{ name: 'http', port: 80, nodePort: 30090 }],
        ingress: ['192.0.2.10'],
      }),
    );
    const engine = engineOn(store, { nodePortAddresses: [...nodePortAddresses] });
    const v = engine.send(tcp('203.0.113.2', 1, '192.0.2.10', 32000), EXTERNAL, 1);
    t.is(v.verdict, verdict);
    t.is(v.endpoint, null);
    // The Service itself is served on its LB IP either way.
    t.is(engine.send(tcp('203.0.113.2', 2, '192.0.2.10', 80), EXTERNAL, 1).verdict, 'DNAT');
  });
}

/** web as a LoadBalancer at 192.0.2.10 (NodePort 30090) with these source ranges, on node-a. */
function lbEngine(loadBalancerSourceRanges: string[]) {
  return engineOn(
    storeOf(
      ...web({
        type: 'LoadBalancer',
        ports: [{ name: 'http', port: 80, nodePort: 30090 }],
        ingress: ['192.0.2.10'],
        loadBalancerSourceRanges,
      }),
    ),
  );
}

test('LoadBalancer source ranges: allowed sources pass (SNAT), others are dropped', (t) => {
  const engine = lbEngine(['203.0.113.0/25']);
  const ok = engine.send(tcp('203.0.113.2', 1, '192.0.2.10', 80), EXTERNAL, 1);
  t.is(ok.verdict, 'DNAT');
  t.is(ok.snat, NODE_A);
  const denied = engine.send(tcp('203.0.113.130', 1, '192.0.2.10', 80), EXTERNAL, 1);
  t.is(denied.verdict, 'DROP');
  t.is(denied.steps.at(-1)!.where, 'filter/KUBE-SOURCE-RANGES-FIREWALL');
  // The NodePort is not subject to source ranges.
  t.is(engine.send(tcp('203.0.113.130', 2, NODE_A, 30090), EXTERNAL, 1).verdict, 'DNAT');
  // The trace: conntrack's miss, PREROUTING's jump, KUBE-SERVICES's jump to KUBE-LOAD-BALANCER, the mark there.
  t.deepEqual(
    ok.steps.slice(0, 4).map((s) => `${s.where}: ${s.decision}`),
    [
      'conntrack: NEW connection: the nat table sees it',
      'nat/PREROUTING: jump KUBE-SERVICES',
      'nat/KUBE-SERVICES: jump KUBE-LOAD-BALANCER',
      'nat/KUBE-LOAD-BALANCER: mark for masquerade',
    ],
  );
  t.is(ok.steps[3]!.rule, '-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ');
});

test('LB source ranges with a zero-masked range: every source passes and no firewall is met (kubernetes#132722)', (t) => {
  const engine = lbEngine(['203.0.113.0/25', '0.0.0.0/0']);
  const v = engine.send(tcp('203.0.113.130', 1, '192.0.2.10', 80), EXTERNAL, 1);
  t.is(v.verdict, 'DNAT');
  t.false(
    v.steps.some((s) => s.where === 'filter/KUBE-SOURCE-RANGES-FIREWALL'),
    v.steps.map((s) => s.where).join(', '),
  );
});

test('LB source ranges changed: an open connection they now leave out is dropped at its next packet (no --ctstate NEW)', (t) => {
  const lb = (ranges: string[]) =>
    web({
      type: 'LoadBalancer',
      ports: [{ name: 'http', port: 80, nodePort: 30090 }],
      ingress: ['192.0.2.10'],
      loadBalancerSourceRanges: ranges,
    })[0]!;
  const store = storeOf(...web(), lb(['203.0.113.0/25']));
  const engine = engineOn(store);
  const p = tcp('203.0.113.5', 1, '192.0.2.10', 80);
  const opened = engine.send(p, EXTERNAL, 1);
  t.is(opened.verdict, 'DNAT');
  engine.reply(replyTo(opened.packet), 1);
  t.is(engine.send(p, EXTERNAL, 2).conntrack, 'established');
  put(store, lb(['198.51.100.0/24']));
  const cut = engine.send(p, EXTERNAL, 3);
  t.is(cut.verdict, 'DROP');
  t.is(cut.conntrack, 'established');
  t.is(cut.steps.at(-1)!.where, 'filter/KUBE-SOURCE-RANGES-FIREWALL');
  // The conntrack entry stayed: allowed again, the connection carries on to its real server.
  put(store, lb(['203.0.113.0/25']));
  const resumed = engine.send(p, EXTERNAL, 4);
  t.is(resumed.verdict, 'DNAT');
  t.is(resumed.conntrack, 'established');
  t.is(resumed.endpoint, opened.endpoint);
});

test('dual-stack: NodePort and health-check sets are per family (an IPv4 Service is not in the KUBE-6-… sets)', (t) => {
  const store = storeOf(
    node('node-a', [NODE_A, 'fc00::2'], { podCIDRs: ['10.244.1.0/24', 'fd00:244:1::/64'] }),
    service('default', 'lb4', {
      clusterIP: '10.96.0.20',
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      healthCheckNodePort: 32000,
      ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      ingress: ['192.0.2.20'],
    }),
    slice('default', 'lb4', [{ ip: '10.244.1.5', node: 'node-a' }], [{ name: 'http', port: 80 }]),
    service('default', 'web6', {
      clusterIP: 'fd00:96::a',
      ipFamilies: ['IPv6'],
      ports: [{ name: 'http', port: 30080 }],
    }),
    slice('default', 'web6', [{ ip: 'fd00:244:2::6', node: 'node-b' }], [{ name: 'http', port: 30080 }], {
      addressType: 'IPv6',
    }),
  );
  const engine = engineOn(store, { clusterCIDR: '10.244.0.0/16,fd00:244::/32' });
  const toV6 = engine.send(tcp('fd00:244:1::9', 1, 'fd00:96::a', 30080), POD, 1);
  t.is(toV6.verdict, 'DNAT');
  t.is(toV6.snat, null, 'port 30080 is an IPv4 NodePort only: KUBE-6-NODE-PORT-TCP does not mark it');
  // 32000 is the IPv4 Service's health-check port: KUBE-6-HEALTH-CHECK-NODE-PORT lacks it, so KUBE-IPVS-FILTER rejects.
  t.is(engine.send(tcp('fd00:244:1::9', 2, 'fd00:96::a', 32000), POD, 1).verdict, 'REJECT');
});

test('LB source ranges in a family the node has no address of: the node IP tested is loopback (detectNodeIPs)', (t) => {
  // node-a has only IPv4 addresses; ::/1 holds ::1 (the IPv6 proxier's node IP) but not the LB IP fd00:99::4.
  const engine = engineOn(
    storeOf(
      service('default', 'web6', {
        clusterIP: 'fd00:96::10',
        ipFamilies: ['IPv6'],
        type: 'LoadBalancer',
        ports: [{ name: 'http', port: 80, nodePort: 30091 }],
        ingress: ['fd00:99::4'],
        loadBalancerSourceRanges: ['::/1'],
      }),
      slice('default', 'web6', [{ ip: 'fd00:244:2::6', node: 'node-b' }], [{ name: 'http', port: 80 }], {
        addressType: 'IPv6',
      }),
    ),
  );
  // A packet from outside sourced from the LB IP: KUBE-LOAD-BALANCER-SOURCE-IP lets it through, as the range holds the
  // node IP.
  const fromLB = engine.send(tcp('fd00:99::4', 7, 'fd00:99::4', 80), EXTERNAL, 1);
  t.is(fromLB.verdict, 'DNAT');
  t.true(fromLB.steps.some((s) => /^RETURN: traffic sourced from the LB IP/.test(s.decision)));
  t.is(engine.send(tcp('fd01::9', 7, 'fd00:99::4', 80), EXTERNAL, 1).verdict, 'DROP');
  // The node's own packet from the LB IP: KUBE-IPVS-OUT-FILTER has no rule for it (the range holds the node IP).
  t.is(engine.send(tcp('fd00:99::4', 8, 'fd00:99::4', 80), HOST, 1).verdict, 'DNAT');
});

test("KUBE-IPVS-OUT-FILTER drops the node's packet after IPVS scheduled it: the rr cursor has moved on", (t) => {
  // Two engines alike: one schedules two allowed outside flows; the other drops a node flow first, then schedules
  // one outside flow, which gets the real server the first engine's second flow got.
  const plain = lbEngine(['203.0.113.0/25']);
  const [first, second] = [1, 2].map((i) => plain.send(tcp('203.0.113.2', i, '192.0.2.10', 80), EXTERNAL, 1).endpoint);
  t.truthy(second);
  t.not(first, second);
  const dropped = lbEngine(['203.0.113.0/25']);
  const node = dropped.send(tcp('192.0.2.10', 7, '192.0.2.10', 80), HOST, 1);
  t.is(node.verdict, 'DROP');
  t.deepEqual(node.steps.map((s) => s.where).slice(-2), ['ipvs/rr', 'filter/KUBE-IPVS-OUT-FILTER']);
  t.is(dropped.send(tcp('203.0.113.2', 1, '192.0.2.10', 80), EXTERNAL, 1).endpoint, second!);
});

/**
 * The node's own packets to a LoadBalancer IP with source ranges (proxier.go: KUBE-PROXY-FIREWALL is jumped to from
 * INPUT and FORWARD only; KUBE-IPVS-OUT-FILTER, on OUTPUT, drops `-s <LB IP>` for LB IPs whose ranges leave out the
 * node IP, kubernetes#119656). The node is 172.18.0.2 (NODE_A).
 */
const nodeToLB: readonly {
  name: string;
  ranges: string[];
  src: string;
  verdict: 'DNAT' | 'DROP';
  where: string;
}[] = [
  {
    name: 'from the LB IP, no range holds the node',
    ranges: ['203.0.113.0/25'],
    src: '192.0.2.10',
    verdict: 'DROP',
    where: 'filter/KUBE-IPVS-OUT-FILTER',
  },
  {
    name: 'from the LB IP, a range holds the node',
    ranges: ['203.0.113.0/25', '172.18.0.0/16'],
    src: '192.0.2.10',
    verdict: 'DNAT',
    where: 'filter/OUTPUT',
  },
  {
    name: 'from the node IP, outside every range',
    ranges: ['203.0.113.0/25'],
    src: NODE_A,
    verdict: 'DNAT',
    where: 'filter/OUTPUT',
  },
  {
    name: 'from the LB IP, which a range holds but the node IP is outside',
    ranges: ['192.0.2.0/24'],
    src: '192.0.2.10',
    verdict: 'DROP',
    where: 'filter/KUBE-IPVS-OUT-FILTER',
  },
];

for (const c of nodeToLB) {
  test(`the node's own packet to an LB IP with source ranges: ${c.name}`, (t) => {
    const engine = lbEngine(c.ranges);
    const v = engine.send(tcp(c.src, 7, '192.0.2.10', 80), HOST, 1);
    t.is(v.verdict, c.verdict);
    const filter = v.steps.find((s) => s.where === c.where);
    t.truthy(filter, `a ${c.where} step`);
    if (c.verdict === 'DROP')
      t.is(
        filter!.rule,
        '-A KUBE-IPVS-OUT-FILTER -s 192.0.2.10 -m ipvs --vaddr 192.0.2.10 --vproto tcp --vport 80 -j DROP',
      );
    // The same packet from outside the node meets KUBE-PROXY-FIREWALL, which the ranges decide.
    const outside = engine.send(tcp(c.src, 9, '192.0.2.10', 80), EXTERNAL, 1);
    t.is(
      outside.steps.some((s) => s.where === 'filter/KUBE-SOURCE-RANGES-FIREWALL'),
      true,
    );
  });
}

test('externalIPs: a virtual server per IP, masqueraded under eTP=Cluster', (t) => {
  const engine = engineOn(storeOf(...web({ externalIPs: ['198.51.100.7'] })));
  const v = engine.send(tcp('203.0.113.5', 1, '198.51.100.7', 80), EXTERNAL, 1);
  t.is(v.verdict, 'DNAT');
  t.is(v.snat, NODE_A);
  t.true(v.steps.some((s) => s.rule.includes('KUBE-EXTERNAL-IP dst,dst -j KUBE-MARK-MASQ')));
  // Then writeIptablesRules' two ACCEPTs (externalIPRules): off-machine traffic, or a local destination.
  t.true(
    v.steps.some((s) =>
      s.rule.endsWith('dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT'),
    ),
  );
  const pod = engine.send(tcp('10.244.1.9', 1, '198.51.100.7', 80), POD, 1);
  t.true(pod.steps.some((s) => s.rule.endsWith('KUBE-EXTERNAL-IP dst,dst -m addrtype --dst-type LOCAL -j ACCEPT')));
});

test('externalIPs under eTP=Local: no mark, the same two ACCEPT rules on the -LOCAL set', (t) => {
  const engine = engineOn(storeOf(...web({ externalIPs: ['198.51.100.7'], externalTrafficPolicy: 'Local' })));
  const v = engine.send(tcp('203.0.113.5', 1, '198.51.100.7', 80), EXTERNAL, 1);
  const rules = v.steps.filter((s) => s.rule.includes('KUBE-EXTERNAL-IP-LOCAL')).map((s) => s.rule);
  t.is(rules.length, 1);
  t.true(rules[0]!.endsWith('dst,dst -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT'));
});

test('the masquerade rule carries --random-fully when kube-proxy uses it (TestMasqueradeRule)', (t) => {
  for (const randomFully of [false, true]) {
    const engine = engineOn(storeOf(...web({ externalIPs: ['198.51.100.7'] })), { randomFully });
    const v = engine.send(tcp('203.0.113.5', 1, '198.51.100.7', 80), EXTERNAL, 1);
    const masq = v.steps.find((s) => s.where === 'nat/KUBE-POSTROUTING')!;
    t.is(masq.rule.endsWith(' -j MASQUERADE --random-fully'), randomFully);
  }
});

test('ipvsadm -Ln: virtual servers per ClusterIP, node IP × NodePort and LB IP, with persistence', (t) => {
  const store = storeOf(
    ...web({
      type: 'LoadBalancer',
      ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      ingress: ['192.0.2.10'],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
    }),
  );
  const engine = engineOn(store);
  const real = (ip: string) => `  -> ${`${ip}:80`.padEnd(28)} Masq    1      0          0         `;
  const block = (vs: string) => [vs, real('10.244.1.5'), real('10.244.2.6'), real('10.244.2.7')];
  t.is(
    engine.rules('IPv4'),
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      // ipvsadm compares addresses as (int)(a - b): 172.18.0.2 - 10.96.0.10 wraps negative, so it lists first.
      ...block('TCP  172.18.0.2:30080 rr persistent 600'),
      ...block('TCP  192.0.2.10:80 rr persistent 600'),
      ...block('TCP  10.96.0.10:80 rr persistent 600'),
      '',
    ].join('\n'),
  );
  t.is(engine.rules('IPv6'), `${engine.rules('IPv6').split('\n').slice(0, 3).join('\n')}\n`);
});

test('mh: kube-proxy sets mh-port, and the listing shows it', (t) => {
  const engine = engineOn(storeOf(...web()), { scheduler: 'mh' });
  t.regex(engine.rules('IPv4'), /\nTCP {2}10\.96\.0\.10:80 mh \(mh-port\)\n/);
  const v = engine.send(tcp('10.244.1.9', 1234, '10.96.0.10', 80), POD, 1);
  t.true(v.steps.some((s) => /^mh: 10\.244\.1\.9:1234 hashes to slot \d+ of 4093/.test(s.decision)));
});

test('IPv6 virtual servers list in brackets', (t) => {
  const engine = engineOn(
    storeOf(
      service('default', 'v6', {
        clusterIP: 'fd00:10:96::a',
        ipFamilies: ['IPv6'],
        ports: [{ port: 53, protocol: 'UDP' }],
      }),
      slice('default', 'v6', [{ ip: 'fd00:10:244:1::5', node: 'node-a' }], [{ port: 53, protocol: 'UDP' }]),
    ),
  );
  const out = engine.rules('IPv6');
  t.true(out.includes('UDP  [fd00:10:96::a]:53 rr\n'));
  t.true(out.includes('  -> [fd00:10:244:1::5]:53'));
});

test('a Service update reaches the engine at its next call', (t) => {
  const store = storeOf(...web());
  const engine = engineOn(store);
  t.is(engine.virtualServer('TCP', '10.96.0.10', 80)?.dests.length, 3);
  put(store, slice('default', 'web', WEB_EPS.slice(0, 1), [{ name: 'http', port: 80 }]));
  t.is(engine.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 1).endpoint, '10.244.1.5:80');
  t.is(engine.virtualServer('TCP', '10.96.0.10', 80)?.dests.length, 1);
});

test('a change between two packets of one instant reaches the second (send skips only a sync with nothing to do)', (t) => {
  const store = storeOf(...web());
  const engine = engineOn(store);
  t.is(engine.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 5).endpoint, '10.244.2.7:80');
  put(store, slice('default', 'web', WEB_EPS.slice(0, 1), [{ name: 'http', port: 80 }]));
  t.is(engine.send(tcp('10.244.1.9', 2, '10.96.0.10', 80), POD, 5).endpoint, '10.244.1.5:80');
  put(store, service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 81 }] }));
  t.is(engine.send(tcp('10.244.1.9', 3, '10.96.0.10', 80), POD, 5).verdict, 'REJECT');
});

test('reply() never reopens a closed tuple, even when handed the client-direction packet', (t) => {
  const engine = engineOn(
    storeOf(
      service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] }),
      slice('default', 'web', [{ ip: '10.244.2.6', node: 'node-b' }], [{ name: 'http', port: 80 }]),
    ),
  );
  const out = tcp('10.244.1.9', 1000, '10.96.0.10', 80);
  const first = engine.send(out, POD, 0);
  engine.reply(replyTo(first.packet), 0);
  engine.send(out, POD, 0);
  engine.close(out, 1);
  // Only a client SYN reopens TIME_WAIT; reply() is an answer, so the flow is found and kept.
  t.like(engine.reply(out, 2), { conntrack: 'reply', endpoint: '10.244.2.6:80' });
  t.is(engine.conntrack.size, 1);
  t.is(engine.conntrack.lookup(out, 2)?.entry.state, 'CLOSING');
});

test('a real server keeps its connections NAT record; masqueraded and plain connections to it alternate correctly', (t) => {
  const engine = engineOn(storeOf(...web({ clusterIP: '10.96.0.10' })));
  // The real servers, reached alternately from a pod (no SNAT), the node (SNAT) and an endpoint itself (hairpin SNAT).
  const seen: { endpoint: string | null; snat: string | null; reply: string }[] = [];
  const sources: [string, typeof POD][] = [
    ['10.244.1.9', POD],
    [NODE_A, HOST],
    ['10.244.1.9', POD],
    ['10.244.1.5', POD],
  ];
  for (let i = 0; i < 12; i++) {
    const [ip, origin] = sources[i % sources.length]!;
    const p = tcp(ip, 2000 + i, '10.96.0.10', 80);
    const v = engine.send(p, origin, 1);
    const answer = engine.reply(replyTo(v.packet), 1);
    seen.push({ endpoint: v.endpoint, snat: v.snat, reply: `${answer.packet.src.ip} -> ${answer.packet.dst.ip}` });
    t.is(answer.packet.dst.ip, ip, 'the reply goes back to the client');
    t.is(answer.packet.src.ip, '10.96.0.10');
    if (origin === HOST) t.is(v.snat, NODE_A);
    else if (ip === v.packet.dst.ip) t.is(v.snat, NODE_A, 'hairpin');
    else t.is(v.snat, null);
  }
  t.is(new Set(seen.map((s) => s.endpoint)).size, 3);
});

test('a flow keeps the NAT it was filed with after the node’s address or its Service port changes; new flows take the new', (t) => {
  const store = storeOf(...web({ clusterIP: '10.96.0.10' }));
  const engine = engineOn(store);
  // Filed, their verdicts not read yet: the records are looked up when first read (dest-table.ts, the record log).
  const masqueraded = tcp(NODE_A, 3000, '10.96.0.10', 80);
  const plain = tcp('10.244.1.9', 3001, '10.96.0.10', 80);
  const first = engine.send(masqueraded, HOST, 1);
  const second = engine.send(plain, POD, 1);
  // The node's address changes, and the Service's port is renamed (the same virtual server, a new Service port name).
  put(store, node('node-a', ['172.18.0.9'], { podCIDRs: ['10.244.1.0/24'] }));
  const renamed = { name: 'www', port: 80 };
  put(
    store,
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [renamed] }),
    slice('default', 'web', WEB_EPS, [renamed]),
  );
  const later = engine.send(tcp('172.18.0.9', 3002, '10.96.0.10', 80), HOST, 2);
  const laterPlain = engine.send(tcp('10.244.1.9', 3003, '10.96.0.10', 80), POD, 2);
  t.like(later, { snat: '172.18.0.9', service: 'default/web:www' });
  t.like(laterPlain, { snat: null, service: 'default/web:www' });
  t.like(first, { snat: NODE_A, service: 'default/web:http', verdict: 'DNAT' });
  t.like(second, { snat: null, service: 'default/web:http', verdict: 'DNAT' });
  // Their later packets, from conntrack: the same NAT, and the same endpoints.
  t.like(engine.send(masqueraded, HOST, 3), { snat: NODE_A, endpoint: first.endpoint, service: 'default/web:http' });
  t.like(engine.send(plain, POD, 3), { snat: null, endpoint: second.endpoint, service: 'default/web:http' });
  t.is(engine.send(masqueraded, HOST, 3).packet.src.ip, NODE_A);
});
