/**
 * Time-dependent IPVS behaviour on the simulated clock: graceful termination (weight 0 until connections drain,
 * checked every 60 s), UDP real servers deleted at once, endpoints coming back, ClientIP persistence templates, and
 * least-connection scheduling fed by the engine's own connection counts.
 */
import test from 'ava';
import fc from 'fast-check';
import { put, service, slice } from '../fixtures.js';
import { engineOn, POD, replyTo, storeOf, tcp, udp } from './engine-helpers.js';
import { holds } from './helpers.js';

const EPS = [
  { ip: '10.244.1.5', node: 'node-a' },
  { ip: '10.244.2.6', node: 'node-b' },
  { ip: '10.244.2.7', node: 'node-b' },
];

function webStore(protocol: 'TCP' | 'UDP' = 'TCP', extra = {}) {
  return storeOf(
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol }], ...extra }),
    slice('default', 'web', EPS, [{ port: 80, protocol }]),
  );
}

test('graceful termination: a removed TCP endpoint with a live connection is quiesced, then deleted once drained', (t) => {
  const store = webStore();
  const engine = engineOn(store);
  const flow = tcp('10.244.1.9', 5000, '10.96.0.10', 80);
  const first = engine.send(flow, POD, 0);
  t.is(first.endpoint, '10.244.2.7:80');
  engine.reply(replyTo(first.packet), 0);
  engine.send(flow, POD, 0); // the client's ACK: ESTABLISHED, one active connection
  put(store, slice('default', 'web', EPS.slice(0, 2), [{ port: 80 }]));

  // Applied at the next call: weight 0, still listed, with its active connection.
  engine.sync(10);
  const vs = engine.virtualServer('TCP', '10.96.0.10', 80)!;
  const gone = vs.dest('10.244.2.7:80')!;
  t.is(gone.weight, 0);
  t.regex(engine.rules('IPv4'), /-> 10\.244\.2\.7:80 +Masq {4}0 {6}1 {10}0 /);
  // New connections avoid it; the established one keeps flowing to it.
  for (let p = 1; p <= 6; p++)
    t.not(engine.send(tcp('10.244.1.9', p, '10.96.0.10', 80), POD, 11).endpoint, '10.244.2.7:80');
  t.is(engine.send(flow, POD, 12).endpoint, '10.244.2.7:80');

  // Closed at t=20: TIME_WAIT lasts 120 s (until 140). Checks run at 0, 60, 120, 180…
  engine.close(flow, 20);
  engine.sync(170);
  t.truthy(vs.dest('10.244.2.7:80'), 'still draining at the 120 s check');
  engine.sync(181);
  t.is(vs.dest('10.244.2.7:80'), undefined);
  t.is(engine.graceful.size, 0);
  t.false(engine.rules('IPv4').includes('10.244.2.7'));
});

test('an endpoint with no connections is deleted at once', (t) => {
  const store = webStore();
  const engine = engineOn(store);
  engine.sync(0);
  put(store, slice('default', 'web', EPS.slice(0, 2), [{ port: 80 }]));
  engine.sync(1);
  t.is(engine.virtualServer('TCP', '10.96.0.10', 80)!.dests.length, 2);
  t.is(engine.graceful.size, 0);
});

test('UDP real servers are deleted immediately; the stale flow is rescheduled', (t) => {
  const store = webStore('UDP');
  const engine = engineOn(store);
  const flow = udp('10.244.1.9', 5353, '10.96.0.10', 80);
  const first = engine.send(flow, POD, 0);
  t.is(first.endpoint, '10.244.2.7:80');
  engine.reply(replyTo(first.packet), 0);
  put(store, slice('default', 'web', EPS.slice(0, 2), [{ port: 80, protocol: 'UDP' }]));
  const next = engine.send(flow, POD, 1);
  t.is(engine.virtualServer('UDP', '10.96.0.10', 80)!.dest('10.244.2.7:80'), undefined);
  t.is(next.conntrack, 'new', 'conntrack cleanup removed the entry pointing at the deleted endpoint');
  t.not(next.endpoint, '10.244.2.7:80');
});

