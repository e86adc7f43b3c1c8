/** The CLI renderings of a walk: aligned text and the JSON shape. */
import test from 'ava';
import { formatWalk, resolveFromPod, walkToJSON } from '../../../src/dns/client/index.js';
import { CLUSTER, CLUSTER_FIRST_APP, fakeDns } from './fake-dns.js';

test('text: one aligned line per query, then the result', async (t) => {
  const walk = await resolveFromPod('web.other', {
    resolvConf: CLUSTER_FIRST_APP,
    type: 'ADDR',
    flavor: 'glibc',
    query: fakeDns(CLUSTER).query,
  });
  const text = formatWalk(walk);
  const lines = text.split('\n');
  t.deepEqual(lines.slice(0, 6), [
    'glibc  ADDR web.other  ndots:5  search app.svc.cluster.local svc.cluster.local cluster.local',
    '1  web.other.app.svc.cluster.local.  A     NXDOMAIN',
    '2  web.other.app.svc.cluster.local.  AAAA  NXDOMAIN',
    '3  web.other.svc.cluster.local.      A     NOERROR   10.96.0.21',
    '4  web.other.svc.cluster.local.      AAAA  NODATA',
    'result: ok  web.other.svc.cluster.local.  A 10.96.0.21  (4 queries)',
  ]);
  t.true(lines.slice(6).every((l) => l === '' || l.startsWith('note: ')));
  t.true(text.endsWith('\n'));
});

test('text: a failure names the libc error and the last name; dropped replies get a ^ line', async (t) => {
  const walk = await resolveFromPod('db', {
    resolvConf: CLUSTER_FIRST_APP,
    type: 'ADDR',
    flavor: 'musl',
    query: fakeDns({ ...CLUSTER, 'db.app.svc.cluster.local': { rcode: 'SERVFAIL' } }).query,
  });
  const text = formatWalk(walk);
  t.regex(text, /^1 {2}db\.app\.svc\.cluster\.local\. {2}A {5}SERVFAIL\n {3}\^ musl accepts only NOERROR/m);
  t.regex(text, /^result: EAI_AGAIN \(temporary failure\) {2}last: db\.app\.svc\.cluster\.local\. {2}\(2 queries\)$/m);
});

test('text: a lookup with no queries (IP literal)', async (t) => {
  const walk = await resolveFromPod('10.96.0.1', {
    resolvConf: CLUSTER_FIRST_APP,
    type: 'ADDR',
    flavor: 'glibc',
    query: fakeDns({}).query,
  });
  t.regex(formatWalk(walk), /^result: ok {2}10\.96\.0\.1 {2}A 10\.96\.0\.1 {2}\(0 queries\)$/m);
});

test('JSON: plain data that survives a round trip and counts the queries', async (t) => {
  const walk = await resolveFromPod('example.com', {
    resolvConf: CLUSTER_FIRST_APP,
    type: 'ADDR',
    flavor: 'musl',
    query: fakeDns(CLUSTER).query,
  });
  const json = walkToJSON(walk);
  t.deepEqual(JSON.parse(JSON.stringify(json)), json);
  t.is(json.queryCount, 8);
  t.like(json, { name: 'example.com', type: 'ADDR', flavor: 'musl', ndots: 5 });
  t.like(json.queries[0], { seq: 1, candidate: 1, qname: 'example.com.app.svc.cluster.local.', rcode: 'NXDOMAIN' });
  t.like(json.result, { ok: true, status: 'ok', finalName: 'example.com.' });
  t.false('error' in json.result);
  t.false('note' in (json.queries[0] ?? {}));
});
