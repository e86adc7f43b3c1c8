/** The xt_recent model behind ClientIP affinity. */
import test from 'ava';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import { RecentLists } from '../../../src/proxy/iptables/recent.js';
import { Rng } from '../../../src/util/rng.js';
import { node, put, service, slice, storeWith, tableFor } from '../fixtures.js';

test('--rcheck matches within the window and does not refresh', (t) => {
  const r = new RecentLists();
  r.set('KUBE-SEP-A', '10.0.0.1', 100);
  t.true(r.check('KUBE-SEP-A', '10.0.0.1', 30, 129));
  t.is(r.lastSeen('KUBE-SEP-A', '10.0.0.1'), 100, 'rcheck leaves the stamp alone');
  t.true(r.check('KUBE-SEP-A', '10.0.0.1', 30, 130), 'exactly T seconds later it still matches (time_after is strict)');
  t.false(r.check('KUBE-SEP-A', '10.0.0.1', 30, 130.5), 'past T seconds it no longer matches');
  t.is(r.lastSeen('KUBE-SEP-A', '10.0.0.1'), undefined, '--reap purged the stale record');
});

test('--reap removes the least recently updated record when it is stale, whichever source is checked', (t) => {
  const r = new RecentLists();
  r.set('L', '10.0.0.1', 0);
  r.set('L', '10.0.0.2', 50);
  r.set('L', '10.0.0.3', 95);
  t.false(r.check('L', '10.0.0.9', 30, 100), 'no record for this source');
  t.is(r.lastSeen('L', '10.0.0.1'), 0, 'a check that finds no record reaps nothing');
  t.true(r.check('L', '10.0.0.3', 30, 100));
  t.is(r.lastSeen('L', '10.0.0.1'), undefined, 'the stale head went with a matching check of another source');
  t.false(r.check('L', '10.0.0.2', 30, 100));
  t.is(r.lastSeen('L', '10.0.0.2'), undefined, 'then the next stale head');
  t.true(r.check('L', '10.0.0.3', 30, 100));
  t.is(r.lastSeen('L', '10.0.0.3'), 95, 'a head within the window stays');
});

test('--set refreshes', (t) => {
  const r = new RecentLists();
  r.set('L', '10.0.0.1', 0);
  r.set('L', '10.0.0.1', 25);
  t.true(r.check('L', '10.0.0.1', 30, 50));
});

test('lists are separate and other sources do not match', (t) => {
  const r = new RecentLists();
  r.set('A', '10.0.0.1', 0);
  t.false(r.check('B', '10.0.0.1', 30, 1));
  t.false(r.check('A', '10.0.0.2', 30, 1));
});

test('ip_list_tot: the 101st address evicts the least recently updated', (t) => {
  const r = new RecentLists();
  for (let i = 0; i < 100; i++) r.set('L', `10.0.0.${i}`, i);
  r.set('L', '10.0.0.0', 200); // refresh the oldest, so 10.0.0.1 becomes the LRU
  r.set('L', '10.0.1.0', 201);
  t.is(r.lastSeen('L', '10.0.0.1'), undefined);
  t.is(r.lastSeen('L', '10.0.0.0'), 200);
  t.is(r.lastSeen('L', '10.0.1.0'), 201);
});

test('the engine drops a list with the last rule naming it: an endpoint that leaves, affinity switched off', (t) => {
  const sticky = (on: boolean) =>
    service('default', 'sticky', {
      clusterIP: '10.96.0.40',
      ports: [{ port: 80 }],
      ...(on
        ? { sessionAffinity: 'ClientIP' as const, sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }
        : {}),
    });
  const endpoints = (ips: string[]) =>
    slice(
      'default',
      'sticky',
      ips.map((ip) => ({ ip, node: 'node-a' })),
      [{ port: 8080 }],
    );
  const store = storeWith(node('node-a', ['192.168.0.2'], { podCIDRs: ['10.244.1.0/24'] }), sticky(true));
  put(store, endpoints(['10.244.1.10', '10.244.1.11']));
  const engine = new IptablesEngine({
    table: tableFor(store, 'node-a'),
    config: proxyConfig({ mode: 'iptables' }),
    rng: new Rng(3),
  });
  const pod = { from: 'pod', pod: 'default/client' } as const;
  const connect = (client: string, at: number) =>
    engine.send({ proto: 'TCP', src: { ip: client, port: 40000 }, dst: { ip: '10.96.0.40', port: 80 } }, pod, at);
  // Clients until both endpoints have a recorded one.
  const listOf = new Map<string, string>();
  for (let c = 1; listOf.size < 2; c++) {
    const v = connect(`10.244.1.${100 + c}`, 0);
    const list = engine.recent.names().find((l) => engine.recent.lastSeen(l, `10.244.1.${100 + c}`) === 0)!;
    listOf.set(v.endpoint!, list);
  }
  const gone = listOf.get('10.244.1.10:8080')!;
  const stays = listOf.get('10.244.1.11:8080')!;
  put(store, endpoints(['10.244.1.11', '10.244.1.12']));
  t.false(engine.recent.names().includes(gone), "the departed endpoint's list is freed");
  t.true(engine.recent.names().includes(stays), 'a list whose rules stay keeps its clients');
  put(store, endpoints(['10.244.1.10', '10.244.1.11', '10.244.1.12']));
  t.false(engine.recent.names().includes(gone), 'the endpoint back: its list starts empty');
  put(store, sticky(false));
  t.deepEqual(engine.recent.names(), [], 'affinity off: no rule names a list');
});
