/** Conntrack: tuples both ways, NAT, states, Linux/kube-proxy timeouts, SNAT port clashes, per-endpoint counts. */
import test from 'ava';
import { Conntrack, DEFAULT_CONNTRACK_TIMEOUTS, natPacket } from '../../src/proxy/conntrack.js';
import type { Packet } from '../../src/proxy/packet.js';

const p = (proto: 'TCP' | 'UDP' | 'SCTP', src: string, sport: number, dst: string, dport: number): Packet => ({
  proto,
  src: { ip: src, port: sport },
  dst: { ip: dst, port: dport },
});
const EP = { ip: '10.244.2.10', port: 8080 };

test('defaults: the kernel, except the two timeouts kube-proxy sets', (t) => {
  t.like(DEFAULT_CONNTRACK_TIMEOUTS, {
    tcpEstablished: 86400,
    tcpCloseWait: 3600,
    tcpSynSent: 120,
    tcpTimeWait: 120,
    tcpClose: 10,
    udp: 30,
    udpStream: 120,
    sctpEstablished: 210,
  });
});

test('a flow is found from both directions and rewritten consistently', (t) => {
  const ct = new Conntrack();
  const out = p('TCP', '10.244.1.5', 40000, '10.96.0.10', 80);
  const e = ct.track(out, { dnat: EP, snatIp: '192.168.0.2', service: 'ns/web:http' }, 0);
  t.is(e.endpoint, '10.244.2.10:8080');
  t.deepEqual([e.replySrc, e.replyDst], [EP, { ip: '192.168.0.2', port: 40000 }]);
  const fwd = ct.lookup(out, 1)!;
  t.is(fwd.direction, 'original');
  t.deepEqual(natPacket(fwd.entry, fwd.direction, out), p('TCP', '192.168.0.2', 40000, '10.244.2.10', 8080));
  const back = p('TCP', '10.244.2.10', 8080, '192.168.0.2', 40000);
  const rev = ct.lookup(back, 1)!;
  t.is(rev.direction, 'reply');
  t.deepEqual(natPacket(rev.entry, rev.direction, back), p('TCP', '10.96.0.10', 80, '10.244.1.5', 40000));
});

test('TCP: SYN_SENT until answered, SYN_RECV (60 s) until the client acknowledges, then ESTABLISHED with 86400 s; closing runs the close timers', (t) => {
  const ct = new Conntrack();
  const out = p('TCP', '10.0.0.1', 1, '10.96.0.1', 80);
  const e = ct.track(out, { dnat: EP }, 0);
  t.is(e.state, 'NEW');
  t.is(e.timeout, 'nf_conntrack_tcp_timeout_syn_sent');
  t.is(e.expires, 120);
  ct.see(ct.lookup(p('TCP', EP.ip, EP.port, '10.0.0.1', 1), 1)!, 1);
  t.is(e.state, 'ESTABLISHED', 'ctstate ESTABLISHED from the first reply');
  t.is(e.timeout, 'nf_conntrack_tcp_timeout_syn_recv');
  t.is(e.expires, 1 + 60);
  t.false(e.assured, 'not assured before the handshake completes');
  ct.see(ct.lookup(out, 2)!, 2);
  t.is(e.timeout, 'nf_conntrack_tcp_timeout_established');
  t.is(e.expires, 2 + 86400);
  t.true(e.assured, 'the ACK after SYN_RECV assures the flow');
  t.true(ct.close(out, 10));
  t.is(e.state, 'CLOSING');
  t.is(e.timeout, 'nf_conntrack_tcp_timeout_time_wait');
  t.is(e.expires, 130);
  t.is(ct.lookup(out, 130), undefined, 'expired at the deadline');
  t.is(ct.size, 0);
});

test('close kinds: half close waits 3600 s (kube-proxy), reset 10 s; a reset as the only reply deletes the entry', (t) => {
  for (const [kind, timeout] of [
    ['half', 3600],
    ['rst', 10],
  ] as const) {
    const ct = new Conntrack();
    const out = p('TCP', '10.0.0.1', 1, '10.96.0.1', 80);
    const e = ct.track(out, {}, 0);
    ct.see(ct.lookup(p('TCP', '10.96.0.1', 80, '10.0.0.1', 1), 1)!, 1);
    ct.close(out, 5, kind);
    t.is(e.expires, 5 + timeout, kind);
  }
  const ct = new Conntrack();
  const out = p('TCP', '10.0.0.1', 1, '10.96.0.1', 80);
  ct.track(out, {}, 0);
  t.true(ct.close(out, 1, 'rst'));
  t.is(ct.size, 0, 'unanswered, then reset: gone at once, so the retried SYN is a new flow');
  const unanswered = ct.track(out, {}, 2);
  t.false(ct.close(out, 3), 'a FIN in SYN_SENT closes nothing');
  t.deepEqual([unanswered.state, unanswered.expires, unanswered.lastSeen], ['NEW', 122, 2]);
});

