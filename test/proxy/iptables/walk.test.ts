/**
 * The packet walk: every traced rule is a rule of the rendered tables, the cost is the number of rules a kernel
 * evaluates (KUBE-SERVICES is a linear scan), established packets skip the rules, and ClientIP affinity lists are
 * shared by every entry point of a Service port.
 */
import test from 'ava';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import type { Origin } from '../../../src/proxy/packet.js';
import { Rng } from '../../../src/util/rng.js';
import { node, put, service, slice, storeWith, tableFor } from '../fixtures.js';
import { NODE, objects } from './upstream-overall.js';

const POD: Origin = { from: 'pod', pod: 'ns/c' };

function abc(): IptablesEngine {
  const objs = ['a', 'b', 'c'].flatMap((name, i) => [
    service('ns', name, { clusterIP: `172.30.0.${i + 1}`, ports: [{ port: 80 }] }),
    slice('ns', name, [`10.180.0.${i + 1}`], [{ port: 80 }]),
  ]);
  const table = tableFor(storeWith(node('n1', ['192.168.0.2']), ...objs), 'n1', { families: ['IPv4'] });
  return new IptablesEngine({ table, config: proxyConfig({ clusterCIDR: '10.0.0.0/8' }), rng: new Rng(1) });
}

test('cost grows with the position of the Service in KUBE-SERVICES', (t) => {
  const e = abc();
  const cost = (ip: string) =>
    e.send({ proto: 'TCP', src: { ip: '10.0.0.9', port: 1 }, dst: { ip, port: 80 } }, POD, 0).cost;
  const [a, b, c] = [cost('172.30.0.1'), cost('172.30.0.2'), cost('172.30.0.3')];
  t.is(b - a, 1);
  t.is(c - a, 2);
  const steps = e.send(
    { proto: 'TCP', src: { ip: '10.0.0.9', port: 2 }, dst: { ip: '172.30.0.3', port: 80 } },
    POD,
    0,
  ).steps;
  t.is(steps.find((s) => s.where === 'nat/KUBE-SERVICES')!.skipped, 2);
});

test('two Services on one external IP and port: the packet takes the rule KUBE-SERVICES lists first, whatever the order they came in', (t) => {
  const shared = (name: string, ep: string) => [
    service('ns', name, {
      clusterIP: name === 'a' ? '172.30.0.1' : '172.30.0.2',
      externalIPs: ['192.0.2.10'],
      ports: [{ port: 80 }],
    }),
    slice('ns', name, [ep], [{ port: 80 }]),
  ];
  const store = storeWith(node('n1', ['192.168.0.2']), ...shared('b', '10.180.0.2'));
  const e = new IptablesEngine({
    table: tableFor(store, 'n1', { families: ['IPv4'] }),
    config: proxyConfig({ clusterCIDR: '10.0.0.0/8' }),
    rng: new Rng(1),
  });
  const toExternal = (port: number) =>
    e.send({ proto: 'TCP', src: { ip: '10.0.0.9', port }, dst: { ip: '192.0.2.10', port: 80 } }, POD, 0);
  t.is(toExternal(1).service, 'ns/b');
  put(store, ...shared('a', '10.180.0.1')); // sorts before b: its rules come first in KUBE-SERVICES
  const rules = e
    .rules('IPv4')
    .split('\n')
    .filter((l) => l.startsWith('-A KUBE-SERVICES') && l.includes('192.0.2.10'));
  t.regex(rules[0]!, /ns\/a/);
  t.is(toExternal(2).service, 'ns/a');
  t.is(toExternal(2).endpoint, '10.180.0.1:80');
  put(store, ...shared('c', '10.180.0.3'));
  t.is(toExternal(3).service, 'ns/a');
});

test('a packet no Service matches scans all of KUBE-SERVICES', (t) => {
  const e = abc();
  const v = e.send({ proto: 'TCP', src: { ip: '10.0.0.9', port: 1 }, dst: { ip: '8.8.8.8', port: 80 } }, POD, 0);
  t.is(v.verdict, 'ACCEPT');
  t.is(v.steps.find((s) => s.where === 'nat/KUBE-SERVICES')!.skipped, 3);
});

test('established packets and replies traverse no rules', (t) => {
  const e = abc();
  const p = { proto: 'TCP' as const, src: { ip: '10.0.0.9', port: 1 }, dst: { ip: '172.30.0.1', port: 80 } };
  const first = e.send(p, POD, 0);
  t.true(first.cost > 0);
  const again = e.send(p, POD, 1);
  t.is(again.cost, 0);
  t.is(again.steps.length, 1);
  t.is(again.steps[0]!.where, 'conntrack');
  const later = e.send(p, POD, 2);
  t.deepEqual(JSON.parse(JSON.stringify(later)), JSON.parse(JSON.stringify(again)), 'every packet of the flow: same');
  t.deepEqual(later.packet, { proto: 'TCP', src: p.src, dst: first.packet.dst });
  const back = e.reply({ proto: 'TCP', src: first.packet.dst, dst: first.packet.src }, 3);
  t.is(back.cost, 0);
  t.deepEqual(back.packet, { proto: 'TCP', src: p.dst, dst: p.src });
});

