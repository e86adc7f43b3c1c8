/** ExternalName services (dns.md §6): the CNAME, internal and upstream chasing, and the NXDOMAIN corners. */
import test from 'ava';
import { resolve } from '../../../src/dns/resolve/resolve.js';
import { type Case, fixtureZone, runCases, soa } from './helpers.js';

const SOA = soa();
const EXT = 'external.testns.svc.cluster.local.';

const cases: Case[] = [
  { row: '6.1', name: EXT, type: 'CNAME', rcode: 'NOERROR', answer: [`${EXT} 30 IN CNAME ext.interwebs.test.`] },
  // No upstream resolvers: the CNAME alone, as CoreDNS whose self-lookup finds nothing to forward to.
  { row: '6.1', name: EXT, type: 'A', rcode: 'NOERROR', answer: [`${EXT} 30 IN CNAME ext.interwebs.test.`] },
  // TXT: CoreDNS's TXT branch returns no rows for an ExternalName (coredns#5737), so nothing is chased: NODATA.
  { row: '1.3', name: EXT, type: 'TXT', rcode: 'NOERROR', ns: [SOA] },
  {
    row: '6.1',
    name: 'external-to-service.testns.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: [
      'external-to-service.testns.svc.cluster.local. 30 IN CNAME svc1.testns.svc.cluster.local.',
      'svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1',
    ],
  },
  // The in-zone target has no AAAA: CoreDNS drops the CNAME too, leaving NODATA.
  { row: '6.1', name: 'external-to-service.testns.svc.cluster.local.', type: 'AAAA', rcode: 'NOERROR', ns: [SOA] },
  { row: '6.1', name: 'external-dangling.testns.svc.cluster.local.', type: 'A', rcode: 'NOERROR', ns: [SOA] },
  { row: '6.3', name: 'external-ip.testns.svc.cluster.local.', type: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { row: '6.3', name: 'external-ip.testns.svc.cluster.local.', type: 'CNAME', rcode: 'NXDOMAIN', ns: [SOA] },
  { row: '6.4', name: `x.${EXT}`, type: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { row: '6.4', name: `_http._tcp.${EXT}`, type: 'SRV', rcode: 'NXDOMAIN', ns: [SOA] },
  { row: '6.4', name: `_http._tcp.${EXT}`, type: 'A', rcode: 'NXDOMAIN', ns: [SOA] },
  { row: '6.4', name: EXT, type: 'SRV', rcode: 'NOERROR', ns: [SOA] },
];

test('ExternalName records (dns.md §6)', (t) => runCases(t, fixtureZone(), cases));

test('with upstream resolvers an out-of-zone target is chased upstream (dns.md 6.1, 6.2)', (t) => {
  const zone = fixtureZone({ upstream: ['192.0.2.53:53'] });
  const result = resolve({ name: EXT, type: 'A' }, zone);
  t.is(result.rcode, 'NOERROR');
  t.deepEqual(result.answer, [{ name: EXT, ttl: 30, type: 'CNAME', target: 'ext.interwebs.test.' }]);
  t.is(result.upstream?.mode, 'chase');
  t.is(result.upstream?.name, 'ext.interwebs.test.');
  t.is(result.upstream?.type, 1);
  // If the upstream exchange fails, CoreDNS still answers with the CNAME alone (Upstream.Lookup returns forward's
  // SERVFAIL as a message, not an error).
  t.deepEqual(result.upstream?.onFailure.rcode, 'NOERROR');
  t.deepEqual(
    result.upstream?.onFailure.answer.map((rr) => rr.type),
    ['CNAME'],
  );
  t.deepEqual(result.upstream?.onFailure.authority, []);
  // In-zone targets never go upstream.
  t.is(resolve({ name: 'external-to-service.testns.svc.cluster.local.', type: 'A' }, zone).upstream, undefined);
  // The CNAME query itself is answered here.
  t.is(resolve({ name: EXT, type: 'CNAME' }, zone).upstream, undefined);
});

test('a CNAME loop through ExternalName services ends (dns.md 6.1)', (t) => {
  const objects = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'loop' } },
    ...['a', 'b'].map((name, i) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: 'loop' },
      spec: {
        type: 'ExternalName',
        externalName: `${i === 0 ? 'b' : 'a'}.loop.svc.cluster.local`,
        sessionAffinity: 'None',
      },
      status: { loadBalancer: {} },
    })),
  ] as Parameters<typeof fixtureZone>[1];
  const looped = fixtureZone({}, objects);
  const result = resolve({ name: 'a.loop.svc.cluster.local.', type: 'A' }, looped);
  t.is(result.rcode, 'NOERROR');
  t.deepEqual(result.answer, []);
});
