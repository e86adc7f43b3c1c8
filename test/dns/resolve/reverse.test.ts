/** PTR records and the reverse zones (dns.md §7), after CoreDNS's reverse_test.go. */
import test from 'ava';
import { resolve } from '../../../src/dns/resolve/resolve.js';
import { type Case, fixtureZone, runCases, soa } from './helpers.js';

const V4 = soa('in-addr.arpa.');
const V6 = soa('ip6.arpa.');
const CLUSTER = soa();
const NIBBLES_SVC6 = '6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa.';
const NIBBLES_EP6 = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.4.4.2.0.0.1.0.0.0.0.d.f.ip6.arpa.';
const PTR = (row: string, name: string, targets: string[]): Case => ({
  row,
  name,
  type: 'PTR',
  rcode: 'NOERROR',
  answer: targets.map((target) => `${name} 30 IN PTR ${target}`),
});

const cases: Case[] = [
  PTR('7.1', '1.1.96.10.in-addr.arpa.', ['svc1.testns.svc.cluster.local.']),
  PTR('7.1', NIBBLES_SVC6, ['svc6.testns.svc.cluster.local.']),
  PTR('7.1', '3.1.96.10.in-addr.arpa.', ['svc-dual-stack.testns.svc.cluster.local.']),
  PTR('7.2', '10.1.244.10.in-addr.arpa.', ['ep1a.svc1.testns.svc.cluster.local.']),
  PTR('7.2', '2.1.244.10.in-addr.arpa.', ['10-244-1-2.hdls1.testns.svc.cluster.local.']),
  PTR('7.2', NIBBLES_EP6, ['fd00-10-244-1--1.hdls1.testns.svc.cluster.local.']),
  PTR('7.2', '10.2.244.10.in-addr.arpa.', [
    'db-0.db.data.svc.cluster.local.',
    '10-244-2-10.db-read.data.svc.cluster.local.',
  ]),
  // CoreDNS builds endpoint PTRs from the slice's label, whether or not the Service exists.
  PTR('7.2', '7.7.244.10.in-addr.arpa.', ['10-244-7-7.ghost.testns.svc.cluster.local.']),
  PTR('10.1', '1.1.96.10.IN-ADDR.ARPA.', ['svc1.testns.svc.cluster.local.']),
  // ::ffff:10.96.1.1 in ip6.arpa is 10.96.1.1, as Go prints an IPv4-mapped address (CoreDNS dnsutil reverse6).
  PTR('7.1', `${'1.0.1.0.0.6.a.0.f.f.f.f'}.${'0.'.repeat(20)}ip6.arpa.`, ['svc1.testns.svc.cluster.local.']),
  // The default fallthrough needs upstream resolvers; without them an unknown address is NXDOMAIN.
  { row: '7.3', name: '9.1.244.10.in-addr.arpa.', type: 'PTR', rcode: 'NXDOMAIN', ns: [V4] },
  { row: '7.3', name: '1.0.240.10.in-addr.arpa.', type: 'PTR', rcode: 'NXDOMAIN', ns: [V4] },
  { row: '7.5', name: '1.96.10.in-addr.arpa.', type: 'PTR', rcode: 'NXDOMAIN', ns: [V4] },
  { row: '7.5', name: '0.0.d.f.ip6.arpa.', type: 'PTR', rcode: 'NXDOMAIN', ns: [V6] },
  { row: '7.5', name: '1.1.96.10.in-addr.arpa.', type: 'A', rcode: 'NXDOMAIN', ns: [V4] },
  { row: '7.5', name: 'svc1.testns.svc.0.10.in-addr.arpa.', type: 'A', rcode: 'NXDOMAIN', ns: [V4] },
  { row: '1.4', name: 'in-addr.arpa.', type: 'SOA', rcode: 'NOERROR', answer: [V4] },
  { row: '1.10', name: 'ip6.arpa.', type: 'A', rcode: 'NOERROR', ns: [V6] },
  {
    row: '1.7',
    name: 'in-addr.arpa.',
    type: 'NS',
    rcode: 'NOERROR',
    answer: ['in-addr.arpa. 30 IN NS kube-dns.kube-system.svc.in-addr.arpa.'],
    extra: ['kube-dns.kube-system.svc.in-addr.arpa. 30 IN A 10.96.0.10'],
  },
  { row: '7.1', name: 'svc1.testns.svc.cluster.local.', type: 'PTR', rcode: 'NOERROR', ns: [CLUSTER] },
  { row: '7.1', name: 'example.org.cluster.local.', type: 'PTR', rcode: 'NXDOMAIN', ns: [CLUSTER] },
  { row: '7.1', name: '100.0.0.10.cluster.local.', type: 'PTR', rcode: 'NXDOMAIN', ns: [CLUSTER] },
];

test('PTR for ClusterIPs and ready endpoints; partial names (dns.md §7)', (t) => runCases(t, fixtureZone(), cases));

test('fallthrough with upstream resolvers: unknown reverse names are forwarded (dns.md 7.4)', (t) => {
  const zone = fixtureZone({ upstream: ['192.0.2.53:53'] });
  for (const name of ['9.1.244.10.in-addr.arpa.', '1.96.10.in-addr.arpa.', NIBBLES_EP6.replace(/^1/, '7')]) {
    const result = resolve({ name, type: 'PTR' }, zone);
    t.is(result.upstream?.mode, 'forward', name);
    t.is(result.upstream?.name, name);
    t.is(result.rcode, 'SERVFAIL', 'the answer if forwarding fails');
    t.false(result.authoritative);
  }
  // Known names are still answered here; cluster-zone NXDOMAINs are not in a fallthrough zone.
  t.is(resolve({ name: '1.1.96.10.in-addr.arpa.', type: 'PTR' }, zone).upstream, undefined);
  const nx = resolve({ name: 'svc0.testns.svc.cluster.local.', type: 'A' }, zone);
  t.is(nx.rcode, 'NXDOMAIN');
  t.is(nx.upstream, undefined);
});

test('fallthrough off: unknown reverse names are NXDOMAIN even with upstream resolvers (dns.md 7.4)', (t) => {
  runCases(t, fixtureZone({ fallthrough: [], upstream: ['192.0.2.53:53'] }), [
    { row: '7.4', name: '9.1.244.10.in-addr.arpa.', type: 'PTR', rcode: 'NXDOMAIN', ns: [V4] },
  ]);
});
