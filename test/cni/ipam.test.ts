import test from 'ava';
import fc from 'fast-check';
import { AlreadyAllocatedError, OutOfRangeError } from '../../src/cni/allocation-errors.js';
import { parseCIDR } from '../../src/cni/ip.js';
import { Ipam } from '../../src/cni/ipam.js';
import { DEFAULT_IPAM_CONFIG, type IpamConfig } from '../../src/cni/ipam-config.js';
import { InvalidArgumentError, NotFoundError, RangeExhaustedError } from '../../src/errors.js';
import { Journal, noJournal } from '../../src/model/journal.js';
import { Rng } from '../../src/util/rng.js';
import { holds, opLists, outcome, rollbackIsInvisible } from './helpers.js';

const dualStack: IpamConfig = {
  podCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
  serviceCIDRs: ['10.96.0.0/16', 'fd00:10:96::/112'],
  nodeCIDRMaskSize: { ipv4: 24, ipv6: 64 },
  nodePortRange: { first: 30000, last: 32767 },
  loadBalancerPools: ['192.168.100.0/28', 'fd00:100::/124'],
};

const badConfigs: [string, Partial<IpamConfig>, string][] = [
  [
    'a service CIDR over 2^20 addresses',
    { serviceCIDRs: ['10.0.0.0/8'] },
    'specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must be >= 12 (got 10.0.0.0/8)',
  ],
  [
    'an IPv6 service CIDR over 2^20 addresses',
    { serviceCIDRs: ['fd00::/64'] },
    'specified --service-cluster-ip-range is too large; for 128-bit addresses, the mask must be >= 108 (got fd00::/64)',
  ],
  [
    'two CIDRs of one family',
    { podCIDRs: ['10.244.0.0/16', '10.245.0.0/16'] },
    '--cluster-cidr: 10.244.0.0/16,10.245.0.0/16 must hold one CIDR of each IP family',
  ],
  [
    'three CIDRs',
    { serviceCIDRs: ['10.96.0.0/12', 'fd00::/108', 'fd01::/108'] },
    '--service-cluster-ip-range must not contain more than two entries',
  ],
  ['no CIDR', { podCIDRs: [] }, '--cluster-cidr must contain at least one CIDR'],
  ['a leading zero', { podCIDRs: ['10.244.0.0/016'] }, '--cluster-cidr: "10.244.0.0/016" is not a valid CIDR'],
  [
    'a node mask shorter than the cluster CIDR',
    { nodeCIDRMaskSize: { ipv4: 8, ipv6: 64 } },
    "node CIDR mask size /8 must be between the cluster CIDR's /16 and /32 (10.244.0.0/16)",
  ],
];

for (const [what, change, message] of badConfigs) {
  test(`configuration refused: ${what}`, (t) => {
    const err = t.throws(() => new Ipam({ ...DEFAULT_IPAM_CONFIG, ...change }, new Rng(1)), {
      instanceOf: InvalidArgumentError,
    });
    t.is(err?.message, message);
  });
}

test('flag CIDRs with host bits are masked, as kube-apiserver does', (t) => {
  const ipam = new Ipam({ ...DEFAULT_IPAM_CONFIG, serviceCIDRs: ['10.96.0.5/12'] }, new Rng(1));
  t.is(ipam.report().serviceCIDRs[0]?.cidr, '10.96.0.0/12');
});

