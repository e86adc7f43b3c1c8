/**
 * The rule programs live in one arena per rule set (program-arena.ts): a recompiled Service's old program is left
 * as garbage and the arena is compacted once garbage outweighs the live rules. Churn must not show in any walk: after
 * many endpoint changes (several compactions), an engine walks every flow exactly as one built fresh on the final
 * state does, and the arena holds a bounded multiple of the live rules.
 */
import test from 'ava';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import type { NatProgram } from '../../../src/proxy/iptables/program.js';
import { ProgramArena } from '../../../src/proxy/iptables/program-arena.js';
import { T_DNAT, T_JUMP } from '../../../src/proxy/iptables/rule-types.js';
import type { Origin } from '../../../src/proxy/packet.js';
import { Rng } from '../../../src/util/rng.js';
import { node, put, remove, service, slice, storeWith, tableFor } from '../fixtures.js';

const NODE_IP = '192.168.0.2';
const SERVICES = 40;
const POD: Origin = { from: 'pod', pod: 'ns/client' };
const EXTERNAL: Origin = { from: 'external' };

function svc(i: number) {
  return service('ns', `s${i}`, {
    clusterIP: `172.30.0.${i + 1}`,
    type: i % 4 === 0 ? 'NodePort' : 'ClusterIP',
    ports: [{ port: 80, ...(i % 4 === 0 ? { nodePort: 30000 + i } : {}) }],
    sessionAffinity: i % 5 === 0 ? 'ClientIP' : 'None',
  });
}

function endpoints(i: number, rng: Rng) {
  const count = 1 + rng.int(6);
  return slice(
    'ns',
    `s${i}`,
    Array.from({ length: count }, (_, j) => ({ ip: `10.1.${i}.${1 + ((j * 7 + rng.int(200)) % 250)}`, node: 'n1' })),
    [{ port: 80 }],
  );
}

function engineOn(store: ReturnType<typeof storeWith>, rng = new Rng(9)) {
  const table = tableFor(store, 'n1', { families: ['IPv4'] });
  return new IptablesEngine({ table, config: proxyConfig({ clusterCIDR: '10.0.0.0/8' }), rng });
}

/** Back to a new engine's state: no flows, no affinity records, the random stream from its seed. */
function reset(engine: IptablesEngine, rng: Rng): void {
  engine.conntrack.flush();
  for (const list of engine.recent.names()) engine.recent.drop(list);
  rng.restore(new Rng(9));
}

/** An engine built on a copy of the store's current objects (no history). */
function freshOn(store: ReturnType<typeof storeWith>) {
  return engineOn(storeWith(...store.list('Node'), ...store.list('Service'), ...store.list('EndpointSlice')));
}

function walkAll(engine: IptablesEngine): string[] {
  const out: string[] = [];
  for (let i = 0; i < SERVICES; i++)
    for (let k = 0; k < 12; k++) {
      const clusterIP = engine.send(
        { proto: 'TCP', src: { ip: `10.2.0.${k + 1}`, port: 5000 + i }, dst: { ip: `172.30.0.${i + 1}`, port: 80 } },
        POD,
        k,
      );
      out.push(`${i}/${k} ${clusterIP.verdict} ${clusterIP.endpoint} ${clusterIP.snat} ${clusterIP.cost}`);
      if (i % 4 !== 0) continue;
      const nodePort = engine.send(
        { proto: 'TCP', src: { ip: `203.0.113.${k + 1}`, port: 6000 + i }, dst: { ip: NODE_IP, port: 30000 + i } },
        EXTERNAL,
        k,
      );
      out.push(`${i}/${k} np ${nodePort.verdict} ${nodePort.endpoint} ${nodePort.snat} ${nodePort.cost}`);
    }
  return out;
}

