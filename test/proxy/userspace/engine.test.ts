/**
 * The userspace engine end to end: portals to a proxy port, the proxy's own connection to the endpoint (node
 * source), round-robin, relayed replies, no endpoints, UDP sessions, dial retries, and the portal rules.
 */
import test from 'ava';
import { type ProxyConfigInput, proxyConfig } from '../../../src/proxy/engine.js';
import { createUserspaceEngine, type UserspaceEngineOptions } from '../../../src/proxy/userspace/engine.js';
import { Rng } from '../../../src/util/rng.js';
import { type ServiceInput, service, slice, tableFor } from '../fixtures.js';
import { EXTERNAL, HOST, NODE_A, POD, replyTo, storeOf, tcp, udp } from '../ipvs/engine-helpers.js';

const EPS = [
  { ip: '10.244.1.5', node: 'node-a' },
  { ip: '10.244.2.6', node: 'node-b' },
  { ip: '10.244.2.7', node: 'node-b' },
];

function engine(extra: Partial<ServiceInput> = {}, opts: UserspaceEngineOptions = {}, config: ProxyConfigInput = {}) {
  const protocol = extra.ports?.[0]?.protocol ?? 'TCP';
  const store = storeOf(
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol }], ...extra }),
    slice('default', 'web', EPS, [{ name: 'http', port: 8080, protocol }]),
  );
  return createUserspaceEngine(
    { table: tableFor(store, 'node-a'), config: proxyConfig({ mode: 'userspace', ...config }), rng: new Rng(11) },
    opts,
  );
}

test('a portal redirects to the proxy port; the proxy dials the endpoint from the node', (t) => {
  const e = engine();
  const v = e.send(tcp('10.244.1.9', 40000, '10.96.0.10', 80), POD, 1);
  t.is(v.verdict, 'DNAT');
  t.is(v.snat, NODE_A);
  t.is(v.packet.src.ip, NODE_A);
  t.not(v.packet.src.port, 40000, 'a new connection from an ephemeral port');
  t.is(v.packet.dst.port, 8080);
  const proxyPort = e.openedPorts()[0]!.portal.proxyPort;
  // Conntrack's miss and PREROUTING's jump first, as in the other modes; then the portal and the proxy socket.
  t.deepEqual(
    v.steps.slice(0, 4).map((s) => s.decision),
    [
      'NEW connection: the nat table sees it',
      'jump KUBE-PORTALS-CONTAINER',
      `REDIRECT to proxy port ${proxyPort}`,
      'accepted the connection',
    ],
  );
  t.is(
    v.steps[1]!.rule,
    '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
  );
  t.is(
    v.steps[2]!.rule,
    `-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -p tcp -m comment --comment "default/web:http" -m tcp --dport 80 -j REDIRECT --to-ports ${proxyPort}`,
  );
  t.true(v.steps.some((s) => s.where === 'userspace/round-robin' && /^index 0 -> /.test(s.decision)));
  // Host traffic goes through OUTPUT, which DNATs to the host IP instead.
  const h = e.send(tcp(NODE_A, 40001, '10.96.0.10', 80), HOST, 1);
  t.deepEqual(
    h.steps.slice(1, 3).map((s) => s.decision),
    ['jump KUBE-PORTALS-HOST', `DNAT to ${NODE_A}:${proxyPort}`],
  );
});

test('round-robin per service port over the shuffled list, exactly', (t) => {
  const e = engine();
  e.sync(0);
  const order = e.lb.state('default/web:http')!.endpoints;
  const seen = Array.from(
    { length: 9 },
    (_, i) => e.send(tcp('10.244.1.9', 1000 + i, '10.96.0.10', 80), POD, 1).endpoint,
  );
  t.deepEqual(seen, [...order, ...order, ...order]);
});

