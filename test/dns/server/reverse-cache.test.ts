/**
 * kubeadm's `cache 30 { disable success cluster.local; disable denial cluster.local }`: reverse-zone answers are
 * cached (TTLs count down, a deleted Service's PTR lasts until its entry runs out), cluster-zone answers never are.
 */
import test from 'ava';
import packet from 'dns-packet';
import { Cluster } from '../../../src/cluster/cluster.js';
import { dnsOptionsOf } from '../../../src/cluster/config-sections.js';
import type { Outcome } from '../../../src/dns/server/responder.js';
import { Responder } from '../../../src/dns/server/responder.js';
import { ZoneIndex } from '../../../src/dns/zone/zone-index.js';
import { Rng } from '../../../src/util/rng.js';

async function setup(cache?: number) {
  const cluster = await Cluster.load(['fixtures/demo']);
  const zone = new ZoneIndex(cluster.store, {
    clusterDomain: cluster.config.clusterDomain,
    options: dnsOptionsOf(cluster.config),
  });
  const clock = { ms: 0 };
  const dns = { ...dnsOptionsOf(cluster.config), ...(cache === undefined ? {} : { cache }) };
  const responder = new Responder({ zone, dns, rng: new Rng(1), now: () => clock.ms });
  let id = 1;
  const ask = (name: string, type: 'PTR' | 'A') => {
    const buf = packet.encode({ type: 'query', id: id++, questions: [{ name, type, class: 'IN' }] });
    const outcome = responder.respond(buf, 'udp') as Outcome;
    const reply = packet.decode(outcome.replies[0]!);
    return {
      outcome,
      reply,
      ttls: [...(reply.answers ?? []), ...(reply.authorities ?? [])].map((r) => (r as { ttl?: number }).ttl),
    };
  };
  const web = cluster.get('Service', 'web', 'shop')!.spec.clusterIP!;
  const ptrName = `${web.split('.').reverse().join('.')}.in-addr.arpa`;
  return { cluster, zone, clock, ask, ptrName };
}

test('a PTR answer is kept for 30 s: its TTL counts down, and it outlives the Service it names', async (t) => {
  const { cluster, zone, clock, ask, ptrName } = await setup();
  const first = ask(ptrName, 'PTR');
  t.is(first.outcome.rcode, 0);
  t.deepEqual(first.ttls, [30]);
  t.false(first.outcome.cacheHit);
  clock.ms = 10_500;
  const again = ask(ptrName, 'PTR');
  t.deepEqual(again.ttls, [20], 'ten whole seconds gone');
  t.true(again.outcome.cacheHit);
  cluster.delete([{ kind: 'Service', name: 'web', namespace: 'shop' }]);
  clock.ms = 29_999;
  const stale = ask(ptrName, 'PTR');
  t.is(stale.outcome.rcode, 0, 'still served from the cache');
  t.deepEqual(stale.ttls, [1]);
  clock.ms = 30_000;
  const fresh = ask(ptrName, 'PTR');
  t.is(fresh.outcome.rcode, 3, 'NXDOMAIN');
  t.false(fresh.outcome.cacheHit);
  // The denial is kept too, with the reverse zone's SOA.
  clock.ms = 35_000;
  const denial = ask(ptrName, 'PTR');
  t.true(denial.outcome.cacheHit);
  t.deepEqual(denial.ttls, [25]);
  zone.dispose();
});

test('cluster-zone answers are never cached: the same TTL every time', async (t) => {
  const { clock, ask, zone } = await setup();
  const name = 'web.shop.svc.cluster.local';
  t.deepEqual(ask(name, 'A').ttls, [30]);
  clock.ms = 10_000;
  const again = ask(name, 'A');
  t.deepEqual(again.ttls, [30]);
  t.false(again.outcome.cacheHit);
  zone.dispose();
});

test('cache 0: reverse answers are live too', async (t) => {
  const { clock, ask, ptrName, zone } = await setup(0);
  ask(ptrName, 'PTR');
  clock.ms = 10_000;
  const again = ask(ptrName, 'PTR');
  t.deepEqual(again.ttls, [30]);
  t.false(again.outcome.cacheHit);
  zone.dispose();
});
