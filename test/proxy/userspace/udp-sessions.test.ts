/**
 * The userspace proxy's UDP sessions as udpProxySocket ran them: a datagram it could not relay leaves no session (the
 * next one is dialled again), an answer after the idle timeout has no reader, and a proxy socket closed by a Service
 * change or deletion breaks its sessions (deletion also clears the ClusterIP's UDP conntrack entries).
 */
import test from 'ava';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { createUserspaceEngine } from '../../../src/proxy/userspace/engine.js';
import { Rng } from '../../../src/util/rng.js';
import { put, remove, service, slice, tableFor } from '../fixtures.js';
import { POD, replyTo, storeOf, tcp, udp } from '../ipvs/engine-helpers.js';

const PORTS = [{ name: 'dns', port: 53, protocol: 'UDP' as const }];
const svc = (extra = {}) => service('default', 'dns', { clusterIP: '10.96.0.10', ports: PORTS, ...extra });
const eps = (...ips: string[]) =>
  slice(
    'default',
    'dns',
    ips.map((ip) => ({ ip, node: 'node-b' })),
    [{ name: 'dns', port: 5353, protocol: 'UDP' }],
  );

function rig(withEndpoints = true) {
  const store = storeOf(svc(), eps(...(withEndpoints ? ['10.244.2.6'] : [])));
  const engine = createUserspaceEngine({
    table: tableFor(store, 'node-a'),
    config: proxyConfig({ mode: 'userspace' }),
    rng: new Rng(5),
  });
  return { store, engine };
}

