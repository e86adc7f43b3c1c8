/**
 * The destination table's NAT records (dest-table.ts): connections are filed with a handle into an append-only log,
 * so a handle names the same record for good, whatever later changes make the destination's current pair.
 */
import test from 'ava';
import { DestTable, makeDest } from '../../../src/proxy/ipvs/schedulers/dest-table.js';

test('record pairs: made once per destination, plain then masqueraded; handles keep their records after changes', (t) => {
  const table = new DestTable();
  const a = makeDest(table, '10.244.2.6', 80, 0, 1);
  const b = makeDest(table, 'fd00::6', 80, 0, 1);
  table.useMasqIp('IPv4', '172.18.0.2');
  table.useMasqIp('IPv6', 'fd00::2');
  t.is(table.recordPair(a.id), -1, 'no pair until a connection needs one');
  const pa = table.keepRecordPair(a.id, 'default/web:http');
  const pb = table.keepRecordPair(b.id, 'default/web:http');
  t.is(table.recordPair(a.id), pa);
  t.like(table.record(pa), { endpoint: '10.244.2.6:80', snatIp: null, service: 'default/web:http' });
  t.like(table.record(pa + 1), { endpoint: '10.244.2.6:80', snatIp: '172.18.0.2' });
  t.like(table.record(pb + 1), { endpoint: '[fd00::6]:80', snatIp: 'fd00::2' });
  t.is(table.masqKey('IPv4') >= 0, true);
  // The same address again: nothing is forgotten.
  table.useMasqIp('IPv4', '172.18.0.2');
  t.is(table.recordPair(a.id), pa);
  // The node's address changes: every pair is forgotten, the old records stay where their handles say.
  table.useMasqIp('IPv4', '172.18.0.9');
  t.is(table.recordPair(a.id), -1);
  const pa2 = table.keepRecordPair(a.id, 'default/web:http');
  t.not(pa2, pa);
  t.like(table.record(pa2 + 1), { snatIp: '172.18.0.9' });
  t.like(table.record(pa + 1), { snatIp: '172.18.0.2' });
  // Its Service changes: that destination's pair is forgotten, the new one names the new Service.
  table.forgetRecords(a.id);
  t.is(table.recordPair(a.id), -1);
  const pa3 = table.keepRecordPair(a.id, 'default/web:www');
  t.like(table.record(pa3), { service: 'default/web:www' });
  t.like(table.record(pa2), { service: 'default/web:http' });
});
