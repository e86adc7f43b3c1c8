/**
 * Conntrack's row groups (an IPVS virtual server's connections): a walk of a group visits exactly the rows that
 * joined it and are still tracked, each once, with its tag, across deletes, expiry, rows taken out, row reuse, flushes
 * and groups given back and handed out again; and the active and inactive counts kept per tag are what a walk counts,
 * across the state changes of packets and closes too.
 */
import test from 'ava';
import fc from 'fast-check';
import { Conntrack } from '../../src/proxy/conntrack.js';
import type { Packet } from '../../src/proxy/packet.js';
import { holds } from '../cni/helpers.js';

const opArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('track' as const),
      udp: fc.boolean(),
      port: fc.integer({ min: 1, max: 40 }),
      group: fc.nat(3),
      tag: fc.nat(5),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
  // An owner takes a row out of its group; the flow stays tracked.
  { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const), pick: fc.nat() }) },
  // 40 s: UDP flows (30 s) expire at the next collection, unanswered TCP ones (SYN_SENT, 120 s) after three.
  { weight: 2, arbitrary: fc.record({ op: fc.constant('advance' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('flush' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), group: fc.nat(3) }) },
  // A packet of a tracked flow, either way (answers, acknowledgements: state changes), or its close.
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('see' as const), pick: fc.nat(), reply: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('close' as const),
      pick: fc.nat(),
      kind: fc.constantFrom('fin' as const, 'half' as const, 'rst' as const),
    }),
  },
);

interface Joined {
  readonly row: number;
  readonly generation: number;
  readonly slot: number;
  readonly tag: number;
  readonly packet: Packet;
}

test('a group walk yields exactly its tracked rows, once each, with their tags; the kept counts match it', (t) => {
  holds(
    t,
    fc.property(fc.array(opArb, { maxLength: 150, size: 'max' }), (ops) => {
      const ct = new Conntrack();
      // Four owner slots, each holding a group number; a released slot takes a fresh one (possibly the same number).
      const groups = [ct.newGroup(true), ct.newGroup(true), ct.newGroup(true), ct.newGroup(true)];
      let joined: Joined[] = [];
      let now = 0;
      for (const o of ops) {
        if (o.op === 'track') {
          const p: Packet = {
            proto: o.udp ? 'UDP' : 'TCP',
            src: { ip: '10.0.0.1', port: 1000 + o.port },
            dst: { ip: '10.96.0.1', port: 80 },
          };
          const known = ct.lookupRow(p, now);
          if (known >= 0) {
            // A tracked row joins another group (or its own again): it moves, with its new tag.
            const entry = joined.find((j) => j.row === known && ct.holds(j.row, j.generation));
            ct.join(known, groups[o.group]!, o.tag);
            joined = joined.filter((j) => j !== entry);
            joined.push({ row: known, generation: ct.generationOf(known), slot: o.group, tag: o.tag, packet: p });
            continue;
          }
          const row = ct.trackRow(p, { dnat: { ip: '10.244.0.5', port: 8080 } }, now);
          if (row < 0) continue;
          ct.join(row, groups[o.group]!, o.tag);
          joined.push({ row, generation: ct.generationOf(row), slot: o.group, tag: o.tag, packet: p });
        } else if (o.op === 'see' || o.op === 'close') {
          const live = joined.filter((j) => ct.holds(j.row, j.generation));
          if (live.length === 0) continue;
          const { packet } = live[o.pick % live.length]!;
          const answer: Packet = { proto: packet.proto, src: { ip: '10.244.0.5', port: 8080 }, dst: packet.src };
          if (o.op === 'close') ct.close(packet, now, o.kind);
          else {
            const row = o.reply ? ct.findRow(answer, now) : ct.lookupRow(packet, now);
            if (row >= 0) ct.seeRow(row, ct.lastDirection, now);
          }
        } else if (o.op === 'delete') {
          const live = joined.filter((j) => ct.holds(j.row, j.generation));
          if (live.length > 0) ct.deleteRow(live[o.pick % live.length]!.row);
        } else if (o.op === 'leave') {
          const live = joined.filter((j) => ct.holds(j.row, j.generation));
          if (live.length === 0) continue;
          const left = live[o.pick % live.length]!;
          ct.leaveGroup(left.row);
          ct.leaveGroup(left.row); // twice: the second is a no-op
          joined = joined.filter((j) => j !== left);
          if (!ct.holds(left.row, left.generation)) return false;
        } else if (o.op === 'advance') {
          now += 40;
          ct.expire(now);
        } else if (o.op === 'flush') ct.flush();
        else {
          ct.releaseGroup(groups[o.group]!);
          joined = joined.filter((j) => j.slot !== o.group);
          groups[o.group] = ct.newGroup(true);
          if (ct.groupFirst(groups[o.group]!) !== -1) return false;
        }
        for (let slot = 0; slot < groups.length; slot++) {
          const walked: string[] = [];
          for (let r = ct.groupFirst(groups[slot]!); r >= 0; r = ct.groupNext(r)) {
            if (walked.length > joined.length) return false; // a cycle
            walked.push(`${r}/${ct.groupTag(r)}`);
          }
          const want = joined
            .filter((j) => j.slot === slot && ct.holds(j.row, j.generation))
            .map((j) => `${j.row}/${j.tag}`);
          // Newest first: the reverse of joining order.
          if (walked.join(' ') !== want.reverse().join(' ')) return false;
          // The counts kept per tag are what a walk counts: active (a handshake done, not UDP) and inactive rows.
          for (let tag = 0; tag <= 5; tag++) {
            let active = 0;
            let inactive = 0;
            for (let r = ct.groupFirst(groups[slot]!); r >= 0; r = ct.groupNext(r)) {
              if (ct.groupTag(r) !== tag) continue;
              if (!ct.isUdpRow(r) && ct.handshakeCompleteRow(r)) active++;
              else inactive++;
            }
            if (ct.groupCount(groups[slot]!, tag, true) !== active) return false;
            if (ct.groupCount(groups[slot]!, tag, false) !== inactive) return false;
          }
        }
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

test('a released group is empty when handed out again, even though rows that were in it are still tracked', (t) => {
  const ct = new Conntrack();
  const g = ct.newGroup();
  const p: Packet = { proto: 'TCP', src: { ip: '10.0.0.1', port: 1000 }, dst: { ip: '10.96.0.1', port: 80 } };
  const row = ct.trackRow(p, { dnat: { ip: '10.244.0.5', port: 8080 } }, 0);
  ct.join(row, g, 7);
  t.is(ct.groupFirst(g), row);
  ct.releaseGroup(g);
  const again = ct.newGroup();
  t.is(again, g);
  t.is(ct.groupFirst(again), -1);
  // The row left the group: deleting it does not touch the group's new owner.
  const other: Packet = { ...p, src: { ip: '10.0.0.2', port: 1000 } };
  const second = ct.trackRow(other, { dnat: { ip: '10.244.0.5', port: 8080 } }, 0);
  ct.join(second, again, 1);
  ct.deleteRow(row);
  t.is(ct.groupFirst(again), second);
  t.is(ct.groupNext(second), -1);
});