test('each connection leaves for the endpoint its verdict names, whichever the shuffle put where', (t) => {
  const e = engine();
  const verdicts = Array.from({ length: 6 }, (_, i) => e.send(tcp('10.244.1.9', 2000 + i, '10.96.0.10', 80), POD, 1));
  t.deepEqual(
    verdicts.map((v) => `${v.packet.dst.ip}:${v.packet.dst.port}`),
    verdicts.map((v) => v.endpoint),
  );
  t.is(new Set(verdicts.map((v) => v.endpoint)).size, 3);
});

test('replies are relayed back from the portal address; established packets keep their backend', (t) => {
  const e = engine();
  const p = tcp('10.244.1.9', 40000, '10.96.0.10', 80);
  const v = e.send(p, POD, 1);
  const back = e.reply(replyTo(v.packet), 1.01);
  t.is(back.conntrack, 'reply');
  t.deepEqual(back.packet, {
    proto: 'TCP',
    src: { ip: '10.96.0.10', port: 80 },
    dst: { ip: '10.244.1.9', port: 40000 },
  });
  const again = e.send(p, POD, 2);
  t.is(again.conntrack, 'established');
  t.deepEqual(again.packet, v.packet);
  t.true(e.close(p, 3));
  t.is(e.send(p, POD, 3.5).conntrack, 'new', 'a client packet after both sides closed is a new SYN: the tuple reopens');
});

test('no endpoints: TCP is accepted then closed (REJECT); UDP datagrams are dropped', (t) => {
  const mk = (protocol: 'TCP' | 'UDP') => {
    const store = storeOf(service('default', 'none', { clusterIP: '10.96.0.20', ports: [{ port: 53, protocol }] }));
    return createUserspaceEngine({ table: tableFor(store, 'node-a'), config: proxyConfig(), rng: new Rng(1) });
  };
  const e = mk('TCP');
  const v = e.send(tcp('10.244.1.9', 1, '10.96.0.20', 53), POD, 1);
  t.is(v.verdict, 'REJECT');
  t.regex(v.steps.at(-1)!.decision, /accepted, then closed/);
  // The accepted connection was closed with a FIN exchange (TIME_WAIT): a new SYN from the same port reopens the
  // tuple and is refused again, not taken for a packet of a live flow.
  const entry = [...e.conntrack.entries()][0]!;
  t.deepEqual([entry.state, entry.timeout, entry.assured], ['CLOSING', 'nf_conntrack_tcp_timeout_time_wait', true]);
  const retry = e.send(tcp('10.244.1.9', 1, '10.96.0.20', 53), POD, 2);
  t.deepEqual([retry.verdict, retry.conntrack], ['REJECT', 'new']);
  t.is(mk('UDP').send(udp('10.244.1.9', 1, '10.96.0.20', 53), POD, 1).verdict, 'DROP');
});

test('UDP: a client session keeps its backend until idle for udpIdleTimeout', (t) => {
  const e = engine({ ports: [{ name: 'http', port: 80, protocol: 'UDP' }] }, { udpIdleTimeout: 0.25 });
  const p = udp('10.244.1.9', 5353, '10.96.0.10', 80);
  const first = e.send(p, POD, 0).endpoint;
  t.is(e.send(p, POD, 0.2).endpoint, first);
  e.reply(replyTo(e.send(p, POD, 0.4).packet), 0.6);
  t.is(e.send(p, POD, 0.8).endpoint, first, 'the reply at 0.6 kept the session alive');
  const later = e.send(p, POD, 1.2);
  t.is(later.conntrack, 'established', 'the client leg is still tracked');
  t.not(later.endpoint, first, 'idle 0.4 s: a new backend connection, next in round-robin');
});

