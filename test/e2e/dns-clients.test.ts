/**
 * Real clients against the real server on 127.0.0.1 with an ephemeral port: dig, kdig, nslookup, drill and Node's
 * own dns.Resolver, over UDP and TCP, on the demo cluster.
 */
import { Resolver } from 'node:dns/promises';
import test from 'ava';
import { client, dig, digYaml, kdig, type Running, shortLines, startServer } from './helpers.js';

let running: Running;
let webIP: string;
let dbIPs: string[];

test.before(async () => {
  running = await startServer(['fixtures/demo']);
  webIP = running.cluster.get('Service', 'web', 'shop')!.spec.clusterIP!;
  dbIPs = running.cluster
    .list('Pod', 'shop')
    .filter((p) => p.metadata.name.startsWith('db-'))
    .map((p) => p.status.podIP!)
    .sort();
});
test.after.always(() => running.stop());

test('dig +short: a ClusterIP Service resolves to its ClusterIP', async (t) => {
  t.deepEqual(shortLines(await dig(running.port, '+short', 'web.shop.svc.cluster.local')), [webIP]);
});

test('dig +short: a headless Service resolves to its ready endpoints', async (t) => {
  t.deepEqual(shortLines(await dig(running.port, '+short', 'db.shop.svc.cluster.local')), dbIPs);
});

test('dig +yaml: StatefulSet pod names are authoritative answers', async (t) => {
  const db0 = running.cluster.get('Pod', 'db-0', 'shop')!.status.podIP!;
  const reply = await digYaml(running.port, 'db-0.db.shop.svc.cluster.local');
  t.is(reply.status, 'NOERROR');
  t.true(reply.flags.includes('aa'));
  t.deepEqual(reply.answer, [`db-0.db.shop.svc.cluster.local. 30 IN A ${db0}`]);
});

test('dig +yaml: SRV for a named port, with the target address in the additional section', async (t) => {
  const reply = await digYaml(running.port, 'SRV', '_http._tcp.web.shop.svc.cluster.local');
  t.deepEqual(reply.answer, ['_http._tcp.web.shop.svc.cluster.local. 30 IN SRV 0 100 80 web.shop.svc.cluster.local.']);
  t.deepEqual(reply.additional, [`web.shop.svc.cluster.local. 30 IN A ${webIP}`]);
});

test('dig: NXDOMAIN carries the zone SOA in the authority section', async (t) => {
  const reply = await digYaml(running.port, 'nope.shop.svc.cluster.local');
  t.is(reply.status, 'NXDOMAIN');
  t.true(reply.flags.includes('aa'));
  t.is(reply.answer.length, 0);
  t.regex(
    reply.authority[0]!,
    /^cluster\.local\. 30 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 30$/,
  );
});

test('dig: a name that exists with another type is NODATA (NOERROR, SOA, no answer)', async (t) => {
  const reply = await digYaml(running.port, 'AAAA', 'web.shop.svc.cluster.local');
  t.is(reply.status, 'NOERROR');
  t.is(reply.answer.length, 0);
  t.is(reply.authority.length, 1);
});

test('dig: the query case is kept in the answer (0x20)', async (t) => {
  const reply = await digYaml(running.port, 'WeB.ShOp.SvC.ClUsTeR.LoCaL');
  t.deepEqual(reply.answer, [`WeB.ShOp.SvC.ClUsTeR.LoCaL. 30 IN A ${webIP}`]);
});

test('dig +ednsflags: the Z bits beside DO come back, as CoreDNS keeps that octet of the OPT (MBZ), fresh or cached', async (t) => {
  for (const name of ['web.shop.svc.cluster.local', 'web.shop.svc.cluster.local', 'nope.shop.svc.cluster.local']) {
    const text = await dig(running.port, '+ednsflags=0x0100', '+dnssec', name);
    t.regex(text, /; EDNS: version: 0, flags: do; MBZ: 0x0100, udp: \d+/, name);
    // Without them, none are made up.
    t.regex(await dig(running.port, name), /; EDNS: version: 0, flags:; udp: \d+/, name);
  }
});

test('dig -x: PTR for a ClusterIP', async (t) => {
  t.deepEqual(shortLines(await dig(running.port, '+short', '-x', webIP)), ['web.shop.svc.cluster.local.']);
});

