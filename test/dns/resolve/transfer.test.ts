/** Zone transfer (dns.md 1.11) and the master-file export for Knot/NSD. */
import test from 'ava';
import { formatRr } from '../../../src/dns/resolve/format.js';
import { resolve } from '../../../src/dns/resolve/resolve.js';
import { zoneTransfer } from '../../../src/dns/resolve/transfer.js';
import { exportZoneFiles } from '../../../src/dns/resolve/zone-file.js';
import { fixtureZone, SERIAL, soa } from './helpers.js';

test('AXFR: SOA, NS and glue, each Service as CoreDNS streams it, SOA (dns.md 1.11)', (t) => {
  const records = zoneTransfer(fixtureZone());
  if (!records) return t.fail('the cluster zone is transferable');
  const lines = records.map(formatRr);
  t.is(lines[0], soa());
  t.is(lines.at(-1), soa());
  t.is(lines[1], 'cluster.local. 30 IN NS kube-dns.kube-system.svc.cluster.local.');
  t.is(lines[2], 'kube-dns.kube-system.svc.cluster.local. 30 IN A 10.96.0.10');
  const expected = [
    'svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1',
    'svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.',
    '_http._tcp.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.',
    'svc-dual-stack.testns.svc.cluster.local. 30 IN AAAA fd00:96::3',
    'unnamed.testns.svc.cluster.local. 30 IN SRV 0 100 8080 unnamed.testns.svc.cluster.local.',
    'hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.2',
    'dup-name.hdls1.testns.svc.cluster.local. 30 IN A 10.244.1.5',
    'fd00-10-244-1--2.hdls1.testns.svc.cluster.local. 30 IN AAAA fd00:10:244:1::2',
    // Weight per slice: 4 ready IPv4 addresses → 25, 2 IPv6 → 50.
    '_http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 25 80 10-244-1-2.hdls1.testns.svc.cluster.local.',
    '_http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 50 80 fd00-10-244-1--1.hdls1.testns.svc.cluster.local.',
    'hdlsprtls.testns.svc.cluster.local. 30 IN A 10.244.1.20',
    'external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test.',
    'db-0.db.data.svc.cluster.local. 30 IN A 10.244.2.10',
  ];
  for (const line of expected) t.true(lines.includes(line), line);
  t.false(
    lines.some((l) => l.startsWith('external-ip.')),
    'no CNAME for an IP-like externalName',
  );
  t.false(
    lines.some((l) => l.includes('10.244.1.9')),
    'no not-ready endpoints',
  );
  t.false(
    lines.some((l) => l.startsWith('_') && l.includes('unnamed')),
    'no _port._proto name for unnamed ports',
  );
  t.false(
    lines.some((l) => l.includes(' 65535 ')),
    'no SRV for the no-ports sentinel',
  );
});

test('AXFR: reverse zones are not transferable; IXFR with a current serial is just the SOA (dns.md 1.11)', (t) => {
  const zone = fixtureZone();
  t.is(zoneTransfer(zone, { zone: 'in-addr.arpa.' }), undefined);
  t.truthy(zoneTransfer(zone, { zone: 'Cluster.Local' }));
  t.deepEqual(zoneTransfer(zone, { serial: SERIAL })?.map(formatRr), [soa()]);
  t.true((zoneTransfer(zone, { serial: SERIAL - 1 })?.length ?? 0) > 2);
  t.true((zoneTransfer(zone, { serial: 0 })?.length ?? 0) > 2);
});

test('zone files: every record a query returns, per zone, loadable text', (t) => {
  const zone = fixtureZone({ pods: 'verified' });
  const { files, unexpressible } = exportZoneFiles(zone);
  t.deepEqual(Object.keys(files).sort(), ['cluster.local', 'in-addr.arpa', 'ip6.arpa']);
  const cluster = files['cluster.local']!.split('\n');
  t.is(cluster[1], '$ORIGIN cluster.local.');
  t.is(cluster[3], soa(), 'the SOA comes first');
  for (const line of [
    'dns-version.cluster.local. 28800 IN TXT "1.1.0"',
    'ns.dns.cluster.local. 30 IN A 10.96.0.10',
    'svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local.',
    '_http._tcp.svc1.testns.svc.cluster.local. 30 IN A 10.96.1.1',
    'ep1a.svc1.testns.svc.cluster.local. 30 IN A 10.244.1.10',
    '_http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 16 80 dup-name.hdls1.testns.svc.cluster.local.',
    'external-dangling.testns.svc.cluster.local. 30 IN CNAME nothere.testns.svc.cluster.local.',
    '10-240-0-1.podns.pod.cluster.local. 30 IN A 10.240.0.1',
    'fd00-10-244-9--5.testns.pod.cluster.local. 30 IN AAAA fd00:10:244:9::5',
  ]) {
    t.true(cluster.includes(line), line);
  }
  t.false(
    cluster.some((l) => l.startsWith('external.testns.svc.cluster.local. 30 IN A')),
    'a CNAME owner holds nothing else',
  );
  const v4 = files['in-addr.arpa']!.split('\n');
  t.true(v4.includes(soa('in-addr.arpa.')));
  t.true(v4.includes('10.2.244.10.in-addr.arpa. 30 IN PTR db-0.db.data.svc.cluster.local.'));
  t.true(v4.includes('10.2.244.10.in-addr.arpa. 30 IN PTR 10-244-2-10.db-read.data.svc.cluster.local.'));
  t.true(v4.includes('1.1.96.10.in-addr.arpa. 30 IN PTR svc1.testns.svc.cluster.local.'));
  t.true(files['ip6.arpa']!.includes('IN PTR svc6.testns.svc.cluster.local.'));
  t.true(unexpressible.some((n) => n.row === '1.6'));
  t.false(unexpressible.some((n) => n.note.startsWith('pods insecure')));
  t.true(exportZoneFiles(fixtureZone()).unexpressible.some((n) => n.note.startsWith('pods insecure')));
});

test('zone files agree with the resolver for every record they hold', (t) => {
  const zone = fixtureZone();
  const { files } = exportZoneFiles(zone);
  for (const text of Object.values(files)) {
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith(';') || line.startsWith('$')) continue;
      const [name, , , type] = line.split(' ');
      if (line.includes('.svc.in-addr.arpa.') || line.includes('.svc.ip6.arpa.')) continue; // NS glue (dns.md 1.7)
      const result = resolve({ name: name!, type: type! }, zone);
      const all = [...result.answer, ...result.additional].map(formatRr);
      t.true(all.includes(line), `${line}\n${result.trace.join('\n')}`);
    }
  }
});