test('after churn through several compactions, every walk equals a fresh engine’s on the final state', (t) => {
  const changes = new Rng(4);
  const objects: Parameters<typeof storeWith> = [node('n1', [NODE_IP])];
  for (let i = 0; i < SERVICES; i++) objects.push(svc(i), endpoints(i, changes));
  const store = storeWith(...objects);
  const rng = new Rng(9);
  const churned = engineOn(store, rng);
  const arena = churned.ruleset('IPv4').arena;
  let most = 0;
  let compactions = 0;
  for (let change = 0; change < 1500; change++) {
    const before = arena.placed;
    const i = changes.int(SERVICES);
    if (change % 97 === 0) {
      remove(store, svc(i));
      put(store, svc(i));
    }
    put(store, endpoints(i, changes));
    most = Math.max(most, arena.placed);
    if (arena.placed < before) {
      compactions++;
      // Right after a compaction, most Services' jumps were moved, not recompiled: walk them all.
      reset(churned, rng);
      t.deepEqual(walkAll(churned), walkAll(freshOn(store)), `after compaction ${compactions}`);
    }
  }
  t.true(compactions >= 2, `${compactions} compactions`);
  const live = churned
    .ruleset('IPv4')
    .services()
    .reduce((n, s) => n + s.program.code.length / 4, 0);
  t.true(most <= 2 * live + 4096 + 64, `the arena held ${most} rules for ${live} live ones`);
  reset(churned, rng);
  t.deepEqual(walkAll(churned), walkAll(freshOn(store)));
});

test('a program without rules shares its base with the next placed, and releasing it leaves that one in place', (t) => {
  const arena = new ProgramArena();
  const program = (rules: number) => ({ code: new Int32Array(rules * 4) }) as unknown as NatProgram;
  const empty = program(0);
  const real = program(2);
  const base = arena.place(empty);
  t.is(arena.place(real), base);
  arena.release(base, empty);
  t.is(arena.programAt(base), real);
  const emptyAfter = program(0);
  t.is(arena.place(emptyAfter), base + 2);
  t.is(arena.programAt(base), real);
  arena.release(base, real);
  t.is(arena.programAt(base), real, 'a released program stays readable until the arena is cleared');
  arena.clear(null);
  t.is(arena.programAt(base) as NatProgram | undefined, undefined);
});

test('an arena cleared for N rules places N without growing; more grows it, and its book reads the grown rules', (t) => {
  const arena = new ProgramArena();
  const program = (rules: number, fill: number) =>
    ({ code: new Int32Array(rules * 4).fill(fill % 16) }) as unknown as NatProgram;
  const cases: [rules: number, programs: number][] = [
    [2000, 40],
    [40_000, 100],
  ];
  for (const [rules, programs] of cases) {
    arena.clear(null, rules);
    const code = arena.code;
    const per = rules / programs;
    for (let p = 0; p < programs; p++) t.is(arena.place(program(per, p)), p * per);
    t.is(arena.code, code, `${rules} rules placed in the room made for them`);
    t.is(arena.code[(rules - 1) * 4], (programs - 1) % 16, 'the last rule placed is where its base says');
    // Past the room (an eighth more than asked for): the arena grows and keeps what it held.
    while (arena.code === code) arena.place(program(per, 9));
    t.is(arena.code[(rules - 1) * 4], (programs - 1) % 16);
    t.is(arena.records.code, arena.code, 'the current book reads the grown rules');
  }
});

/** A program of a jump and two DNATs to `ips` (port 8080), for Service `service`, as compileProgram words them. */
function dnatProgram(service: string, ips: [string, string]): NatProgram {
  const endpoints = ips.map((ip) => ({ ip, destination: { ip, port: 8080 }, address: `${ip}:8080` }));
  return {
    code: Int32Array.from([T_JUMP << 4, 0, 0, 0, T_DNAT << 4, 0, 0, 1, T_DNAT << 4, 0, 0, 2]),
    endpoints: [null, ...endpoints],
    service,
  } as unknown as NatProgram;
}

