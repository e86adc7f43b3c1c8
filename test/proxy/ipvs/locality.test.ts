/**
 * lblc and lblcr: the per-destination-address cache, the overload rule, set replication, and garbage collection on
 * simulated time (60 s timer, full check every 30th firing, 24 h expiration).
 */
import test from 'ava';
import type { Lblc, Lblcr } from '../../../src/proxy/ipvs/schedulers/lblc.js';
import { localityOverloaded } from '../../../src/proxy/ipvs/schedulers/lblc.js';
import { type LocalityEntry, LocalityTable } from '../../../src/proxy/ipvs/schedulers/locality-table.js';
import { PKT, service } from './helpers.js';

const HOUR = 3600_000;

test('lblc: one virtual address sticks to one server until it is overloaded', (t) => {
  const svc = service('lblc', [
    ['A', 2],
    ['B', 2],
  ]);
  const picks: string[] = [];
  for (let i = 0; i < 5; i++) {
    const d = svc.sched.schedule(svc.dests, PKT, i * 1000)!;
    d.activeConns++;
    picks.push(svc.label(d));
  }
  // A until A.active (3) > weight (2) while B (0 active) is under half load; then wlc picks B and the cache moves.
  t.deepEqual(picks, ['A', 'A', 'A', 'B', 'B']);
  t.is((svc.sched as Lblc).table.get(PKT.dstIP)?.dest, svc.byLabel('B'));
});

test('lblc overload rule needs a server under half load', (t) => {
  const svc = service('lblc', [
    ['A', 1],
    ['B', 1],
  ]);
  svc.byLabel('A').activeConns = 5;
  svc.byLabel('B').activeConns = 1;
  t.false(localityOverloaded(svc.byLabel('A'), svc.dests));
  svc.byLabel('B').activeConns = 0;
  t.true(localityOverloaded(svc.byLabel('A'), svc.dests));
});

test('lblc: a deleted (unavailable) cached server is replaced', (t) => {
  const svc = service('lblc', [
    ['A', 1],
    ['B', 1],
  ]);
  t.is(svc.label(svc.sched.schedule(svc.dests, PKT, 0)), 'A');
  const a = svc.dests.shift()!;
  a.flags = 0; // the engine clears AVAILABLE when it deletes a real server
  svc.sched.destsChanged(svc.dests, { kind: 'del', dest: a, index: 0 });
  t.is(svc.label(svc.sched.schedule(svc.dests, PKT, 1000)), 'B');
});

test('lblc: entries idle for 24 h go at the next full check (every 30th 60 s firing)', (t) => {
  const svc = service('lblc', [['A', 1]]);
  const lblc = svc.sched as Lblc;
  svc.sched.schedule(svc.dests, PKT, 0);
  lblc.table.advance(24 * HOUR - 1);
  t.is(lblc.table.size, 1);
  // Full checks run at 30, 60, … minutes; the one at exactly 24 h sees now >= lastuse + expiration.
  lblc.table.advance(24 * HOUR);
  t.is(lblc.table.size, 0);
});

test('lblc: a replaced entry still counts for the collector (ip_vs_lblc_new), so past 16 × 1024 replacements partial passes run', (t) => {
  const table = new LocalityTable<LocalityEntry>(0);
  table.insert({ addr: '10.0.0.1', bucket: 1, lastUse: 0 });
  let current: LocalityEntry = { addr: '10.0.0.2', bucket: 2, lastUse: 0 };
  table.insert(current);
  for (let i = 0; i < table.maxSize; i++) {
    const next = { ...current };
    table.replace(current, next);
    current = next;
  }
  t.is(table.size, 2);
  // With the count at two entries they would wait for the full check at 30 min; counted 16,386, the table is over
  // 16 × 1024, and the first firing 6 min (ENTRY_TIMEOUT) after their last use drops both.
  table.advance(6 * 60_000 - 1);
  t.is(table.size, 2);
  table.advance(6 * 60_000);
  t.is(table.size, 0);
});

test('lblc: use refreshes lastuse, so a busy entry survives', (t) => {
  const svc = service('lblc', [['A', 1]]);
  const lblc = svc.sched as Lblc;
  for (let h = 0; h <= 48; h += 6) svc.sched.schedule(svc.dests, PKT, h * HOUR);
  t.is(lblc.table.size, 1);
  t.is(lblc.table.get(PKT.dstIP)?.lastUse, 48 * HOUR);
});

test('lblcr: an overloaded member grows the set; a stale set sheds its most loaded member', (t) => {
  const svc = service(
    'lblcr',
    [
      ['A', 1],
      ['B', 1],
    ],
    { expirationMs: HOUR },
  );
  const lblcr = svc.sched as Lblcr;
  const a = svc.sched.schedule(svc.dests, PKT, 0)!;
  t.is(svc.label(a), 'A');
  a.activeConns = 3; // > weight 1, and B is idle
  const b = svc.sched.schedule(svc.dests, PKT, 1000)!;
  t.is(svc.label(b), 'B');
  t.deepEqual(lblcr.table.get(PKT.dstIP)?.set.map(svc.label), ['B', 'A']);
  // Least loaded member of the set is used while not overloaded.
  t.is(svc.label(svc.sched.schedule(svc.dests, PKT, 2000)), 'B');
  // Keep using the entry (so the table GC keeps it); once the set is unchanged for longer than the expiration, the
  // most loaded member (A) is dropped on the next lookup.
  for (let m = 20; m <= 60; m += 20) svc.sched.schedule(svc.dests, PKT, m * 60_000);
  t.deepEqual(lblcr.table.get(PKT.dstIP)?.set.map(svc.label), ['B', 'A']);
  svc.sched.schedule(svc.dests, PKT, 80 * 60_000);
  t.deepEqual(lblcr.table.get(PKT.dstIP)?.set.map(svc.label), ['B']);
});
