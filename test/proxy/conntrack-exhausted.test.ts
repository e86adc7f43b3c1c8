/**
 * When a new flow's reply tuple is another live flow's and so is every one its source port could be remapped to
 * (the port's class: 1-511 here, so the test fills it), the kernel's NAT finds no unique tuple and the packet is
 * dropped untracked (insert_failed). Every engine drops it, says why, and leaves the flows already tracked alone.
 */
import test from 'ava';
import { ErrorCodes, RangeExhaustedError } from '../../src/errors.js';
import { Conntrack } from '../../src/proxy/conntrack.js';
import { proxyConfig } from '../../src/proxy/engine.js';
import type { Origin, Packet } from '../../src/proxy/packet.js';
import { createUserspaceEngine } from '../../src/proxy/userspace/engine.js';
import { Rng } from '../../src/util/rng.js';
import { node, service, slice, storeWith, tableFor } from './fixtures.js';
import { SHARED_ENDPOINT, sharedEndpointEngines } from './shared-endpoint.js';

const POD: Origin = { from: 'pod', pod: 'ns/client' };
const CLIENT_IP = '10.244.1.9';
const ENDPOINT = SHARED_ENDPOINT;
/** Every port of the low class (remapped within 1-511), and the one the refused flow comes from. */
const LOW_PORTS = Array.from({ length: 511 }, (_, i) => i + 1);
const PORT = 5;

const to = (ip: string, dstPort: number, srcPort: number): Packet => ({
  proto: 'TCP',
  src: { ip: CLIENT_IP, port: srcPort },
  dst: { ip, port: dstPort },
});

test('conntrack: with every port of the class taken, trackRow returns -1, track throws, and nothing changes', (t) => {
  const ct = new Conntrack();
  for (const port of LOW_PORTS) ct.track(to('10.96.0.10', 80, port), { dnat: ENDPOINT }, 0);
  const refused = to('10.96.0.11', 81, PORT);
  t.is(ct.trackRow(refused, { dnat: ENDPOINT }, 1), -1);
  const err = t.throws(() => ct.track(refused, { dnat: ENDPOINT }, 1), { instanceOf: RangeExhaustedError });
  t.is(err?.code, ErrorCodes.RANGE_EXHAUSTED);
  t.is(err?.range, '1-511');
  t.is(ct.size, LOW_PORTS.length);
  t.is(ct.lookup(refused, 2), undefined);
  // The reply tuple stays the first flow's.
  const reply: Packet = { proto: 'TCP', src: ENDPOINT, dst: { ip: CLIENT_IP, port: PORT } };
  t.is(ct.lookup(reply, 2)?.entry.originalDst.ip, '10.96.0.10');
});

test('conntrack: a port freed by an expired flow is taken again', (t) => {
  const ct = new Conntrack();
  // Port 300's flow is tracked first and expires first (an unanswered SYN: 120 s); the rest live 100 s longer.
  const early = ct.track(to('10.96.0.10', 80, 300), { dnat: ENDPOINT }, 0);
  for (const port of LOW_PORTS) if (port !== 300) ct.track(to('10.96.0.10', 80, port), { dnat: ENDPOINT }, 100);
  const later = ct.track(to('10.96.0.11', 81, PORT), { dnat: ENDPOINT }, early.expires + 1);
  t.deepEqual(later.snat, { ip: CLIENT_IP, port: 300 });
});

for (const { name, make } of sharedEndpointEngines)
  test(`${name}: the flow is dropped untracked, its trace says why, and the other flows keep their replies`, (t) => {
    const engine = make();
    for (const port of LOW_PORTS) t.is(engine.send(to('10.96.0.10', 80, port), POD, 0).verdict, 'DNAT');
    const tracked = engine.conntrack.size;
    const v = engine.send(to('10.96.0.11', 81, PORT), POD, 1);
    t.is(v.verdict, 'DROP');
    t.is(v.endpoint, null);
    t.is(v.conntrack, 'none');
    t.is(v.service, 'ns/b');
    t.deepEqual(v.packet.dst, ENDPOINT, 'the packet as DNAT left it');
    const last = v.steps[v.steps.length - 1]!;
    t.is(last.where, 'conntrack');
    t.regex(last.decision, /every port in 1-511 .*insert_failed/);
    t.is(engine.conntrack.size, tracked);
    const reply = engine.reply({ proto: 'TCP', src: ENDPOINT, dst: { ip: CLIENT_IP, port: PORT } }, 2);
    t.deepEqual(reply.packet.src, { ip: '10.96.0.10', port: 80 });
  });

test('userspace: a client flow whose redirect has no free reply tuple is dropped', (t) => {
  // One Service port, two portals (its ClusterIP and an external IP): both redirect to the same proxy port.
  const store = storeWith(
    node('node-a', ['172.18.0.2'], { podCIDRs: ['10.244.1.0/24'] }),
    service('ns', 'a', { clusterIP: '10.96.0.10', externalIPs: ['192.0.2.10'], ports: [{ port: 80 }] }),
    slice('ns', 'a', [ENDPOINT.ip], [{ port: ENDPOINT.port }]),
  );
  const engine = createUserspaceEngine({
    table: tableFor(store, 'node-a'),
    config: proxyConfig({ mode: 'userspace' }),
    rng: new Rng(1),
  });
  for (const port of LOW_PORTS) t.is(engine.send(to('10.96.0.10', 80, port), POD, 0).verdict, 'DNAT');
  // Pods reach a non-local external IP unproxied, so this flow arrives from outside (from the same address).
  const v = engine.send(to('192.0.2.10', 80, PORT), { from: 'external' }, 1);
  t.is(v.verdict, 'DROP');
  t.is(v.endpoint, null);
  t.is(v.conntrack, 'none');
  t.is(v.packet.dst.ip, '172.18.0.2', 'redirected to the proxy port on the node');
  t.regex(v.steps[v.steps.length - 1]!.decision, /insert_failed/);
});
