/**
 * `npm run bench`: every benchmark, one after the other, each printing its figures beside its peer (a naive baseline
 * for the cluster and the engines, Knot DNS for the DNS server). Pass names to run only some: `npm run bench -- dns`.
 */
import { spawnSync } from 'node:child_process';

const ALL: Record<string, string[]> = {
  scale: ['bench/scale.ts'],
  dns: ['bench/dns.ts'],
  'dns-wire': ['bench/dns-wire.bench.ts'],
  proxy: ['bench/proxy.bench.ts'],
  'proxy-ipvs': ['bench/proxy-ipvs.bench.ts'],
};

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(ALL);
let failed = 0;
for (const name of wanted) {
  const args = ALL[name];
  if (!args) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(ALL).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== ${name}`);
  const r = spawnSync(process.execPath, ['--import=tsx', ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
