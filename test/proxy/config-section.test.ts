/**
 * The ClusterConfig `proxy:` section: `nodePortAddresses` validated as kube-proxy validates --nodeport-addresses
 * (CIDRs, or `primary` on its own), and `conntrack` in the project's sysctl names or KubeProxyConfiguration's.
 */
import test from 'ava';
import { goDurationSeconds, validateProxySection } from '../../src/proxy/config.js';

const cases: { list: unknown[]; issues: { path: (string | number)[]; detail: string }[] }[] = [
  { list: ['primary'], issues: [] },
  { list: ['10.0.0.0/8', 'fd00::/64'], issues: [] },
  {
    list: ['primary', '127.0.0.0/8'],
    issues: [{ path: ['nodePortAddresses', 0], detail: `can't use both "primary" and CIDRs` }],
  },
  {
    list: ['10.0.0.0/8', 'primary'],
    issues: [{ path: ['nodePortAddresses', 1], detail: `can't use both "primary" and CIDRs` }],
  },
  {
    list: ['10.0.0.0'],
    issues: [{ path: ['nodePortAddresses', 0], detail: 'must be a CIDR or "primary", got "10.0.0.0"' }],
  },
];

for (const { list, issues } of cases)
  test(`nodePortAddresses ${JSON.stringify(list)}: ${issues.length ? issues[0]!.detail : 'accepted'}`, (t) => {
    const result = validateProxySection({ nodePortAddresses: list });
    t.deepEqual(result.issues, issues);
    if (issues.length === 0) t.deepEqual(result.value.nodePortAddresses, list);
  });

const CONNTRACK: {
  input: Record<string, unknown>;
  timeouts?: Record<string, number>;
  issue?: RegExp;
  tcpBeLiberal?: boolean;
}[] = [
  { input: { tcpEstablished: 7200, udp: 60 }, timeouts: { tcpEstablished: 7200, udp: 60 } },
  // A kube-proxy ConfigMap's conntrack block as kubeadm writes it: nulls and 0s leave the node's values.
  {
    input: {
      maxPerCore: null,
      min: null,
      tcpCloseWaitTimeout: null,
      tcpEstablishedTimeout: null,
      udpStreamTimeout: '0s',
      udpTimeout: '0s',
    },
    timeouts: { udp: 30, udpStream: 120 },
  },
  {
    input: {
      tcpEstablishedTimeout: '24h0m0s',
      tcpCloseWaitTimeout: '1h',
      udpTimeout: '1m30.9s',
      udpStreamTimeout: 200,
    },
    timeouts: { tcpEstablished: 86400, tcpCloseWait: 3600, udp: 90, udpStream: 200 },
  },
  // 0 leaves the sysctl as the kernel has it (kube-proxy writes only a duration > 0); 300ms is 0 whole seconds.
  {
    input: { tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: 0, udpTimeout: '300ms' },
    timeouts: { tcpEstablished: 432000, tcpCloseWait: 60, udp: 30 },
  },
  { input: { maxPerCore: 32768, min: 131072, tcpBeLiberal: true }, timeouts: {}, tcpBeLiberal: true },
  { input: { tcpBeLiberal: false }, timeouts: {}, tcpBeLiberal: false },
  { input: { tcpBeLiberal: null }, timeouts: {} },
  { input: { tcpBeLiberal: 1 }, issue: /true or false/ },
  { input: { tcpEstablishedTimeout: '1 day' }, issue: /must be a duration/ },
  { input: { tcpEstablished: '24h' }, issue: /must be a positive number of seconds/ },
  { input: { maxPerCore: -1 }, issue: /an integer ≥ 0/ },
  { input: { tcpTimeout: 5 }, issue: /unknown timeout, known: .*tcpEstablishedTimeout/ },
];

for (const { input, timeouts, issue, tcpBeLiberal } of CONNTRACK)
  test(`proxy.conntrack ${JSON.stringify(input)}`, (t) => {
    const result = validateProxySection({ conntrack: input });
    if (issue) {
      t.is(result.issues.length, 1);
      t.regex(result.issues[0]!.detail, issue);
    } else {
      t.deepEqual(result.issues, []);
      t.deepEqual(result.value.conntrack, timeouts);
      // The sysctl the section sets beside the timeouts (null or absent: the node's, off by default).
      t.is(result.value.tcpBeLiberal, tcpBeLiberal);
    }
  });

test('Go durations', (t) => {
  for (const [text, seconds] of [
    ['0', 0],
    ['0s', 0],
    ['1h30m', 5400],
    ['24h0m0s', 86400],
    ['1.5s', 1.5],
    ['300ms', 0.3],
  ] as const)
    t.is(goDurationSeconds(text), seconds, text);
  for (const text of ['', '5', '1d', 'h', '1h 30m']) t.true(Number.isNaN(goDurationSeconds(text)), text);
});