test('dual-stack nodes get one CIDR per family and pods one IP per family', (t) => {
  const ipam = new Ipam(dualStack, new Rng(1));
  t.deepEqual(ipam.podFamilies(), ['IPv4', 'IPv6']);
  t.deepEqual(ipam.allocateNodeCIDRs('a', undefined, noJournal), ['10.244.0.0/24', 'fd00:10:244::/64']);
  t.deepEqual(ipam.allocateNodeCIDRs('b', undefined, noJournal), ['10.244.1.0/24', 'fd00:10:244:1::/64']);
  t.deepEqual(ipam.allocateNodeCIDRs('a', undefined, noJournal), ['10.244.0.0/24', 'fd00:10:244::/64']); // same again
  t.deepEqual(ipam.allocatePodIPs('a', undefined, noJournal), ['10.244.0.2', 'fd00:10:244::2']);
  t.deepEqual(ipam.allocatePodIPs('a', ['fd00:10:244::9'], noJournal), ['10.244.0.3', 'fd00:10:244::9']);
  t.is(ipam.releasePodIPs('a', ['10.244.0.3', 'fd00:10:244::9', '10.9.9.9'], noJournal), 2);
  t.throws(() => ipam.allocatePodIPs('nobody', undefined, noJournal), { instanceOf: NotFoundError });
  t.throws(() => ipam.allocatePodIPs('a', ['10.244.0.7', '10.244.0.8'], noJournal), {
    instanceOf: InvalidArgumentError,
  });
  const err = t.throws(() => ipam.allocatePodIPs('a', ['10.244.1.7'], noJournal), { instanceOf: OutOfRangeError });
  t.is(err?.message, '10.244.1.7 not in range set 10.244.0.1-10.244.0.254');
});

test('pinned node CIDRs: matched by position, only those, never shared', (t) => {
  const ipam = new Ipam(dualStack, new Rng(1));
  ipam.allocateNodeCIDRs('a', undefined, noJournal);
  t.deepEqual(ipam.allocateNodeCIDRs('c', ['10.244.7.0/24'], noJournal), ['10.244.7.0/24']);
  t.deepEqual(ipam.allocatePodIPs('c', undefined, noJournal), ['10.244.7.2']);
  const taken = t.throws(() => ipam.allocateNodeCIDRs('d', ['10.244.0.0/24'], noJournal), {
    instanceOf: AlreadyAllocatedError,
  });
  t.is(taken?.message, 'pod CIDR 10.244.0.0/24 is already allocated to node a');
  const swapped = t.throws(() => ipam.allocateNodeCIDRs('d', ['fd00:10:244:9::/64'], noJournal), {
    instanceOf: OutOfRangeError,
  });
  t.is(
    swapped?.message,
    'node d: pod CIDR fd00:10:244:9::/64 is IPv6, but the cluster CIDR at that position is 10.244.0.0/16',
  );
  const changed = t.throws(() => ipam.allocateNodeCIDRs('c', ['10.244.8.0/24'], noJournal), {
    instanceOf: AlreadyAllocatedError,
  });
  t.regex(changed?.message ?? '', /spec.podCIDRs cannot change/);
  t.throws(() => ipam.allocateNodeCIDRs('e', ['10.244.8.0/24', 'fd00:10:244:8::/64', '10.244.9.0/24'], noJournal), {
    instanceOf: OutOfRangeError,
  });
});

test('a node whose second family is exhausted gets nothing (the first is given back)', (t) => {
  const ipam = new Ipam({ ...dualStack, podCIDRs: ['10.244.0.0/16', 'fd00:10:244::/64'] }, new Rng(1));
  ipam.allocateNodeCIDRs('a', undefined, noJournal);
  const err = t.throws(() => ipam.allocateNodeCIDRs('b', undefined, noJournal), { instanceOf: RangeExhaustedError });
  t.is((err as RangeExhaustedError).range, 'fd00:10:244::/64');
  t.is(ipam.nodeCIDRs('b'), undefined);
  t.is(ipam.report().clusterCIDRs[0]?.used, 1);
  t.deepEqual(ipam.allocateNodeCIDRs('c', ['10.244.1.0/24'], noJournal), ['10.244.1.0/24']);
});

test('releasing a node frees its CIDRs; a journal rollback brings node and pods back', (t) => {
  const ipam = new Ipam(dualStack, new Rng(1));
  ipam.allocateNodeCIDRs('a', undefined, noJournal);
  ipam.allocatePodIPs('a', undefined, noJournal);
  const journal = new Journal();
  t.true(ipam.releaseNode('a', journal));
  t.is(ipam.nodeCIDRs('a'), undefined);
  t.false(ipam.releaseNode('a', journal));
  journal.rollback();
  t.deepEqual(ipam.nodeCIDRs('a'), ['10.244.0.0/24', 'fd00:10:244::/64']);
  t.deepEqual(ipam.allocatePodIPs('a', undefined, noJournal), ['10.244.0.3', 'fd00:10:244::3']);
  ipam.releaseNode('a', noJournal);
  t.deepEqual(ipam.allocateNodeCIDRs('b', undefined, noJournal), ['10.244.1.0/24', 'fd00:10:244:1::/64']);
});

