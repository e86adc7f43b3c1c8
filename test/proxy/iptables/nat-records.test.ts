/**
 * A new flow takes its conntrack NAT record from the DNAT rule that chose its endpoint (program.ts `trackDnat`):
 * one record per rule and masquerade, whichever KUBE-SERVICES or KUBE-NODEPORTS rule jumped there, and a fresh one
 * when the Service is recompiled.
 */
import test from 'ava';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import type { Origin } from '../../../src/proxy/packet.js';
import { Rng } from '../../../src/util/rng.js';
import { node, put, service, slice, storeWith, tableFor } from '../fixtures.js';

const NODE_IP = '192.168.0.2';
const POD: Origin = { from: 'pod', pod: 'ns/client' };
const EXTERNAL: Origin = { from: 'external' };

function world() {
  const store = storeWith(
    node('n1', [NODE_IP]),
    service('ns', 'web', { clusterIP: '172.30.0.1', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
    slice('ns', 'web', ['10.1.0.5'], [{ port: 80 }]),
  );
  const table = tableFor(store, 'n1', { families: ['IPv4'] });
  const engine = new IptablesEngine({ table, config: proxyConfig({ clusterCIDR: '10.0.0.0/8' }), rng: new Rng(1) });
  return { store, engine };
}

function recordOf(engine: IptablesEngine, src: string, srcPort: number, dst: string, dstPort: number, origin: Origin) {
  const packet = { proto: 'TCP' as const, src: { ip: src, port: srcPort }, dst: { ip: dst, port: dstPort } };
  const verdict = engine.send(packet, origin, 0);
  const row = engine.conntrack.lookupRow(packet, 0);
  return { verdict, record: engine.conntrack.natOf(row) };
}

test('flows through one DNAT rule share a record; masquerade gets its own; both name the endpoint and Service', (t) => {
  const { engine } = world();
  const a = recordOf(engine, '10.2.0.7', 4000, '172.30.0.1', 80, POD);
  const b = recordOf(engine, '10.2.0.8', 4001, '172.30.0.1', 80, POD);
  const viaNodePort = recordOf(engine, '203.0.113.9', 5000, NODE_IP, 30080, EXTERNAL);
  const viaNodePort2 = recordOf(engine, '203.0.113.10', 5001, NODE_IP, 30080, EXTERNAL);
  t.is(a.verdict.endpoint, '10.1.0.5:80');
  t.is(a.record, b.record);
  t.is(a.record.snatIp, null);
  t.is(viaNodePort.verdict.snat, NODE_IP);
  t.is(viaNodePort.record.snatIp, NODE_IP);
  t.not(viaNodePort.record, a.record);
  t.is(viaNodePort.record, viaNodePort2.record);
  for (const r of [a.record, viaNodePort.record]) {
    t.is(r.endpoint, '10.1.0.5:80');
    t.is(r.service, 'ns/web');
    t.deepEqual({ ip: r.dnat!.ip, port: r.dnatPort }, { ip: '10.1.0.5', port: 80 });
  }
  // The reply tuple conntrack keyed from the record: the endpoint answering the masqueraded client is un-NATed.
  const reply = engine.reply({ proto: 'TCP', src: { ip: '10.1.0.5', port: 80 }, dst: { ip: NODE_IP, port: 5000 } }, 1);
  t.deepEqual(reply.packet.src, { ip: NODE_IP, port: 30080 });
  t.deepEqual(reply.packet.dst, { ip: '203.0.113.9', port: 5000 });
});

test('a recompiled Service gives new flows records of its new endpoints; tracked flows keep theirs', (t) => {
  const { store, engine } = world();
  const before = recordOf(engine, '10.2.0.7', 4000, '172.30.0.1', 80, POD);
  put(store, slice('ns', 'web', ['10.1.0.6'], [{ port: 80 }]));
  const after = recordOf(engine, '10.2.0.7', 4001, '172.30.0.1', 80, POD);
  t.is(after.record.endpoint, '10.1.0.6:80');
  t.is(before.record.endpoint, '10.1.0.5:80');
  const again = engine.send(
    { proto: 'TCP', src: { ip: '10.2.0.7', port: 4000 }, dst: { ip: '172.30.0.1', port: 80 } },
    POD,
    1,
  );
  t.is(again.endpoint, '10.1.0.5:80');
});