test('an established flow to a real server deleted under it is dropped (expire_nodest_conn)', (t) => {
  // SCTP: its real servers are deleted at once, and kube-proxy's conntrack cleanup is for UDP only, so the entry
  // outlives its real server. (A UDP flow's entry is flushed by the cleanup before the next packet.)
  const store = storeOf(
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'SCTP' }] }),
    slice('default', 'web', [EPS[1]!], [{ port: 80, protocol: 'SCTP' }]),
  );
  const engine = engineOn(store);
  const flow = { ...udp('10.244.1.9', 5353, '10.96.0.10', 80), proto: 'SCTP' as const };
  t.is(engine.send(flow, POD, 0).endpoint, '10.244.2.6:80');
  put(store, slice('default', 'web', [], [{ port: 80, protocol: 'SCTP' }]));
  const v = engine.send(flow, POD, 1);
  t.is(v.verdict, 'DROP');
  t.regex(v.steps[0]!.decision, /expire_nodest_conn/);
  t.is(engine.send(flow, POD, 2).verdict, 'REJECT', 'the next packet is a new connection to an empty service');
});

test('UDP: a flow whose every endpoint went is flushed by the conntrack cleanup (kubernetes#139629)', (t) => {
  const store = storeOf(
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'UDP' }] }),
    slice('default', 'web', [EPS[1]!], [{ port: 80, protocol: 'UDP' }]),
  );
  const engine = engineOn(store);
  const flow = udp('10.244.1.9', 5353, '10.96.0.10', 80);
  t.is(engine.send(flow, POD, 0).endpoint, '10.244.2.6:80');
  put(store, slice('default', 'web', [], [{ port: 80, protocol: 'UDP' }]));
  const v = engine.send(flow, POD, 1);
  t.is(v.conntrack, 'none');
  t.is(v.verdict, 'REJECT');
});

test('an endpoint that returns while quiesced comes back out of the trash: same real server, weight 1, list head', (t) => {
  const store = webStore();
  const engine = engineOn(store);
  const flow = tcp('10.244.1.9', 5000, '10.96.0.10', 80);
  engine.reply(replyTo(engine.send(flow, POD, 0).packet), 0);
  engine.send(flow, POD, 0);
  put(store, slice('default', 'web', EPS.slice(0, 2), [{ port: 80 }]));
  engine.sync(5);
  const vs = engine.virtualServer('TCP', '10.96.0.10', 80)!;
  const old = vs.dest('10.244.2.7:80')!;
  t.is(old.weight, 0);
  put(store, slice('default', 'web', EPS, [{ port: 80 }]));
  engine.sync(6);
  // kube-proxy deletes it (MoveRSOutofGracefulDeleteList) and adds it; ip_vs_add_dest finds it in the trash.
  const back = vs.dest('10.244.2.7:80')!;
  t.is(back, old);
  t.is(back.weight, 1);
  t.is(vs.dests[0], back);
  t.is(engine.graceful.size, 0);
  // Its connection carries on, and still counts.
  const next = engine.send(flow, POD, 7);
  t.is(next.verdict, 'DNAT');
  t.is(next.endpoint, '10.244.2.7:80');
  t.regex(engine.rules('IPv4'), /-> 10\.244\.2\.7:80 +Masq {4}1 {6}1 {10}0 /);
});