test('ClusterIPs, NodePorts and LoadBalancer IPs through the facade', (t) => {
  const ipam = new Ipam(dualStack, new Rng(9));
  t.deepEqual(ipam.serviceFamilies(), ['IPv4', 'IPv6']);
  t.is(ipam.allocateClusterIP('IPv4', '10.96.0.10', noJournal), '10.96.0.10');
  const dynamic = ipam.allocateClusterIP('IPv6', undefined, noJournal);
  t.true(parseCIDR('fd00:10:96::/112')!.indexOf(dynamic)! > 256n);
  t.true(ipam.releaseClusterIP('10.96.0.10', noJournal));
  t.false(ipam.releaseClusterIP('10.96.0.10', noJournal));
  const single = new Ipam(DEFAULT_IPAM_CONFIG, new Rng(9));
  const err = t.throws(() => single.allocateClusterIP('IPv6', undefined, noJournal), { instanceOf: OutOfRangeError });
  t.is(err?.message, 'IPv6 is not configured on this cluster (service CIDRs: 10.96.0.0/12)');
  t.is(ipam.allocateNodePort(30080, noJournal), 30080);
  const port = ipam.allocateNodePort(undefined, noJournal);
  t.true(port >= 30086 && port <= 32767);
  t.true(ipam.releaseNodePort(port, noJournal));
  t.true(ipam.hasLoadBalancerPools('IPv6'));
  t.false(single.hasLoadBalancerPools('IPv4'));
  t.is(ipam.allocateLoadBalancerIP('IPv4', undefined, noJournal), '192.168.100.0');
  t.is(ipam.allocateLoadBalancerIP('IPv4', '203.0.113.9', noJournal), '203.0.113.9');
  t.throws(() => ipam.allocateLoadBalancerIP('IPv6', '203.0.113.9', noJournal), { instanceOf: OutOfRangeError });
  t.true(ipam.releaseLoadBalancerIP('192.168.100.0', noJournal));
});

test('report lists every range with its usage', (t) => {
  const ipam = new Ipam(dualStack, new Rng(1));
  ipam.allocateNodeCIDRs('b', undefined, noJournal);
  ipam.allocateNodeCIDRs('a', undefined, noJournal);
  ipam.allocatePodIPs('a', undefined, noJournal);
  ipam.allocateClusterIP('IPv4', '10.96.0.1', noJournal);
  ipam.allocateNodePort(30000, noJournal);
  const report = ipam.report();
  t.deepEqual(report.clusterCIDRs[0], {
    cidr: '10.244.0.0/16',
    family: 'IPv4',
    nodeMaskSize: 24,
    capacity: '256',
    used: 2,
    free: '254',
    nodes: [
      { node: 'b', cidr: '10.244.0.0/24' },
      { node: 'a', cidr: '10.244.1.0/24' },
    ],
  });
  t.deepEqual(
    report.nodes.map((n) => n.node),
    ['a', 'b'],
  );
  t.deepEqual(report.nodes[0]?.ranges[1], {
    cidr: 'fd00:10:244:1::/64',
    gateway: 'fd00:10:244:1::1',
    capacity: '18446744073709551614',
    used: 1,
    free: '18446744073709551613',
    lastReserved: 'fd00:10:244:1::2',
  });
  t.deepEqual(report.serviceCIDRs[0], {
    cidr: '10.96.0.0/16',
    family: 'IPv4',
    size: '65534',
    used: 1,
    free: '65533',
    staticBand: { first: '10.96.0.1', last: '10.96.1.0' },
  });
  t.deepEqual(report.nodePorts, {
    range: '30000-32767',
    size: '2768',
    used: 1,
    free: '2767',
    staticBand: { first: 30000, last: 30085 },
  });
  t.is(report.loadBalancerPools.length, 2);
  t.notThrows(() => JSON.stringify(report));
});

