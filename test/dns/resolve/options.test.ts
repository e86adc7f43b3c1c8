/**
 * Plugin options and server-level rules: ignoreEmptyService, noEndpoints, endpointPodNames, not synced, names
 * outside the zones, classes, ANY, AXFR through the query path, and the loadbalance shuffle (dns.md §2.3, 3.5, 11,
 * 12, 14.6, 15).
 */
import test from 'ava';
import { formatRr } from '../../../src/dns/resolve/format.js';
import { resolve } from '../../../src/dns/resolve/resolve.js';
import { Rng } from '../../../src/util/rng.js';
import { type Case, fixtureZone, runCases, soa } from './helpers.js';

const SOA = soa();
const V4 = soa('in-addr.arpa.');

test('ignoreEmptyService: ClusterIP services without ready endpoints are NXDOMAIN (dns.md 2.3, 11)', (t) => {
  runCases(t, fixtureZone({ ignoreEmptyService: true }), [
    { row: '2.3', name: 'svcempty.testns.svc.cluster.local.', type: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
    { row: '2.3', name: 'svc6.testns.svc.cluster.local.', type: 'AAAA', rcode: 'NXDOMAIN', ns: [SOA] },
    {
      row: '2.3',
      name: 'svc1.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1'],
    },
    {
      row: '2.3',
      name: 'external.testns.svc.cluster.local.',
      type: 'CNAME',
      rcode: 'NOERROR',
      answer: ['external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test.'],
    },
    {
      row: '3.1',
      name: 'hdlsprtls.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['hdlsprtls.testns.svc.cluster.local. 30 IN A 10.244.1.20'],
    },
  ]);
});