test('UDP: verdicts handed out before a session gets a new backend keep the connection they reported', (t) => {
  const e = engine({ ports: [{ name: 'http', port: 80, protocol: 'UDP' }] }, { udpIdleTimeout: 0.25 });
  const p = udp('10.244.1.9', 5353, '10.96.0.10', 80);
  const first = e.send(p, POD, 0);
  const established = e.send(p, POD, 0.1);
  const relayed = e.reply(replyTo(first.packet), 0.1);
  // Read nothing yet: the session goes idle and is redialled, then the earlier verdicts are read.
  const later = e.send(p, POD, 1);
  t.not(later.endpoint, first.endpoint, 'a new backend connection');
  t.not(later.packet.src.port, first.packet.src.port, 'from a new ephemeral port');
  for (const v of [first, established]) {
    t.is(v.endpoint, first.endpoint);
    t.deepEqual(v.packet, first.packet, 'the old backend connection');
  }
  t.is(relayed.endpoint, first.endpoint);
  t.deepEqual(relayed.packet, { proto: 'UDP', src: { ip: '10.96.0.10', port: 80 }, dst: p.src });
  t.like(JSON.parse(JSON.stringify(relayed)), { verdict: 'ACCEPT', conntrack: 'reply', snat: null, cost: 1 });
});

test('a failed dial retries the next endpoint (TryConnectEndpoints)', (t) => {
  const e = engine({}, { dialable: (ep) => ep !== '10.244.2.6:8080' });
  e.sync(0);
  const order = e.lb.state('default/web:http')!.endpoints;
  const results = order.map((_, i) => e.send(tcp('10.244.1.9', 2000 + i, '10.96.0.10', 80), POD, 1));
  t.false(results.some((v) => v.endpoint === '10.244.2.6:8080'));
  t.true(results.some((v) => v.steps.some((s) => /failed after 250 ms/.test(s.decision))));
});

test('a UDP dial cannot fail: no retry, the round-robin endpoint is used (net.DialTimeout("udp") sends nothing)', (t) => {
  const udpPort = { ports: [{ name: 'http', port: 80, protocol: 'UDP' as const }] };
  const e = engine(udpPort, { dialable: (ep) => ep !== '10.244.2.6:8080' });
  e.sync(0);
  const order = e.lb.state('default/web:http')!.endpoints;
  const results = order.map((_, i) => e.send(udp('10.244.1.9', 2000 + i, '10.96.0.10', 80), POD, 1));
  t.deepEqual(
    results.map((v) => v.endpoint),
    order,
  );
  t.false(results.some((v) => v.steps.some((s) => /failed after/.test(s.decision))));
});

test('NodePorts answer on every local address, 127.0.0.1 included; Local policies are ignored and said so', (t) => {
  const e = engine({
    type: 'NodePort',
    externalTrafficPolicy: 'Local',
    ports: [{ name: 'http', port: 80, nodePort: 30080 }],
  });
  const ext = e.send(tcp('203.0.113.5', 1, NODE_A, 30080), EXTERNAL, 1);
  t.is(ext.verdict, 'DNAT');
  t.is(ext.snat, NODE_A);
  t.true(ext.steps.some((s) => s.decision.includes('ignored: externalTrafficPolicy: Local')));
  const lo = e.send(tcp('127.0.0.1', 2, '127.0.0.1', 30080), HOST, 1);
  t.is(lo.verdict, 'DNAT');
  t.deepEqual(
    lo.steps.slice(0, 3).map((s) => s.where),
    ['conntrack', 'nat/OUTPUT', 'nat/KUBE-NODEPORT-HOST'],
  );
  t.regex(lo.steps[1]!.rule, /^-A OUTPUT -m addrtype --dst-type LOCAL .* -j KUBE-NODEPORT-HOST$/);
});

test('externalIPs: outside traffic is redirected; pods reach a non-local external IP unproxied', (t) => {
  const e = engine({ externalIPs: ['198.51.100.7'] });
  t.is(e.send(tcp('203.0.113.5', 1, '198.51.100.7', 80), EXTERNAL, 1).verdict, 'DNAT');
  const pod = e.send(tcp('10.244.1.9', 1, '198.51.100.7', 80), POD, 1);
  t.is(pod.verdict, 'ACCEPT');
  t.is(pod.endpoint, null);
});

