/**
 * The random cascade spreads new flows uniformly: Pearson's chi-square over 100,000 seeded flows per Service stays
 * below the p = 0.001 critical value. The Rng is seeded, so each run draws the same numbers: the test cannot flake,
 * and a change that skews the cascade (a wrong probability, a wrong order) fails it for good.
 */
import test from 'ava';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { IptablesEngine } from '../../../src/proxy/iptables/engine.js';
import { Rng } from '../../../src/util/rng.js';
import { node, service, slice, storeWith, tableFor } from '../fixtures.js';

/** chi-square critical values at p = 0.001 by degrees of freedom. */
const CRITICAL: Record<number, number> = { 1: 10.828, 2: 13.816, 4: 18.467, 6: 22.458, 9: 27.877, 19: 43.82 };
const FLOWS = 100_000;

for (const n of [2, 3, 5, 7, 10, 20]) {
  test(`${n} endpoints: chi-square over ${FLOWS.toLocaleString('en-US')} flows below the p=0.001 value`, (t) => {
    const ips = Array.from({ length: n }, (_, i) => `10.180.${i >> 8}.${(i & 255) + 1}`);
    const table = tableFor(
      storeWith(
        node('n1', ['192.168.0.2']),
        service('ns', 'svc', { clusterIP: '172.30.0.10', ports: [{ port: 80 }] }),
        slice('ns', 'svc', ips, [{ port: 8080 }]),
      ),
      'n1',
      { families: ['IPv4'] },
    );
    const engine = new IptablesEngine({
      table,
      config: proxyConfig({ clusterCIDR: '10.0.0.0/8' }),
      rng: new Rng(2024),
    });
    const counts = new Map<string, number>();
    for (let f = 0; f < FLOWS; f++) {
      const v = engine.send(
        {
          proto: 'TCP',
          src: { ip: `10.1.${(f >> 16) & 255}.${(f >> 8) & 255}`, port: 1024 + (f & 255) },
          dst: { ip: '172.30.0.10', port: 80 },
        },
        { from: 'pod', pod: 'ns/c' },
        0,
      );
      counts.set(v.endpoint!, (counts.get(v.endpoint!) ?? 0) + 1);
    }
    t.is(counts.size, n);
    const expected = FLOWS / n;
    let chi2 = 0;
    for (const c of counts.values()) chi2 += (c - expected) ** 2 / expected;
    t.log(`chi2 = ${chi2.toFixed(2)} with ${n - 1} dof; counts ${[...counts.values()].join(' ')}`);
    t.true(chi2 < CRITICAL[n - 1]!, `chi2 ${chi2} ≥ ${CRITICAL[n - 1]}`);
  });
}

test('the same seed gives the same choices', (t) => {
  const run = () => {
    const table = tableFor(
      storeWith(
        node('n1', ['192.168.0.2']),
        service('ns', 'svc', { clusterIP: '172.30.0.10', ports: [{ port: 80 }] }),
        slice('ns', 'svc', ['10.180.0.1', '10.180.0.2', '10.180.0.3'], [{ port: 8080 }]),
      ),
      'n1',
      { families: ['IPv4'] },
    );
    const engine = new IptablesEngine({ table, config: proxyConfig(), rng: new Rng(5) });
    return Array.from(
      { length: 50 },
      (_, f) =>
        engine.send(
          { proto: 'TCP', src: { ip: '10.1.0.1', port: 1024 + f }, dst: { ip: '172.30.0.10', port: 80 } },
          { from: 'pod', pod: 'ns/c' },
          0,
        ).endpoint,
    );
  };
  t.deepEqual(run(), run());
});
