/**
 * Conntrack's flow store (rows, not objects): the index agrees with a plain Map under random tracks and deletes,
 * rows are reused without confusing old and new flows, and what was handed out (entry views, verdicts) stays true
 * after its flow ends.
 */
import test from 'ava';
import fc from 'fast-check';
import { canonicalIPv4 } from '../../src/cni/ip.js';
import { Conntrack } from '../../src/proxy/conntrack.js';
import { hash } from '../../src/proxy/conntrack-index.js';
import { FlowVerdict } from '../../src/proxy/flow-verdict.js';
import { address, type Packet } from '../../src/proxy/packet.js';
import { addressKey } from '../../src/proxy/tuple-table.js';
import { holds } from '../cni/helpers.js';

const p = (proto: 'TCP' | 'UDP' | 'SCTP', src: string, sport: number, dst: string, dport: number): Packet => ({
  proto,
  src: { ip: src, port: sport },
  dst: { ip: dst, port: dport },
});
const reversed = (x: Packet): Packet => ({ proto: x.proto, src: x.dst, dst: x.src });

// Few addresses and ports, so tuples collide often; IPv6 text is interned and must never meet the IPv4 keys.
const flowArb = fc.record({
  proto: fc.constantFrom('TCP' as const, 'UDP' as const, 'SCTP' as const),
  src: fc.constantFrom('10.0.0.1', '10.0.0.2', '0.0.0.1', 'fd00::1', '::2'),
  sport: fc.integer({ min: 1, max: 6 }),
  dst: fc.constantFrom('10.96.0.1', '10.96.0.2', 'fd00::a'),
  dport: fc.integer({ min: 1, max: 3 }),
  endpoint: fc.option(fc.constantFrom('10.244.0.5', '10.244.0.6', 'fd00::5', '::3'), { nil: null }),
  snat: fc.boolean(),
});
// The node's addresses decide which of the index's two tables a key is kept in; they change under live flows.
const nodeAddressesArb = fc.subarray(['10.0.0.1', '10.96.0.2', '192.168.0.2', 'fd00::1', 'fd00::ffff', '10.244.0.5']);
const opArb = fc.oneof(
  fc.record({ op: fc.constant('track' as const), flow: flowArb }),
  fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('node' as const), addresses: nodeAddressesArb }),
);

interface ModelFlow {
  readonly original: Packet;
  readonly reply: Packet;
  readonly endpoint: string | null;
}

const tupleText = (x: Packet): string => `${x.proto} ${x.src.ip} ${x.src.port} ${x.dst.ip} ${x.dst.port}`;