test('a DNAT rule’s record is made once, by handle; a handle keeps its record after release and after clear', (t) => {
  const arena = new ProgramArena();
  arena.clear('192.168.0.2', 64);
  const a = arena.place(dnatProgram('ns/a:http', ['10.0.0.1', '10.0.0.2']));
  const b = arena.place(dnatProgram('ns/b:http', ['10.0.1.1', '10.0.1.2']));
  const book = arena.records;
  const cases: [rule: number, masqueraded: boolean, endpoint: string, snatIp: string | null, service: string][] = [
    [a + 1, false, '10.0.0.1:8080', null, 'ns/a:http'],
    [a + 2, true, '10.0.0.2:8080', '192.168.0.2', 'ns/a:http'],
    [b + 2, false, '10.0.1.2:8080', null, 'ns/b:http'],
    [b + 1, true, '10.0.1.1:8080', '192.168.0.2', 'ns/b:http'],
  ];
  const handles = cases.map(([rule, masqueraded]) => book.handle(rule, masqueraded));
  t.is(new Set(handles).size, cases.length, 'each rule and masquerade has its own handle');
  const made = handles.map((h) => book.record(h));
  cases.forEach(([, , endpoint, snatIp, service], k) => {
    t.like(made[k], { endpoint, snatIp, service, dnatPort: 8080 });
    t.is(book.record(handles[k]!), made[k]!, 'made once, then the same record');
  });
  // Released, then a program placed after it: the old handles still name the old records.
  arena.release(a, dnatProgram('ns/a:http', ['10.0.0.1', '10.0.0.2']));
  arena.place(dnatProgram('ns/c:http', ['10.0.2.1', '10.0.2.2']));
  t.is(book.record(handles[1]!).endpoint, '10.0.0.2:8080');
  // Cleared: a new book; the old one, held by its flows, answers as before.
  arena.clear('192.168.0.9');
  t.not(arena.records, book);
  const c = arena.place(dnatProgram('ns/c:http', ['10.0.2.1', '10.0.2.2']));
  t.is(c, 0);
  t.like(arena.records.record(arena.records.handle(c + 1, true)), { endpoint: '10.0.2.1:8080', snatIp: '192.168.0.9' });
  t.like(book.record(handles[0]!), { endpoint: '10.0.0.1:8080', service: 'ns/a:http' });
  const late = book.record(book.handle(b + 2, true));
  t.like(late, { endpoint: '10.0.1.2:8080', snatIp: '192.168.0.2' }, 'made late, from the old book’s own rules');
});

test('flows whose verdicts are read only after churn and compactions report the endpoints they were sent to', (t) => {
  const changes = new Rng(4);
  const objects: Parameters<typeof storeWith> = [node('n1', [NODE_IP])];
  for (let i = 0; i < SERVICES; i++) objects.push(svc(i), endpoints(i, changes));
  const store = storeWith(...objects);
  const twin = storeWith(...objects);
  const lazy = engineOn(store);
  const eager = engineOn(twin);
  const arena = lazy.ruleset('IPv4').arena;
  const flows = Array.from({ length: SERVICES * 6 }, (_, k) => ({
    packet: {
      proto: 'TCP' as const,
      src: { ip: k % 2 === 0 ? `10.2.0.${(k % 200) + 1}` : `203.0.113.${(k % 200) + 1}`, port: 7000 + k },
      dst: { ip: `172.30.0.${(k % SERVICES) + 1}`, port: 80 },
    },
    origin: k % 2 === 0 ? POD : EXTERNAL,
  }));
  const held = flows.map((f) => lazy.send(f.packet, f.origin, 1));
  const expected = flows.map((f) => {
    const v = eager.send(f.packet, f.origin, 1);
    return `${v.verdict} ${v.endpoint} ${v.snat} ${JSON.stringify(v.packet)}`;
  });
  const firstBook = arena.records;
  // Churn until the arena has compacted at least twice (each a new book of records).
  let books = 0;
  let last = firstBook;
  for (let change = 0; books < 2 && change < 5000; change++) {
    put(store, endpoints(changes.int(SERVICES), changes));
    if (arena.records !== last) {
      books++;
      last = arena.records;
    }
  }
  t.is(books, 2);
  t.deepEqual(
    held.map((v) => `${v.verdict} ${v.endpoint} ${v.snat} ${JSON.stringify(v.packet)}`),
    expected,
    'verdicts of new flows, first read after the churn',
  );
  // Their conntrack entries too, and their established packets (same verdict, from the row).
  const again = flows.map((f) => lazy.send(f.packet, f.origin, 2));
  t.deepEqual(
    again.map((v) => v.endpoint),
    held.map((v) => v.endpoint),
  );
  t.true(held.some((v) => v.snat !== null) && held.some((v) => v.snat === null), 'masqueraded flows and others');
});