test('SCTP Service ports get no proxy socket', (t) => {
  const e = engine({ ports: [{ name: 'http', port: 80, protocol: 'SCTP' }] });
  t.is(e.openedPorts().length, 0);
  t.is(
    e.send({ proto: 'SCTP', src: { ip: '10.244.1.9', port: 1 }, dst: { ip: '10.96.0.10', port: 80 } }, POD, 1).verdict,
    'ACCEPT',
  );
});

test('portal rules as iptables-save prints them', (t) => {
  const e = engine({
    type: 'NodePort',
    externalIPs: ['198.51.100.7'],
    ports: [{ name: 'http', port: 80, nodePort: 30080 }],
  });
  const pp = e.openedPorts()[0]!.portal.proxyPort;
  const c = '-m comment --comment "default/web:http"';
  t.is(
    e.rules('IPv4'),
    [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':KUBE-NODEPORT-CONTAINER - [0:0]',
      ':KUBE-NODEPORT-HOST - [0:0]',
      ':KUBE-PORTALS-CONTAINER - [0:0]',
      ':KUBE-PORTALS-HOST - [0:0]',
      '-A PREROUTING -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-CONTAINER',
      '-A PREROUTING -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-CONTAINER',
      '-A OUTPUT -m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules" -j KUBE-PORTALS-HOST',
      '-A OUTPUT -m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain" -j KUBE-NODEPORT-HOST',
      `-A KUBE-NODEPORT-CONTAINER -p tcp ${c} -m tcp --dport 30080 -j REDIRECT --to-ports ${pp}`,
      `-A KUBE-NODEPORT-HOST -p tcp ${c} -m tcp --dport 30080 -j DNAT --to-destination ${NODE_A}:${pp}`,
      `-A KUBE-PORTALS-CONTAINER -d 10.96.0.10/32 -p tcp ${c} -m tcp --dport 80 -j REDIRECT --to-ports ${pp}`,
      `-A KUBE-PORTALS-CONTAINER -d 198.51.100.7/32 -p tcp ${c} -m tcp --dport 80 -m physdev ! --physdev-is-in -j REDIRECT --to-ports ${pp}`,
      `-A KUBE-PORTALS-CONTAINER -d 198.51.100.7/32 -p tcp ${c} -m tcp --dport 80 -m addrtype --dst-type LOCAL -j REDIRECT --to-ports ${pp}`,
      `-A KUBE-PORTALS-HOST -d 10.96.0.10/32 -p tcp ${c} -m tcp --dport 80 -j DNAT --to-destination ${NODE_A}:${pp}`,
      `-A KUBE-PORTALS-HOST -d 198.51.100.7/32 -p tcp ${c} -m tcp --dport 80 -m addrtype --dst-type LOCAL -j DNAT --to-destination ${NODE_A}:${pp}`,
      'COMMIT',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':KUBE-NODEPORT-NON-LOCAL - [0:0]',
      '-A INPUT -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL',
      `-A KUBE-NODEPORT-NON-LOCAL -p tcp ${c} -m tcp --dport ${pp} -m state --state NEW -j ACCEPT`,
      'COMMIT',
      '',
    ].join('\n'),
  );
});

