/**
 * `ipvsadm -Ln` rendering: expected listings written as ipvsadm prints them (trailing padding included, shown with
 * explicit spaces so editors cannot strip it).
 */
import test from 'ava';
import { destLine, type IpvsadmService, renderIpvsadm, serviceLine } from '../../../src/proxy/ipvs/render.js';
import { SvcFlags } from '../../../src/proxy/ipvs/schedulers/index.js';

const HEADER = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
];

function svc(p: Partial<IpvsadmService> & Pick<IpvsadmService, 'addr' | 'port'>): IpvsadmService {
  return { proto: 'TCP', scheduler: 'rr', flags: 0, timeout: 0, dests: [], ...p };
}

test('a kube-proxy listing: header, sorted services, padded real-server columns', (t) => {
  const out = renderIpvsadm([
    svc({
      proto: 'UDP',
      addr: '10.96.0.10',
      port: 53,
      dests: [{ addr: '10.244.1.5', port: 53, weight: 1, activeConns: 0, inactConns: 3 }],
    }),
    svc({
      addr: '10.96.0.10',
      port: 53,
      dests: [
        { addr: '10.244.2.7', port: 53, weight: 1, activeConns: 2, inactConns: 0 },
        { addr: '10.244.1.5', port: 53, weight: 1, activeConns: 0, inactConns: 0 },
      ],
    }),
    svc({
      addr: '10.96.0.1',
      port: 443,
      flags: SvcFlags.PERSISTENT,
      timeout: 10800,
      dests: [{ addr: '172.18.0.2', port: 6443, weight: 1, activeConns: 1, inactConns: 0 }],
    }),
  ]);
  t.is(
    out,
    [
      ...HEADER,
      'TCP  10.96.0.1:443 rr persistent 10800',
      `  -> 172.18.0.2:6443              Masq    1      1          0${' '.repeat(9)}`,
      'TCP  10.96.0.10:53 rr',
      `  -> 10.244.1.5:53                Masq    1      0          0${' '.repeat(9)}`,
      `  -> 10.244.2.7:53                Masq    1      2          0${' '.repeat(9)}`,
      'UDP  10.96.0.10:53 rr',
      `  -> 10.244.1.5:53                Masq    1      0          3${' '.repeat(9)}`,
      '',
    ].join('\n'),
  );
});

test('an empty table is just the header', (t) => {
  t.is(renderIpvsadm([]), `${HEADER.join('\n')}\n`);
});

test('a virtual server with no real servers prints only its service line', (t) => {
  t.is(renderIpvsadm([svc({ addr: '10.96.5.5', port: 80 })]), `${[...HEADER, 'TCP  10.96.5.5:80 rr'].join('\n')}\n`);
});

test('scheduler flags: mh shows mh-port as kube-proxy sets it; other schedulers show flag-N', (t) => {
  t.is(
    serviceLine(svc({ addr: '10.96.0.1', port: 80, scheduler: 'mh', flags: SvcFlags.SCHED2 })),
    'TCP  10.96.0.1:80 mh (mh-port)',
  );
  t.is(
    serviceLine(svc({ addr: '10.96.0.1', port: 80, scheduler: 'sh', flags: SvcFlags.SCHED1 | SvcFlags.SCHED2 })),
    'TCP  10.96.0.1:80 sh (sh-fallback,sh-port)',
  );
  t.is(
    serviceLine(svc({ addr: '10.96.0.1', port: 80, scheduler: 'rr', flags: SvcFlags.SCHED3 })),
    'TCP  10.96.0.1:80 rr (flag-3)',
  );
  t.is(
    serviceLine(
      svc({ addr: '10.96.0.1', port: 80, scheduler: 'mh', flags: SvcFlags.SCHED2 | SvcFlags.PERSISTENT, timeout: 60 }),
    ),
    'TCP  10.96.0.1:80 mh (mh-port) persistent 60',
  );
  t.is(
    serviceLine(svc({ addr: '10.96.0.1', port: 80, flags: SvcFlags.PERSISTENT, timeout: 300, netmaskPrefix: 24 })),
    'TCP  10.96.0.1:80 rr persistent 300 mask 255.255.255.0',
  );
});

test('SCTP uses the full protocol column; IPv6 is bracketed and not cut', (t) => {
  t.is(serviceLine(svc({ proto: 'SCTP', addr: '10.96.0.9', port: 9000 })), 'SCTP 10.96.0.9:9000 rr');
  t.is(serviceLine(svc({ addr: 'fd00:10:96::a', port: 53 })), 'TCP  [fd00:10:96::a]:53 rr');
  t.is(
    destLine({ addr: 'fd00:10:244:1:2:3:4:5', port: 8080, weight: 0, activeConns: 12, inactConns: 345 }),
    `  -> [fd00:10:244:1:2:3:4:5]:8080 Masq    0      12         345${' '.repeat(7)}`,
  );
});

test('IPv4 services sort before IPv6, then by protocol number, address and port', (t) => {
  const out = renderIpvsadm(
    [
      svc({ addr: 'fd00::1', port: 80 }),
      svc({ proto: 'SCTP', addr: '10.0.0.1', port: 1 }),
      svc({ proto: 'UDP', addr: '10.0.0.1', port: 1 }),
      svc({ addr: '10.0.0.2', port: 80 }),
      svc({ addr: '10.0.0.2', port: 79 }),
    ],
    { trimTrailingSpace: true },
  );
  t.deepEqual(out.split('\n').slice(3, -1), [
    'TCP  10.0.0.2:79 rr',
    'TCP  10.0.0.2:80 rr',
    'UDP  10.0.0.1:1 rr',
    'SCTP 10.0.0.1:1 rr',
    'TCP  [fd00::1]:80 rr',
  ]);
});

test("address comparison is C's wrapped int difference", (t) => {
  // 200.0.0.1 - 1.0.0.1 = 0xC7000000 which is negative as an int: ipvsadm lists 200.x first.
  const out = renderIpvsadm([svc({ addr: '1.0.0.1', port: 80 }), svc({ addr: '200.0.0.1', port: 80 })]);
  t.deepEqual(out.split('\n').slice(3, 5), ['TCP  200.0.0.1:80 rr', 'TCP  1.0.0.1:80 rr']);
});

test('--nosort keeps the given order', (t) => {
  const out = renderIpvsadm([svc({ addr: '10.0.0.9', port: 1 }), svc({ addr: '10.0.0.1', port: 1 })], { sort: false });
  t.deepEqual(out.split('\n').slice(3, 5), ['TCP  10.0.0.9:1 rr', 'TCP  10.0.0.1:1 rr']);
});
