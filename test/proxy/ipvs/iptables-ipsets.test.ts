/**
 * IPVS mode's iptables rules and ipsets as listings (`iptablesRules`, `ipsetSave`): the cases of upstream's
 * pkg/proxy/ipvs/proxier_test.go that pin them (TestCreateAndLinkKubeChain, TestDismissLocalhostRuleExist,
 * TestLoadBalancer, TestOnlyLocalLoadBalancing, TestOnlyLocalNodePorts, TestLoadBalancerSourceRanges,
 * TestAcceptIPVSTraffic, TestNodePortIPv4's SCTP case, TestHealthCheckNodePort, the loop-back entries), checked as
 * upstream's checkIptables checks them (per chain, each rule's target and set), plus the masquerade variants, IPv6
 * set names, and agreement with the rules `trace` shows.
 */
import test from 'ava';
import type { EndpointSpec, ServiceInput } from '../fixtures.js';
import { node, put, service, slice } from '../fixtures.js';
import { EXTERNAL, engineOn, HOST, NODE_A, POD, storeOf, tcp } from './engine-helpers.js';

/** Per chain of one table, each rule as upstream's checkIptables reads it: `target` or `target/set`. */
function chains(text: string, table: 'nat' | 'filter'): Record<string, string[]> {
  const body = text.split(`*${table}\n`)[1]!.split('COMMIT')[0]!;
  const out: Record<string, string[]> = {};
  for (const line of body.split('\n')) {
    const m = /^-A (\S+) .*?-j (\S+)/.exec(line);
    if (!m) continue;
    const set = /--match-set (\S+)/.exec(line)?.[1];
    const rules = out[m[1]!] ?? [];
    rules.push(set ? `${m[2]}/${set}` : m[2]!);
    out[m[1]!] = rules;
  }
  return out;
}

/** One set's `add` entries in an `ipset save` listing. */
function entries(save: string, name: string): string[] {
  const prefix = `add ${name} `;
  return save
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length));
}

const EPS: EndpointSpec[] = [
  { ip: '10.244.1.5', node: 'node-a' },
  { ip: '10.244.2.6', node: 'node-b' },
];

