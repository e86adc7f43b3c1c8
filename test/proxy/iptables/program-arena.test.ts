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
  t.is(arena.programAt(base) as NatProgram | undefined, undefined);
});

test('an arena cleared for N rules places N without growing, every record slot strictly null; more grows it', (t) => {
  const arena = new ProgramArena();
  // Word 0 below 16: no target (no DNAT), so no record numbers here.
  const program = (rules: number, fill: number) =>
    ({ code: new Int32Array(rules * 4).fill(fill % 16) }) as unknown as NatProgram;
  const cases: [rules: number, programs: number][] = [
    [2000, 40],
    [40_000, 100],
  ];
  for (const [rules, programs] of cases) {
    arena.clear(rules);
    const code = arena.code;
    const per = rules / programs;
    for (let p = 0; p < programs; p++) t.is(arena.place(program(per, p)), p * per);
    t.is(arena.code, code, `${rules} rules placed in the room made for them`);
    t.is(arena.code[(rules - 1) * 4], (programs - 1) % 16, 'the last rule placed is where its base says');
    t.true(
      arena.records.slice(0, rules * 4).every((r) => r === null),
      'no record slot is a hole or undefined',
    );
    // Past the room (an eighth more than asked for): the arena grows and keeps what it held.
    while (arena.code === code) arena.place(program(per, 9));
    t.is(arena.code[(rules - 1) * 4], (programs - 1) % 16);
    t.true(arena.records.every((r) => r === null));
  }
});

test('DNAT rules get dense record numbers, reused once their program is released, its records then null', (t) => {
  const arena = new ProgramArena();
  // Rules: a jump, two DNATs, a jump (word 0 = target code << 4).
  const program = () =>
    ({
      code: Int32Array.from([T_JUMP << 4, 0, 0, 0, T_DNAT << 4, 0, 0, 0, T_DNAT << 4, 0, 0, 0, T_JUMP << 4, 0, 0, 0]),
    }) as unknown as NatProgram;
  const numbers = (base: number) => [arena.code[(base + 1) * 4 + 3], arena.code[(base + 2) * 4 + 3]];
  arena.clear(64, 8);
  const a = arena.place(program());
  const b = arena.place(program());
  t.deepEqual(
    [numbers(a), numbers(b)],
    [
      [0, 1],
      [2, 3],
    ],
  );
  t.is(arena.code[a * 4 + 3], 0, 'a jump keeps its words');
  // The slot of a rule's record: its number's four slots, the masqueraded pair second.
  t.is(arena.recordSlot(b + 1, false), 2 * 4);
  t.is(arena.recordSlot(b + 2, true), 3 * 4 + 2);
  arena.records[arena.recordSlot(a + 1, true)] = 'a record';
  arena.records[arena.recordSlot(a + 2, false)] = 'another';
  arena.release(a, program());
  t.true(
    arena.records.every((r) => r === null),
    'a released program’s records are null (not holes)',
  );
  const c = arena.place(program());
  t.deepEqual(numbers(c).sort(), [0, 1], 'its numbers are reused');
  t.is(arena.records.length, Math.max(256, 8 + 1) * 4, 'records are by number: no slots for the other rules');
  // Cleared for the live DNATs (4 of them), then placed again: numbered from 0.
  arena.clear();
  t.is(arena.place(program()), 0);
  t.deepEqual(numbers(0), [0, 1]);
});