test('noEndpoints: headless services and endpoint names are NXDOMAIN, ClusterIPs still answer (dns.md 11)', (t) => {
  runCases(t, fixtureZone({ noEndpoints: true }), [
    { row: '11', name: 'hdls1.testns.svc.cluster.local.', type: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
    { row: '11', name: 'ep1a.svc1.testns.svc.cluster.local.', type: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
    {
      row: '11',
      name: 'svc1.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1'],
    },
    { row: '11', name: '10.1.244.10.in-addr.arpa.', type: 'PTR', rcode: 'NXDOMAIN', ns: [V4] },
    {
      row: '11',
      name: '1.1.96.10.in-addr.arpa.',
      type: 'PTR',
      rcode: 'NOERROR',
      answer: ['1.1.96.10.in-addr.arpa. 30 IN PTR svc1.testns.svc.cluster.local.'],
    },
  ]);
});

test('endpointPodNames: endpoints without a hostname are named after their pod (dns.md 3.5, 11)', (t) => {
  runCases(t, fixtureZone({ endpointPodNames: true }), [
    {
      row: '3.5',
      name: 'web-7d9f-abcde.web.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['web-7d9f-abcde.web.testns.svc.cluster.local. 30 IN A 10.244.3.5'],
    },
    { row: '3.5', name: '10-244-3-5.web.testns.svc.cluster.local.', type: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
    {
      row: '3.5',
      name: 'db-0.db-read.data.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['db-0.db-read.data.svc.cluster.local. 30 IN A 10.244.2.10'],
    },
    {
      row: '4.1',
      name: 'db-1.db.data.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['db-1.db.data.svc.cluster.local. 30 IN A 10.244.2.11'],
    },
    {
      row: '3.5',
      name: '10-244-1-2.hdls1.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['10-244-1-2.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.2'],
    },
    {
      row: '7.2',
      name: '5.3.244.10.in-addr.arpa.',
      type: 'PTR',
      rcode: 'NOERROR',
      answer: ['5.3.244.10.in-addr.arpa. 30 IN PTR web-7d9f-abcde.web.testns.svc.cluster.local.'],
    },
  ]);
});

test('not synced: SERVFAIL instead of NXDOMAIN; existing names still answer (dns.md 15.1)', (t) => {
  const zone = fixtureZone({}, undefined, false);
  runCases(t, zone, [
    { row: '15.1', name: 'svc0.testns.svc.cluster.local.', type: 'A', rcode: 'SERVFAIL', ns: [SOA] },
    {
      row: '15.1',
      name: 'svc1.testns.svc.cluster.local.',
      type: 'A',
      rcode: 'NOERROR',
      answer: ['svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1'],
    },
    { row: '15.1', name: 'svc1.testns.svc.cluster.local.', type: 'AAAA', rcode: 'NOERROR', ns: [SOA] },
  ]);
  zone.setSynced(true);
  runCases(t, zone, [{ row: '15.1', name: 'svc0.testns.svc.cluster.local.', type: 'A', rcode: 'NXDOMAIN', ns: [SOA] }]);
});

test('names outside every zone: REFUSED without upstream resolvers, forwarded with them (dns.md 12.1)', (t) => {
  runCases(t, fixtureZone(), [{ row: '12.1', name: 'example.com.', type: 'A', rcode: 'REFUSED' }]);
  const result = resolve({ name: 'Example.COM', type: 'AAAA' }, fixtureZone({ upstream: ['[2001:db8::53]:53'] }));
  t.is(result.rcode, 'SERVFAIL');
  t.false(result.authoritative);
  t.deepEqual(
    result.upstream && { mode: result.upstream.mode, name: result.upstream.name, type: result.upstream.type },
    {
      mode: 'forward',
      name: 'Example.COM.',
      type: 28,
    },
  );
  t.is(result.upstream?.onFailure.rcode, 'SERVFAIL');
});

test('class other than IN is REFUSED; AXFR through the query path is REFUSED (dns.md 14.6, 1.11)', (t) => {
  runCases(t, fixtureZone(), [
    { row: '14.6', name: 'svc1.testns.svc.cluster.local.', type: 'A', class: 'CH', rcode: 'REFUSED' },
    { row: '14.6', name: 'version.bind.', type: 'TXT', class: 3, rcode: 'REFUSED' },
    { row: '1.11', name: 'cluster.local.', type: 'AXFR', rcode: 'REFUSED' },
    { row: '1.11', name: 'cluster.local.', type: 'IXFR', rcode: 'REFUSED' },
  ]);
});

test('ANY is answered minimally: address records, the CNAME, or PTRs; NXDOMAIN stays (RFC 8482; dns.md 2.10)', (t) => {
  const cases: Case[] = [
    {
      row: '2.10',
      name: 'svc-dual-stack.testns.svc.cluster.local.',
      type: 'ANY',
      rcode: 'NOERROR',
      answer: [
        'svc-dual-stack.testns.svc.cluster.local. 30 IN A 10.96.1.3',
        'svc-dual-stack.testns.svc.cluster.local. 30 IN AAAA fd00:96::3',
      ],
    },
    {
      row: '2.10',
      name: 'external-to-service.testns.svc.cluster.local.',
      type: 'ANY',
      rcode: 'NOERROR',
      answer: ['external-to-service.testns.svc.cluster.local. 30 IN CNAME svc1.testns.svc.cluster.local.'],
    },
    { row: '2.10', name: 'testns.svc.cluster.local.', type: 'ANY', rcode: 'NOERROR', ns: [SOA] },
    { row: '2.10', name: 'svc0.testns.svc.cluster.local.', type: 'ANY', rcode: 'NXDOMAIN', ns: [SOA] },
    {
      row: '2.10',
      name: '1.1.96.10.in-addr.arpa.',
      type: 'ANY',
      rcode: 'NOERROR',
      answer: ['1.1.96.10.in-addr.arpa. 30 IN PTR svc1.testns.svc.cluster.local.'],
    },
  ];
  runCases(t, fixtureZone(), cases);
});

test('every answer explains itself (style.md practice 13)', (t) => {
  const trace = resolve({ name: 'hdls-unready.testns.svc.cluster.local.', type: 'A' }, fixtureZone()).trace;
  t.true(
    trace.some((line) => line.endsWith('(DNS spec 2.4.1)')),
    trace.join('\n'),
  );
  t.true(trace[0]!.startsWith('question: hdls-unready.testns.svc.cluster.local. IN A'));
});

test('loadbalance: A/AAAA order is a seeded shuffle; SRV and CNAME order is kept (dns.md 3.9)', (t) => {
  const zone = fixtureZone();
  const question = { name: 'hdls1.testns.svc.cluster.local.', type: 'A' };
  const unshuffled = resolve(question, zone).answer.map(formatRr);
  const orders = new Set<string>();
  for (let seed = 0; seed < 20; seed++) {
    const shuffled = resolve(question, zone, { rng: new Rng(seed) }).answer.map(formatRr);
    t.deepEqual([...shuffled].sort(), [...unshuffled].sort());
    t.deepEqual(
      resolve(question, zone, { rng: new Rng(seed) }).answer.map(formatRr),
      shuffled,
      'same seed, same order',
    );
    orders.add(shuffled.join('|'));
  }
  t.true(orders.size > 1);
  // CNAME first, then the chased address records.
  const chased = resolve({ name: 'external-to-service.testns.svc.cluster.local.', type: 'A' }, zone, {
    rng: new Rng(1),
  });
  t.is(chased.answer[0]?.type, 'CNAME');
  // loadbalance off: the index's order, whatever the RNG.
  const off = fixtureZone({ loadbalance: false });
  t.deepEqual(
    resolve(question, off, { rng: new Rng(3) }).answer.map(formatRr),
    resolve(question, off).answer.map(formatRr),
  );
});