/** A TCP Service web (10.96.0.20:80 → :8080) on the given endpoints, and a userspace engine on node-a. */
function tcpRig(ips: string[]) {
  const store = storeOf(
    service('default', 'web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] }),
    slice(
      'default',
      'web',
      ips.map((ip) => ({ ip, node: 'node-b' })),
      [{ name: 'http', port: 8080 }],
    ),
  );
  const engine = createUserspaceEngine({
    table: tableFor(store, 'node-a'),
    config: proxyConfig({ mode: 'userspace' }),
    rng: new Rng(5),
  });
  return { store, engine };
}

const CLIENT = udp('10.244.1.9', 5000, '10.96.0.10', 53);

test('no endpoints: the datagram is dropped and leaves no session; the next one is dialled again', (t) => {
  const { store, engine } = rig(false);
  const first = engine.send(CLIENT, POD, 0);
  t.is(first.verdict, 'DROP');
  t.is(engine.send(CLIENT, POD, 0.1).verdict, 'DROP', 'still no endpoint');
  put(store, eps('10.244.2.6'));
  const third = engine.send(CLIENT, POD, 0.2);
  t.is(third.verdict, 'DNAT');
  t.is(third.endpoint, '10.244.2.6:5353');
  t.is(third.conntrack, 'established', 'the REDIRECT entry to the proxy port was there all along');
  t.is(engine.reply(replyTo(third.packet), 0.21).conntrack, 'reply', 'the answer is relayed back');
});

test('an answer arriving after udpIdleTimeout has no reader: dropped', (t) => {
  const { engine } = rig();
  const v = engine.send(CLIENT, POD, 0);
  t.is(engine.reply(replyTo(v.packet), 0.1).conntrack, 'reply');
  const late = engine.reply(replyTo(v.packet), 0.5);
  t.is(late.verdict, 'DROP');
  t.regex(late.steps[0]!.decision, /udpIdleTimeout/);
});

test('a Service change that closes the proxy socket breaks its UDP sessions; TCP connections live on', (t) => {
  const { store, engine } = rig();
  const { store: tcpStore, engine: tcpEngine } = tcpRig(['10.244.2.6']);
  t.is(engine.send(CLIENT, POD, 0).verdict, 'DNAT');
  const conn = tcp('10.244.1.9', 40000, '10.96.0.20', 80);
  t.is(tcpEngine.send(conn, POD, 0).verdict, 'DNAT');
  // An externalIP changes sameConfig: a new socket on a new proxy port.
  put(store, svc({ externalIPs: ['198.51.100.1'] }));
  put(
    tcpStore,
    service('default', 'web', {
      clusterIP: '10.96.0.20',
      externalIPs: ['198.51.100.1'],
      ports: [{ name: 'http', port: 80 }],
    }),
  );
  const after = engine.send(CLIENT, POD, 0.1);
  t.is(after.verdict, 'DROP');
  t.regex(after.steps[0]!.decision, /socket was closed/);
  t.is(
    engine.send(udp('10.244.1.9', 5001, '10.96.0.10', 53), POD, 0.1).verdict,
    'DNAT',
    'a new client reaches the new socket',
  );
  t.is(tcpEngine.send(conn, POD, 0.1).conntrack, 'established');
});

test('deleting a UDP Service clears the conntrack entries of its ClusterIP (ClearEntriesForIP)', (t) => {
  const { store, engine } = rig();
  t.is(engine.send(CLIENT, POD, 0).verdict, 'DNAT');
  remove(store, svc());
  const v = engine.send(CLIENT, POD, 0.1);
  t.is(v.conntrack, 'none');
  t.is(v.endpoint, null);
});

test('an unbound UDP client (its datagram found no endpoint): replies pass, close works, reverse packets are not dialled', (t) => {
  const { engine } = rig(false);
  t.is(engine.send(CLIENT, POD, 0).verdict, 'DROP');
  const proxyPort = engine.openedPorts()[0]!.portal.proxyPort;
  const back = udp('172.18.0.2', proxyPort, '10.244.1.9', 5000);
  t.is(engine.reply(back, 0.1).endpoint, null);
  t.is(engine.send(back, POD, 0.1).endpoint, null);
  t.true(engine.close(CLIENT, 0.2));
});

test("a socket reopened on the same proxy port reads the old clients' datagrams as new clients: new sessions", (t) => {
  // The client leg still REDIRECTs to port 40000, and the new socket listens there (upstream TestUDPProxyUpdatePort
  // reaches the new socket on its port); its proxy loop knows no such client and dials anew.
  const store = storeOf(svc(), eps('10.244.2.6'));
  const engine = createUserspaceEngine(
    { table: tableFor(store, 'node-a'), config: proxyConfig({ mode: 'userspace' }), rng: new Rng(5) },
    { proxyPortRange: { first: 40000, last: 40000 } },
  );
  t.is(engine.send(CLIENT, POD, 0).verdict, 'DNAT');
  put(store, svc({ externalIPs: ['198.51.100.1'] }), eps('10.244.3.7'));
  t.is(engine.openedPorts()[0]!.portal.proxyPort, 40000);
  const again = engine.send(CLIENT, POD, 0.1);
  t.is(again.verdict, 'DNAT');
  t.is(again.endpoint, '10.244.3.7:5353');
});

test('TCP through the proxy: both handshakes are done at once, so a quiet connection outlives SYN_SENT (120 s)', (t) => {
  const { engine } = tcpRig(['10.244.2.6', '10.244.2.7']);
  const conn = tcp('10.244.1.9', 40000, '10.96.0.20', 80);
  const first = engine.send(conn, POD, 0);
  const later = engine.send(conn, POD, 500);
  t.is(later.conntrack, 'established');
  t.is(later.endpoint, first.endpoint);
  t.is(engine.reply(replyTo(later.packet), 501).conntrack, 'reply');
  engine.close(conn, 502);
  t.is(engine.reply(replyTo(later.packet), 503).verdict, 'DROP', 'after the close nothing relays the endpoint');
});

test('UDP: an answer on a backend leg the proxy replaced after an idle timeout is not relayed', (t) => {
  const { engine } = rig();
  const first = engine.send(CLIENT, POD, 0);
  const second = engine.send(CLIENT, POD, 1);
  t.not(second.packet.src.port, first.packet.src.port, 'a new backend connection');
  const stale = engine.reply(replyTo(first.packet), 1.1);
  t.is(stale.verdict, 'DROP');
  t.is(engine.reply(replyTo(second.packet), 1.1).conntrack, 'reply');
});

test("relayed answers keep the client leg alive; an unbound client's reverse packets are never dialled", (t) => {
  const { engine } = tcpRig(['10.244.2.6']);
  const conn = tcp('10.244.1.9', 40000, '10.96.0.20', 80);
  const v = engine.send(conn, POD, 0);
  t.is(engine.reply(replyTo(v.packet), 50000).conntrack, 'reply');
  t.is(engine.reply(replyTo(v.packet), 100000).conntrack, 'reply');
  t.is(engine.send(conn, POD, 100001).conntrack, 'established', 'the answers refreshed the client leg past 86400 s');

  const udpRig = rig(false);
  t.is(udpRig.engine.send(CLIENT, POD, 0).verdict, 'DROP');
  put(udpRig.store, eps('10.244.2.6'));
  const proxyPort = udpRig.engine.openedPorts()[0]!.portal.proxyPort;
  const reverse = udp('172.18.0.2', proxyPort, '10.244.1.9', 5000);
  t.is(udpRig.engine.send(reverse, POD, 0.1).endpoint, null, 'an endpoint exists, yet a reverse packet is not dialled');
});
