/**
 * Smaller stub-resolver rules: options that change the walk, musl's line buffer, CNAME-only answers, the notes on
 * dropped replies, and the lookups that never reach DNS.
 */
import test from 'ava';
import { type Flavor, resolveFromPod } from '../../../src/dns/client/index.js';
import { CLUSTER, CLUSTER_FIRST_APP, type FakeName, fakeDns } from './fake-dns.js';

test('glibc options no-aaaa: getaddrinfo sends A only', async (t) => {
  const dns = fakeDns(CLUSTER);
  const resolvConf = { ...CLUSTER_FIRST_APP, options: [...CLUSTER_FIRST_APP.options, { name: 'no-aaaa' }] };
  await resolveFromPod('web', { resolvConf, type: 'ADDR', flavor: 'glibc', query: dns.query });
  t.deepEqual(dns.log, ['web.app.svc.cluster.local. A']);
});

test('musl ignores a search line over 254 characters, so nothing is searched', async (t) => {
  const searches = Array.from({ length: 20 }, (_, i) => `team-${i}.corp.example`);
  const resolvConf = { ...CLUSTER_FIRST_APP, searches: [...CLUSTER_FIRST_APP.searches, ...searches] };
  const musl = await resolveFromPod('web', { resolvConf, type: 'ADDR', flavor: 'musl', query: fakeDns(CLUSTER).query });
  t.deepEqual(musl.searches, []);
  t.deepEqual([...new Set(musl.steps.map((s) => s.qname))], ['web.']);
  t.true(musl.notes.some((n) => n.includes('ignores the search line')));
  const glibc = await resolveFromPod('web', {
    resolvConf,
    type: 'ADDR',
    flavor: 'glibc',
    query: fakeDns(CLUSTER).query,
  });
  t.is(glibc.searches.length, 23);
  t.true(glibc.result.ok);
});

test('a CNAME without its target ends the walk without data', async (t) => {
  const names = { 'alias.app.svc.cluster.local': { CNAME: 'elsewhere.example' } };
  const walk = await resolveFromPod('alias', {
    resolvConf: CLUSTER_FIRST_APP,
    type: 'ADDR',
    flavor: 'glibc',
    query: fakeDns({ ...CLUSTER, ...names }).query,
  });
  t.is(walk.steps.length, 2);
  t.like(walk.result, { ok: false, status: 'nodata', finalName: 'alias.app.svc.cluster.local.' });
});

// glibc: getaddrinfo's gaih_getanswer_slice turns a CNAME-only answer into HOST_NOT_FOUND; gethostbyname's
// getanswer_r into NO_RECOVERY; musl reports EAI_NODATA.
const CNAME_ONLY_ERRORS: [type: 'ADDR' | 'A' | 'AAAA', flavor: Flavor, error: string][] = [
  ['ADDR', 'glibc', 'HOST_NOT_FOUND'],
  ['A', 'glibc', 'NO_RECOVERY'],
  ['AAAA', 'glibc', 'NO_RECOVERY'],
  ['ADDR', 'musl', 'EAI_NODATA'],
];
for (const [type, flavor, error] of CNAME_ONLY_ERRORS) {
  test(`a CNAME-only answer to ${type} is ${error} (${flavor})`, async (t) => {
    const names = { 'alias.app.svc.cluster.local': { CNAME: 'elsewhere.example' } };
    const walk = await resolveFromPod('alias', {
      resolvConf: CLUSTER_FIRST_APP,
      type,
      flavor,
      query: fakeDns({ ...CLUSTER, ...names }).query,
    });
    t.like(walk.result, { ok: false, error });
  });
}

test('dropped replies carry a note saying why', async (t) => {
  const names: Record<string, FakeName> = { 'example.com.svc.cluster.local': { rcode: 'SERVFAIL' } };
  for (const flavor of ['glibc', 'musl'] as Flavor[]) {
    const walk = await resolveFromPod('example.com', {
      resolvConf: CLUSTER_FIRST_APP,
      type: 'ADDR',
      flavor,
      query: fakeDns({ ...CLUSTER, ...names }).query,
    });
    const servfails = walk.steps.filter((s) => s.rcode === 'SERVFAIL');
    t.is(servfails.length, 2);
    t.true(servfails.every((s) => s.note !== undefined && s.note.length > 0));
  }
});

test('IP literals and /etc/hosts entries are answered without DNS', async (t) => {
  const dns = fakeDns(CLUSTER);
  const hosts = [{ address: '10.244.1.5', names: ['web-0', 'web-0.web.app.svc.cluster.local'] }];
  for (const name of ['10.96.0.1', 'fd00::1', 'web-0', 'web-0.web.app.svc.cluster.local']) {
    for (const flavor of ['glibc', 'musl'] as Flavor[]) {
      const walk = await resolveFromPod(name, {
        resolvConf: CLUSTER_FIRST_APP,
        type: 'ADDR',
        flavor,
        query: dns.query,
        hosts,
      });
      t.true(walk.result.ok, name);
      t.is(walk.steps.length, 0);
    }
  }
  t.deepEqual(dns.log, []);
});

// glibc's files backend compares names with __strcasecmp, musl's name_from_hosts with strstr; neither drops a final
// dot, so `web-0.` is not the file's `web-0` and goes to DNS.
const HOSTS_MATCHES: readonly [name: string, flavor: Flavor, fromHosts: boolean][] = [
  ['WEB-0.web.app.svc.cluster.local', 'glibc', true],
  ['WEB-0.web.app.svc.cluster.local', 'musl', false],
  ['web-0.', 'glibc', false],
  ['web-0.', 'musl', false],
  ['web-0.web.app.svc.cluster.local.', 'glibc', false],
];
for (const [name, flavor, fromHosts] of HOSTS_MATCHES) {
  test(`/etc/hosts, ${flavor}: ${name} is ${fromHosts ? '' : 'not '}answered from the file`, async (t) => {
    const dns = fakeDns(CLUSTER);
    const walk = await resolveFromPod(name, {
      resolvConf: CLUSTER_FIRST_APP,
      type: 'ADDR',
      flavor,
      query: dns.query,
      hosts: [{ address: '10.244.1.5', names: ['web-0', 'web-0.web.app.svc.cluster.local'] }],
    });
    t.is(walk.steps.length === 0, fromHosts);
    t.is(dns.log.length === 0, fromHosts);
  });
}

test('an empty name is rejected', async (t) => {
  await t.throwsAsync(
    resolveFromPod('', { resolvConf: CLUSTER_FIRST_APP, type: 'ADDR', flavor: 'glibc', query: fakeDns({}).query }),
    { any: true, message: /empty/ },
  );
});
