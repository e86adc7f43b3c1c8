import test from 'ava';
import { defaultClusterConfig, parseClusterConfig, registerConfigSection } from '../../src/model/config.js';
import { positionOf } from '../../src/model/source.js';
import { checkText, type FixtureCase, fixtureTable, MSG } from './helpers.js';

const HEAD = 'apiVersion: kube-netsim.io/v1alpha1\nkind: ClusterConfig\n';

const cases: FixtureCase[] = [
  [
    'config-unknown-field.yaml',
    [
      '7:3: ClusterConfig lab: spec.podCIDR: unknown field "podCIDR" (known fields: clusterDomain, podCIDRs, serviceCIDRs, nodeCIDRMaskSize, nodePortRange, loadBalancerPools, nodeNetworks, nodes, seed, dns, proxy) (document 1)',
      '10:5: ClusterConfig lab: spec.nodes.zones: unknown field "zones" (known fields: controlPlane, workers, namePrefix) (document 1)',
    ],
  ],
  [
    'config-top-level.yaml',
    ['5:1: ClusterConfig lab: podCIDRs: unknown field "podCIDRs": ClusterConfig fields go under `spec` (document 1)'],
  ],
  [
    'config-cidrs.yaml',
    [
      '7:7: ClusterConfig lab: spec.podCIDRs[0]: must be a network address (host bits set), got "10.244.0.1/16" (did you mean 10.244.0.0/16?) (document 1)',
    ],
  ],
  [
    'config-pod-cidrs-family.yaml',
    [
      '6:3: ClusterConfig lab: spec.podCIDRs: may specify no more than one CIDR for each IP family, got ["10.244.0.0/16","10.245.0.0/16"] (document 1)',
    ],
  ],
  [
    'config-service-cidrs.yaml',
    [
      '8:7: ClusterConfig lab: spec.serviceCIDRs[0]: is too large; for 32-bit addresses, the mask must be >= 12, got "10.0.0.0/8" (document 1)',
      '8:7: ClusterConfig lab: spec.serviceCIDRs[0]: overlaps spec.podCIDRs[0] (10.244.0.0/16), got "10.0.0.0/8" (pod, service and node networks and LoadBalancer pools must not share addresses) (document 1)',
      '9:7: ClusterConfig lab: spec.serviceCIDRs[1]: needs a pod CIDR of the same family (IPv6), got "fd00:10:96::/112" (Service endpoints are pods: add a podCIDRs entry of this family) (document 1)',
    ],
  ],
  [
    'config-node-mask.yaml',
    [
      '8:5: ClusterConfig lab: spec.nodeCIDRMaskSize.ipv4: must be between 16 and 32, got 12 (the node CIDRs are carved out of spec.podCIDRs[0] (10.244.0.0/16)) (document 1)',
      '9:5: ClusterConfig lab: spec.nodeCIDRMaskSize.ipv6: must be at most 16 bits longer than the IPv6 pod CIDR prefix, got 80 (kube-controller-manager cannot allocate more than 2^16 node CIDRs from spec.podCIDRs[1] (fd00:10:244::/56)) (document 1)',
    ],
  ],
  [
    'config-node-networks.yaml',
    [
      '7:3: ClusterConfig lab: spec.nodeNetworks: needs an IPv6 network: the pod CIDRs include IPv6, got ["172.18.0.0/16"] (document 1)',
    ],
  ],
  [
    'config-port-range.yaml',
    [
      '6:3: ClusterConfig lab: spec.nodePortRange: first port must not be greater than last port, got "32767-30000" (document 1)',
    ],
  ],
  [
    'config-pools.yaml',
    [
      '8:7: ClusterConfig lab: spec.loadBalancerPools[1]: overlaps spec.loadBalancerPools[0] (192.168.10.0/24), got "192.168.10.200-192.168.10.250" (pod, service and node networks and LoadBalancer pools must not share addresses) (document 1)',
      '9:7: ClusterConfig lab: spec.loadBalancerPools[2]: overlaps spec.serviceCIDRs[0] (10.96.0.0/12), got "10.96.0.1-10.96.0.9" (pod, service and node networks and LoadBalancer pools must not share addresses) (document 1)',
      '10:7: ClusterConfig lab: spec.loadBalancerPools[3]: first address must not be greater than last address, got "192.168.20.9-192.168.20.1" (document 1)',
    ],
  ],
  [
    'config-scalars.yaml',
    [
      `6:3: ClusterConfig lab: spec.clusterDomain: ${MSG.dns1123Subdomain}, got "Cluster.Local" (document 1)`,
      '7:3: ClusterConfig lab: spec.nodes: must create at least one node, got {"controlPlane":0,"workers":0,"namePrefix":"Lab_"} (document 1)',
      `10:5: ClusterConfig lab: spec.nodes.namePrefix: ${MSG.dns1123Label}, got "Lab_" (document 1)`,
      '11:3: ClusterConfig lab: spec.seed: must be an integer between 0 and 4294967295, inclusive, got -1 (document 1)',
    ],
  ],
  [
    'config-two.yaml',
    [
      '7:1: ClusterConfig lab: only one ClusterConfig may be given; the first is at fixtures/bad/config-two.yaml:1:1 (document 2)',
    ],
  ],
];

