/**
 * podResolvConf against kubelet's GetPodDNS: every dnsPolicy × hostNetwork × dnsConfig, the fallbacks, the merge
 * rules and the limits.
 */
import test from 'ava';
import {
  formatResolvConf,
  type NodeDnsSettings,
  type PodDnsInput,
  type PodDnsSource,
  podResolvConf,
  type ResolvConf,
} from '../../../src/dns/client/index.js';
import type { DNSPolicy, PodDNSConfig } from '../../../src/model/types.js';

const HOST: ResolvConf = {
  nameservers: ['172.18.0.1'],
  searches: ['corp.example'],
  options: [
    { name: 'ndots', value: '0' },
    { name: 'timeout', value: '2' },
  ],
};

const NODE: NodeDnsSettings = { clusterDomain: 'cluster.local', clusterDNS: ['10.96.0.10'], hostResolvConf: HOST };

const DNS_CONFIG: PodDNSConfig = {
  nameservers: ['10.96.0.10', '192.0.2.53'],
  searches: ['svc.cluster.local', 'extra.example'],
  options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
};

function pod(dnsPolicy: DNSPolicy, hostNetwork: boolean, dnsConfig?: PodDNSConfig): PodDnsInput {
  return {
    metadata: { name: 'client', namespace: 'app' },
    spec: { dnsPolicy, hostNetwork, ...(dnsConfig ? { dnsConfig } : {}) },
  };
}

const CLUSTER_BASE: ResolvConf = {
  nameservers: ['10.96.0.10'],
  searches: ['app.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example'],
  options: [{ name: 'ndots', value: '5' }],
};
const NONE_BASE: ResolvConf = { nameservers: [], searches: [], options: [] };

const CLUSTER_MERGED: ResolvConf = {
  nameservers: ['10.96.0.10', '192.0.2.53'],
  searches: ['app.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example', 'extra.example'],
  options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
};
const HOST_MERGED: ResolvConf = {
  nameservers: ['172.18.0.1', '10.96.0.10', '192.0.2.53'],
  searches: ['corp.example', 'svc.cluster.local', 'extra.example'],
  // The pod's ndots replaces the node's in place; new options follow.
  options: [{ name: 'ndots', value: '2' }, { name: 'timeout', value: '2' }, { name: 'edns0' }],
};
const NONE_MERGED: ResolvConf = {
  nameservers: ['10.96.0.10', '192.0.2.53'],
  searches: ['svc.cluster.local', 'extra.example'],
  options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
};

const MATRIX: [DNSPolicy, boolean, PodDnsSource, ResolvConf, ResolvConf][] = [
  ['ClusterFirst', false, 'cluster', CLUSTER_BASE, CLUSTER_MERGED],
  ['ClusterFirst', true, 'host', HOST, HOST_MERGED],
  ['ClusterFirstWithHostNet', false, 'cluster', CLUSTER_BASE, CLUSTER_MERGED],
  ['ClusterFirstWithHostNet', true, 'cluster', CLUSTER_BASE, CLUSTER_MERGED],
  ['Default', false, 'host', HOST, HOST_MERGED],
  ['Default', true, 'host', HOST, HOST_MERGED],
  ['None', false, 'none', NONE_BASE, NONE_MERGED],
  ['None', true, 'none', NONE_BASE, NONE_MERGED],
];

for (const [policy, hostNetwork, source, base, merged] of MATRIX) {
  test(`${policy} hostNetwork=${hostNetwork}, no dnsConfig`, (t) => {
    const rc = podResolvConf(pod(policy, hostNetwork), NODE);
    t.deepEqual(rc, { ...base, source, warnings: [] });
  });
  test(`${policy} hostNetwork=${hostNetwork}, with dnsConfig`, (t) => {
    const rc = podResolvConf(pod(policy, hostNetwork, DNS_CONFIG), NODE);
    t.deepEqual(rc, { ...merged, source, warnings: [] });
  });
}