test('dig +tcp: the same answer over TCP', async (t) => {
  const reply = await digYaml(running.port, '+tcp', 'web.shop.svc.cluster.local');
  t.is(reply.protocol, 'TCP');
  t.deepEqual(reply.answer, [`web.shop.svc.cluster.local. 30 IN A ${webIP}`]);
});

test('dig: ExternalName is a CNAME to its external name', async (t) => {
  t.deepEqual(shortLines(await dig(running.port, '+short', 'CNAME', 'payments.shop.svc.cluster.local')), [
    'payments.example.com.',
  ]);
});

test('kdig +json: dual-stack Service answers AAAA with its IPv6 ClusterIP', async (t) => {
  const dual = running.cluster.get('Service', 'web-dual', 'shop')!;
  const json = JSON.parse(await kdig(running.port, '+json', 'AAAA', 'web-dual.shop.svc.cluster.local')) as {
    RCODE: number;
    AA: number;
    answerRRs: { rdataAAAA: string }[];
  };
  t.is(json.RCODE, 0);
  t.is(json.AA, 1);
  t.deepEqual(
    json.answerRRs.map((r) => r.rdataAAAA),
    [dual.spec.clusterIPs![1]!],
  );
});

test('kdig +json: NXDOMAIN has RCODE 3 and one authority record', async (t) => {
  const json = JSON.parse(await kdig(running.port, '+json', 'nothing.svc.cluster.local')) as {
    RCODE: number;
    authorityRRs: unknown[];
  };
  t.is(json.RCODE, 3);
  t.is(json.authorityRRs.length, 1);
});

test('nslookup finds both addresses of a dual-stack Service', async (t) => {
  const dual = running.cluster.get('Service', 'web-dual', 'shop')!;
  const out = await client('nslookup', [
    `-port=${running.port}`,
    '-timeout=2',
    '-retry=0',
    'web-dual.shop.svc.cluster.local',
    '127.0.0.1',
  ]);
  for (const ip of dual.spec.clusterIPs!) t.true(out.includes(`Address: ${ip}`), out);
});

test('nslookup reports NXDOMAIN for a missing Service', async (t) => {
  const out = await client('nslookup', [
    `-port=${running.port}`,
    '-timeout=2',
    '-retry=0',
    'missing.shop.svc.cluster.local',
    '127.0.0.1',
  ]);
  t.regex(out, /NXDOMAIN/);
});

test('drill: A record of a StatefulSet pod', async (t) => {
  const db1 = running.cluster.get('Pod', 'db-1', 'shop')!.status.podIP!;
  const out = await client('drill', ['-p', String(running.port), '@127.0.0.1', 'db-1.db.shop.svc.cluster.local', 'A']);
  t.regex(out, /rcode: NOERROR/);
  t.true(out.includes(db1), out);
});

test("Node's dns.Resolver: A, AAAA, SRV and reverse", async (t) => {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${running.port}`]);
  t.deepEqual(await resolver.resolve4('web.shop.svc.cluster.local'), [webIP]);
  const dual = running.cluster.get('Service', 'web-dual', 'shop')!;
  t.deepEqual(await resolver.resolve6('web-dual.shop.svc.cluster.local'), [dual.spec.clusterIPs![1]]);
  const srv = await resolver.resolveSrv('_postgres._tcp.db.shop.svc.cluster.local');
  t.deepEqual(srv.map((r) => r.name).sort(), [
    'db-0.db.shop.svc.cluster.local',
    'db-1.db.shop.svc.cluster.local',
    'db-2.db.shop.svc.cluster.local',
  ]);
  t.true(srv.every((r) => r.port === 5432 && r.priority === 0 && r.weight === 33));
  t.deepEqual(await resolver.reverse(webIP), ['web.shop.svc.cluster.local']);
  await t.throwsAsync(resolver.resolve4('missing.shop.svc.cluster.local'), { code: 'ENOTFOUND' });
});

test('a change in the store shows in the next answer', async (t) => {
  running.cluster.apply([
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'fresh', namespace: 'shop' },
      spec: { clusterIP: '10.96.77.77', ports: [{ port: 80 }] },
    },
  ]);
  t.deepEqual(shortLines(await dig(running.port, '+short', 'fresh.shop.svc.cluster.local')), ['10.96.77.77']);
  running.cluster.delete([{ kind: 'Service', name: 'fresh', namespace: 'shop' }]);
  t.is((await digYaml(running.port, 'fresh.shop.svc.cluster.local')).status, 'NXDOMAIN');
});