fixtureTable(test, cases);

test('defaults: every field, single-stack IPv4', (t) => {
  const config = defaultClusterConfig();
  t.deepEqual(config, {
    apiVersion: 'kube-netsim.io/v1alpha1',
    kind: 'ClusterConfig',
    metadata: { name: 'kube-netsim' },
    spec: {
      clusterDomain: 'cluster.local',
      podCIDRs: ['10.244.0.0/16'],
      serviceCIDRs: ['10.96.0.0/12'],
      nodeCIDRMaskSize: { ipv4: 24, ipv6: 64 },
      nodePortRange: { first: 30000, last: 32767 },
      loadBalancerPools: [],
      nodeNetworks: ['172.18.0.0/16'],
      nodes: { controlPlane: 1, workers: 2, namePrefix: 'kube-netsim' },
      seed: 1,
    },
  });
});

const defaultsTable: [title: string, spec: string, expected: Record<string, unknown>][] = [
  [
    'a second, IPv6 pod CIDR makes the cluster dual-stack: Services and nodes follow',
    'podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]',
    { serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/112'], nodeNetworks: ['172.18.0.0/16', 'fc00:f853:ccd:e793::/64'] },
  ],
  [
    'an IPv6-only cluster gets IPv6 Services and nodes',
    'podCIDRs: ["fd00:10:244::/56"]',
    { serviceCIDRs: ['fd00:10:96::/112'], nodeNetworks: ['fc00:f853:ccd:e793::/64'] },
  ],
  ['nodePortRange as first-last', 'nodePortRange: 31000-31999', { nodePortRange: { first: 31000, last: 31999 } }],
  [
    'nodePortRange as a mapping',
    'nodePortRange: {first: 20000, last: 20100}',
    { nodePortRange: { first: 20000, last: 20100 } },
  ],
  [
    'a partial nodeCIDRMaskSize keeps the other default',
    'nodeCIDRMaskSize: {ipv4: 26}',
    { nodeCIDRMaskSize: { ipv4: 26, ipv6: 64 } },
  ],
  [
    'partial nodes keep the other defaults',
    'nodes: {workers: 5}',
    { nodes: { controlPlane: 1, workers: 5, namePrefix: 'kube-netsim' } },
  ],
  [
    'LoadBalancer pools as CIDRs and ranges',
    'loadBalancerPools: [172.19.255.0/24, 192.168.1.10-192.168.1.20]',
    { loadBalancerPools: ['172.19.255.0/24', '192.168.1.10-192.168.1.20'] },
  ],
  ['seed', 'seed: 4294967295', { seed: 4294967295 }],
];

for (const [title, spec, expected] of defaultsTable) {
  test(`config: ${title}`, (t) => {
    const { lines, result } = checkText(`${HEAD}spec:\n  ${spec}\n`);
    t.deepEqual(lines, []);
    const got = result.config?.spec as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) t.deepEqual(got[key], value, key);
  });
}