test('a quiesced real server is deleted and added back in its turn among the adds: where rr goes next', (t) => {
  const [a, b, x] = EPS;
  const store = storeOf(
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
    slice('default', 'web', [b!, x!], [{ port: 80 }]),
  );
  const engine = engineOn(store); // adds in endpoint order (Go's is random)
  const vs = engine.virtualServer('TCP', '10.96.0.10', 80)!;
  const flow = tcp('10.244.1.9', 5000, '10.96.0.10', 80);
  const first = engine.send(flow, POD, 0);
  engine.reply(replyTo(first.packet), 0);
  engine.send(flow, POD, 0);
  t.is(first.endpoint, '10.244.2.7:80', 'the list is [x, b] and rr starts at its head');
  put(store, slice('default', 'web', [b!], [{ port: 80 }]));
  engine.sync(1); // x quiesced (weight 0): it has a connection
  put(store, slice('default', 'web', [a!, b!, x!], [{ port: 80 }]));
  engine.sync(2);
  // a is added at the head ([a, x, b], the cursor still on x); then x is deleted, which leaves the cursor on its
  // predecessor a, and added back at the head: [x, a, b], and rr goes on from a to b. Deleting x before adding a
  // would leave the cursor at the list head, and rr would go to x.
  t.deepEqual(
    vs.dests.map((d) => d.key),
    ['10.244.2.7:80', '10.244.1.5:80', '10.244.2.6:80'],
  );
  t.is(engine.send(tcp('10.244.1.9', 6000, '10.96.0.10', 80), POD, 2).endpoint, '10.244.2.6:80');
});

/**
 * An SCTP web Service with one established flow, whose endpoint is then removed from the slice (synced at t=1):
 * SCTP real servers are deleted at once, connections or not.
 */
function sctpFlowWithEndpointRemoved() {
  const sctpSlice = (eps: typeof EPS) => slice('default', 'web', eps, [{ port: 80, protocol: 'SCTP' }]);
  const store = storeOf(
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80, protocol: 'SCTP' }] }),
    sctpSlice(EPS),
  );
  const engine = engineOn(store);
  const flow = { ...tcp('10.244.1.9', 5000, '10.96.0.10', 80), proto: 'SCTP' as const };
  const first = engine.send(flow, POD, 0);
  engine.reply(replyTo(first.packet), 0);
  const kept = EPS.filter((e) => `${e.ip}:80` !== first.endpoint);
  put(store, sctpSlice(kept));
  engine.sync(1);
  const vs = engine.virtualServer('SCTP', '10.96.0.10', 80)!;
  return { engine, flow, first, vs, withEndpoints: (eps: typeof EPS) => put(store, sctpSlice(eps)), kept };
}

test('SCTP real servers are deleted at once, like UDP (IsRsGracefulTerminationNeeded)', (t) => {
  const { engine, flow, first, vs } = sctpFlowWithEndpointRemoved();
  t.is(first.verdict, 'DNAT');
  t.is(vs.dest(first.endpoint!), undefined, 'not quiesced: deleted with its connection live');
  t.is(engine.graceful.size, 0);
  t.is(engine.send(flow, POD, 1).verdict, 'DROP', 'expire_nodest_conn: a packet at the instant of the deletion');
});

test('a flow whose real server was deleted is expired by the delayed flush: its next packet later is scheduled anew', (t) => {
  // Linux 5.9+: deleting a real server queues ip_vs_expire_nodest_conn_flush, which expires its connections (and
  // their conntrack entries) a jiffy later; only a packet before that is dropped.
  const { engine, flow, first, kept } = sctpFlowWithEndpointRemoved();
  t.is(engine.conntrack.lookup(flow, 1)?.entry.endpoint, first.endpoint, 'still tracked at the instant of deletion');
  engine.sync(2);
  t.is(engine.conntrack.lookup(flow, 2), undefined, 'expired by the flush, conntrack entry and all');
  const next = engine.send(flow, POD, 2);
  t.is(next.verdict, 'DNAT');
  t.is(next.conntrack, 'new');
  t.true(kept.some((e) => `${e.ip}:80` === next.endpoint));
});

test('a real server deleted and added back before the next packet of its flow: the flow carries on (out of the trash)', (t) => {
  const { engine, flow, first, vs, withEndpoints, kept } = sctpFlowWithEndpointRemoved();
  t.is(vs.dest(first.endpoint!), undefined, 'deleted (SCTP: at once)');
  // Added back in the same instant, before the kernel's delayed flush could expire the connection.
  withEndpoints(EPS);
  engine.sync(1);
  const next = engine.send(flow, POD, 3);
  t.is(next.verdict, 'DNAT', 'its real server is available again: expire_nodest_conn does not apply');
  t.is(next.conntrack, 'established');
  t.is(next.endpoint, first.endpoint);
  // Deleted again, and this time a packet comes while it is gone.
  withEndpoints(kept);
  t.is(engine.send(flow, POD, 4).verdict, 'DROP', 'expire_nodest_conn');
});

