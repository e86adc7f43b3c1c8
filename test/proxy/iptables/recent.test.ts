/** The xt_recent model behind ClientIP affinity. */
import test from 'ava';
import { RecentLists } from '../../../src/proxy/iptables/recent.js';

test('--rcheck matches within the window and does not refresh', (t) => {
  const r = new RecentLists();
  r.set('KUBE-SEP-A', '10.0.0.1', 100);
  t.true(r.check('KUBE-SEP-A', '10.0.0.1', 30, 129));
  t.is(r.lastSeen('KUBE-SEP-A', '10.0.0.1'), 100, 'rcheck leaves the stamp alone');
  t.true(r.check('KUBE-SEP-A', '10.0.0.1', 30, 130), 'exactly T seconds later it still matches (time_after is strict)');
  t.false(r.check('KUBE-SEP-A', '10.0.0.1', 30, 130.5), 'past T seconds it no longer matches');
  t.is(r.lastSeen('KUBE-SEP-A', '10.0.0.1'), undefined, '--reap purged the stale record');
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