test('the ClusterFirst file, as containerd writes it', (t) => {
  const rc = podResolvConf(pod('ClusterFirst', false), { ...NODE, hostResolvConf: { ...HOST, searches: [] } });
  t.is(
    formatResolvConf(rc),
    'search app.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  );
});

test('without dnsConfig the node options pass through untouched, duplicates included', (t) => {
  const host = {
    ...HOST,
    options: [
      { name: 'ndots', value: '1' },
      { name: 'ndots', value: '3' },
    ],
  };
  const rc = podResolvConf(pod('Default', false), { ...NODE, hostResolvConf: host });
  t.deepEqual(rc.options, host.options);
});

test('a dnsConfig option without a value replaces a valued one, and an empty value is the bare name', (t) => {
  const rc = podResolvConf(
    pod('Default', false, { options: [{ name: 'ndots' }, { name: 'rotate', value: '' }] }),
    NODE,
  );
  t.deepEqual(rc.options, [{ name: 'ndots' }, { name: 'timeout', value: '2' }, { name: 'rotate' }]);
});

test('no cluster DNS IP: cluster policies fall back to Default with a MissingClusterDNS warning', (t) => {
  for (const policy of ['ClusterFirst', 'ClusterFirstWithHostNet'] as DNSPolicy[]) {
    const rc = podResolvConf(pod(policy, policy === 'ClusterFirstWithHostNet'), { ...NODE, clusterDNS: [] });
    t.is(rc.source, 'host');
    t.deepEqual(rc.nameservers, HOST.nameservers);
    t.deepEqual(
      rc.warnings.map((w) => w.reason),
      ['MissingClusterDNS'],
    );
    // kubelet's text names "ClusterFirst" for either cluster policy.
    t.regex(
      rc.warnings[0]!.message,
      /^pod: "[^"]+_[^"]+\(\)"\. kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy\. Falling back to "Default" policy\.$/,
    );
  }
});

test('two cluster DNS IPs (dual-stack) are both nameservers', (t) => {
  const rc = podResolvConf(pod('ClusterFirst', false), { ...NODE, clusterDNS: ['10.96.0.10', 'fd00:10:96::a'] });
  t.deepEqual(rc.nameservers, ['10.96.0.10', 'fd00:10:96::a']);
});

test('an empty cluster domain leaves only the node search domains', (t) => {
  const rc = podResolvConf(pod('ClusterFirst', false), { ...NODE, clusterDomain: '' });
  t.deepEqual(rc.searches, ['corp.example']);
  t.deepEqual(rc.nameservers, ['10.96.0.10']);
});

test('node search domains that repeat the cluster ones are de-duplicated', (t) => {
  const host = { ...HOST, searches: ['svc.cluster.local', 'corp.example', 'app.svc.cluster.local'] };
  const rc = podResolvConf(pod('ClusterFirst', false), { ...NODE, hostResolvConf: host });
  t.deepEqual(rc.searches, ['app.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example']);
});

test('a pod without a namespace is in default', (t) => {
  const rc = podResolvConf({ metadata: { name: 'x' }, spec: { dnsPolicy: 'ClusterFirst' } }, NODE);
  t.is(rc.searches[0], 'default.svc.cluster.local');
});

test('--resolv-conf="": loopback per node IP family and search .', (t) => {
  const cases: [string[] | undefined, string[]][] = [
    [undefined, ['127.0.0.1']],
    [['172.18.0.2'], ['127.0.0.1']],
    [['fc00::2'], ['::1']],
    [
      ['172.18.0.2', 'fc00::2'],
      ['127.0.0.1', '::1'],
    ],
  ];
  for (const [nodeIPs, servers] of cases) {
    const node: NodeDnsSettings = { ...NODE, hostResolvConf: null, ...(nodeIPs ? { nodeIPs } : {}) };
    const rc = podResolvConf(pod('Default', false), node);
    t.deepEqual(rc.nameservers, servers);
    t.deepEqual(rc.searches, ['.']);
    t.deepEqual(rc.options, []);
  }
  const cluster = podResolvConf(pod('ClusterFirst', false), { ...NODE, hostResolvConf: null });
  t.deepEqual(cluster.searches, ['app.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
});

test('a node with search . keeps it after the cluster domains', (t) => {
  const rc = podResolvConf(pod('ClusterFirst', false), { ...NODE, hostResolvConf: { ...HOST, searches: ['.'] } });
  t.deepEqual(rc.searches, ['app.svc.cluster.local', 'svc.cluster.local', 'cluster.local', '.']);
});
