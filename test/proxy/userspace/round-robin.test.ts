/**
 * LoadBalancerRR (roundrobin.go): exact round-robin over a shuffled list, reshuffle only on a real change,
 * ClientIP affinity with a whole-second TTL, stale-affinity removal.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  DEFAULT_AFFINITY_SECONDS,
  LoadBalancerRR,
  nextEndpointById,
} from '../../../src/proxy/userspace/round-robin.js';
import { Rng } from '../../../src/util/rng.js';
import { holds } from '../ipvs/helpers.js';

const EPS = ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80', '10.0.0.4:80'];

function pick(lb: LoadBalancerRR, client = '10.244.1.5', now = 0, reset = false): string {
  const r = lb.nextEndpoint('default/web', client, reset, now);
  if (!r.ok) throw new Error(r.error);
  return r.endpoint;
}

test('round-robin is exact: every endpoint once per cycle, in the shuffled order', (t) => {
  holds(
    t,
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 5 }), fc.nat(), (n, cycles, seed) => {
      const lb = new LoadBalancerRR(new Rng(seed));
      lb.newService('default/web', 'None', 0);
      const eps = Array.from({ length: n }, (_, i) => `10.1.0.${i + 1}:8080`);
      lb.setEndpoints('default/web', eps);
      const order = lb.state('default/web')!.endpoints;
      const seen = Array.from({ length: n * cycles }, () => pick(lb));
      return seen.every((e, i) => e === order[i % n]) && [...order].sort().join() === [...eps].sort().join();
    }),
    { seed: 5 },
  );
});

test('the list is a seeded shuffle of the sorted endpoints; the same seed replays it', (t) => {
  const a = new LoadBalancerRR(new Rng(9));
  const b = new LoadBalancerRR(new Rng(9));
  a.setEndpoints('default/web', [...EPS].reverse());
  b.setEndpoints('default/web', EPS);
  t.deepEqual(a.state('default/web')!.endpoints, b.state('default/web')!.endpoints);
});

test('an update with the same endpoints (any order) neither reshuffles nor resets the index', (t) => {
  const lb = new LoadBalancerRR(new Rng(1));
  lb.setEndpoints('default/web', EPS);
  const order = [...lb.state('default/web')!.endpoints];
  pick(lb);
  t.false(lb.setEndpoints('default/web', [...EPS].reverse()));
  t.deepEqual(lb.state('default/web')!.endpoints, order);
  t.is(lb.state('default/web')!.index, 1);
  t.true(lb.setEndpoints('default/web', EPS.slice(1)));
  t.is(lb.state('default/web')!.index, 0);
});

test('ClientIP affinity: reuse while younger than the TTL (whole seconds), refreshed on each use', (t) => {
  const lb = new LoadBalancerRR(new Rng(2));
  lb.newService('default/web', 'ClientIP', 30);
  lb.setEndpoints('default/web', EPS);
  const first = pick(lb, 'c', 0);
  t.is(pick(lb, 'c', 29.5), first, 'int(29.5) = 29 < 30');
  t.is(pick(lb, 'c', 59), first, 'refreshed at 29.5');
  const next = pick(lb, 'c', 89);
  t.not(next, first, 'int(30) = 30 is not < 30: round-robin moves on');
  t.is<string | undefined, string | undefined>(
    pick(lb, 'c', 89, true),
    lb.state('default/web')!.endpoints[2],
    'a reset (after a failed dial) bypasses affinity',
  );
});

test('affinity records of removed endpoints are dropped; an empty update resets the port', (t) => {
  const lb = new LoadBalancerRR(new Rng(3));
  lb.newService('default/web', 'ClientIP', 100);
  lb.setEndpoints('default/web', EPS);
  const e = pick(lb, 'c', 0);
  lb.setEndpoints(
    'default/web',
    EPS.filter((x) => x !== e),
  );
  t.false(lb.state('default/web')!.affinityMap.has('c'));
  pick(lb, 'd', 1);
  lb.setEndpoints('default/web', []);
  const s = lb.state('default/web')!;
  t.deepEqual([s.endpoints, s.index, s.affinityMap.size], [[], 0, 0]);
  t.deepEqual(lb.nextEndpoint('default/web', 'c', false, 2), { ok: false, error: 'missing endpoints' });
  t.deepEqual(lb.nextEndpoint('other/svc', 'c', false, 2), { ok: false, error: 'missing service entry' });
});

test('TTL 0 means the API default; a later NewService changes the type but keeps the TTL', (t) => {
  const lb = new LoadBalancerRR(new Rng(4));
  t.is(lb.newService('a/b', 'ClientIP', 0).ttlSeconds, DEFAULT_AFFINITY_SECONDS);
  lb.newService('a/c', 'None', 60);
  const s = lb.newService('a/c', 'ClientIP', 5);
  t.deepEqual([s.affinity, s.ttlSeconds], ['ClientIP', 60]);
});

test('CleanupStaleStickySessions drops records whose age reached the TTL', (t) => {
  const lb = new LoadBalancerRR(new Rng(5));
  lb.newService('default/web', 'ClientIP', 10);
  lb.setEndpoints('default/web', EPS);
  pick(lb, 'old', 0);
  pick(lb, 'new', 5);
  lb.cleanupStaleStickySessions(10);
  t.deepEqual([...lb.state('default/web')!.affinityMap.keys()], ['new']);
});

test('a connection reading the balancer by id picks what NextEndpoint on the state picks, through updates, affinity and deletion', (t) => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('pick' as const),
      client: fc.constantFrom('10.244.1.5', '10.244.1.6'),
      reset: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('endpoints' as const), n: fc.integer({ min: 0, max: 6 }) }),
    fc.record({ kind: fc.constant('affinity' as const), on: fc.boolean() }),
    fc.record({ kind: fc.constant('delete' as const) }),
  );
  holds(
    t,
    fc.property(fc.array(op, { maxLength: 60 }), fc.nat(), (ops, seed) => {
      // Twins: one asked by id (the cells), the other through its state object; same seed, same shuffles.
      const byId = new LoadBalancerRR(new Rng(seed));
      const byState = new LoadBalancerRR(new Rng(seed));
      for (const lb of [byId, byState]) lb.newService('default/web', 'None', 0);
      for (const [i, o] of ops.entries()) {
        if (o.kind === 'endpoints') {
          const eps = Array.from({ length: o.n }, (_, k) => `10.1.0.${k + 1}:8080`);
          for (const lb of [byId, byState]) lb.setEndpoints('default/web', eps);
        } else if (o.kind === 'affinity') {
          for (const lb of [byId, byState]) lb.newService('default/web', o.on ? 'ClientIP' : 'None', 0);
        } else if (o.kind === 'delete') {
          for (const lb of [byId, byState]) lb.deleteService('default/web');
        } else {
          const s = byId.state('default/web');
          const a = nextEndpointById(byId, s?.id ?? -1, s, o.client, o.reset, i);
          const b = byState.nextEndpoint('default/web', o.client, o.reset, i);
          if (JSON.stringify({ ...a, address: undefined }) !== JSON.stringify({ ...b, address: undefined }))
            return false;
        }
      }
      return true;
    }),
  );
});