test('after a reset (CLOSE, 10 s) a server packet renews the timer, as in TIME_WAIT', (t) => {
  const ct = new Conntrack();
  const out = p('TCP', '10.0.0.1', 1, '10.96.0.1', 80);
  const back = p('TCP', '10.96.0.1', 80, '10.0.0.1', 1);
  const e = ct.track(out, {}, 0);
  ct.see(ct.lookup(back, 1)!, 1);
  ct.close(out, 5, 'rst');
  t.is(e.expires, 15);
  ct.see(ct.closing(() => ct.lookup(back, 8))!, 8);
  t.deepEqual([e.timeout, e.expires], ['nf_conntrack_tcp_timeout_close', 18]);
});

test('a closing packet never reopens a tuple: lookup() and closing() see the entry, only a SYN (lookupEntry) reopens', (t) => {
  const ct = new Conntrack();
  const out = p('TCP', '10.0.0.1', 1, '10.96.0.1', 80);
  const e = ct.track(out, {}, 0);
  ct.see(ct.lookup(p('TCP', '10.96.0.1', 80, '10.0.0.1', 1), 1)!, 1);
  ct.close(out, 2);
  t.is(ct.lookup(out, 3)?.entry, e, 'a retransmitted FIN in TIME_WAIT');
  t.is(
    ct.closing(() => ct.lookupEntry(out, 3)),
    e,
  );
  t.true(ct.close(out, 3));
  t.is(ct.lookupEntry(out, 4), undefined, 'a SYN reopens');
});

test('a reset after a half close reopens the tuple (a FIN was seen)', (t) => {
  const ct = new Conntrack();
  const out = p('TCP', '10.0.0.1', 1, '10.96.0.1', 80);
  const back = p('TCP', '10.96.0.1', 80, '10.0.0.1', 1);
  ct.track(out, {}, 0);
  ct.see(ct.lookup(back, 1)!, 1);
  ct.close(out, 2, 'half');
  ct.close(back, 3, 'rst');
  t.is(ct.lookupEntry(out, 4), undefined);
});

test('after a reset, only the side that sent it reopens the tuple with its next SYN', (t) => {
  for (const [who, reopens] of [
    ['client', true],
    ['server', false],
  ] as const) {
    const ct = new Conntrack();
    const out = p('TCP', '10.0.0.1', 1, '10.96.0.1', 80);
    const back = p('TCP', '10.96.0.1', 80, '10.0.0.1', 1);
    const e = ct.track(out, {}, 0);
    ct.see(ct.lookup(back, 1)!, 1);
    ct.close(who === 'client' ? out : back, 5, 'rst');
    t.is(ct.lookupEntry(out, 6) === undefined, reopens, who);
    t.is(e.live, !reopens, who);
  }
});

