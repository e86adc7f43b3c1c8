/**
 * Pod records `<a-b-c-d>.<ns>.pod.<zone>` in the three `pods` modes (dns.md §5), after CoreDNS's
 * handler_pod_{disabled,insecure,verified}_test.go.
 */
import test from 'ava';
import { type Case, fixtureZone, runCases, soa } from './helpers.js';

const SOA = soa();
const NX = (row: string, name: string, type = 'A'): Case => ({ row, name, type, rcode: 'NXDOMAIN', ns: [SOA] });
const NODATA = (row: string, name: string, type = 'A'): Case => ({ row, name, type, rcode: 'NOERROR', ns: [SOA] });
const A = (row: string, name: string, ip: string): Case => ({
  row,
  name,
  type: 'A',
  rcode: 'NOERROR',
  answer: [`${name} 30 IN A ${ip}`],
});
const AAAA = (row: string, name: string, ip: string): Case => ({
  row,
  name,
  type: 'AAAA',
  rcode: 'NOERROR',
  answer: [`${name} 30 IN AAAA ${ip}`],
});

test('pods disabled: every pod name is NXDOMAIN, pod.<zone> stays NODATA (dns.md 5.1, 5.3)', (t) => {
  runCases(t, fixtureZone({ pods: 'disabled' }), [
    NX('5.1', '10-240-0-1.podns.pod.cluster.local.'),
    NX('5.3', 'podns.pod.cluster.local.'),
    NODATA('5.3', 'pod.cluster.local.'),
  ]);
});

test('pods insecure (the default): any IP in an existing namespace (dns.md 5.1-5.4)', (t) => {
  runCases(t, fixtureZone(), [
    A('5.1', '10-240-0-1.podns.pod.cluster.local.', '10.240.0.1'),
    A('5.1', '172-0-0-2.podns.pod.cluster.local.', '172.0.0.2'),
    NX('5.2', 'blah.podns.pod.cluster.local.'),
    NX('5.2', 'blah.podns.pod.cluster.local.', 'AAAA'),
    NX('5.2', 'blah.podns.pod.cluster.local.', 'HINFO'),
    NX('5.2', '010-240-0-1.podns.pod.cluster.local.'),
    NX('5.3', 'blah.pod-nons.pod.cluster.local.'),
    NX('5.3', '10-240-0-1.pod-nons.pod.cluster.local.'),
    NX('5.3', 'pod-nons.pod.cluster.local.'),
    NODATA('5.3', 'podns.pod.cluster.local.'),
    NODATA('5.3', 'pod.cluster.local.'),
    NODATA('5.4', '10-240-0-1.podns.pod.cluster.local.', 'AAAA'),
    AAAA('5.2', 'fd00-10-244-9--5.testns.pod.cluster.local.', 'fd00:10:244:9::5'),
    AAAA('5.2', 'fd00-10-244-9-0-0-0-5.testns.pod.cluster.local.', 'fd00:10:244:9::5'),
    // Labels left of the pod name are ignored (CoreDNS findPods reads the service position only).
    A('5.1', 'x.10-240-0-1.podns.pod.cluster.local.', '10.240.0.1'),
    {
      row: '5.1',
      name: '10-240-0-1.podns.pod.cluster.local.',
      type: 'SRV',
      rcode: 'NOERROR',
      answer: ['10-240-0-1.podns.pod.cluster.local. 30 IN SRV 0 100 0 10-240-0-1.podns.pod.cluster.local.'],
      extra: ['10-240-0-1.podns.pod.cluster.local. 30 IN A 10.240.0.1'],
    },
  ]);
});

test('pods verified: only IPs of listed pods, in their own namespace (dns.md 5.1, 5.2)', (t) => {
  runCases(t, fixtureZone({ pods: 'verified' }), [
    A('5.1', '10-240-0-1.podns.pod.cluster.local.', '10.240.0.1'),
    NX('5.1', '172-0-0-2.podns.pod.cluster.local.'),
    NX('5.1', '10-240-0-1.testns.pod.cluster.local.'),
    NX('5.1', '10-240-0-9.podns.pod.cluster.local.'), // terminating pod
    NX('5.1', '10-240-0-8.podns.pod.cluster.local.'), // Succeeded pod
    NODATA('5.3', 'podns.pod.cluster.local.'),
    NX('5.3', 'pod-nons.pod.cluster.local.'),
    AAAA('5.2', 'fd00-10-244-9--5.testns.pod.cluster.local.', 'fd00:10:244:9::5'),
    // verified compares the text with status.podIP, so a non-canonical spelling never matches.
    NX('5.2', 'fd00-10-244-9-0-0-0-5.testns.pod.cluster.local.', 'AAAA'),
  ]);
});