test('a template that outlives its timeout while it controls connections is re-armed by 60 s from then on', (t) => {
  const store = webStore('TCP', {
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } },
  });
  const engine = engineOn(store);
  const client = '10.244.1.9';
  const long = tcp(client, 1, '10.96.0.10', 80);
  const first = engine.send(long, POD, 0);
  engine.reply(replyTo(first.packet), 0);
  engine.send(long, POD, 0);
  // The template fires at 10 with the connection alive: re-armed for 60 s (70, 130, 190, …), not for 10.
  engine.send(long, POD, 100);
  engine.close(long, 100); // TIME_WAIT until 220
  // Fires at 130 and 190 (connection in TIME_WAIT, still controlled), then 250 with nothing left: gone at 250.
  const at230 = engine.send(tcp(client, 2, '10.96.0.10', 80), POD, 230);
  t.is(at230.endpoint, first.endpoint);
  t.true(at230.steps.some((s) => /re-armed to 60 s/.test(s.decision)));
  engine.close(tcp(client, 2, '10.96.0.10', 80), 230); // controls a flow until 350; the template fires at 290, 350
  const at411 = engine.send(tcp(client, 3, '10.96.0.10', 80), POD, 411);
  t.true(
    at411.steps.some((s) => s.decision.startsWith('new template')),
    'the template expired at 350, when nothing it controlled was alive',
  );
});

test('ClientIP affinity: a persistence template pins a client; it lives while it controls connections', (t) => {
  const store = webStore('TCP', {
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
  });
  const engine = engineOn(store);
  const client = '10.244.1.9';
  const first = engine.send(tcp(client, 1, '10.96.0.10', 80), POD, 0);
  t.true(first.steps.some((s) => s.where === 'ipvs/persistence' && s.decision.startsWith('new template')));
  for (let p = 2; p <= 5; p++) t.is(engine.send(tcp(client, p, '10.96.0.10', 80), POD, 0).endpoint, first.endpoint);
  t.not(engine.send(tcp('10.244.1.10', 1, '10.96.0.10', 80), POD, 0).endpoint, first.endpoint);

  // All of the client's connections are answered, then close at t=1 (TIME_WAIT until 121). The template fires at 60
  // (re-armed by the last use at t=0) and 120 while they live, and expires at 180.
  for (let p = 1; p <= 5; p++) {
    const sent = engine.send(tcp(client, p, '10.96.0.10', 80), POD, 0);
    engine.reply(replyTo(sent.packet), 0);
    engine.send(tcp(client, p, '10.96.0.10', 80), POD, 0);
    engine.close(tcp(client, p, '10.96.0.10', 80), 1);
  }
  const at150 = engine.send(tcp(client, 50, '10.96.0.10', 80), POD, 150);
  t.is(at150.endpoint, first.endpoint);
  t.true(at150.steps.some((s) => /re-armed/.test(s.decision)));
  engine.close(tcp(client, 50, '10.96.0.10', 80), 150);
  const later = engine.send(tcp(client, 51, '10.96.0.10', 80), POD, 150 + 60 + 121);
  t.true(later.steps.some((s) => s.decision.startsWith('new template')));
});

