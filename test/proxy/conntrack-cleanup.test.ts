/** kube-proxy's UDP conntrack reconciliation (pkg/proxy/conntrack/cleanup.go, main branch). */
import test from 'ava';
import { Conntrack } from '../../src/proxy/conntrack.js';
import { cleanStaleUdpEntries } from '../../src/proxy/conntrack-cleanup.js';
import type { Packet } from '../../src/proxy/packet.js';
import { node, service, slice, storeWith, tableFor } from './fixtures.js';

function entry(eps: { ip: string; serving?: boolean }[], extra: Record<string, unknown> = {}, portName = 'dns') {
  const table = tableFor(
    storeWith(
      node('n1', ['192.168.0.2']),
      service('ns', 'dns', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        ports: [{ name: portName, port: 53, protocol: 'UDP', nodePort: 30053 }],
        ingress: ['1.2.3.4'],
        externalIPs: ['198.51.100.1'],
        ...extra,
      }),
      slice(
        'ns',
        'dns',
        eps.map((e) => ({ ip: e.ip, ...(e.serving === false ? { ready: false, serving: false } : {}) })),
        [{ name: portName, port: 5353, protocol: 'UDP' }],
      ),
    ),
    'n1',
    { families: ['IPv4'] },
  );
  return table.get('IPv4', `ns/dns:${portName}/UDP`)!;
}

const udp = (src: string, sport: number, dst: string, dport: number): Packet => ({
  proto: 'UDP',
  src: { ip: src, port: sport },
  dst: { ip: dst, port: dport },
});

test('entries to a frontend whose reply source is not a serving endpoint are deleted', (t) => {
  const ct = new Conntrack();
  const keep = ct.track(udp('10.0.0.1', 1, '10.96.0.10', 53), { dnat: { ip: '10.244.1.1', port: 5353 } }, 0);
  const stale = ct.track(udp('10.0.0.1', 2, '10.96.0.10', 53), { dnat: { ip: '10.244.9.9', port: 5353 } }, 0);
  const blackhole = ct.track(udp('10.0.0.1', 3, '10.96.0.10', 53), {}, 0); // created before there were endpoints
  const viaLb = ct.track(udp('203.0.113.2', 4, '1.2.3.4', 53), { dnat: { ip: '10.244.9.9', port: 5353 } }, 0);
  const viaExt = ct.track(udp('203.0.113.2', 5, '198.51.100.1', 53), { dnat: { ip: '10.244.9.9', port: 5353 } }, 0);
  const viaNodePort = ct.track(
    udp('203.0.113.2', 6, '192.168.0.2', 30053),
    { dnat: { ip: '10.244.9.9', port: 5353 } },
    0,
  );
  const otherPort = ct.track(udp('10.0.0.1', 7, '10.96.0.10', 54), { dnat: { ip: '10.244.9.9', port: 5353 } }, 0);
  const deleted = cleanStaleUdpEntries(ct, [entry([{ ip: '10.244.1.1' }, { ip: '10.244.1.2', serving: false }])]);
  t.deepEqual(new Set(deleted), new Set([stale, blackhole, viaLb, viaExt, viaNodePort]));
  t.deepEqual(new Set(ct.entries()), new Set([keep, otherPort]));
});

test('endpoint ports are compared too (a changed targetPort moves its flows, kubernetes#130542)', (t) => {
  const ct = new Conntrack();
  ct.track(udp('10.0.0.1', 1, '10.96.0.10', 53), { dnat: { ip: '10.244.1.1', port: 9999 } }, 0);
  const same = ct.track(udp('10.0.0.1', 2, '10.96.0.10', 53), { dnat: { ip: '10.244.1.1', port: 5353 } }, 0);
  t.is(cleanStaleUdpEntries(ct, [entry([{ ip: '10.244.1.1' }])]).length, 1);
  t.deepEqual([...ct.entries()], [same]);
});

test('a Service port without serving endpoints has all its flows flushed (kubernetes#139629)', (t) => {
  const ct = new Conntrack();
  ct.track(udp('10.0.0.1', 1, '10.96.0.10', 53), { dnat: { ip: '10.244.9.9', port: 5353 } }, 0);
  t.is(cleanStaleUdpEntries(ct, [entry([{ ip: '10.244.1.1', serving: false }])]).length, 1);
  t.is(ct.size, 0);
});

test('a deleted Service port has all its flows flushed (kubernetes#141371); live ports are swept on every pass', (t) => {
  const ct = new Conntrack();
  const gone = ct.track(udp('10.0.0.1', 1, '10.96.0.10', 53), { dnat: { ip: '10.244.1.1', port: 5353 } }, 0);
  // A NodePort on an address that is no Service's: not NATed, so its reply source is no endpoint.
  const stray = ct.track(udp('10.0.0.1', 2, '192.0.2.50', 30053), {}, 0);
  t.deepEqual(new Set(cleanStaleUdpEntries(ct, [], [entry([{ ip: '10.244.1.1' }])])), new Set([gone, stray]));
});

test("a port renamed in place: its frontends are the live port's to judge, so the flows it serves stay", (t) => {
  const ct = new Conntrack();
  const served = ct.track(udp('10.0.0.1', 1, '10.96.0.10', 53), { dnat: { ip: '10.244.1.1', port: 5353 } }, 0);
  const viaNodePort = ct.track(
    udp('203.0.113.2', 2, '192.168.0.2', 30053),
    { dnat: { ip: '10.244.1.1', port: 5353 } },
    0,
  );
  const unserved = ct.track(udp('10.0.0.1', 3, '10.96.0.10', 53), { dnat: { ip: '10.244.9.9', port: 5353 } }, 0);
  const renamed = entry([{ ip: '10.244.1.1' }], {}, 'dns2');
  const old = entry([{ ip: '10.244.1.1' }]);
  t.deepEqual(cleanStaleUdpEntries(ct, [renamed], [old]), [unserved]);
  t.deepEqual(new Set(ct.entries()), new Set([served, viaNodePort]));
});

test('TCP Services are never reconciled', (t) => {
  const ct = new Conntrack();
  const table = tableFor(
    storeWith(
      service('ns', 'web', { clusterIP: '10.96.0.20', ports: [{ port: 80 }] }),
      slice('ns', 'web', ['10.244.1.1'], [{ port: 80 }]),
    ),
    'n1',
  );
  ct.track(
    { proto: 'TCP', src: { ip: '10.0.0.1', port: 1 }, dst: { ip: '10.96.0.20', port: 80 } },
    { dnat: { ip: '10.244.9.9', port: 80 } },
    0,
  );
  t.is(cleanStaleUdpEntries(ct, [table.get('IPv4', 'ns/web/TCP')!]).length, 0);
});
