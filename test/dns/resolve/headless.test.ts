/** Headless services and StatefulSet names (dns.md §3, §4), after CoreDNS's handler_test.go "hdls1" cases. */
import test from 'ava';
import { type Case, fixtureZone, runCases, soa } from './helpers.js';

const SOA = soa();
const NX = (row: string, name: string, type: string): Case => ({ row, name, type, rcode: 'NXDOMAIN', ns: [SOA] });
const NODATA = (row: string, name: string, type: string): Case => ({ row, name, type, rcode: 'NOERROR', ns: [SOA] });

const headlessCases: Case[] = [
  {
    row: '3.1',
    name: 'hdls1.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['10.244.1.2', '10.244.1.3', '10.244.1.4', '10.244.1.5'].map(
      (ip) => `hdls1.testns.svc.cluster.local. 30 IN A ${ip}`,
    ),
  },
  {
    row: '3.8',
    name: 'hdls1.testns.svc.cluster.local.',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['fd00:10:244:1::1', 'fd00:10:244:1::2'].map((ip) => `hdls1.testns.svc.cluster.local. 30 IN AAAA ${ip}`),
  },
  NX('3.2', '10-244-1-9.hdls1.testns.svc.cluster.local.', 'A'),
  NX('3.4', 'hdls-unready.testns.svc.cluster.local.', 'A'),
  NX('3.4', 'hdls-unready.testns.svc.cluster.local.', 'AAAA'),
  NX('3.4', 'hdls-noslice.testns.svc.cluster.local.', 'A'),
  NX('3.4', 'hdls-noslice.testns.svc.cluster.local.', 'SRV'),
  NODATA('3.4', 'hdlsprtls.testns.svc.cluster.local.', 'AAAA'),
  // TXT follows the same lookup (coredns#5737): NODATA with ready endpoints, NXDOMAIN without.
  NODATA('1.3', 'hdls1.testns.svc.cluster.local.', 'TXT'),
  NODATA('1.3', '10-244-1-2.hdls1.testns.svc.cluster.local.', 'TXT'),
  NX('1.3', 'hdls-unready.testns.svc.cluster.local.', 'TXT'),
  {
    row: '3.5',
    name: '10-244-1-2.hdls1.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['10-244-1-2.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.2'],
  },
  {
    row: '3.5',
    name: 'dup-name.hdls1.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: [
      'dup-name.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.4',
      'dup-name.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.5',
    ],
  },
  {
    row: '3.5',
    name: 'fd00-10-244-1--1.hdls1.testns.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['fd00-10-244-1--1.hdls1.testns.svc.cluster.local. 30 IN AAAA fd00:10:244:1::1'],
  },
  NX('3.5', 'bogusendpoint.hdls1.testns.svc.cluster.local.', 'A'),
  NX('3.5', 'bogusendpoint.svc0.testns.svc.cluster.local.', 'A'),
  {
    row: '3.6',
    name: '_http._tcp.hdls1.testns.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['10-244-1-2', '10-244-1-3', 'dup-name', 'fd00-10-244-1--1', 'fd00-10-244-1--2'].map(
      (h) => `_http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 16 80 ${h}.hdls1.testns.svc.cluster.local.`,
    ),
    extra: [
      '10-244-1-2.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.2',
      '10-244-1-3.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.3',
      'dup-name.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.4',
      'dup-name.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.5',
      'fd00-10-244-1--1.hdls1.testns.svc.cluster.local. 30 IN AAAA fd00:10:244:1::1',
      'fd00-10-244-1--2.hdls1.testns.svc.cluster.local. 30 IN AAAA fd00:10:244:1::2',
    ],
  },
  {
    row: '3.7',
    name: 'hdlsprtls.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['hdlsprtls.testns.svc.cluster.local. 30 IN A 10.244.1.20'],
  },
  {
    row: '3.7',
    name: '10-244-1-20.hdlsprtls.testns.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['10-244-1-20.hdlsprtls.testns.svc.cluster.local. 30 IN A 10.244.1.20'],
  },
  NODATA('3.7', 'hdlsprtls.testns.svc.cluster.local.', 'SRV'),
  NX('3.7', '_http._tcp.hdlsprtls.testns.svc.cluster.local.', 'SRV'),
  {
    row: '4.1',
    name: 'db-0.db.data.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['db-0.db.data.svc.cluster.local. 30 IN A 10.244.2.10'],
  },
  NX('4.1', 'db-0.db-read.data.svc.cluster.local.', 'A'),
  {
    row: '4.1',
    name: '10-244-2-10.db-read.data.svc.cluster.local.',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['10-244-2-10.db-read.data.svc.cluster.local. 30 IN A 10.244.2.10'],
  },
  NX('4.3', 'db-2.db.data.svc.cluster.local.', 'A'),
  {
    row: '3.6',
    name: '_mysql._tcp.db.data.svc.cluster.local.',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['db-0', 'db-1'].map(
      (h) => `_mysql._tcp.db.data.svc.cluster.local. 30 IN SRV 0 50 3306 ${h}.db.data.svc.cluster.local.`,
    ),
    extra: [
      'db-0.db.data.svc.cluster.local. 30 IN A 10.244.2.10',
      'db-1.db.data.svc.cluster.local. 30 IN A 10.244.2.11',
    ],
  },
];

test('headless services and StatefulSet names (dns.md §3, §4)', (t) => runCases(t, fixtureZone(), headlessCases));
