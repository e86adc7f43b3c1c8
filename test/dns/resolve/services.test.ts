/**
 * The cluster zone: schema records, SOA/NS, ClusterIP names, the NXDOMAIN/NODATA table and
 * case handling (dns.md §1, §2, §8, §10), with kube-netsim's defaults (kubeadm: ttl 30, pods insecure).
 */
import test from 'ava';
import { type Case, fixtureZone, runCases, soa } from './helpers.js';

const SOA = soa();
const NX = (row: string, name: string, type: string): Case => ({ row, name, type, rcode: 'NXDOMAIN', ns: [SOA] });
const NODATA = (row: string, name: string, type: string): Case => ({ row, name, type, rcode: 'NOERROR', ns: [SOA] });

const zoneCases: Case[] = [
  {
    row: '1.2',
    name: 'dns-version.cluster.local.',
    type: 'TXT',
    rcode: 'NOERROR',
    answer: ['dns-version.cluster.local. 28800 IN TXT "1.1.0"'],
  },
  NX('1.2', 'dns-version.cluster.local.', 'A'),
  NODATA('1.3', 'svc1.testns.svc.cluster.local.', 'TXT'),
  NX('1.3', 'svc0.testns.svc.cluster.local.', 'TXT'),
  // TXT is NXDOMAIN wherever the Kubernetes lookup finds no records of any type, even at names that exist for A
  // (coredns#5737): the apex, the schema nodes, a namespace, the SOA's name server name.
  NX('1.3', 'cluster.local.', 'TXT'),
  NX('1.3', 'svc.cluster.local.', 'TXT'),
  NX('1.3', 'testns.svc.cluster.local.', 'TXT'),
  NX('1.3', 'pod.cluster.local.', 'TXT'),
  NX('1.3', 'ns.dns.cluster.local.', 'TXT'),
  NODATA('1.3', 'svc.cluster.local.', 'A'),
  NODATA('1.3', '1-2-3-4.testns.pod.cluster.local.', 'TXT'),
  { row: '1.4', name: 'cluster.local.', type: 'SOA', rcode: 'NOERROR', answer: [SOA] },
  NODATA('1.6', 'svc1.testns.svc.cluster.local.', 'SOA'),
  NODATA('1.6', 'does-not-exist.testns.svc.cluster.local.', 'SOA'),
  NODATA('1.6', 'foo.cluster.local.', 'SOA'),
  {
    row: '1.7',
    name: 'cluster.local.',
    type: 'NS',
    rcode: 'NOERROR',
    answer: ['cluster.local. 30 IN NS kube-dns.kube-system.svc.cluster.local.'],
    extra: ['kube-dns.kube-system.svc.cluster.local. 30 IN A 10.96.0.10'],
  },
  NODATA('1.8', 'svc.cluster.local.', 'NS'),
  NODATA('1.8', 'testns.svc.cluster.local.', 'NS'),
  NODATA('1.8', 'svc1.testns.svc.cluster.local.', 'NS'),
  NX('1.8', 'foo.cluster.local.', 'NS'),
  NX('1.8', 'foo.svc.cluster.local.', 'NS'),
  {
    row: '1.9',
    name: 'ns.dns.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['ns.dns.cluster.local. 30 IN A 10.96.0.10'],
  },
  NODATA('1.9', 'ns.dns.cluster.local.', 'AAAA'),
  // PTR on a forward name goes through CoreDNS's Records(), which knows no ns.dns (only Services() does).
  NX('1.9', 'ns.dns.cluster.local.', 'PTR'),
  NODATA('1.9', 'ns.dns.cluster.local.', 'MX'),
  NODATA('7.5', 'svc1.testns.svc.cluster.local.', 'PTR'),
  NX('7.5', 'svc0.testns.svc.cluster.local.', 'PTR'),
  NODATA('1.10', 'cluster.local.', 'A'),
  NODATA('1.10', 'cluster.local.', 'AAAA'),
  NODATA('1.10', 'cluster.local.', 'SRV'),
  NODATA('1.10', 'cluster.local.', 'HINFO'),
];