test("a connection to the proxy port itself is proxied, as upstream's proxier tests connect (no portal rule)", (t) => {
  const e = engine();
  const proxyPort = e.openedPorts()[0]!.portal.proxyPort;
  const fromPod = e.send(tcp('10.244.1.9', 40000, NODE_A, proxyPort), POD, 1);
  t.is(fromPod.verdict, 'DNAT');
  t.true(EPS.some((ep) => fromPod.endpoint === `${ep.ip}:8080`));
  // No portal chain was jumped to: conntrack's miss, then the socket itself.
  t.deepEqual(
    fromPod.steps.slice(0, 2).map((s) => s.decision),
    ['NEW connection: the nat table sees it', 'addressed to the proxy port itself: no portal rule, no REDIRECT'],
  );
  // The endpoint's answer comes back to the client from the address and port it connected to.
  const back = e.reply(replyTo(fromPod.packet), 1);
  t.deepEqual([back.packet.src.ip, back.packet.src.port, back.packet.dst.ip], [NODE_A, proxyPort, '10.244.1.9']);
  const fromNode = e.send(tcp('127.0.0.1', 40001, '127.0.0.1', proxyPort), HOST, 1);
  t.is(fromNode.verdict, 'DNAT');
  t.not(fromNode.endpoint, fromPod.endpoint, 'the same round-robin as the portal');
  // A pod's 127.0.0.1 is its own; another port of the node is nothing.
  t.is(e.send(tcp('10.244.1.9', 40002, '127.0.0.1', proxyPort), POD, 1).endpoint, null);
  t.is(e.send(tcp('10.244.1.9', 40003, NODE_A, proxyPort + 1), POD, 1).endpoint, null);
});

test('a Service change that keeps its config keeps the proxy port; one that changes it gets a new port', (t) => {
  const store = storeOf(
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
    slice('default', 'web', EPS, [{ port: 8080 }]),
  );
  const e = createUserspaceEngine({ table: tableFor(store, 'node-a'), config: proxyConfig(), rng: new Rng(3) });
  const before = e.openedPorts()[0]!.portal.proxyPort;
  store.transaction(() => store.put(slice('default', 'web', EPS.slice(0, 2), [{ port: 8080 }])));
  t.is(e.openedPorts()[0]!.portal.proxyPort, before);
  t.is(e.lb.state('default/web')!.endpoints.length, 2);
  store.transaction(() =>
    store.put(
      service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }], externalIPs: ['198.51.100.9'] }),
    ),
  );
  t.not(e.openedPorts()[0]!.portal.proxyPort, before);
});

test('a NodePort change is a config change even when openPortal stopped before the NodePort (sameConfig reads the spec)', (t) => {
  // The IPv6 externalIP ends openPortal on this IPv4 proxier, so the NodePort gets no rule; sameConfig still compares
  // the Service's nodePort, so 30100 → 30101 opens a new socket on a new proxy port.
  const svc = (nodePort: number) =>
    service('default', 'web', {
      clusterIP: '10.96.0.10',
      type: 'NodePort',
      ports: [{ port: 80, nodePort }],
      externalIPs: ['2001:db8::1'],
    });
  const store = storeOf(svc(30100), slice('default', 'web', EPS, [{ port: 8080 }]));
  const e = createUserspaceEngine({ table: tableFor(store, 'node-a'), config: proxyConfig(), rng: new Rng(3) });
  const before = e.openedPorts()[0]!.portal;
  t.is(before.nodePort, 0, 'no NodePort rule after the failed externalIP');
  store.transaction(() => store.put(svc(30101)));
  t.not(e.openedPorts()[0]!.portal.proxyPort, before.proxyPort);
});

