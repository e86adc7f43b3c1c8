/**
 * Relays are reused once no conntrack entry holds them (relay-pool.ts). What must hold: a verdict already handed out
 * keeps reporting its own connection after its relay is reused; a relay one leg still holds is not handed to a new
 * connection; and the counts conntrack reports to the pool balance over takes, replacements, frees and flushes. Also
 * what a connection now copies instead of reaching objects: the client leg's redirect follows the node's address.
 */
import test from 'ava';
import fc from 'fast-check';
import { FlowStore, type MemoOwner } from '../../../src/proxy/conntrack-store.js';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { address } from '../../../src/proxy/packet.js';
import { createUserspaceEngine } from '../../../src/proxy/userspace/engine.js';
import { Rng } from '../../../src/util/rng.js';
import { node, put, service, slice, tableFor } from '../fixtures.js';
import { POD, replyTo, storeOf, tcp } from '../ipvs/engine-helpers.js';

/** Two TCP Services, a (10.96.0.20:80 → 10.244.2.6:8080) and b (10.96.0.30:80 → 10.244.2.7:9090), on node-a. */
function rig() {
  return rigWithStore().engine;
}

function rigWithStore() {
  const store = storeOf(
    service('default', 'a', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] }),
    slice('default', 'a', [{ ip: '10.244.2.6', node: 'node-b' }], [{ name: 'http', port: 8080 }]),
    service('default', 'b', { clusterIP: '10.96.0.30', ports: [{ name: 'http', port: 80 }] }),
    slice('default', 'b', [{ ip: '10.244.2.7', node: 'node-b' }], [{ name: 'http', port: 9090 }]),
  );
  const engine = createUserspaceEngine({
    table: tableFor(store, 'node-a'),
    config: proxyConfig({ mode: 'userspace' }),
    rng: new Rng(5),
  });
  return { store, engine };
}

const TO_A = tcp('10.244.1.9', 40000, '10.96.0.20', 80);
const TO_B = tcp('10.244.1.8', 41000, '10.96.0.30', 80);

/** The relay memo of the flow `p` belongs to. */
function relayOf(engine: ReturnType<typeof rig>, p: typeof TO_A): unknown {
  const ct = engine.conntrack;
  return ct.memoOf(ct.findRow(p, 0));
}

test('a verdict keeps its own connection after its relay is reused for another', (t) => {
  const engine = rig();
  const first = engine.send(TO_A, POD, 0);
  const relay = relayOf(engine, TO_A);
  const answer = engine.reply(replyTo(first.packet), 0);
  engine.conntrack.flush(); // both legs go: the relay is free
  const second = engine.send(TO_B, POD, 1);
  t.is(relayOf(engine, TO_B), relay, 'the freed relay serves the next connection');
  // Read only now, after the reuse: what each verdict reports is still its own connection's.
  t.is(first.endpoint, '10.244.2.6:8080');
  t.deepEqual([first.packet.dst.ip, first.packet.dst.port], ['10.244.2.6', 8080]);
  t.is(first.service, 'default/a:http');
  t.deepEqual([answer.packet.src.ip, answer.packet.dst.ip], ['10.96.0.20', '10.244.1.9']);
  t.regex(answer.steps[0]!.decision, /from 10\.96\.0\.20:80/);
  t.deepEqual([second.packet.dst.ip, second.packet.dst.port], ['10.244.2.7', 9090]);
});

test('a relay one leg still holds is not reused: the backend leg relays its answers to the right client', (t) => {
  const engine = rig();
  const first = engine.send(TO_A, POD, 0);
  const relay = relayOf(engine, TO_A);
  const ct = engine.conntrack;
  ct.deleteRow(ct.findRow(TO_A, 0)); // the client leg goes; the proxy's leg to the endpoint stays
  engine.send(TO_B, POD, 1);
  t.not(relayOf(engine, TO_B), relay, 'the backend leg still holds the first relay');
  const answer = engine.reply(replyTo(first.packet), 1);
  t.is(answer.conntrack, 'reply');
  t.deepEqual([answer.packet.dst.ip, answer.packet.dst.port], ['10.244.1.9', 40000]);
});

test('memo owner counts: every take is matched by one release, over replacements, frees and a flush', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ op: fc.constantFrom('set', 'clear-one', 'free', 'add'), row: fc.nat(7), memo: fc.nat(3) }), {
        maxLength: 60,
      }),
      (ops) => {
        const held = new Map<unknown, number>();
        const owner: MemoOwner = {
          retain: (m) => held.set(m, (held.get(m) ?? 0) + 1),
          release: (m) => held.set(m, (held.get(m) ?? 0) - 1),
        };
        const memos = [{ m: 0 }, { m: 1 }, { m: 2 }, { m: 3 }];
        const store = new FlowStore(8);
        store.ownMemos(owner);
        const live = new Set<number>();
        const a = address('10.0.0.1', 1);
        const add = () => {
          const r = store.add(
            0,
            1,
            a,
            a,
            1,
            2,
            2,
            1,
            0,
            0,
            { dnat: null, dnatKey: -1, dnatPort: 0, snatIp: null, snatKey: -1, service: null, endpoint: null },
            null,
            false,
            0,
            0,
          );
          live.add(r);
        };
        for (const { op, row, memo } of ops) {
          const rows = [...live];
          const r = rows[row % Math.max(1, rows.length)];
          if (op === 'add' || r === undefined) add();
          else if (op === 'set') store.setMemo(r, memos[memo]);
          else if (op === 'clear-one') store.setMemo(r, undefined);
          else {
            store.free(r);
            live.delete(r);
          }
          // What the owner was told equals how many live rows hold each memo.
          for (const m of memos) {
            const holding = [...live].filter((x) => store.memo[x] === m).length;
            if ((held.get(m) ?? 0) !== holding) return false;
          }
        }
        store.clear();
        return memos.every((m) => (held.get(m) ?? 0) === 0);
      },
    ),
  );
  t.pass();
});

test("after the node's address changes, a new client leg redirects to the new host IP and its replies find it", (t) => {
  const { store, engine } = rigWithStore();
  const before = engine.send(TO_A, POD, 0);
  t.is(before.verdict, 'DNAT');
  put(store, node('node-a', ['172.18.0.9'], { podCIDRs: ['10.244.1.0/24'] }));
  const later = tcp('10.244.1.9', 40001, '10.96.0.20', 80);
  const v = engine.send(later, POD, 1);
  t.is(v.snat, '172.18.0.9', 'the proxy dials from the new host IP');
  const ct = engine.conntrack;
  const client = ct.natOf(ct.findRow(later, 1));
  t.regex(client.endpoint ?? '', /^172\.18\.0\.9:\d+$/, 'the client leg redirects to the new host IP');
  // The proxy port's reply to the client is filed under the new host IP's key: it is found as this flow's reply.
  const [, port] = (client.endpoint ?? '').split(':');
  const answer = { proto: 'TCP' as const, src: { ip: '172.18.0.9', port: Number(port) }, dst: later.src };
  const row = ct.findRow(later, 1);
  t.is(ct.findRow(answer, 1), row);
  t.is(ct.lastDirection, 'reply');
});