const clusterIPCases: Case[] = [
  {
    row: '2.1',
    name: 'svc1.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1'],
  },
  {
    row: '2.1',
    name: 'svc6.testns.svc.cluster.local.',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['svc6.testns.svc.cluster.local. 30 IN AAAA fd00:96::6'],
  },
  {
    row: '2.1',
    name: 'svc-dual-stack.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['svc-dual-stack.testns.svc.cluster.local. 30 IN A 10.96.1.3'],
  },
  {
    row: '2.1',
    name: 'svc-dual-stack.testns.svc.cluster.local.',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['svc-dual-stack.testns.svc.cluster.local. 30 IN AAAA fd00:96::3'],
  },
  NODATA('2.2', 'svc1.testns.svc.cluster.local.', 'AAAA'),
  NODATA('2.2', 'svc6.testns.svc.cluster.local.', 'A'),
  {
    row: '2.3',
    name: 'svcempty.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['svcempty.testns.svc.cluster.local. 30 IN A 10.96.1.2'],
  },
  {
    row: '2.3',
    name: 'noports.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['noports.testns.svc.cluster.local. 30 IN A 10.96.1.6'],
  },
  {
    row: '2.4',
    name: '_http._tcp.svc1.testns.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['_http._tcp.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.'],
    extra: ['svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1'],
  },
  {
    row: '2.4',
    name: 'http.tcp.svc1.testns.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['http.tcp.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.'],
    extra: ['svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1'],
  },
  {
    row: '2.4',
    name: '_dns._udp.multiport.testns.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['_dns._udp.multiport.testns.svc.cluster.local. 30 IN SRV 0 100 53 multiport.testns.svc.cluster.local.'],
    extra: ['multiport.testns.svc.cluster.local. 30 IN A 10.96.1.4'],
  },
  {
    row: '2.5',
    name: 'unnamed.testns.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['unnamed.testns.svc.cluster.local. 30 IN SRV 0 100 8080 unnamed.testns.svc.cluster.local.'],
    extra: ['unnamed.testns.svc.cluster.local. 30 IN A 10.96.1.5'],
  },
  NX('2.5', '_x._tcp.unnamed.testns.svc.cluster.local.', 'SRV'),
  NODATA('3.7', 'noports.testns.svc.cluster.local.', 'SRV'),
  NX('2.6', '_https._tcp.svc1.testns.svc.cluster.local.', 'SRV'),
  NX('2.6', '_http._udp.svc1.testns.svc.cluster.local.', 'SRV'),
  NX('2.6', '*._not-udp-or-tcp.svc1.testns.svc.cluster.local.', 'SRV'),
  {
    row: '2.7',
    name: 'svc-dual-stack.testns.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['svc-dual-stack.testns.svc.cluster.local. 30 IN SRV 0 50 80 svc-dual-stack.testns.svc.cluster.local.'],
    extra: [
      'svc-dual-stack.testns.svc.cluster.local. 30 IN A 10.96.1.3',
      'svc-dual-stack.testns.svc.cluster.local. 30 IN AAAA fd00:96::3',
    ],
  },
  {
    row: '2.7',
    name: 'multiport.testns.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: [
      'multiport.testns.svc.cluster.local. 30 IN SRV 0 33 80 multiport.testns.svc.cluster.local.',
      'multiport.testns.svc.cluster.local. 30 IN SRV 0 33 443 multiport.testns.svc.cluster.local.',
      'multiport.testns.svc.cluster.local. 30 IN SRV 0 33 53 multiport.testns.svc.cluster.local.',
    ],
    extra: ['multiport.testns.svc.cluster.local. 30 IN A 10.96.1.4'],
  },
  {
    row: '2.8',
    name: 'ep1a.svc1.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['ep1a.svc1.testns.svc.cluster.local. 30 IN A 10.244.1.10'],
  },
  {
    row: '2.8',
    name: '10-244-3-5.web.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['10-244-3-5.web.testns.svc.cluster.local. 30 IN A 10.244.3.5'],
  },
  {
    row: '2.8',
    name: 'ep1a.svc1.testns.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['ep1a.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 ep1a.svc1.testns.svc.cluster.local.'],
    extra: ['ep1a.svc1.testns.svc.cluster.local. 30 IN A 10.244.1.10'],
  },
  NX('2.8', '10-244-9-9.svc1.testns.svc.cluster.local.', 'A'),
  {
    row: '2.9',
    name: '_http._tcp.svc1.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['_http._tcp.svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1'],
  },
  NODATA('2.10', 'svc1.testns.svc.cluster.local.', 'MX'),
  NODATA('2.10', 'svc1.testns.svc.cluster.local.', 'HINFO'),
  NODATA('2.10', 'svc1.testns.svc.cluster.local.', 'CNAME'),
  NODATA('2.10', 'svc1.testns.svc.cluster.local.', 'TYPE65534'),
  NX('2.10', 'svc0.testns.svc.cluster.local.', 'HINFO'),
];