test('persistence switched off and on again: templates keep their own timers and pin their clients again', (t) => {
  const sticky = (timeoutSeconds: number) => ({
    sessionAffinity: 'ClientIP' as const,
    sessionAffinityConfig: { clientIP: { timeoutSeconds } },
  });
  const web = (extra: object) =>
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }], ...extra });
  const store = webStore('TCP', sticky(100));
  const engine = engineOn(store);
  const vip = '10.96.0.10';
  const pinned = engine.send(tcp('10.244.1.9', 1, vip, 80), POD, 0).endpoint;
  const other = engine.send(tcp('10.244.1.8', 1, vip, 80), POD, 0).endpoint;
  t.not(pinned, other);
  // ip_vs_edit_service changes the flags and timeout only; without persistence rr moves on from where it was.
  put(store, web({}));
  engine.sync(10);
  const unpinned = [2, 3, 4].map((p) => engine.send(tcp('10.244.1.9', p, vip, 80), POD, 10).endpoint);
  t.is(new Set(unpinned).size, 3, 'round robin without persistence');
  put(store, web(sticky(3600)));
  engine.sync(20);
  const again = engine.send(tcp('10.244.1.9', 5, vip, 80), POD, 20);
  t.is(again.endpoint, pinned, 'the template made at 0 is found again (it runs out at 100)');
  t.true(again.steps.some((s) => /^template 10\.244\.1\.9 -> .* re-armed to 100 s/.test(s.decision)));
  // The other client's template fired at 100 (its own timeout, not the new 3600) while its unanswered connection
  // lived (SYN_SENT until 120), so once more at 160, and went: that client is scheduled anew.
  const late = engine.send(tcp('10.244.1.8', 5, vip, 80), POD, 200);
  t.true(late.steps.some((s) => s.decision.startsWith('new template 10.244.1.8')));
});

test('a template pointing at a quiesced real server is invalidated (expire_quiescent_template=1)', (t) => {
  const store = webStore('TCP', {
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
  });
  const engine = engineOn(store);
  const v = engine.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 0);
  engine.reply(replyTo(v.packet), 0);
  engine.send(tcp('10.244.1.9', 1, '10.96.0.10', 80), POD, 0);
  const pinned = v.endpoint!;
  put(
    store,
    slice(
      'default',
      'web',
      EPS.filter((e) => `${e.ip}:80` !== pinned),
      [{ port: 80 }],
    ),
  );
  const next = engine.send(tcp('10.244.1.9', 2, '10.96.0.10', 80), POD, 5);
  t.not(next.endpoint, pinned);
  t.true(next.steps.some((s) => /invalidated \(weight 0, expire_quiescent_template=1\)/.test(s.decision)));
});

test('wlc reads the virtual server’s own connection counts', (t) => {
  const engine = engineOn(webStore(), { scheduler: 'wlc' });
  const picks: string[] = [];
  for (let p = 1; p <= 6; p++) {
    const v = engine.send(tcp('10.244.1.9', p, '10.96.0.10', 80), POD, 0);
    engine.reply(replyTo(v.packet), 0);
    engine.send(tcp('10.244.1.9', p, '10.96.0.10', 80), POD, 0);
    picks.push(v.endpoint!);
  }
  // Each new connection goes to the least loaded; ties keep list order (newest first: .7, .6, .5).
  t.deepEqual(picks, [
    '10.244.2.7:80',
    '10.244.2.6:80',
    '10.244.1.5:80',
    '10.244.2.7:80',
    '10.244.2.6:80',
    '10.244.1.5:80',
  ]);
  t.regex(engine.rules('IPv4'), /-> 10\.244\.1\.5:80 +Masq {4}1 {6}2 {10}0 /);
  const trace = engine
    .send(tcp('10.244.1.9', 99, '10.96.0.10', 80), POD, 0)
    .steps.filter((s) => s.where === 'ipvs/wlc');
  t.is(trace[0]!.decision, 'wlc: 10.244.2.7:80 overhead 2*256+0=512 weight 1');
});

test('per-node decisions: mh tables agree across nodes when real servers are added in the same order', (t) => {
  const store = webStore();
  const a = engineOn(store, { scheduler: 'mh' }, { addOrder: 'sorted' }, 'node-a');
  const b = engineOn(store, { scheduler: 'mh' }, { addOrder: 'sorted' }, 'node-b');
  for (let p = 1000; p < 1100; p++) {
    const pkt = tcp('10.244.1.9', p, '10.96.0.10', 80);
    t.is(a.send(pkt, POD, 0).endpoint, b.send(pkt, POD, 0).endpoint);
  }
});