// nf_conntrack_tcp_packet / nf_conntrack_udp_packet / the SCTP state table, one row per rule the model follows.
const timerCases: {
  title: string;
  proto: 'TCP' | 'UDP' | 'SCTP';
  /** Packets after the first (at t=0): o = client, r = reply, c = close (fin), h = half close. */
  steps: [number, 'o' | 'r' | 'c' | 'h'][];
  /** When the entry expires after the last step, or null when a client packet at the last step reopened it. */
  expires: number | null;
}[] = [
  {
    title: 'TCP: an unanswered SYN retransmit does not renew SYN_SENT',
    proto: 'TCP',
    steps: [[100, 'o']],
    expires: 120,
  },
  {
    title: 'TCP: a FIN before any answer is invalid in SYN_SENT: no state change, no renewal',
    proto: 'TCP',
    steps: [[50, 'c']],
    expires: 120,
  },
  {
    title: 'TCP: a half close before any answer is invalid too',
    proto: 'TCP',
    steps: [[50, 'h']],
    expires: 120,
  },
  {
    title: 'TCP: answered, every packet renews ESTABLISHED',
    proto: 'TCP',
    steps: [
      [1, 'r'],
      [50, 'o'],
    ],
    expires: 50 + 86400,
  },
  {
    title: 'TCP: once ESTABLISHED, a later client packet renews it',
    proto: 'TCP',
    steps: [
      [1, 'r'],
      [2, 'o'],
      [500, 'o'],
    ],
    expires: 500 + 86400,
  },
  {
    title: 'TCP: once ESTABLISHED, a later server packet renews it',
    proto: 'TCP',
    steps: [
      [1, 'r'],
      [2, 'o'],
      [700, 'r'],
    ],
    expires: 700 + 86400,
  },
  {
    title:
      'TCP: answered but never acknowledged, SYN_RECV runs out 60 s after the answer (a retransmitted SYN-ACK is ignored)',
    proto: 'TCP',
    steps: [
      [1, 'r'],
      [30, 'r'],
    ],
    expires: 61,
  },
  {
    title: 'TCP: CLOSE_WAIT is renewed by packets',
    proto: 'TCP',
    steps: [
      [1, 'r'],
      [10, 'h'],
      [3000, 'o'],
    ],
    expires: 6600,
  },
  {
    title: "TCP: TIME_WAIT is renewed by the server's packets",
    proto: 'TCP',
    steps: [
      [1, 'r'],
      [10, 'c'],
      [100, 'r'],
    ],
    expires: 220,
  },
  {
    title: 'TCP: a client packet in TIME_WAIT reopens the tuple',
    proto: 'TCP',
    steps: [
      [1, 'r'],
      [10, 'c'],
      [100, 'o'],
    ],
    expires: null,
  },
  { title: 'UDP: unreplied, every client packet renews 30 s', proto: 'UDP', steps: [[20, 'o']], expires: 50 },
  { title: 'UDP: the first reply still gets 30 s, even after 2 s', proto: 'UDP', steps: [[3, 'r']], expires: 33 },
  {
    title: 'UDP: replied, a packet more than 2 s in makes a stream (120 s)',
    proto: 'UDP',
    steps: [
      [1, 'r'],
      [3, 'o'],
    ],
    expires: 123,
  },
  {
    title: 'UDP: a packet exactly 2 s in is not yet a stream',
    proto: 'UDP',
    steps: [
      [1, 'r'],
      [2, 'o'],
    ],
    expires: 32,
  },
  {
    title: 'SCTP: an INIT waits in CLOSED for 10 s; a retransmit does not renew it',
    proto: 'SCTP',
    steps: [[5, 'o']],
    expires: 10,
  },
  { title: 'SCTP: answered, ESTABLISHED for 210 s', proto: 'SCTP', steps: [[1, 'r']], expires: 211 },
  {
    title: 'SCTP: after a shutdown, CLOSED for 10 s, not renewed by a new INIT',
    proto: 'SCTP',
    steps: [
      [1, 'r'],
      [4, 'c'],
      [8, 'o'],
    ],
    expires: 14,
  },
];

for (const c of timerCases) {
  test(c.title, (t) => {
    const ct = new Conntrack();
    const out = p(c.proto, '10.0.0.1', 1, '10.96.0.1', 80);
    const back = p(c.proto, '10.96.0.1', 80, '10.0.0.1', 1);
    const e = ct.track(out, {}, 0);
    let reopened = false;
    for (const [at, what] of c.steps) {
      if (what === 'c' || what === 'h') ct.close(out, at, what === 'c' ? 'fin' : 'half');
      else {
        // A packet as engines look it up (lookupEntry: a client packet on a closed tuple is a SYN).
        const entry = ct.lookupEntry(what === 'o' ? out : back, at);
        if (entry) ct.seeEntry(entry, ct.lastDirection, at);
        else reopened = true;
      }
    }
    if (c.expires === null) {
      t.true(reopened);
      t.false(e.live);
    } else {
      t.false(reopened);
      t.is(e.expires, c.expires);
    }
  });
}

test('UDP: 30 s unreplied; a stream (replied, still active after 2 s) gets 120 s', (t) => {
  const ct = new Conntrack();
  const out = p('UDP', '10.0.0.1', 5000, '10.96.0.10', 53);
  const e = ct.track(out, { dnat: EP }, 0);
  t.is(e.expires, 30);
  ct.see(ct.lookup(p('UDP', EP.ip, EP.port, '10.0.0.1', 5000), 0.5)!, 0.5);
  t.is(e.expires, 30.5, 'replied, but within the first 2 s: still the short timeout');
  ct.see(ct.lookup(out, 3)!, 3);
  t.true(e.seenReply);
  t.true(e.assured);
  t.is(e.timeout, 'nf_conntrack_udp_timeout_stream');
  t.is(e.expires, 123);
  t.false(ct.close(out, 4) && e.state === 'CLOSING', 'UDP has no close');
});

test('configurable timeouts', (t) => {
  const ct = new Conntrack({ udp: 5 });
  const e = ct.track(p('UDP', '10.0.0.1', 1, '10.0.0.2', 2), {}, 0);
  t.is(e.expires, 5);
  t.is(ct.timeouts.tcpEstablished, 86400);
});

test('MASQUERADE keeps the source port unless the reply tuple is taken', (t) => {
  const ct = new Conntrack();
  const a = ct.track(p('TCP', '10.0.0.1', 40000, '10.96.0.10', 80), { dnat: EP, snatIp: '192.168.0.2' }, 0);
  const b = ct.track(p('TCP', '10.0.0.2', 40000, '10.96.0.10', 80), { dnat: EP, snatIp: '192.168.0.2' }, 0);
  t.is(a.snat!.port, 40000);
  t.not(b.snat!.port, 40000, 'same endpoint, same node address, same port: the second flow moves');
  const back = ct.lookup(p('TCP', EP.ip, EP.port, '192.168.0.2', b.snat!.port), 1)!;
  t.is(back.entry, b);
});

