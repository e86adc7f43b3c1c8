/**
 * The worked examples of dns.md §13 (pod in namespace `app`, ClusterFirst, ndots:5), for glibc and musl: the exact
 * queries sent, in order, and the result.
 */
import test from 'ava';
import { type Flavor, type LookupType, resolveFromPod } from '../../../src/dns/client/index.js';
import { CLUSTER, CLUSTER_FIRST_APP, fakeDns } from './fake-dns.js';

interface Example {
  input: string;
  type: LookupType;
  /** `qname qtype` per query, for glibc and for musl. */
  glibc: string[];
  musl: string[];
  /** The name that answered, or null when the lookup fails. */
  answeredBy: string | null;
}

const both = (candidates: string[], types: string[] = ['A', 'AAAA']) =>
  candidates.flatMap((c) => types.map((t) => `${c} ${t}`));

const EXAMPLES: Example[] = [
  {
    input: 'web',
    type: 'ADDR',
    glibc: both(['web.app.svc.cluster.local.']),
    musl: both(['web.app.svc.cluster.local.']),
    answeredBy: 'web.app.svc.cluster.local.',
  },
  {
    input: 'web.other',
    type: 'ADDR',
    glibc: both(['web.other.app.svc.cluster.local.', 'web.other.svc.cluster.local.']),
    musl: both(['web.other.app.svc.cluster.local.', 'web.other.svc.cluster.local.']),
    answeredBy: 'web.other.svc.cluster.local.',
  },
  {
    input: 'example.com',
    type: 'ADDR',
    glibc: both([
      'example.com.app.svc.cluster.local.',
      'example.com.svc.cluster.local.',
      'example.com.cluster.local.',
      'example.com.',
    ]),
    musl: both([
      'example.com.app.svc.cluster.local.',
      'example.com.svc.cluster.local.',
      'example.com.cluster.local.',
      'example.com.',
    ]),
    answeredBy: 'example.com.',
  },
  {
    input: 'web.app.svc.cluster.local',
    type: 'ADDR',
    glibc: both([
      'web.app.svc.cluster.local.app.svc.cluster.local.',
      'web.app.svc.cluster.local.svc.cluster.local.',
      'web.app.svc.cluster.local.cluster.local.',
      'web.app.svc.cluster.local.',
    ]),
    musl: both([
      'web.app.svc.cluster.local.app.svc.cluster.local.',
      'web.app.svc.cluster.local.svc.cluster.local.',
      'web.app.svc.cluster.local.cluster.local.',
      'web.app.svc.cluster.local.',
    ]),
    answeredBy: 'web.app.svc.cluster.local.',
  },
  {
    input: '_http._tcp.web.app.svc.cluster.local',
    type: 'SRV',
    glibc: ['_http._tcp.web.app.svc.cluster.local. SRV'],
    musl: ['_http._tcp.web.app.svc.cluster.local. SRV'],
    answeredBy: '_http._tcp.web.app.svc.cluster.local.',
  },
  {
    input: 'example.com.',
    type: 'ADDR',
    glibc: both(['example.com.']),
    musl: both(['example.com.']),
    answeredBy: 'example.com.',
  },
];

for (const example of EXAMPLES) {
  for (const flavor of ['glibc', 'musl'] as Flavor[]) {
    test(`§13 ${example.input} ${example.type} (${flavor})`, async (t) => {
      const dns = fakeDns(CLUSTER);
      const walk = await resolveFromPod(example.input, {
        resolvConf: CLUSTER_FIRST_APP,
        type: example.type,
        flavor,
        query: dns.query,
      });
      t.deepEqual(dns.log, example[flavor]);
      t.deepEqual(
        walk.steps.map((s) => `${s.qname} ${s.qtype}`),
        example[flavor],
      );
      t.is(walk.result.ok, example.answeredBy !== null);
      t.is(walk.result.finalName, example.answeredBy);
      t.deepEqual(
        walk.steps.map((s) => s.seq),
        walk.steps.map((_, i) => i + 1),
      );
    });
  }
}

test('§13 example.com costs 8 queries, 6 of them NXDOMAIN, with either libc', async (t) => {
  for (const flavor of ['glibc', 'musl'] as Flavor[]) {
    const walk = await resolveFromPod('example.com', {
      resolvConf: CLUSTER_FIRST_APP,
      type: 'ADDR',
      flavor,
      query: fakeDns(CLUSTER).query,
    });
    t.is(walk.steps.length, 8);
    t.is(walk.steps.filter((s) => s.rcode === 'NXDOMAIN').length, 6);
    t.deepEqual(
      walk.result.answers.map((r) => r.data),
      ['192.0.2.10', '2001:db8::10'],
    );
  }
});

test('a missing service in another namespace walks all 4 candidates and ends NXDOMAIN', async (t) => {
  const dns = { ...CLUSTER };
  delete dns['web.other.svc.cluster.local'];
  // Keep namespace `other` existing: its name is then NODATA, the missing service NXDOMAIN.
  dns['api.other.svc.cluster.local'] = { A: ['10.96.0.22'] };
  const glibc = await resolveFromPod('web.other', {
    resolvConf: CLUSTER_FIRST_APP,
    type: 'ADDR',
    flavor: 'glibc',
    query: fakeDns(dns).query,
  });
  t.is(glibc.steps.length, 8);
  t.like(glibc.result, { ok: false, status: 'nxdomain', error: 'HOST_NOT_FOUND', finalName: 'web.other.' });
  const musl = await resolveFromPod('web.other', {
    resolvConf: CLUSTER_FIRST_APP,
    type: 'ADDR',
    flavor: 'musl',
    query: fakeDns(dns).query,
  });
  t.is(musl.steps.length, 8);
  t.like(musl.result, { ok: false, status: 'nxdomain', error: 'EAI_NONAME' });
});

test('with ndots:1 (dnsConfig override) example.com is tried as is first: 2 queries', async (t) => {
  const resolvConf = { ...CLUSTER_FIRST_APP, options: [{ name: 'ndots', value: '1' }] };
  for (const flavor of ['glibc', 'musl'] as Flavor[]) {
    const dns = fakeDns(CLUSTER);
    const walk = await resolveFromPod('example.com', { resolvConf, type: 'ADDR', flavor, query: dns.query });
    t.deepEqual(dns.log, ['example.com. A', 'example.com. AAAA']);
    t.true(walk.result.ok);
  }
});