test('every traced rule is a line of the rendered tables', (t) => {
  const table = tableFor(storeWith(...objects), NODE, { families: ['IPv4'] });
  const e = new IptablesEngine({ table, config: proxyConfig({ clusterCIDR: '10.0.0.0/8' }), rng: new Rng(9) });
  const lines = new Set(e.rules('IPv4', { builtin: true }).split('\n'));
  const sources: [string, Origin][] = [
    ['10.0.0.2', POD],
    ['192.168.0.2', { from: 'node' }],
    ['203.0.113.2', { from: 'external' }],
    ['203.0.113.130', { from: 'external' }],
    ['127.0.0.1', { from: 'node' }],
  ];
  const dests = [
    ['172.30.0.41', 80],
    ['172.30.0.42', 80],
    ['192.168.99.22', 80],
    ['1.2.3.4', 80],
    ['192.168.0.2', 3001],
    ['127.0.0.1', 3003],
    ['5.6.7.8', 80],
    ['172.30.0.46', 80],
    ['192.168.0.2', 30000],
  ] as const;
  let port = 1000;
  for (const [src, origin] of sources)
    for (const [ip, dport] of dests) {
      const v = e.send({ proto: 'TCP', src: { ip: src, port: port++ }, dst: { ip, port: dport } }, origin, 0);
      for (const s of v.steps)
        if (s.rule.startsWith('-A ')) t.true(lines.has(s.rule), `${src} → ${ip}:${dport}: ${s.rule}`);
    }
});

test('ClientIP affinity is shared by the ClusterIP and NodePort paths of a Service port', (t) => {
  const table = tableFor(
    storeWith(
      node('n1', ['192.168.0.2']),
      service('ns', 's', {
        type: 'NodePort',
        clusterIP: '172.30.0.9',
        ports: [{ port: 80, nodePort: 30009 }],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 100 } },
      }),
      slice('ns', 's', ['10.180.0.1', '10.180.0.2', '10.180.0.3', '10.180.0.4'], [{ port: 80 }]),
    ),
    'n1',
    { families: ['IPv4'] },
  );
  const e = new IptablesEngine({ table, config: proxyConfig({ clusterCIDR: '10.0.0.0/8' }), rng: new Rng(4) });
  const first = e.send(
    { proto: 'TCP', src: { ip: '203.0.113.7', port: 1 }, dst: { ip: '172.30.0.9', port: 80 } },
    { from: 'external' },
    0,
  );
  for (let i = 2; i < 20; i++) {
    const v = e.send(
      { proto: 'TCP', src: { ip: '203.0.113.7', port: i }, dst: { ip: '192.168.0.2', port: 30009 } },
      { from: 'external' },
      i,
    );
    t.is(v.endpoint, first.endpoint);
    t.true(v.steps.some((s) => s.rule.includes('--rcheck') && s.decision.includes('ClientIP affinity')));
  }
});

test('two Services on one NodePort: the walk takes the first in KUBE-NODEPORTS order, whichever changed last', (t) => {
  // Admission rejects a duplicate NodePort; a raw store does not, and the walk must still follow the rendered chain.
  const store = storeWith(
    node('n1', ['192.168.0.2']),
    service('ns', 'a', { clusterIP: '10.96.0.1', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
    service('ns', 'b', { clusterIP: '10.96.0.2', type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }] }),
    slice('ns', 'a', ['10.1.1.1'], [{ port: 80 }]),
    slice('ns', 'b', ['10.1.2.1'], [{ port: 80 }]),
  );
  const engine = new IptablesEngine({
    table: tableFor(store, 'n1', { families: ['IPv4'] }),
    config: proxyConfig({}),
    rng: new Rng(1),
  });
  const firstRule = () =>
    engine
      .rules('IPv4')
      .split('\n')
      .find((l) => l.startsWith('-A KUBE-NODEPORTS') && l.includes('--dport 30080') && !l.includes('127.0.0.0/8'));
  let port = 40000;
  const winner = () =>
    engine.send(
      { proto: 'TCP', src: { ip: '203.0.113.9', port: port++ }, dst: { ip: '192.168.0.2', port: 30080 } },
      { from: 'external' },
      0,
    ).service;
  t.regex(firstRule()!, /ns\/a/);
  t.is(winner(), 'ns/a');
  put(store, slice('ns', 'a', ['10.1.1.2'], [{ port: 80 }]));
  t.regex(firstRule()!, /ns\/a/);
  t.is(winner(), 'ns/a', 'an update of ns/a does not move its rule after ns/b');
});