test('the ClusterConfig keeps its SourceRef, so later stages can point at its fields', (t) => {
  const { result } = checkText(`${HEAD}spec:\n  seed: 7\n`, 'cluster.yaml');
  t.deepEqual(positionOf(result.config!, ['spec', 'seed']), { file: 'cluster.yaml', document: 1, line: 4, column: 3 });
});

test('unregistered dns and proxy sections are kept raw; other unknown sections are errors', (t) => {
  const { lines, result } = checkText(`${HEAD}spec:\n  dns: {ttl: 5}\n  proxy: {mode: ipvs}\n`);
  t.deepEqual(lines, []);
  t.deepEqual(result.config?.spec.dns, { ttl: 5 });
  t.deepEqual(result.config?.spec.proxy, { mode: 'ipvs' });
  t.deepEqual(checkText(`${HEAD}spec:\n  dns: fast\n`, 'c.yaml').lines, [
    'c.yaml:4:3: ClusterConfig kube-netsim: spec.dns: must be a mapping, got "fast" (document 1)',
  ]);
  t.deepEqual(checkText(`${HEAD}spec:\n  metrics: {}\n`, 'c.yaml').lines, [
    'c.yaml:4:3: ClusterConfig kube-netsim: spec.metrics: unknown field "metrics" (known fields: clusterDomain, podCIDRs, serviceCIDRs, nodeCIDRMaskSize, nodePortRange, loadBalancerPools, nodeNetworks, nodes, seed, dns, proxy) (document 1)',
  ]);
});

test('registerConfigSection: a section validates and defaults itself, reporting at its own paths', (t) => {
  const seen: unknown[] = [];
  const unregister = registerConfigSection('metrics', (value, ctx) => {
    seen.push(value);
    const section = (value ?? {}) as { port?: unknown };
    const port = section.port ?? 9090;
    if (typeof port !== 'number' || port < 1 || port > 65535) {
      ctx.report.invalid([...ctx.path, 'port'], port, 'must be between 1 and 65535, inclusive');
      return undefined;
    }
    return { port, domain: ctx.spec.clusterDomain };
  });
  try {
    const ok = checkText(`${HEAD}spec:\n  clusterDomain: lab.local\n`);
    t.deepEqual(ok.lines, []);
    const spec = ok.result.config!.spec as unknown as Record<string, unknown>;
    t.deepEqual(spec.metrics, {
      port: 9090,
      domain: 'lab.local',
    });
    const bad = checkText(`${HEAD}spec:\n  metrics:\n    port: 0\n`, 'c.yaml');
    t.deepEqual(bad.lines, [
      'c.yaml:5:5: ClusterConfig kube-netsim: spec.metrics.port: must be between 1 and 65535, inclusive, got 0 (document 1)',
    ]);
    t.deepEqual(seen, [undefined, { port: 0 }]);
    t.throws(() => registerConfigSection('metrics', () => undefined), { message: /already registered/ });
    t.throws(() => registerConfigSection('podCIDRs', () => undefined), { message: /built-in field/ });
  } finally {
    unregister();
  }
  t.regex(checkText(`${HEAD}spec:\n  metrics: {}\n`).lines[0] ?? '', /unknown field "metrics"/);
});

test('parseClusterConfig reports a wrong apiVersion and a non-mapping spec', (t) => {
  const result = parseClusterConfig({ apiVersion: 'v1', kind: 'ClusterConfig', spec: [] });
  t.deepEqual(
    result.issues.map((i) => `${i.field}: ${i.detail}`),
    ['apiVersion: must be "kube-netsim.io/v1alpha1", got "v1"', 'spec: must be a mapping, got []'],
  );
  t.is(result.config, undefined);
});

test('CIDR syntax in the config is strict: leading zeros and bad prefixes are errors', (t) => {
  const { lines } = checkText(
    `${HEAD}spec:\n  podCIDRs: [010.244.0.0/16]\n  serviceCIDRs: [10.96.0.0/012]\n`,
    'c.yaml',
  );
  t.deepEqual(lines, [
    `c.yaml:4:14: ClusterConfig kube-netsim: spec.podCIDRs[0]: ${MSG.cidr}, got "010.244.0.0/16" (leading zeros are ambiguous (octal or decimal?): write each part in plain decimal) (document 1)`,
    `c.yaml:5:18: ClusterConfig kube-netsim: spec.serviceCIDRs[0]: ${MSG.cidr}, got "10.96.0.0/012" (document 1)`,
  ]);
});