// A small cluster so random sequences hit exhaustion and reuse.
const small: IpamConfig = {
  podCIDRs: ['10.244.0.0/26', 'fd00:10:244::/62'],
  serviceCIDRs: ['10.96.0.0/27', 'fd00:10:96::/123'],
  nodeCIDRMaskSize: { ipv4: 28, ipv6: 64 },
  nodePortRange: { first: 30000, last: 30031 },
  loadBalancerPools: ['192.168.0.0/30'],
};
const NODES = ['n0', 'n1', 'n2', 'n3', 'n4'];

type Op =
  | { kind: 'node' | 'dropNode' | 'pod'; node: number }
  | { kind: 'dropPod'; node: number; index: number }
  | { kind: 'clusterIP' | 'lb'; v6: boolean }
  | { kind: 'dropClusterIP'; index: number }
  | { kind: 'nodePort' }
  | { kind: 'dropNodePort'; port: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('node' as const, 'dropNode' as const, 'pod' as const), node: fc.nat(4) }),
  fc.record({ kind: fc.constant('dropPod' as const), node: fc.nat(4), index: fc.integer({ min: 2, max: 14 }) }),
  fc.record({ kind: fc.constantFrom('clusterIP' as const, 'lb' as const), v6: fc.boolean() }),
  fc.record({ kind: fc.constant('dropClusterIP' as const), index: fc.nat(31) }),
  fc.constant({ kind: 'nodePort' as const }),
  fc.record({ kind: fc.constant('dropNodePort' as const), port: fc.integer({ min: 30000, max: 30031 }) }),
);

function apply(ipam: Ipam, o: Op, journal: Journal): unknown {
  switch (o.kind) {
    case 'node':
      return ipam.allocateNodeCIDRs(NODES[o.node]!, undefined, journal);
    case 'dropNode':
      return ipam.releaseNode(NODES[o.node]!, journal);
    case 'pod':
      return ipam.allocatePodIPs(NODES[o.node]!, undefined, journal);
    case 'dropPod': {
      const cidr = ipam.nodeCIDRs(NODES[o.node]!)?.[0];
      return cidr && ipam.releasePodIPs(NODES[o.node]!, [parseCIDR(cidr)!.nth(BigInt(o.index))], journal);
    }
    case 'clusterIP':
      return ipam.allocateClusterIP(o.v6 ? 'IPv6' : 'IPv4', undefined, journal);
    case 'dropClusterIP':
      return ipam.releaseClusterIP(`10.96.0.${o.index}`, journal);
    case 'lb':
      return ipam.allocateLoadBalancerIP(o.v6 ? 'IPv6' : 'IPv4', undefined, journal);
    case 'nodePort':
      return ipam.allocateNodePort(undefined, journal);
    case 'dropNodePort':
      return ipam.releaseNodePort(o.port, journal);
  }
}

test('a rolled-back batch leaves the whole IPAM as if it never happened', (t) => {
  holds(
    t,
    fc.property(opLists(op, 30), fc.integer(), (ops, seed) =>
      rollbackIsInvisible(
        () => new Ipam(small, new Rng(seed)),
        apply,
        (ipam) => ipam.report(),
        ops,
      ),
    ),
    { numRuns: 400 },
  );
});

test('node CIDRs stay disjoint and each node keeps exactly its own pod ranges across random churn', (t) => {
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 80 }), fc.integer(), (ops, seed) => {
      const ipam = new Ipam(small, new Rng(seed));
      for (const o of ops) outcome(() => apply(ipam, o, noJournal));
      const report = ipam.report();
      const subnets = report.clusterCIDRs.flatMap((c) => c.nodes.map((n) => parseCIDR(n.cidr)!));
      const disjoint = subnets.every((x, i) => subnets.every((y, j) => i === j || !x.overlaps(y)));
      const owners = report.nodes.every((n) => n.ranges.every((r) => ipam.nodeCIDRs(n.node)?.includes(r.cidr)));
      return disjoint && owners && subnets.length === report.nodes.reduce((sum, n) => sum + n.ranges.length, 0);
    }),
    { numRuns: 400 },
  );
});
