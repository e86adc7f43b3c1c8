/**
 * Where glibc and musl part ways: NODATA, SERVFAIL, REFUSED and timeouts on a search candidate, names with >= ndots
 * dots, `search .`, non-address types, and the options that change the walk.
 */
import test from 'ava';
import {
  type Flavor,
  type LookupType,
  type ResolvConf,
  resolveFromPod,
  type WalkStatus,
} from '../../../src/dns/client/index.js';
import { CLUSTER, CLUSTER_FIRST_APP, type FakeName, fakeDns } from './fake-dns.js';

interface Case {
  title: string;
  name: string;
  type?: LookupType;
  resolvConf?: ResolvConf;
  /** Extra or overriding names on top of CLUSTER. */
  names?: Record<string, FakeName>;
  flavor: Flavor;
  /** Candidate names in the order queried (each once, whatever the number of types). */
  candidates: string[];
  status: WalkStatus;
  error?: string;
}

const withNodeSearch: ResolvConf = {
  ...CLUSTER_FIRST_APP,
  searches: [...CLUSTER_FIRST_APP.searches, 'corp.example'],
};

const CASES: Case[] = [
  // A namespace named like the short name hides later candidates from musl (dns.md "What users ask" #10).
  {
    title: 'namespace shadowing: glibc moves past NODATA',
    name: 'db',
    resolvConf: withNodeSearch,
    flavor: 'glibc',
    candidates: ['db.app.svc.cluster.local.', 'db.svc.cluster.local.', 'db.cluster.local.', 'db.corp.example.'],
    status: 'ok',
  },
  {
    title: 'namespace shadowing: musl stops at NODATA with EAI_NODATA',
    name: 'db',
    resolvConf: withNodeSearch,
    flavor: 'musl',
    candidates: ['db.app.svc.cluster.local.', 'db.svc.cluster.local.'],
    status: 'nodata',
    error: 'EAI_NODATA',
  },
  {
    title: 'glibc reports NO_DATA over NXDOMAIN when a candidate had NODATA',
    name: 'db',
    flavor: 'glibc',
    candidates: ['db.app.svc.cluster.local.', 'db.svc.cluster.local.', 'db.cluster.local.', 'db.'],
    status: 'nodata',
    error: 'NO_DATA',
  },
  // SERVFAIL (e.g. CoreDNS not synced) on the cluster candidates.
  {
    title: 'SERVFAIL: glibc moves on and resolves the external name',
    name: 'example.com',
    names: { 'example.com.svc.cluster.local': { rcode: 'SERVFAIL' } },
    flavor: 'glibc',
    candidates: [
      'example.com.app.svc.cluster.local.',
      'example.com.svc.cluster.local.',
      'example.com.cluster.local.',
      'example.com.',
    ],
    status: 'ok',
  },
  {
    title: 'SERVFAIL: musl gives up with EAI_AGAIN',
    name: 'example.com',
    names: { 'example.com.svc.cluster.local': { rcode: 'SERVFAIL' } },
    flavor: 'musl',
    candidates: ['example.com.app.svc.cluster.local.', 'example.com.svc.cluster.local.'],
    status: 'again',
    error: 'EAI_AGAIN',
  },
  {
    title: 'SERVFAIL everywhere: glibc ends TRY_AGAIN',
    name: 'nope',
    names: Object.fromEntries(
      ['nope.app.svc.cluster.local', 'nope.svc.cluster.local', 'nope.cluster.local', 'nope'].map((n) => [
        n,
        { rcode: 'SERVFAIL' },
      ]),
    ),
    flavor: 'glibc',
    candidates: ['nope.app.svc.cluster.local.', 'nope.svc.cluster.local.', 'nope.cluster.local.', 'nope.'],
    status: 'again',
    error: 'TRY_AGAIN',
  },
  // REFUSED and timeouts stop glibc's search, but the name as is is still tried.
  {
    title: 'REFUSED: glibc stops searching, then tries the name as is',
    name: 'example.com',
    names: { 'example.com.app.svc.cluster.local': { rcode: 'REFUSED' } },
    flavor: 'glibc',
    candidates: ['example.com.app.svc.cluster.local.', 'example.com.'],
    status: 'ok',
  },
  {
    title: 'REFUSED: musl ignores the reply, waits, EAI_AGAIN',
    name: 'example.com',
    names: { 'example.com.app.svc.cluster.local': { rcode: 'REFUSED' } },
    flavor: 'musl',
    candidates: ['example.com.app.svc.cluster.local.'],
    status: 'again',
    error: 'EAI_AGAIN',
  },
  {
    title: 'timeout: glibc stops searching, then tries the name as is',
    name: 'web',
    names: { 'web.app.svc.cluster.local': { rcode: 'TIMEOUT' } },
    flavor: 'glibc',
    candidates: ['web.app.svc.cluster.local.', 'web.'],
    status: 'nxdomain',
    error: 'HOST_NOT_FOUND',
  },
  // A SERVFAIL on one of A/AAAA is dropped by glibc's sender; the other reply decides.
  {
    title: 'glibc judges A+AAAA on the reply left after dropping SERVFAIL',
    name: 'web',
    names: { 'web.app.svc.cluster.local': { A: ['10.96.0.11'], rcodeByType: { AAAA: 'SERVFAIL' } } },
    flavor: 'glibc',
    candidates: ['web.app.svc.cluster.local.'],
    status: 'ok',
  },
  {
    title: 'musl needs both replies: an AAAA SERVFAIL makes the lookup fail',
    name: 'web',
    names: { 'web.app.svc.cluster.local': { A: ['10.96.0.11'], rcodeByType: { AAAA: 'SERVFAIL' } } },
    flavor: 'musl',
    candidates: ['web.app.svc.cluster.local.'],
    status: 'again',
    error: 'EAI_AGAIN',
  },
  {
    title: 'musl moves on when the A reply is NXDOMAIN even if AAAA had data',
    name: 'web',
    names: { 'web.app.svc.cluster.local': { AAAA: ['fd00::11'], rcodeByType: { A: 'NXDOMAIN' } } },
    flavor: 'musl',
    candidates: ['web.app.svc.cluster.local.', 'web.svc.cluster.local.', 'web.cluster.local.', 'web.'],
    status: 'nxdomain',
    error: 'EAI_NONAME',
  },
  // >= ndots dots.
  {
    title: '>= ndots: glibc tries as is first, then the search list',
    name: 'a.b.c.d.e.f',
    flavor: 'glibc',
    candidates: [
      'a.b.c.d.e.f.',
      'a.b.c.d.e.f.app.svc.cluster.local.',
      'a.b.c.d.e.f.svc.cluster.local.',
      'a.b.c.d.e.f.cluster.local.',
    ],
    status: 'nxdomain',
    error: 'HOST_NOT_FOUND',
  },
  {
    title: '>= ndots: musl queries only the name',
    name: 'a.b.c.d.e.f',
    flavor: 'musl',
    candidates: ['a.b.c.d.e.f.'],
    status: 'nxdomain',
    error: 'EAI_NONAME',
  },
  {
    title: 'trailing dot: glibc queries the name alone and keeps its error',
    name: 'web.',
    flavor: 'glibc',
    candidates: ['web.'],
    status: 'nxdomain',
    error: 'HOST_NOT_FOUND',
  },
  // Non-address types: musl's res_search is res_query.
  {
    title: 'SRV short name: glibc searches',
    name: '_http._tcp.web',
    type: 'SRV',
    flavor: 'glibc',
    candidates: ['_http._tcp.web.app.svc.cluster.local.'],
    status: 'ok',
  },
  {
    title: 'SRV short name: musl sends it as given, no search',
    name: '_http._tcp.web',
    type: 'SRV',
    flavor: 'musl',
    candidates: ['_http._tcp.web.'],
    status: 'nxdomain',
    error: 'HOST_NOT_FOUND',
  },
  {
    title: 'A-only getaddrinfo: musl still searches',
    name: 'web',
    type: 'A',
    flavor: 'musl',
    candidates: ['web.app.svc.cluster.local.'],
    status: 'ok',
  },
  // `search .` (a node whose resolv.conf says `search .`, kept by kubelet since kubernetes#109441).
  {
    title: 'search .: glibc queries name. for the root entry and not again',
    name: 'nope',
    resolvConf: { ...CLUSTER_FIRST_APP, searches: [...CLUSTER_FIRST_APP.searches, '.'] },
    flavor: 'glibc',
    candidates: ['nope.app.svc.cluster.local.', 'nope.svc.cluster.local.', 'nope.cluster.local.', 'nope.'],
    status: 'nxdomain',
    error: 'HOST_NOT_FOUND',
  },
  {
    title: 'search .: musl skips the unencodable nope.. and ends with the name itself',
    name: 'nope',
    resolvConf: { ...CLUSTER_FIRST_APP, searches: [...CLUSTER_FIRST_APP.searches, '.'] },
    flavor: 'musl',
    candidates: ['nope.app.svc.cluster.local.', 'nope.svc.cluster.local.', 'nope.cluster.local.', 'nope.'],
    status: 'nxdomain',
    error: 'EAI_NONAME',
  },
  {
    title: 'no resolv.conf options: ndots is 1, so a dotted name goes as is first',
    name: 'example.com',
    resolvConf: { nameservers: ['172.18.0.1'], searches: ['corp.example'], options: [] },
    flavor: 'glibc',
    candidates: ['example.com.'],
    status: 'ok',
  },
  {
    title: 'options no-tld-query: glibc skips the bare single-label name',
    name: 'nope',
    resolvConf: { ...CLUSTER_FIRST_APP, options: [...CLUSTER_FIRST_APP.options, { name: 'no-tld-query' }] },
    flavor: 'glibc',
    candidates: ['nope.app.svc.cluster.local.', 'nope.svc.cluster.local.', 'nope.cluster.local.'],
    status: 'nxdomain',
    error: 'HOST_NOT_FOUND',
  },
];

for (const c of CASES) {
  test(`${c.flavor}: ${c.title}`, async (t) => {
    const dns = fakeDns({ ...CLUSTER, ...c.names });
    const walk = await resolveFromPod(c.name, {
      resolvConf: c.resolvConf ?? CLUSTER_FIRST_APP,
      type: c.type ?? 'ADDR',
      flavor: c.flavor,
      query: dns.query,
    });
    t.deepEqual([...new Set(walk.steps.map((s) => s.qname))], c.candidates);
    t.is(walk.result.status, c.status);
    t.is(walk.result.ok, c.status === 'ok');
    t.is(walk.result.error, c.error);
  });
}