test('a LoadBalancer pool may lie inside a node network (kind + MetalLB L2 layout), not inside pod or service CIDRs', (t) => {
  const ok = checkText(`${HEAD}spec:\n  loadBalancerPools: [172.18.255.200-172.18.255.250]\n`);
  t.deepEqual(ok.lines, []);
  const bad = checkText(`${HEAD}spec:\n  loadBalancerPools: [10.244.255.0/24]\n`, 'c.yaml');
  t.deepEqual(bad.lines, [
    'c.yaml:4:23: ClusterConfig kube-netsim: spec.loadBalancerPools[0]: overlaps spec.podCIDRs[0] (10.244.0.0/16), got "10.244.255.0/24" (pod, service and node networks and LoadBalancer pools must not share addresses) (document 1)',
  ]);
});

test('pools and port ranges: syntax errors name what is wrong', (t) => {
  const { lines } = checkText(
    `${HEAD}spec:
  loadBalancerPools: [192.168.1.1-fd00::1, 192.168.1.010-192.168.1.20, 192.168.2.0/24x]
  nodePortRange: {first: 0, last: 70000, size: 3}
`,
    'c.yaml',
  );
  t.deepEqual(lines, [
    'c.yaml:4:23: ClusterConfig kube-netsim: spec.loadBalancerPools[0]: must not mix IPv4 and IPv6 addresses, got "192.168.1.1-fd00::1" (document 1)',
    'c.yaml:4:44: ClusterConfig kube-netsim: spec.loadBalancerPools[1]: must be a CIDR or a range first-last of two IP addresses (each a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)), got "192.168.1.010-192.168.1.20" (leading zeros are ambiguous (octal or decimal?): write each part in plain decimal) (document 1)',
    `c.yaml:4:72: ClusterConfig kube-netsim: spec.loadBalancerPools[2]: ${MSG.cidr}, got "192.168.2.0/24x" (document 1)`,
    'c.yaml:5:19: ClusterConfig kube-netsim: spec.nodePortRange.first: first port must be an integer between 1 and 65535, inclusive, got 0 (document 1)',
    'c.yaml:5:29: ClusterConfig kube-netsim: spec.nodePortRange.last: last port must be an integer between 1 and 65535, inclusive, got 70000 (document 1)',
    'c.yaml:5:42: ClusterConfig kube-netsim: spec.nodePortRange.size: unknown field "size" (known fields: first, last) (document 1)',
  ]);
});

const CAPACITY_CASES: [title: string, spec: string, problem: RegExp][] = [
  [
    'a service CIDR without a 10th address',
    '  serviceCIDRs: [10.96.0.0/29]\n',
    /serviceCIDRs\[0\]: is too small: it has 8/,
  ],
  [
    'fewer node CIDRs than nodes',
    '  podCIDRs: [10.244.0.0/24]\n  nodeCIDRMaskSize: {ipv4: 26}\n  nodes: {workers: 5}\n',
    /nodeCIDRMaskSize\.ipv4: leaves room for 4 node CIDRs .* fewer than the 6 nodes/,
  ],
  ['a node CIDR with no room for pods', '  nodeCIDRMaskSize: {ipv4: 31}\n', /leaves no address for pods/],
  [
    'a node network too small for the nodes',
    '  nodeNetworks: [172.18.0.0/30]\n  nodes: {workers: 2}\n',
    /nodeNetworks\[0\]: has room for 1 node addresses, fewer than the 3 nodes/,
  ],
];
for (const [title, spec, problem] of CAPACITY_CASES) {
  test(`capacity: ${title} is one error at its field, not a failure per node at bootstrap`, (t) => {
    const { lines } = checkText(`${HEAD}spec:\n${spec}`, 'c.yaml');
    t.is(lines.length, 1, lines.join('\n'));
    t.regex(lines[0]!, problem);
    t.regex(lines[0]!, /^c\.yaml:\d+:\d+: ClusterConfig kube-netsim: spec\./);
  });
}