const grammarCases: Case[] = [
  NODATA('8', 'svc.cluster.local.', 'A'),
  NODATA('8', 'pod.cluster.local.', 'A'),
  NODATA('8', 'testns.svc.cluster.local.', 'A'),
  NX('8', 'nons.svc.cluster.local.', 'A'),
  NX('8', 'svc1.nons.svc.cluster.local.', 'A'),
  NX('8', 'x.svc1.nons.svc.cluster.local.', 'A'),
  NX('8', 'foo.cluster.local.', 'A'),
  NX('8', 'svc0.testns.svc.cluster.local.', 'A'),
  NX('8', 'svc0.testns.svc.cluster.local.', 'AAAA'),
  NX('8', '_tcp.svc1.testns.svc.cluster.local.', 'SRV'),
  NX('8', '_tcp.svc1.testns.svc.cluster.local.', 'A'),
  NX('8', 'a.b.c.svc1.testns.svc.cluster.local.', 'A'),
  NX('10.3', '*.testns.svc.cluster.local.', 'A'),
  NX('10.3', 'svc1.*.svc.cluster.local.', 'A'),
  NX('10.3', '*.any.svc1.*.svc.cluster.local.', 'SRV'),
];

test('zone apex, schema TXT, SOA and NS (dns.md §1)', (t) => runCases(t, fixtureZone(), zoneCases));
test('services with a ClusterIP (dns.md §2)', (t) => runCases(t, fixtureZone(), clusterIPCases));
test('name grammar: NXDOMAIN versus NODATA (dns.md §8, 10.3)', (t) => runCases(t, fixtureZone(), grammarCases));

test('case is preserved in owners, zone spellings and the SOA (dns.md 10.1, 10.2)', (t) => {
  runCases(t, fixtureZone(), [
    {
      row: '10.1',
      name: 'not-a-service.testns.svc.ClUsTeR.lOcAl.',
      type: 'A',
      rcode: 'NXDOMAIN',
      ns: ['ClUsTeR.lOcAl. 30 IN SOA ns.dns.ClUsTeR.lOcAl. hostmaster.ClUsTeR.lOcAl. 1700000000 7200 1800 86400 30'],
    },
    {
      row: '10.1',
      name: 'SvC1.TeStNs.SvC.cLuStEr.LoCaL.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['SvC1.TeStNs.SvC.cLuStEr.LoCaL. 30 IN A 10.96.1.1'],
    },
    {
      row: '10.1',
      name: '_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL.',
      type: 'SRV',
      rcode: 'NOERROR',
      answer: ['_HtTp._TcP.sVc1.TeStNs.SvC.cLuStEr.LoCaL. 30 IN SRV 0 100 80 svc1.testns.svc.cLuStEr.LoCaL.'],
      extra: ['svc1.testns.svc.cLuStEr.LoCaL. 30 IN A 10.96.1.1'],
    },
    {
      row: '10.1',
      name: 'Cluster.local.',
      type: 'SOA',
      rcode: 'NOERROR',
      answer: [
        'Cluster.local. 30 IN SOA ns.dns.Cluster.local. hostmaster.Cluster.local. 1700000000 7200 1800 86400 30',
      ],
    },
    {
      row: '10.1',
      name: 'DUP-NAME.hdls1.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: [
        'DUP-NAME.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.4',
        'DUP-NAME.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.5',
      ],
    },
    {
      row: '10.2',
      name: 'svc1.testns.svc.cluster.local',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1'],
    },
  ]);
});

test('TTL option: records use it, the SOA TTL is capped at 300 (dns.md 9.1, 1.4)', (t) => {
  runCases(t, fixtureZone({ ttl: 5 }), [
    {
      row: '9.1',
      name: 'svc1.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['svc1.testns.svc.cluster.local. 5 IN A 10.96.1.1'],
    },
    {
      row: '1.5',
      name: 'svc0.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NXDOMAIN',
      ns: [soa('cluster.local.', 5)],
    },
  ]);
  runCases(t, fixtureZone({ ttl: 600 }), [
    { row: '1.4', name: 'cluster.local.', type: 'SOA', rcode: 'NOERROR', answer: [soa('cluster.local.', 600)] },
  ]);
});

test('no kube-dns Service: NS falls back to ns.dns.<zone> without glue (dns.md 1.7, 1.9)', (t) => {
  const zone = fixtureZone({}, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }]);
  runCases(t, zone, [
    {
      row: '1.7',
      name: 'cluster.local.',
      type: 'NS',
      rcode: 'NOERROR',
      answer: ['cluster.local. 30 IN NS ns.dns.cluster.local.'],
    },
    NODATA('1.9', 'ns.dns.cluster.local.', 'A'),
  ]);
});