test('connection counts follow conntrack: flushed or expired flows no longer count', (t) => {
  const engine = engineOn(webStore());
  for (let p = 1; p <= 3; p++) {
    const v = engine.send(tcp('10.244.1.9', p, '10.96.0.10', 80), POD, 0);
    engine.reply(replyTo(v.packet), 0);
    engine.send(tcp('10.244.1.9', p, '10.96.0.10', 80), POD, 0);
  }
  t.regex(engine.rules('IPv4'), /-> 10\.244\.2\.7:80 +Masq {4}1 {6}1 {10}0 /);
  engine.conntrack.flush();
  t.regex(engine.rules('IPv4'), /-> 10\.244\.2\.7:80 +Masq {4}1 {6}0 {10}0 /);
  const v = engine.send(tcp('10.244.1.9', 9, '10.96.0.10', 80), POD, 1); // SYN only: inactive until answered
  t.regex(engine.rules('IPv4'), new RegExp(`-> ${v.endpoint!.replaceAll('.', '\\.')} +Masq {4}1 {6}0 {10}1 `));
  engine.sync(1 + 121); // the unanswered SYN times out (tcp_timeout_syn_sent 120 s)
  t.false(/Masq {4}1 {6}\d+ {10}[1-9]/.test(engine.rules('IPv4')));
});

test('a TCP connection is active only once the client acknowledges the answer (SYN_RECV is inactive)', (t) => {
  const engine = engineOn(webStore());
  const flow = tcp('10.244.1.9', 1, '10.96.0.10', 80);
  const v = engine.send(flow, POD, 0);
  engine.reply(replyTo(v.packet), 0);
  const counts = () => {
    const d = engine.virtualServer('TCP', '10.96.0.10', 80)!.dest(v.endpoint!)!;
    engine.rules('IPv4');
    return [d.activeConns, d.inactConns];
  };
  t.deepEqual(counts(), [0, 1]);
  engine.send(flow, POD, 1);
  t.deepEqual(counts(), [1, 0]);
});

// Counting schedulers read counts conntrack keeps as connections change; at a new moment they walk every connection
// instead. Two engines fed the same packets, one all at one instant (kept counts) and one a microsecond apart each
// (a walk every time), choose the same real servers and list the same counts.
test('kept connection counts and a walk of every connection agree: same choices, same ipvsadm counts', (t) => {
  holds(
    t,
    fc.property(
      fc.constantFrom('lc', 'wlc', 'sed', 'nq'),
      fc.array(
        fc.record({
          op: fc.constantFrom('new', 'answer', 'close', 'reset'),
          port: fc.integer({ min: 1, max: 12 }),
        }),
        { maxLength: 60 },
      ),
      (scheduler, ops) => {
        const kept = engineOn(webStore(), { scheduler });
        const walked = engineOn(webStore(), { scheduler });
        let k = 0;
        for (const o of ops) {
          const at = ++k * 1e-6;
          const flow = tcp('10.244.1.9', o.port, '10.96.0.10', 80);
          for (const [engine, now] of [
            [kept, 0],
            [walked, at],
          ] as const) {
            if (o.op === 'new' || o.op === 'answer') {
              const v = engine.send(flow, POD, now);
              if (o.op === 'answer' && v.endpoint) {
                engine.reply(replyTo(v.packet), now);
                engine.send(flow, POD, now);
              }
            } else engine.conntrack.close(flow, now, o.op === 'reset' ? 'rst' : 'fin');
          }
          const a = kept.send(tcp('10.244.3.1', o.port, '10.96.0.10', 80), POD, 0).endpoint;
          const b = walked.send(tcp('10.244.3.1', o.port, '10.96.0.10', 80), POD, at).endpoint;
          if (a !== b) return false;
        }
        walked.sync(ops.length * 1e-6 + 1e-6);
        return kept.rules('IPv4') === walked.rules('IPv4');
      },
    ),
    { numRuns: 150 },
  );
});
