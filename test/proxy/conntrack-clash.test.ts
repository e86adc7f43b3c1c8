/**
 * Two flows from one client port, to two Services whose single endpoint is the same pod port, would share a reply
 * tuple. The kernel keeps reply tuples unique: the second flow's source port is remapped (POSTROUTING's null
 * binding), its address is kept and no MASQUERADE is claimed, and each flow's replies are un-NATed to its own
 * Service. Checked through every engine that DNATs in conntrack (iptables and ipvs).
 */
import test from 'ava';
import { Conntrack } from '../../src/proxy/conntrack.js';
import type { Origin, Packet } from '../../src/proxy/packet.js';
import { SHARED_ENDPOINT, sharedEndpointEngines } from './shared-endpoint.js';

const POD: Origin = { from: 'pod', pod: 'ns/client' };
const CLIENT = { ip: '10.244.1.9', port: 40000 };
const ENDPOINT = SHARED_ENDPOINT.ip;

const toA: Packet = { proto: 'TCP', src: CLIENT, dst: { ip: '10.96.0.10', port: 80 } };
const toB: Packet = { proto: 'TCP', src: CLIENT, dst: { ip: '10.96.0.11', port: 81 } };

for (const { name, make } of sharedEndpointEngines)
  test(`${name}: the second flow's source port is remapped; each flow's replies come back from its own Service`, (t) => {
    const engine = make();
    const a = engine.send(toA, POD, 0);
    const b = engine.send(toB, POD, 1);
    t.is(a.endpoint, `${ENDPOINT}:8080`);
    t.is(b.endpoint, `${ENDPOINT}:8080`);
    t.deepEqual(a.packet!.src, CLIENT);
    t.is(b.packet!.src.ip, CLIENT.ip);
    t.not(b.packet!.src.port, CLIENT.port);
    t.is(b.snat, null, 'no MASQUERADE: only the port changed');
    const remapped = (steps: readonly { where: string; decision: string }[], port: number) =>
      steps.some((s) => s.where === 'conntrack' && s.decision.includes(`becomes ${port}`));
    t.true(remapped(b.steps, b.packet!.src.port), 'the trace says why the port changed');
    t.false(remapped(a.steps, CLIENT.port));
    // Replies: to the client's own port, flow a's; to the remapped port, flow b's (restored to the client's port).
    const replyA = engine.reply({ proto: 'TCP', src: { ip: ENDPOINT, port: 8080 }, dst: CLIENT }, 2);
    t.deepEqual([replyA.packet!.src, replyA.packet!.dst], [toA.dst, CLIENT]);
    const replyB = engine.reply({ proto: 'TCP', src: { ip: ENDPOINT, port: 8080 }, dst: b.packet!.src }, 3);
    t.deepEqual([replyB.packet!.src, replyB.packet!.dst], [toB.dst, CLIENT]);
    // Later packets of flow b leave with the same remapped source.
    t.deepEqual(engine.send(toB, POD, 4).packet!.src, b.packet!.src);
  });

test('conntrack: the entry of a remapped flow shows the new source in its reply tuple; tracking a tuple again is not a clash', (t) => {
  const ct = new Conntrack();
  const dnat = { ip: ENDPOINT, port: 8080 };
  const first = ct.track(toA, { dnat }, 0);
  const second = ct.track(toB, { dnat }, 0);
  t.deepEqual(first.replyDst, CLIENT);
  t.is(first.snat, null);
  t.deepEqual(second.snat, { ip: CLIENT.ip, port: second.replyDst.port });
  t.not(second.replyDst.port, CLIENT.port);
  t.is(ct.lookup({ proto: 'TCP', src: dnat, dst: CLIENT }, 1)?.entry.originalDst.ip, '10.96.0.10');
  t.is(ct.lookup({ proto: 'TCP', src: dnat, dst: second.replyDst }, 1)?.entry.originalDst.ip, '10.96.0.11');
  const again = ct.track(toA, { dnat }, 2);
  t.deepEqual(again.replyDst, CLIENT);
  t.is(ct.size, 2);
});

test('conntrack: a flow that expired (not yet reaped) does not hold its reply tuple', (t) => {
  const ct = new Conntrack();
  const dnat = { ip: ENDPOINT, port: 8080 };
  const first = ct.track(toA, { dnat }, 0);
  const later = ct.track(toB, { dnat }, first.expires + 1);
  t.deepEqual(later.replyDst, CLIENT);
  t.is(later.snat, null);
  t.false(first.live);
});

test('conntrack: tracking a tuple again with a NAT whose reply tuple a third flow has is a clash', (t) => {
  const ct = new Conntrack();
  const e = { ip: ENDPOINT, port: 8080 };
  const f = { ip: '10.244.1.6', port: 8080 };
  const a = ct.track(toA, { dnat: e }, 0);
  ct.track(toB, { dnat: f }, 0);
  const again = ct.track(toB, { dnat: e }, 1);
  t.not(again.replyDst.port, CLIENT.port);
  t.is(ct.lookup({ proto: 'TCP', src: e, dst: CLIENT }, 2)?.entry.id, a.id);
});

const ranges: { port: number; min: number; max: number }[] = [
  { port: 80, min: 1, max: 511 },
  { port: 700, min: 600, max: 1023 },
  { port: 40000, min: 1024, max: 65535 },
];

for (const { port, min, max } of ranges)
  test(`conntrack: a clashing source port ${port} is remapped within ${min}-${max}, as the kernel keeps low ports low`, (t) => {
    const ct = new Conntrack();
    const dnat = { ip: ENDPOINT, port: 8080 };
    const src = { ip: CLIENT.ip, port };
    ct.track({ ...toA, src }, { dnat }, 0);
    const second = ct.track({ ...toB, src }, { dnat }, 0);
    const remapped = second.replyDst.port;
    t.true(remapped >= min && remapped <= max && remapped !== port, `${remapped}`);
  });

for (const { name, make } of sharedEndpointEngines)
  test(`${name}: later packets of a remapped flow say so in their trace`, (t) => {
    const engine = make();
    engine.send(toA, POD, 0);
    const b = engine.send(toB, POD, 1);
    const port = b.packet!.src.port;
    const later = engine.send(toB, POD, 2);
    t.deepEqual(later.packet!.src, { ip: CLIENT.ip, port });
    t.true(
      later.steps.some((s) => s.decision.includes(`remapped to ${port}`)),
      JSON.stringify(later.steps),
    );
  });