function svc(extra: Partial<ServiceInput>, eps: EndpointSpec[] = EPS) {
  return [
    service('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80 }], ...extra }),
    slice('ns1', 'svc1', eps, [{ name: 'p80', port: 80 }]),
  ];
}

/** A LoadBalancer at 1.2.3.4, NodePort 30080. */
const lb = (): Partial<ServiceInput> & Pick<ServiceInput, 'ports'> => ({
  type: 'LoadBalancer',
  ports: [{ name: 'p80', port: 80, nodePort: 30080 }],
  ingress: ['1.2.3.4'],
});

test('chain declarations: nat and filter chains in kube-proxy order (TestCreateAndLinkKubeChain)', (t) => {
  const text = engineOn(storeOf()).iptablesRules('IPv4');
  const declared = (table: string) =>
    text
      .split(`*${table}\n`)[1]!
      .split('COMMIT')[0]!
      .split('\n')
      .filter((l) => l.startsWith(':'));
  t.deepEqual(declared('nat'), [
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-POSTROUTING - [0:0]',
    ':KUBE-NODE-PORT - [0:0]',
    ':KUBE-LOAD-BALANCER - [0:0]',
    ':KUBE-MARK-MASQ - [0:0]',
  ]);
  t.deepEqual(declared('filter'), [
    ':KUBE-FORWARD - [0:0]',
    ':KUBE-NODE-PORT - [0:0]',
    ':KUBE-PROXY-FIREWALL - [0:0]',
    ':KUBE-SOURCE-RANGES-FIREWALL - [0:0]',
    ':KUBE-IPVS-FILTER - [0:0]',
    ':KUBE-IPVS-OUT-FILTER - [0:0]',
  ]);
  t.true(text.startsWith('*nat\n'));
  t.is(text.split('COMMIT\n').length, 3);
});

// Upstream's fake proxier has no local-traffic detector; kube-netsim's has one when clusterCIDR is set.
const NO_DETECTOR = { clusterCIDR: '' };

for (const [title, objects, expected] of [
  [
    'LoadBalancer (TestLoadBalancer)',
    svc(lb()),
    {
      'KUBE-SERVICES': [
        'RETURN',
        'KUBE-LOAD-BALANCER/KUBE-LOAD-BALANCER',
        'KUBE-MARK-MASQ/KUBE-CLUSTER-IP',
        'KUBE-NODE-PORT',
        'ACCEPT/KUBE-CLUSTER-IP',
        'ACCEPT/KUBE-LOAD-BALANCER',
      ],
      'KUBE-LOAD-BALANCER': ['KUBE-MARK-MASQ'],
      'KUBE-NODE-PORT': ['KUBE-MARK-MASQ/KUBE-NODE-PORT-TCP'],
    },
  ],
  [
    'LoadBalancer, eTP=Local (TestOnlyLocalLoadBalancing)',
    svc({ ...lb(), externalTrafficPolicy: 'Local', healthCheckNodePort: 30000 }),
    {
      'KUBE-LOAD-BALANCER': ['RETURN/KUBE-LOAD-BALANCER-LOCAL', 'KUBE-MARK-MASQ'],
      'KUBE-NODE-PORT': ['RETURN/KUBE-NODE-PORT-LOCAL-TCP', 'KUBE-MARK-MASQ/KUBE-NODE-PORT-TCP'],
    },
  ],
  [
    'externalIPs (TestAcceptIPVSTraffic)',
    svc({ externalIPs: ['5.6.7.8'] }),
    {
      'KUBE-SERVICES': [
        'RETURN',
        'KUBE-MARK-MASQ/KUBE-CLUSTER-IP',
        'KUBE-MARK-MASQ/KUBE-EXTERNAL-IP',
        'ACCEPT/KUBE-EXTERNAL-IP',
        'ACCEPT/KUBE-EXTERNAL-IP',
        'KUBE-NODE-PORT',
        'ACCEPT/KUBE-CLUSTER-IP',
      ],
    },
  ],
  [
    'externalIPs, eTP=Local: accepted, never marked',
    svc({ type: 'NodePort', externalTrafficPolicy: 'Local', externalIPs: ['5.6.7.8'], ports: lb().ports }),
    {
      'KUBE-SERVICES': [
        'RETURN',
        'KUBE-MARK-MASQ/KUBE-CLUSTER-IP',
        'ACCEPT/KUBE-EXTERNAL-IP-LOCAL',
        'ACCEPT/KUBE-EXTERNAL-IP-LOCAL',
        'KUBE-NODE-PORT',
        'ACCEPT/KUBE-CLUSTER-IP',
      ],
    },
  ],
] as const) {
  test(`nat rules: ${title}`, (t) => {
    const nat = chains(engineOn(storeOf(...objects), NO_DETECTOR).iptablesRules('IPv4'), 'nat');
    for (const [chain, rules] of Object.entries(expected)) t.deepEqual(nat[chain], [...rules], chain);
  });
}

test('eTP=Local NodePort: both node-port sets hold the port, the health-check port is accepted (TestOnlyLocalNodePorts)', (t) => {
  const engine = engineOn(
    storeOf(...svc({ ...lb(), type: 'NodePort', externalTrafficPolicy: 'Local', ingress: [] })),
    NO_DETECTOR,
  );
  const save = engine.ipsetSave('IPv4');
  t.deepEqual(entries(save, 'KUBE-NODE-PORT-TCP'), ['30080']);
  t.deepEqual(entries(save, 'KUBE-NODE-PORT-LOCAL-TCP'), ['30080']);
  t.deepEqual(chains(engine.iptablesRules('IPv4'), 'filter')['KUBE-NODE-PORT'], ['ACCEPT/KUBE-HEALTH-CHECK-NODE-PORT']);
});

test('LoadBalancer source ranges: the firewall sets and chains (TestLoadBalancerSourceRanges)', (t) => {
  const engine = engineOn(storeOf(...svc({ ...lb(), loadBalancerSourceRanges: ['10.0.0.0/8'] })), NO_DETECTOR);
  const save = engine.ipsetSave('IPv4');
  t.deepEqual(entries(save, 'KUBE-LOAD-BALANCER'), ['1.2.3.4,tcp:80']);
  t.deepEqual(entries(save, 'KUBE-LOAD-BALANCER-FW'), ['1.2.3.4,tcp:80']);
  t.deepEqual(entries(save, 'KUBE-LOAD-BALANCER-SOURCE-CIDR'), ['1.2.3.4,tcp:80,10.0.0.0/8']);
  t.deepEqual(entries(save, 'KUBE-LOAD-BALANCER-SOURCE-IP'), []);
  const text = engine.iptablesRules('IPv4');
  const filter = chains(text, 'filter');
  t.deepEqual(filter['KUBE-PROXY-FIREWALL'], ['KUBE-SOURCE-RANGES-FIREWALL/KUBE-LOAD-BALANCER-FW']);
  t.deepEqual(filter['KUBE-SOURCE-RANGES-FIREWALL'], ['RETURN/KUBE-LOAD-BALANCER-SOURCE-CIDR', 'DROP']);
  // No range holds the node IP: the node's own access to the LB IP is dropped.
  t.true(text.includes('-A KUBE-IPVS-OUT-FILTER -s 1.2.3.4 -m ipvs --vaddr 1.2.3.4 --vproto tcp --vport 80 -j DROP\n'));
});

test('LoadBalancer source ranges holding the node IP: KUBE-LOAD-BALANCER-SOURCE-IP, no out-filter; a /32 saves as a host', (t) => {
  const engine = engineOn(storeOf(...svc({ ...lb(), loadBalancerSourceRanges: [`${NODE_A}/32`] })), NO_DETECTOR);
  const save = engine.ipsetSave('IPv4');
  t.deepEqual(entries(save, 'KUBE-LOAD-BALANCER-SOURCE-IP'), ['1.2.3.4,tcp:80,1.2.3.4']);
  t.deepEqual(entries(save, 'KUBE-LOAD-BALANCER-SOURCE-CIDR'), [`1.2.3.4,tcp:80,${NODE_A}`]);
  const text = engine.iptablesRules('IPv4');
  t.deepEqual(chains(text, 'filter')['KUBE-SOURCE-RANGES-FIREWALL'], [
    'RETURN/KUBE-LOAD-BALANCER-SOURCE-CIDR',
    'RETURN/KUBE-LOAD-BALANCER-SOURCE-IP',
    'DROP',
  ]);
  t.false(text.includes('-A KUBE-IPVS-OUT-FILTER -s'));
});

test('SCTP NodePort: hash:ip,port entries per node address, matched dst,dst (TestNodePortIPv4)', (t) => {
  const engine = engineOn(
    storeOf(
      ...svc({ type: 'NodePort', ports: [{ name: 'p80', port: 80, nodePort: 30081, protocol: 'SCTP' }] }, []),
      slice('ns1', 'svc1', EPS, [{ name: 'p80', port: 80, protocol: 'SCTP' }], { name: 'svc1-sctp' }),
    ),
    NO_DETECTOR,
  );
  t.deepEqual(entries(engine.ipsetSave('IPv4'), 'KUBE-NODE-PORT-SCTP-HASH'), [`${NODE_A},sctp:30081`]);
  t.true(
    engine
      .iptablesRules('IPv4')
      .includes(
        `-A KUBE-NODE-PORT -p sctp -m comment --comment "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'" -m set --match-set KUBE-NODE-PORT-SCTP-HASH dst,dst -j KUBE-MARK-MASQ\n`,
      ),
  );
});

test('sets: loop-back holds every endpoint on this node, terminating or not ready too; cluster IPs, bound addresses, health-check ports', (t) => {
  const engine = engineOn(
    storeOf(
      ...svc({ ...lb(), externalTrafficPolicy: 'Local', healthCheckNodePort: 30000, externalIPs: [NODE_A] }, [
        { ip: '10.244.1.5', node: 'node-a' },
        { ip: '10.244.1.6', node: 'node-a', ready: false, serving: false, terminating: true },
        { ip: '10.244.1.7', node: 'node-a', ready: false },
        { ip: '10.244.2.6', node: 'node-b' },
      ]),
    ),
  );
  const save = engine.ipsetSave('IPv4');
  t.deepEqual(entries(save, 'KUBE-LOOP-BACK'), [
    '10.244.1.5,tcp:80,10.244.1.5',
    '10.244.1.6,tcp:80,10.244.1.6',
    '10.244.1.7,tcp:80,10.244.1.7',
  ]);
  t.deepEqual(entries(save, 'KUBE-CLUSTER-IP'), ['10.20.30.41,tcp:80']);
  t.deepEqual(entries(save, 'KUBE-EXTERNAL-IP-LOCAL'), [`${NODE_A},tcp:80`]);
  t.deepEqual(entries(save, 'KUBE-HEALTH-CHECK-NODE-PORT'), ['30000']);
  // The node's own address (an externalIP here) is not bound to kube-ipvs0.
  t.deepEqual(entries(save, 'KUBE-IPVS-IPS'), ['1.2.3.4', '10.20.30.41']);
  t.regex(save, /^create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536\n/);
  t.regex(save, /\ncreate KUBE-NODE-PORT-TCP bitmap:port range 0-65535\n/);
});

for (const [title, config, rule] of [
  [
    'masqueradeAll marks every packet to a ClusterIP',
    { masqueradeAll: true },
    'KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ',
  ],
  [
    'a local-traffic detector marks off-cluster sources',
    {},
    'KUBE-CLUSTER-IP dst,dst ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ',
  ],
  ['no detector: VIP-sourced node traffic only', NO_DETECTOR, 'KUBE-CLUSTER-IP src,dst -j KUBE-MARK-MASQ'],
] as const) {
  test(`KUBE-CLUSTER-IP masquerade rule: ${title}`, (t) => {
    t.true(
      engineOn(storeOf(...svc({})), config)
        .iptablesRules('IPv4')
        .includes(`--match-set ${rule}\n`),
    );
  });
}

test('IPv6: KUBE-6- set names (cut to 31 characters), ::1/128 loopback RETURN, inet6 sets (TestDismissLocalhostRuleExist)', (t) => {
  const store = storeOf(
    service('ns1', 'v6', {
      clusterIP: 'fd00:10:96::10',
      ipFamilies: ['IPv6'],
      type: 'LoadBalancer',
      ports: [{ name: 'p80', port: 80, nodePort: 30082 }],
      ingress: ['fd00:1::4'],
      loadBalancerSourceRanges: ['fd00:2::/64'],
    }),
    slice('ns1', 'v6', [{ ip: 'fd00:10:244:1::5', node: 'node-a' }], [{ name: 'p80', port: 80 }]),
  );
  const engine = engineOn(store, NO_DETECTOR);
  const text = engine.iptablesRules('IPv6');
  t.is(chains(text, 'nat')['KUBE-SERVICES']![0], 'RETURN');
  t.true(text.includes('-A KUBE-SERVICES -s ::1/128 -j RETURN\n'));
  t.true(text.includes('--match-set KUBE-6-LOAD-BALANCER-SOURCE-CID dst,dst,src -j RETURN\n'));
  const save = engine.ipsetSave('IPv6');
  t.deepEqual(entries(save, 'KUBE-6-CLUSTER-IP'), ['fd00:10:96::10,tcp:80']);
  t.deepEqual(entries(save, 'KUBE-6-LOOP-BACK'), ['fd00:10:244:1::5,tcp:80,fd00:10:244:1::5']);
  t.deepEqual(entries(save, 'KUBE-6-LOAD-BALANCER-SOURCE-CID'), ['fd00:1::4,tcp:80,fd00:2::/64']);
  t.regex(save, /^create KUBE-6-LOOP-BACK hash:ip,port,ip family inet6 /);
  t.regex(save, /\ncreate KUBE-6-NODE-PORT-LOCAL-SCTP-HAS hash:ip,port family inet6 /);
  // The IPv4 proxier's sets hold none of it.
  t.deepEqual(entries(engine.ipsetSave('IPv4'), 'KUBE-CLUSTER-IP'), []);
});

test('every nat and filter rule a trace shows is a line of the listing', (t) => {
  const engine = engineOn(
    storeOf(
      ...svc({
        ...lb(),
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 30000,
        externalIPs: ['5.6.7.8'],
        loadBalancerSourceRanges: ['203.0.113.0/25'],
      }),
    ),
  );
  const lines = new Set(engine.iptablesRules('IPv4').split('\n'));
  const sent = [
    engine.send(tcp('10.244.1.9', 1, '10.20.30.41', 80), POD, 1),
    engine.send(tcp('203.0.113.5', 2, '10.20.30.41', 80), EXTERNAL, 1),
    engine.send(tcp('203.0.113.5', 3, '1.2.3.4', 80), EXTERNAL, 1),
    engine.send(tcp('203.0.113.200', 4, '1.2.3.4', 80), EXTERNAL, 1),
    engine.send(tcp('203.0.113.5', 5, NODE_A, 30080), EXTERNAL, 1),
    engine.send(tcp('203.0.113.5', 6, '5.6.7.8', 80), EXTERNAL, 1),
    engine.send(tcp(NODE_A, 7, '10.20.30.41', 80), HOST, 1),
    engine.send(tcp('127.0.0.1', 8, '10.20.30.41', 80), HOST, 1),
    engine.send(tcp('1.2.3.4', 9, '1.2.3.4', 80), HOST, 1),
    engine.send(tcp('203.0.113.5', 10, '10.20.30.41', 81), EXTERNAL, 1),
    engine.send(tcp('10.244.1.5', 11, '10.20.30.41', 80), POD, 1),
  ];
  let checked = 0;
  for (const v of sent) {
    for (const step of v.steps) {
      if (!/^(nat|filter)\/KUBE-/.test(step.where) || !step.rule) continue;
      for (const rule of step.rule.split('; ')) {
        t.true(lines.has(rule), `${step.where}: ${rule}`);
        checked++;
      }
    }
  }
  t.true(checked >= 15, `${checked} rules checked`);
});

test('an externalIP the node gains leaves KUBE-IPVS-IPS, and joins it again when the node loses it; traces agree', (t) => {
  const store = storeOf(...svc({ externalIPs: ['172.18.0.9'] }));
  const engine = engineOn(store);
  const ssh = () => engine.send(tcp('203.0.113.5', 40000, '172.18.0.9', 22), EXTERNAL, 1).verdict;
  const bound = () => entries(engine.ipsetSave('IPv4'), 'KUBE-IPVS-IPS');
  t.deepEqual(bound(), ['10.20.30.41', '172.18.0.9']);
  t.is(ssh(), 'REJECT', 'bound to kube-ipvs0, no Service on port 22: KUBE-IPVS-FILTER');
  put(store, node('node-a', [NODE_A, '172.18.0.9'], { podCIDRs: ['10.244.1.0/24'] }));
  t.deepEqual(bound(), ['10.20.30.41']);
  t.is(ssh(), 'ACCEPT', 'a node address: the node answers on 22 itself');
  const web = engine.send(tcp(NODE_A, 40001, '172.18.0.9', 80), HOST, 1);
  t.is(web.verdict, 'DNAT');
  t.true(web.steps.some((s) => s.decision === 'ACCEPT: the external IP is local (a node address)'));
  put(store, node('node-a', [NODE_A], { podCIDRs: ['10.244.1.0/24'] }));
  t.deepEqual(bound(), ['10.20.30.41', '172.18.0.9']);
  t.is(ssh(), 'REJECT');
  // The Service going away unbinds it: nothing of the node's address history is left counted.
  put(store, ...svc({}));
  t.deepEqual(bound(), ['10.20.30.41']);
  t.is(ssh(), 'ACCEPT');
});