test('lookups agree with a model of every live flow, in both directions, across deletes, row reuse and node address changes', (t) => {
  holds(
    t,
    fc.property(fc.array(opArb, { maxLength: 120, size: 'max' }), (ops) => {
      const ct = new Conntrack();
      const live: ModelFlow[] = [];
      /** Every tuple any flow ever had, either way: each must be found exactly when a live flow has it. */
      const seen = new Map<string, Packet>();
      for (const o of ops) {
        if (o.op === 'node') {
          ct.setNodeAddresses(o.addresses);
          continue;
        }
        if (o.op === 'delete') {
          if (live.length === 0) continue;
          const [gone] = live.splice(o.pick % live.length, 1);
          const hit = ct.lookup(gone!.original, 0);
          if (!hit) return false;
          ct.delete(hit.entry);
          continue;
        }
        const f = o.flow;
        const original = p(f.proto, f.src, f.sport, f.dst, f.dport);
        // Only tuples no live flow has (either way), as the engines track only after a missed lookup.
        const text = tupleText(original);
        if (live.some((m) => tupleText(m.original) === text || tupleText(m.reply) === text)) continue;
        const v6 = f.dst.includes(':');
        const endpoint = f.endpoint !== null && f.endpoint.includes(':') === v6 ? f.endpoint : null;
        const dnat = endpoint === null ? null : address(endpoint, 8080);
        const snatIp = f.snat ? (v6 ? 'fd00::ffff' : '192.168.0.2') : null;
        const entry = ct.track(original, { dnat, snatIp }, 0);
        const reply = { proto: f.proto, src: entry.replySrc, dst: entry.replyDst };
        // A reply tuple another live flow already has would be a NAT clash the kernel resolves; not modelled here.
        if (live.some((m) => tupleText(m.reply) === tupleText(reply) || tupleText(m.original) === tupleText(reply))) {
          ct.delete(entry);
          continue;
        }
        live.push({ original, reply, endpoint: entry.endpoint });
        seen.set(text, original);
        seen.set(tupleText(reply), reply);
      }
      if (ct.size !== live.length || [...ct.entries()].length !== live.length) return false;
      for (const [text, tuple] of seen) {
        const owner = live.find((m) => tupleText(m.original) === text || tupleText(m.reply) === text);
        const hit = ct.lookup(tuple, 0);
        if (owner === undefined) {
          if (hit !== undefined) return false;
          continue;
        }
        const direction = tupleText(owner.original) === text ? 'original' : 'reply';
        if (!hit || hit.direction !== direction || hit.entry.endpoint !== owner.endpoint) return false;
        if (
          tupleText({ proto: tuple.proto, src: hit.entry.originalSrc, dst: hit.entry.originalDst }) !==
          tupleText(owner.original)
        )
          return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

test('a deleted flow frees its row; the next flow reuses it and the old view keeps its own values', (t) => {
  const ct = new Conntrack();
  const a = p('TCP', '10.0.0.1', 1000, '10.96.0.1', 80);
  const old = ct.track(a, { dnat: { ip: '10.244.0.5', port: 8080 }, service: 'ns/a:http' }, 5);
  ct.delete(old);
  const b = p('UDP', '10.0.0.2', 2000, '10.96.0.2', 53);
  const fresh = ct.track(b, { dnat: { ip: '10.244.0.9', port: 53 }, service: 'ns/b:dns' }, 7);
  t.not(fresh, old);
  t.false(old.live);
  t.true(fresh.live);
  t.like(old, { proto: 'TCP', endpoint: '10.244.0.5:8080', service: 'ns/a:http', created: 5 });
  t.like(fresh, { proto: 'UDP', endpoint: '10.244.0.9:53', service: 'ns/b:dns', created: 7 });
  t.deepEqual(old.originalSrc, a.src);
  t.is(ct.lookup(a, 8), undefined);
  // Acting on the old view touches nothing: the row belongs to the new flow now.
  ct.delete(old);
  ct.seeEntry(old, 'original', 8);
  t.is(ct.lookup(b, 8)?.entry, fresh);
  t.is(fresh.packets, 1);
});

test('a flow is the same entry object for as long as it lives', (t) => {
  const ct = new Conntrack();
  const a = p('TCP', '10.0.0.1', 1000, '10.96.0.1', 80);
  const e = ct.track(a, { dnat: { ip: '10.244.0.5', port: 8080 } }, 0);
  t.is(ct.lookup(a, 1)?.entry, e);
  t.is(ct.lookup(p('TCP', '10.244.0.5', 8080, '10.0.0.1', 1000), 1)?.entry, e);
  t.is([...ct.entries()][0], e);
});

test('a verdict stays true after its flow ends and its row is reused', (t) => {
  const ct = new Conntrack();
  const a = p('TCP', '10.0.0.1', 1000, '10.96.0.1', 80);
  const rowA = ct.trackRow(
    a,
    { dnat: { ip: '10.244.0.5', port: 8080 }, snatIp: '192.168.0.2', service: 'ns/a:http' },
    0,
  );
  const first = new FlowVerdict(ct, rowA, 'new', a, 3, null);
  const answer = new FlowVerdict(ct, rowA, 'reply', p('TCP', '10.244.0.5', 8080, '192.168.0.2', 1000), 1, null);
  ct.deleteRow(rowA);
  const b = p('UDP', '10.0.0.7', 9, '10.96.0.9', 53);
  const rowB = ct.trackRow(b, { dnat: { ip: '10.244.0.9', port: 53 }, service: 'ns/b:dns' }, 1);
  t.is(rowB, rowA, 'the freed row is reused');
  t.like(first, { verdict: 'DNAT', endpoint: '10.244.0.5:8080', snat: '192.168.0.2', service: 'ns/a:http' });
  t.deepEqual(first.packet, p('TCP', '192.168.0.2', 1000, '10.244.0.5', 8080));
  t.like(answer, { verdict: 'ACCEPT', snat: null, service: 'ns/a:http' });
  t.deepEqual(answer.packet, reversed(a));
});

test('flows to one endpoint share its NAT record; a different SNAT or Service gets its own', (t) => {
  const ct = new Conntrack();
  const ep = address('10.244.0.5', 8080);
  const rows = [1, 2, 3].map((i) =>
    ct.trackRow(p('TCP', '10.0.0.1', i, '10.96.0.1', 80), { dnat: ep, service: 's' }, 0),
  );
  const masq = ct.trackRow(
    p('TCP', '10.0.0.1', 4, '10.96.0.1', 80),
    { dnat: ep, service: 's', snatIp: '192.168.0.2' },
    0,
  );
  const other = ct.trackRow(p('TCP', '10.0.0.1', 5, '10.96.0.1', 80), { dnat: ep, service: 't' }, 0);
  t.is(ct.natOf(rows[0]!), ct.natOf(rows[2]!));
  t.not(ct.natOf(masq), ct.natOf(rows[0]!));
  t.like(ct.natOf(masq), { snatIp: '192.168.0.2', service: 's', endpoint: '10.244.0.5:8080' });
  t.like(ct.natOf(other), { snatIp: null, service: 't' });
  // The shared record is not a field a caller can see: the endpoint's address still prints as { ip, port }.
  t.deepEqual(JSON.parse(JSON.stringify(ep)), { ip: '10.244.0.5', port: 8080 });
});

test('a caller’s endpoint text is the flow’s, even where its address already has a shared record', (t) => {
  const ct = new Conntrack();
  const ep = address('10.244.1.5', 8080);
  const first = ct.trackRow(p('TCP', '10.0.0.1', 1, '10.96.0.1', 80), { dnat: ep, service: 's' }, 0);
  const named = ct.trackRow(p('TCP', '10.0.0.1', 2, '10.96.0.1', 80), { dnat: ep, service: 's', endpoint: 'pod-a' }, 0);
  t.is(ct.endpointOf(first), '10.244.1.5:8080');
  t.is(ct.endpointOf(named), 'pod-a');
  t.is(ct.natOf(named), ct.natOf(first));
  const none = ct.trackRow(p('TCP', '10.0.0.1', 3, '10.96.0.1', 80), { endpoint: 'ignored' }, 0);
  t.is(ct.endpointOf(none), null, 'no DNAT, no endpoint');
  t.true(Object.isFrozen(ct.natOf(none)), 'the shared no-NAT record cannot be changed by one flow');
});

/** Two different values of `f` over 0..2^32 that hash alike (a birthday search: about 2^16 tries). */
function collision(f: (x: number) => number): [number, number] {
  const seen = new Map<number, number>();
  for (let x = 0; ; x++) {
    const h = f(x);
    const before = seen.get(h);
    if (before !== undefined) return [before, x];
    seen.set(h, x);
  }
}

const ipv4 = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');

test('two tuples with the same hash are told apart by the row (source and ports differ, or destination and ports)', (t) => {
  const src = canonicalIPv4('10.0.0.1');
  const dst = addressKey('10.96.0.1');
  // x picks an address and a ports word, both scattered over their whole range: two x that collide differ in the
  // address (for fixed addresses the hash is a bijection of the ports).
  const addr = (x: number): number => Math.imul(x, 0x9e3779b1) >>> 0;
  const ports = (x: number): number => Math.imul(x ^ 0x5bd1e995, 0x85ebca6b);
  const packet = (x: number, source: boolean): Packet => {
    const [sport, dport] = [(ports(x) >>> 16) & 0xffff, ports(x) & 0xffff];
    return source
      ? p('TCP', ipv4(addr(x)), sport, '10.96.0.1', dport)
      : p('TCP', '10.0.0.1', sport, ipv4(addr(x)), dport);
  };
  const bySource = collision((x) => hash(1, addr(x), dst, ports(x))).map((x) => packet(x, true));
  const byDestination = collision((x) => hash(1, src, addr(x), ports(x))).map((x) => packet(x, false));
  for (const [first, second] of [bySource, byDestination]) {
    const ct = new Conntrack();
    const one = ct.track(first!, { dnat: { ip: '10.244.0.1', port: 8080 } }, 0);
    t.is(ct.lookup(second!, 0), undefined, 'the same hash is not the same tuple');
    const two = ct.track(second!, { dnat: { ip: '10.244.0.2', port: 8080 } }, 0);
    t.is(ct.lookup(first!, 0)?.entry, one);
    t.is(ct.lookup(second!, 0)?.entry, two);
    ct.delete(one);
    t.is(ct.lookup(second!, 0)?.entry, two);
  }
});

test('two tuples that differ only in a port, with the same home slot and hash bits, are told apart by the row', (t) => {
  // A slot keeps six bits of the hash (the top six) beside the row; the home is the low bits (the table starts
  // with 1,024 slots). Two source ports whose hashes agree in both share a probe run and look alike in the slot.
  const src = canonicalIPv4('10.0.0.1');
  const dst = addressKey('10.96.0.1');
  const alike = (h: number): number => ((h >>> 26) << 10) | (h & 1023);
  const [a, b] = collision((x) => alike(hash(1, src, dst, (((x % 60000) + 1024) << 16) | 80)));
  const q = (x: number): Packet => p('TCP', '10.0.0.1', (x % 60000) + 1024, '10.96.0.1', 80);
  const ct = new Conntrack();
  const one = ct.track(q(a!), { dnat: { ip: '10.244.0.1', port: 8080 } }, 0);
  t.is(ct.lookup(q(b!), 0), undefined, 'alike in the slot is not the same tuple');
  const two = ct.track(q(b!), { dnat: { ip: '10.244.0.2', port: 8080 } }, 0);
  t.is(ct.lookup(q(a!), 0)?.entry, one);
  t.is(ct.lookup(q(b!), 0)?.entry, two);
  ct.delete(one);
  t.is(ct.lookup(q(a!), 0), undefined);
  t.is(ct.lookup(q(b!), 0)?.entry, two);
});

test('flows stay found, both ways, as the table grows and as deletes shift probe runs (homes re-hashed from rows)', (t) => {
  const ct = new Conntrack();
  const flows = Array.from({ length: 5000 }, (_, k) => {
    const q = p(
      k % 7 === 0 ? 'UDP' : 'TCP',
      `10.${k % 3}.${(k >> 8) & 255}.${k & 255}`,
      1024 + (k % 500),
      '10.96.0.1',
      80,
    );
    return { q, entry: ct.track(q, { dnat: { ip: `10.244.${k % 40}.${k % 250}`, port: 8080 } }, 0) };
  });
  for (let k = 0; k < flows.length; k += 3) ct.delete(flows[k]!.entry);
  let found = 0;
  for (let k = 0; k < flows.length; k++) {
    const { q, entry } = flows[k]!;
    const hit = ct.lookup(q, 0);
    const back = ct.lookup(reversed({ proto: q.proto, src: q.src, dst: entry.replySrc }), 0);
    if (k % 3 === 0) t.true(hit === undefined && back === undefined, `flow ${k} was deleted`);
    else if (hit?.entry === entry && back?.entry === entry && back.direction === 'reply') found++;
  }
  t.is(found, flows.length - Math.ceil(flows.length / 3));
  t.is(ct.size, found);
});

test('the index doubles only past 13/16 full, and every flow is found both ways at that load and after', (t) => {
  const ct = new Conntrack();
  const start = ct.indexCapacity.transit;
  const track = (k: number) => {
    const q = p('TCP', `10.1.${k >> 8}.${k & 255}`, 1024 + (k % 3), '10.96.0.1', 80);
    return { q, entry: ct.track(q, { dnat: { ip: `10.244.0.${k % 200}`, port: 8080 } }, 0) };
  };
  const fullest = (start * 13) / 16 / 2; // flows: two keys each
  const flows = Array.from({ length: fullest }, (_, k) => track(k));
  t.is(ct.indexCapacity.transit, start, `${fullest * 2} keys fit in ${start} slots`);
  const allFound = () =>
    flows.every(({ q, entry }) => {
      const back = ct.lookup(reversed({ proto: q.proto, src: q.src, dst: entry.replySrc }), 0);
      return ct.lookup(q, 0)?.entry === entry && back?.entry === entry && back.direction === 'reply';
    });
  t.true(allFound(), 'at 13/16 load');
  t.is(ct.lookup(p('TCP', '10.2.0.1', 1024, '10.96.0.1', 80), 0), undefined, 'a tuple never tracked is not found');
  flows.push(track(fullest));
  t.is(ct.indexCapacity.transit, start * 2, 'one flow more doubles the table');
  t.true(allFound(), 'after doubling');
});

test('a frozen endpoint address is used as is: the NAT record is not cached on it', (t) => {
  const ct = new Conntrack();
  const ep = Object.freeze(address('10.244.0.6', 8080));
  const e = ct.track(p('TCP', '10.0.0.1', 1001, '10.96.0.1', 80), { dnat: ep, service: 's' }, 0);
  t.is(e.endpoint, '10.244.0.6:8080');
  t.is(ct.track(p('TCP', '10.0.0.1', 1002, '10.96.0.1', 80), { dnat: ep, service: 's' }, 0).endpoint, e.endpoint);
});

test('tracking a tuple again replaces its flow: one entry, the old one no longer live', (t) => {
  const ct = new Conntrack();
  const q = p('UDP', '10.0.0.1', 1000, '10.96.0.1', 53);
  const a = ct.track(q, { dnat: { ip: '10.244.0.5', port: 53 } }, 0);
  const b = ct.track(q, { dnat: { ip: '10.244.0.6', port: 53 } }, 1);
  t.is(ct.size, 1);
  t.false(a.live);
  t.is(ct.lookup(q, 1)?.entry, b);
  t.is(ct.lookup(p('UDP', '10.244.0.5', 53, '10.0.0.1', 1000), 1), undefined, "the old flow's reply tuple is gone");
  t.deepEqual(
    ct.udpEntriesTo('10.96.0.1', 53).map((e) => e.endpoint),
    ['10.244.0.6:53'],
  );
  t.is(ct.expire(1000), 1);
  t.is(ct.size, 0);
});

test('a lookup with the keys and port given finds what a plain lookup finds, and tracking after it files that tuple', (t) => {
  holds(
    t,
    fc.property(fc.array(flowArb, { maxLength: 25 }), flowArb, (flows, probe) => {
      const ct = new Conntrack();
      for (const f of flows) ct.track(p(f.proto, f.src, f.sport, f.dst, f.dport), {}, 1);
      const q = p(probe.proto, probe.src, probe.sport, probe.dst, probe.dport);
      const plain = ct.lookupRow(q, 1);
      const keyed = ct.lookupRowKeyed(q, addressKey(q.src.ip), addressKey(q.dst.ip), q.dst.port, 1);
      if (plain !== keyed) return false;
      if (keyed >= 0) return true;
      // Tracked right after the keyed miss: the row holds q's own tuple, and a fresh lookup of q finds that row.
      const row = ct.trackRow(q, {}, 1);
      const e = ct.view(row);
      return (
        row >= 0 &&
        ct.lookupRow(q, 1) === row &&
        e.originalSrc.port === q.src.port &&
        e.originalDst.port === q.dst.port &&
        e.replySrc.port === q.dst.port
      );
    }),
    { seed: 23 },
  );
});

test('a track after a keyed lookup of another packet reads its own destination port, not the one looked up', (t) => {
  const ct = new Conntrack();
  const looked = p('TCP', '10.0.0.1', 1000, '10.244.0.5', 8080);
  const tracked = p('TCP', '10.0.0.1', 1000, '10.244.0.5', 9090);
  t.is(ct.lookupRowKeyed(looked, addressKey('10.0.0.1'), addressKey('10.244.0.5'), 8080, 0), -1);
  const row = ct.trackRow(tracked, {}, 0);
  const e = ct.view(row);
  t.deepEqual([e.originalDst.port, e.replySrc.port], [9090, 9090]);
  t.is(ct.lookupRow(tracked, 0), row);
  t.is(ct.lookupRow(looked, 0), -1);
});

test('keys to or from a node address are kept in the node table, the rest apart; a new address set moves them', (t) => {
  const ct = new Conntrack();
  ct.setNodeAddresses(['192.168.0.2']);
  const start = ct.indexCapacity;
  const masqueraded = Array.from({ length: 1000 }, (_, k) => {
    const q = p('TCP', `10.1.${k >> 8}.${k & 255}`, 1024, '10.96.0.1', 80);
    return { q, entry: ct.track(q, { dnat: address('10.244.0.5', 8080), snatIp: '192.168.0.2' }, 0) };
  });
  // 1000 original keys (pod → ClusterIP) and 1000 replies (endpoint → node): each table past its 832 grows once.
  t.deepEqual(ct.indexCapacity, { node: start.node * 2, transit: start.transit * 2 });
  const fromNode = p('TCP', '192.168.0.2', 40000, '10.96.0.1', 80);
  ct.track(fromNode, { dnat: address('10.244.0.6', 8080) }, 0);
  const found = () =>
    masqueraded.every(({ q, entry }) => {
      const back = ct.lookup(
        reversed({ proto: q.proto, src: { ip: '192.168.0.2', port: entry.replyDst.port }, dst: entry.replySrc }),
        0,
      );
      return ct.lookup(q, 0)?.entry === entry && back?.entry === entry && back.direction === 'reply';
    }) && ct.lookup(fromNode, 0)?.direction === 'original';
  t.true(found(), 'every flow found both ways, each key in its table');
  ct.setNodeAddresses(['10.244.0.5']);
  t.true(found(), 'after the keys were moved to the tables a new address set gives them');
  ct.setNodeAddresses([]);
  t.true(found(), 'with no node address: one table holds all');
  t.is(ct.size, 1001);
});
