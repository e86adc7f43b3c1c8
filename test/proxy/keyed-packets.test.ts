/**
 * Keyed addresses (packet.ts `address()`) are a speed-up only: every engine answers a packet built from them exactly
 * as it answers the same packet written as plain `{ ip, port }` literals, verdicts, steps and random draws alike.
 */
import test from 'ava';
import fc from 'fast-check';
import { type EngineFactory, proxyConfig } from '../../src/proxy/engine.js';
import { createIptablesEngine } from '../../src/proxy/iptables/engine.js';
import { createIpvsEngine } from '../../src/proxy/ipvs/engine.js';
import { address, keyedPacket, type Origin, type Packet, reversed } from '../../src/proxy/packet.js';
import { addressKey } from '../../src/proxy/tuple-table.js';
import { createUserspaceEngine } from '../../src/proxy/userspace/engine.js';
import { Rng } from '../../src/util/rng.js';
import { holds } from '../cni/helpers.js';
import { node, service, slice, storeWith, tableFor } from './fixtures.js';

const POD: Origin = { from: 'pod', pod: 'ns/client' };

const ENGINES: [string, EngineFactory][] = [
  ['iptables', createIptablesEngine],
  ['ipvs', (init) => createIpvsEngine(init)],
  ['userspace', (init) => createUserspaceEngine(init)],
];

function engine(make: EngineFactory, mode: 'iptables' | 'ipvs' | 'userspace') {
  const objs = ['a', 'b'].flatMap((name, i) => [
    service('ns', name, { clusterIP: `172.30.0.${i + 1}`, ports: [{ port: 80 }] }),
    slice('ns', name, [`10.180.${i}.1`, `10.180.${i}.2`, `10.180.${i}.3`], [{ port: 80 }]),
  ]);
  const table = tableFor(storeWith(node('n1', ['192.168.0.2']), ...objs), 'n1', { families: ['IPv4'] });
  return make({ table, config: proxyConfig({ mode, clusterCIDR: '10.0.0.0/8' }), rng: new Rng(5) });
}

/** A step of a run: a client's packet to a Service (or elsewhere), or the reply to the last DNATed packet. */
const stepArb = fc.record({
  reply: fc.boolean(),
  client: fc.integer({ min: 0, max: 3 }),
  port: fc.integer({ min: 1000, max: 1003 }),
  to: fc.constantFrom('172.30.0.1', '172.30.0.2', '8.8.8.8'),
});

test('address(): the key is addressKey; it prints, compares and serializes as { ip, port }', (t) => {
  for (const ip of ['10.96.0.1', 'fd00::1', '255.255.255.255']) {
    const a = address(ip, 53);
    t.is(a.key, addressKey(ip), ip);
    t.deepEqual(a, { ip, port: 53 });
    t.is(JSON.stringify(a), JSON.stringify({ ip, port: 53 }));
    t.deepEqual(Object.keys(a), ['ip', 'port']);
  }
});

for (const [mode, make] of ENGINES) {
  test(`${mode}: keyed and text packets get the same verdicts (property)`, (t) => {
    holds(
      t,
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), (steps) => {
        const plain = engine(make, mode as 'iptables');
        const keyed = engine(make, mode as 'iptables');
        let lastPlain: Packet | null = null;
        let lastKeyed: Packet | null = null;
        return steps.every((s, i) => {
          const src = `10.0.0.${s.client + 1}`;
          let a: string;
          let b: string;
          if (s.reply && lastPlain && lastKeyed) {
            const back = reversed(lastPlain);
            a = JSON.stringify(plain.reply(back, i));
            b = JSON.stringify(keyed.reply(keyedPacket(back), i));
          } else {
            const vp = plain.send(
              { proto: 'TCP', src: { ip: src, port: s.port }, dst: { ip: s.to, port: 80 } },
              POD,
              i,
            );
            const vk = keyed.send({ proto: 'TCP', src: address(src, s.port), dst: address(s.to, 80) }, POD, i);
            if (vp.endpoint !== null) [lastPlain, lastKeyed] = [vp.packet, vk.packet];
            a = JSON.stringify(vp);
            b = JSON.stringify(vk);
          }
          return a === b;
        });
      }),
      { numRuns: 60 },
    );
  });
}
