/**
 * `conntrack -L` lines of a table (src/proxy/conntrack-list.ts): one case per state a flow goes through, compared
 * with the whole line as conntrack-tools prints it (libnetfilter_conntrack snprintf_default.c), then the family
 * filter, expired entries, and the command as a user runs it after a script.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Conntrack } from '../../src/proxy/conntrack.js';
import { conntrackSummary, renderConntrackList } from '../../src/proxy/conntrack-list.js';
import type { Packet } from '../../src/proxy/packet.js';
import { cli } from '../cli/helpers.js';

const p = (proto: Packet['proto'], src: string, sport: number, dst: string, dport: number): Packet => ({
  proto,
  src: { ip: src, port: sport },
  dst: { ip: dst, port: dport },
});
const EP = { ip: '10.244.2.10', port: 8080 };
const out = (proto: Packet['proto']) => p(proto, '10.244.1.5', 40000, '10.96.0.10', 80);
const back = (proto: Packet['proto']) => p(proto, EP.ip, EP.port, '10.244.1.5', 40000);
const TUPLES = 'src=10.244.1.5 dst=10.96.0.10 sport=40000 dport=80';
const REPLY = 'src=10.244.2.10 dst=10.244.1.5 sport=8080 dport=40000';

/** One flow through `steps` (each at its time), listed at `at`. */
function listed(proto: Packet['proto'], steps: ((ct: Conntrack) => void)[], at: number): string[] {
  const ct = new Conntrack();
  ct.track(out(proto), { dnat: EP }, 0);
  for (const step of steps) step(ct);
  return renderConntrackList(ct.entries(), at);
}
const answer = (proto: Packet['proto'], now: number) => (ct: Conntrack) => ct.see(ct.lookup(back(proto), now)!, now);
const again = (proto: Packet['proto'], now: number) => (ct: Conntrack) => ct.see(ct.lookup(out(proto), now)!, now);

for (const [title, proto, steps, at, line] of [
  ['TCP SYN sent, unanswered', 'TCP', [], 1, `tcp      6 119 SYN_SENT ${TUPLES} [UNREPLIED] ${REPLY} mark=0 use=1`],
  ['TCP SYN-ACK seen', 'TCP', [answer('TCP', 1)], 1.5, `tcp      6 59 SYN_RECV ${TUPLES} ${REPLY} mark=0 use=1`],
  [
    'TCP established: assured, 86400 s as kube-proxy sets it',
    'TCP',
    [answer('TCP', 1), again('TCP', 2)],
    5,
    `tcp      6 86397 ESTABLISHED ${TUPLES} ${REPLY} [ASSURED] mark=0 use=1`,
  ],
  [
    'TCP closed both ways',
    'TCP',
    [answer('TCP', 1), again('TCP', 2), (ct: Conntrack) => ct.close(out('TCP'), 10)],
    10,
    `tcp      6 120 TIME_WAIT ${TUPLES} ${REPLY} [ASSURED] mark=0 use=1`,
  ],
  ['UDP unanswered', 'UDP', [], 1, `udp      17 29 ${TUPLES} [UNREPLIED] ${REPLY} mark=0 use=1`],
  [
    'UDP answered once: no state, not assured',
    'UDP',
    [answer('UDP', 1)],
    1,
    `udp      17 30 ${TUPLES} ${REPLY} mark=0 use=1`,
  ],
  ['SCTP unanswered', 'SCTP', [], 2, `sctp     132 8 CLOSED ${TUPLES} [UNREPLIED] ${REPLY} mark=0 use=1`],
  [
    'SCTP answered',
    'SCTP',
    [answer('SCTP', 1)],
    1,
    `sctp     132 210 ESTABLISHED ${TUPLES} ${REPLY} [ASSURED] mark=0 use=1`,
  ],
] as const) {
  test(`conntrack -L: ${title}`, (t) => {
    t.deepEqual(listed(proto, [...steps], at), [line]);
  });
}

test('conntrack -L: both families unless one is asked for; expired entries are not listed; creation order', (t) => {
  const ct = new Conntrack();
  ct.track(p('UDP', 'fd00:10:244:1::5', 5353, 'fd00:10:96::a', 53), { dnat: { ip: 'fd00:10:244:2::7', port: 53 } }, 0);
  ct.track(p('TCP', '10.244.1.5', 40001, '10.96.0.10', 80), { dnat: EP }, 0);
  ct.track(p('UDP', '10.244.1.5', 40002, '10.96.0.10', 53), { dnat: EP }, 0);
  const v6 =
    'udp      17 20 src=fd00:10:244:1::5 dst=fd00:10:96::a sport=5353 dport=53 [UNREPLIED] src=fd00:10:244:2::7 dst=fd00:10:244:1::5 sport=53 dport=5353 mark=0 use=1';
  const all = renderConntrackList(ct.entries(), 10);
  t.is(all.length, 3);
  t.is(all[0], v6);
  t.regex(all[1]!, /^tcp {6}6 110 SYN_SENT src=10\.244\.1\.5 /);
  t.deepEqual(renderConntrackList(ct.entries(), 10, 'IPv6'), [v6]);
  t.is(renderConntrackList(ct.entries(), 10, 'IPv4').length, 2);
  // At 30 s the unanswered UDP flows have timed out; the SYN_SENT flow has 90 s left.
  t.deepEqual(
    renderConntrackList(ct.entries(), 30).map((l) => l.slice(0, 20)),
    ['tcp      6 90 SYN_SE'],
  );
  // Decimal times: created at 0.4 s, listed at 14.4 s, a 30 s UDP flow has 16 s left (30.4 − 14.4 is 15.999… in floats).
  const late = new Conntrack();
  late.track(p('UDP', '10.244.1.5', 40003, '10.96.0.10', 53), { dnat: EP }, 0.4);
  t.regex(renderConntrackList(late.entries(), 14.4)[0]!, /^udp {6}17 16 /);
  t.is(conntrackSummary(2), 'conntrack v1.4.8 (conntrack-tools): 2 flow entries have been shown.');
});

test('rules --show conntrack after a script: the table as of the script end, every mode; the summary on stderr', async (t) => {
  const script = join(tmpdir(), `kube-netsim-ct-${process.pid}.yaml`);
  writeFileSync(
    script,
    [
      '- { src: "10.244.1.4:40000", dst: "web.shop:80", proto: tcp }',
      '- { src: "10.244.1.4:40000", dst: "web.shop:80", proto: tcp, reply: true }',
      '- { src: "10.244.1.4:40000", dst: "web.shop:80", proto: tcp }',
      '- { advance: 3 }',
      '',
    ].join('\n'),
  );
  for (const [mode, flows] of [
    ['iptables', 1],
    ['ipvs', 1],
    ['userspace', 2],
  ] as const) {
    const r = await cli(
      'rules',
      'fixtures/demo',
      '--node',
      'kube-netsim-worker',
      '--mode',
      mode,
      '--script',
      script,
      '--show',
      'conntrack',
    );
    t.is(r.code, 0, mode);
    const lines = r.stdout.trimEnd().split('\n');
    t.is(lines.length, flows, mode);
    t.regex(
      lines[0]!,
      /^tcp {6}6 86397 ESTABLISHED src=10\.244\.1\.4 dst=10\.96\.\d+\.\d+ sport=40000 dport=80 src=/,
      mode,
    );
    t.regex(lines[0]!, / \[ASSURED\] mark=0 use=1$/, mode);
    t.is(r.stderr, `${conntrackSummary(flows)}\n`, mode);
  }
});