test('per-endpoint counts: active = TCP ESTABLISHED, inactive = the rest; expiry updates them', (t) => {
  const ct = new Conntrack();
  const f1 = p('TCP', '10.0.0.1', 1, '10.96.0.1', 80);
  ct.track(f1, { dnat: EP }, 0);
  ct.track(p('UDP', '10.0.0.1', 2, '10.96.0.1', 53), { dnat: EP }, 0);
  t.deepEqual(ct.connectionsOf('10.244.2.10:8080', 0), { active: 0, inactive: 2 });
  ct.see(ct.lookup(p('TCP', EP.ip, EP.port, '10.0.0.1', 1), 1)!, 1);
  t.deepEqual(ct.connectionsOf('10.244.2.10:8080', 1), { active: 0, inactive: 2 }, 'SYN_RECV is not active yet');
  ct.see(ct.lookup(f1, 1.5)!, 1.5);
  t.deepEqual(ct.connectionsOf('10.244.2.10:8080', 1.5), { active: 1, inactive: 1 });
  ct.close(f1, 2);
  t.deepEqual(ct.connectionsOf('10.244.2.10:8080', 2), { active: 0, inactive: 2 });
  t.deepEqual(ct.connectionsOf('10.244.2.10:8080', 200), { active: 0, inactive: 0 });
  t.is(ct.endpointConnections(200).size, 0);
});

test('expire sweeps only what has timed out', (t) => {
  const ct = new Conntrack();
  ct.track(p('UDP', '10.0.0.1', 1, '10.0.0.2', 2), {}, 0);
  ct.track(p('TCP', '10.0.0.1', 1, '10.0.0.2', 2), {}, 0);
  t.is(ct.expire(29), 0);
  t.is(ct.expire(30), 1);
  t.is(ct.size, 1);
  t.is(ct.expire(31), 0);
});

test('UDP indexes by original destination and by port', (t) => {
  const ct = new Conntrack();
  const e = ct.track(p('UDP', '10.0.0.1', 1, '10.96.0.10', 53), { dnat: EP }, 0);
  ct.track(p('TCP', '10.0.0.1', 1, '10.96.0.10', 53), { dnat: EP }, 0);
  t.deepEqual(ct.udpEntriesTo('10.96.0.10', 53), [e]);
  t.deepEqual(ct.udpEntriesToPort(53), [e]);
  ct.delete(e);
  t.deepEqual(ct.udpEntriesTo('10.96.0.10', 53), []);
});

test('an entry says whether it is still in the table: deleted, expired (found or swept) and flushed entries are not', (t) => {
  const ct = new Conntrack();
  const flows = [1, 2, 3, 4].map((port) => p('UDP', '10.0.0.1', port, '10.96.0.10', 53));
  const [deleted, found, swept, flushed] = flows.map((f) => ct.track(f, { dnat: EP }, 0));
  t.true([deleted, found, swept, flushed].every((e) => e!.live));
  ct.delete(deleted!);
  t.false(deleted!.live);
  ct.see(ct.lookup(flows[3]!, 10)!, 10); // keeps the flushed one alive past the others' timeout
  t.is(ct.lookup(flows[1]!, 30), undefined, 'expired at 30 s (udp timeout)');
  t.false(found!.live);
  t.is(ct.expire(30), 1);
  t.false(swept!.live);
  t.true(flushed!.live);
  ct.flush();
  t.false(flushed!.live);
});

test('IPS_ASSURED: SCTP once answered; a handshake done in one step (a proxy socket) assures TCP at once', (t) => {
  const ct = new Conntrack();
  const sctp = ct.track(p('SCTP', '10.0.0.1', 1, '10.96.0.1', 80), {}, 0);
  t.false(sctp.assured);
  ct.see(ct.lookup(p('SCTP', '10.96.0.1', 80, '10.0.0.1', 1), 1)!, 1);
  t.true(sctp.assured);
  const tcp = ct.track(p('TCP', '10.0.0.2', 1, '10.96.0.1', 80), {}, 0);
  ct.handshakeDone(tcp, 0);
  t.deepEqual([tcp.state, tcp.assured], ['ESTABLISHED', true]);
  const udp = ct.track(p('UDP', '10.0.0.3', 1, '10.96.0.1', 53), {}, 0);
  ct.see(ct.lookup(p('UDP', '10.96.0.1', 53, '10.0.0.3', 1), 1)!, 1);
  t.false(udp.assured, 'UDP: replied is not yet a stream');
});
