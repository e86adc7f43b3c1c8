/**
 * `npm run bench`: every benchmark, one after the other, each printing its figures beside its peer (a naive baseline
 * for the cluster and the engines, Knot DNS for the DNS server). Pass names to run only some: `npm run bench -- dns`.
 *
 * The proxy benches run with V8's `--single-threaded`: their targets are for one core, and without it V8 compiles and
 * marks garbage on helper threads (the machine's other core), whose time a CPU-time figure would count or an
 * elapsed-time figure would hide. Single-threaded, the process's CPU time is one core's work, all of it.
 */
import { spawnSync } from 'node:child_process';

const ONE_CORE = '--single-threaded';
const ALL: Record<string, string[]> = {
  scale: ['bench/scale.ts'],
  dns: ['bench/dns.ts'],
  'dns-wire': ['bench/dns-wire.bench.ts'],
  // --expose-gc: a row collects the garbage it made before timing a build, the endpoint changes or the render, so V8
  // does not charge a collection owed for the packets or flows to them.
  proxy: [ONE_CORE, '--expose-gc', 'bench/proxy.bench.ts'],
  'proxy-ipvs': [ONE_CORE, '--expose-gc', 'bench/proxy-ipvs.bench.ts'],
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
  const flags = args.filter((a) => a.startsWith('--'));
  const script = args.filter((a) => !a.startsWith('--'));
  const r = spawnSync(process.execPath, [...flags, '--import=tsx', ...script], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
