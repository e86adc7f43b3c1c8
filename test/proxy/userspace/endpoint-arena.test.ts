/**
 * The balancers' shared endpoint arrays (endpoint-arena.ts): a stored list reads back as it was written (text, keyed
 * address, key, port), runs given back are reused by lists of their length, and a list stored over a released run
 * leaves every other list as it was.
 */
import test from 'ava';
import fc from 'fast-check';
import { keyOf } from '../../../src/proxy/packet.js';
import { addressKey } from '../../../src/proxy/tuple-table.js';
import { EndpointArena } from '../../../src/proxy/userspace/endpoint-arena.js';
import { LoadBalancerRR } from '../../../src/proxy/userspace/round-robin.js';
import { Rng } from '../../../src/util/rng.js';
import { holds } from '../ipvs/helpers.js';

const endpoint = fc.oneof(
  fc.ipV4().map((ip) => ({ ip, text: ip })),
  fc.ipV6().map((ip) => ({ ip, text: `[${ip}]` })),
);
const list = fc.array(
  fc.record({ at: endpoint, port: fc.integer({ min: 1, max: 65535 }) }).map(({ at, port }) => ({
    text: `${at.text}:${port}`,
    ip: at.ip,
    port,
  })),
  { maxLength: 6 },
);

function readBack(arena: EndpointArena, base: number, length: number) {
  return Array.from({ length }, (_, i) => {
    const a = arena.address(base + i);
    return {
      text: arena.text(base + i),
      ip: a.ip,
      port: arena.port(base + i),
      key: arena.key(base + i),
      own: keyOf(a),
    };
  });
}

test('every live list reads back as stored, through stores, replacements and releases in any order', (t) => {
  holds(
    t,
    fc.property(fc.array(fc.tuple(fc.constantFrom('store', 'replace', 'release'), list), { maxLength: 30 }), (ops) => {
      const arena = new EndpointArena();
      const live: { base: number; eps: { text: string; ip: string; port: number }[] }[] = [];
      for (const [op, eps] of ops) {
        if (op === 'release' && live.length > 0) {
          const gone = live.shift()!;
          arena.release(gone.base, gone.eps.length);
        } else if (op === 'replace' && live.length > 0) {
          // A balancer's new list, stored over its current run (kept when the size fits, else given back).
          const old = live.pop()!;
          live.push({
            base: arena.store(
              eps.map((e) => e.text),
              { base: old.base, length: old.eps.length },
            ),
            eps,
          });
        } else live.push({ base: arena.store(eps.map((e) => e.text)), eps });
      }
      return live.every(({ base, eps }) =>
        readBack(arena, base, eps.length).every(
          (r, i) =>
            r.text === eps[i]!.text &&
            r.port === eps[i]!.port &&
            r.key === addressKey(r.ip) &&
            r.key === r.own &&
            addressKey(r.ip) === addressKey(eps[i]!.ip),
        ),
      );
    }),
    { seed: 11 },
  );
});

test('a released run is reused by the next list of its size, not by a list of another size', (t) => {
  const arena = new EndpointArena();
  const a = arena.store(['10.0.0.1:80', '10.0.0.2:80']);
  const b = arena.store(['10.0.0.3:80']);
  arena.release(a, 2);
  const c = arena.store(['10.0.0.4:80', '10.0.0.5:80', '10.0.0.6:80']);
  const d = arena.store(['10.0.0.7:80', '10.0.0.8:80']);
  t.deepEqual([b, c === a, d], [2, false, a]);
  t.is(arena.text(c + 3), '', 'a run of 3 endpoints is 4 slots; the last holds nothing');
  t.deepEqual(
    readBack(arena, d, 2).map((r) => r.text),
    ['10.0.0.7:80', '10.0.0.8:80'],
  );
  t.is(arena.text(b), '10.0.0.3:80');
});

test('a balancer re-set many times keeps reusing its run: endpoint changes do not grow the arena', (t) => {
  const lb = new LoadBalancerRR(new Rng(1));
  lb.newService('default/web', 'None', 0);
  const bases = new Set<number>();
  for (let c = 0; c < 50; c++) {
    lb.setEndpoints('default/web', [`10.1.0.${c + 1}:80`, `10.1.1.${c + 1}:80`, `10.1.2.${c + 1}:80`]);
    bases.add(lb.state('default/web')!.base);
  }
  // The old run is released before the new list is stored, so one run serves every list.
  t.deepEqual([...bases], [0]);
  const r = lb.nextEndpoint('default/web', '10.244.0.1', false, 0);
  t.true(r.ok && /^10\.1\.[0-2]\.50:80$/.test(r.endpoint) && r.key === addressKey(r.address.ip) && r.port === 80);
});

test('a Service growing one endpoint at a time keeps the arena within a few times its endpoints', (t) => {
  const lb = new LoadBalancerRR(new Rng(1));
  lb.newService('default/web', 'None', 0);
  const eps: string[] = [];
  for (let n = 1; n <= 2000; n++) {
    eps.push(`10.${64 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}:8080`);
    lb.setEndpoints('default/web', eps);
  }
  const s = lb.state('default/web')!;
  // Runs of 1, 2, 4, ... 2048 slots: 4,095 in all, where a run per length would be 2,001,000.
  t.true(s.arena.slots <= 4095, `${s.arena.slots} slots`);
  const seen = new Set(Array.from({ length: 2000 }, () => lb.nextEndpoint('default/web', 'c', false, 0)));
  t.is(new Set([...seen].map((r) => (r.ok ? r.endpoint : ''))).size, 2000);
  lb.deleteService('default/web');
  t.is(s.length, 0, 'a deleted port keeps no run to read');
});