test('a port that keeps its name and changes protocol keeps its balancer and affinity; its UDP flows are not cleared', (t) => {
  // ServicePortName has no protocol: mergeService sees one changed port (a new socket, NewService keeping the
  // state), and unmergeService never sees the name, so neither DeleteService nor ClearEntriesForIP runs.
  const sticky = { sessionAffinity: 'ClientIP' as const, sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } };
  const svc = (protocol: 'TCP' | 'UDP') =>
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'p', port: 80, protocol }], ...sticky });
  const store = storeOf(svc('UDP'), slice('default', 'web', EPS, [{ name: 'p', port: 8080, protocol: 'UDP' }]));
  const e = createUserspaceEngine({ table: tableFor(store, 'node-a'), config: proxyConfig(), rng: new Rng(5) });
  const first = e.send(udp('192.0.2.7', 1000, '10.96.0.10', 80), EXTERNAL, 1);
  const udpPort = e.openedPorts()[0]!.portal.proxyPort;
  const flows = [...e.conntrack.entries()].length;
  t.is(flows, 2, 'the client leg and the proxy leg');
  store.transaction(() => {
    store.put(svc('TCP'));
    store.put(slice('default', 'web', EPS, [{ name: 'p', port: 8080, protocol: 'TCP' }]));
  });
  const opened = e.openedPorts();
  t.deepEqual(
    opened.map((o) => o.portal.protocol),
    ['TCP'],
  );
  t.not(opened[0]!.portal.proxyPort, udpPort, 'a new socket');
  const state = e.lb.state('default/web:p')!;
  t.is(state.affinity, 'ClientIP');
  t.is(state.ttlSeconds, 60);
  t.is(opened[0]!.balancer, state, 'the opened port uses the live balancer state');
  t.is([...e.conntrack.entries()].length, flows, 'no ClearEntriesForIP');
  // Affinity recorded on the UDP port holds for the client's TCP connections.
  for (let i = 0; i < 6; i++)
    t.is(e.send(tcp('192.0.2.7', 2000 + i, '10.96.0.10', 80), EXTERNAL, 2).endpoint, first.endpoint);
});

test('after the proxy closed a connection, the endpoint’s late answer has no reader; a forgotten client leg is still relayed', (t) => {
  const e = engine();
  const p = tcp('10.244.1.9', 40100, '10.96.0.10', 80);
  const v = e.send(p, POD, 1);
  const answer = replyTo(v.packet);
  t.is(e.reply(answer, 1.1).verdict, 'ACCEPT');
  t.true(e.close(p, 2));
  // Both legs are closing (TIME_WAIT): the proxy's socket is gone, so the answer is not copied to the client.
  const late = e.reply(answer, 2.5);
  t.is(late.verdict, 'DROP');
  t.regex(late.steps[0]!.decision, /closed by the proxy/);
  // A second connection, relayed and then answered after its client leg alone was forgotten by conntrack: the proxy
  // still holds both sockets, so the answer is relayed (conntrack does not close sockets).
  const q = tcp('10.244.1.9', 40101, '10.96.0.10', 80);
  const w = e.send(q, POD, 3);
  const clientRow = e.conntrack.lookupRow(q, 3);
  e.conntrack.deleteRow(clientRow);
  const relayed = e.reply(replyTo(w.packet), 3.1);
  t.is(relayed.verdict, 'ACCEPT');
  t.deepEqual(relayed.packet.dst, { ip: '10.244.1.9', port: 40101 });
});

test('a port that changes protocol gives its proxy port back before the new socket takes one (mergeService closes first)', (t) => {
  // One proxy port in the range: the TCP socket must close before the UDP one can open.
  const svc = (protocol: 'TCP' | 'UDP') =>
    service('default', 'dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol }] });
  const eps = (protocol: 'TCP' | 'UDP') => slice('default', 'dns', EPS, [{ name: 'dns', port: 53, protocol }]);
  const store = storeOf(svc('TCP'), eps('TCP'));
  const e = createUserspaceEngine(
    { table: tableFor(store, 'node-a'), config: proxyConfig(), rng: new Rng(5) },
    { proxyPortRange: { first: 40000, last: 40000 } },
  );
  t.deepEqual(
    e.openedPorts().map((o) => `${o.protocol} ${o.proxyPort}`),
    ['TCP 40000'],
  );
  store.transaction(() => {
    store.put(svc('UDP'));
    store.put(eps('UDP'));
  });
  t.deepEqual(
    e.openedPorts().map((o) => `${o.protocol} ${o.proxyPort}`),
    ['UDP 40000'],
  );
  t.is(e.send(udp('10.244.1.4', 5000, '10.96.0.10', 53), POD, 1).verdict, 'DNAT');
});
