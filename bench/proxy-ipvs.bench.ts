/**
 * kube-proxy IPVS mode (rr and mh) and the legacy userspace mode at 10,000 Services × 10 endpoints on one node. Run:
 *   node --single-threaded --expose-gc --import=tsx bench/proxy-ipvs.bench.ts [services] [endpointsPerService]
 * (`npm run bench -- proxy-ipvs` passes `--single-threaded`: the targets are one core's, see bench/run.ts)
 *
 * Per engine: build (every Service's virtual servers / portals), new-flow decisions/s (first packets: virtual-server
 * lookup, scheduler, conntrack insert), established-flow packets/s (conntrack hit), one endpoint change (table
 * update + that Service's resync), and one dependent 16 MB read right after the rates (`read ns`: the machine's
 * memory latency when they were taken, which moves by 2× between minutes on a shared machine). Targets (issue,
 * one core): ≥1,000,000 new flows/s, ≥5,000,000 established packets/s, build ≤ 1 s, endpoint change ≤ 1 ms. Rows
 * marked `explain: false` build verdicts without steps, as bulk runs do; `keyed`: the same flows from keyed
 * addresses (packet.ts `address()`), so no address text is read per packet; `hot Services`: keyed flows sent to 100
 * of the Services only (a diagnostic, not the target workload: their state stays in the CPU cache, so the gap to the
 * uniform row is what cache misses cost). Each row runs in a process of its own (lib/own-process.ts), so no row
 * inherits another's JIT feedback; each row runs several times (KUBE_NETSIM_BENCH_RUNS, default 3), and the fastest
 * and the slowest run's figures are printed. Times are the row's process's CPU time (as bench/proxy.bench.ts), so other
 * processes on the machine do not count against it.
 */
import { type EngineInit, type ProxyEngine, proxyConfig } from '../src/proxy/engine.js';
import { createIpvsEngine } from '../src/proxy/ipvs/engine.js';
import type { Packet } from '../src/proxy/packet.js';
import { createUserspaceEngine } from '../src/proxy/userspace/engine.js';
import { Rng } from '../src/util/rng.js';
import { bestAndWorst, ownRow, reportRow, runRows } from './lib/own-process.js';
import {
  benchSlice,
  benchTable,
  clusterIP,
  dependentReadNs,
  fmt,
  HOT_SERVICES,
  keyedPackets,
  measureChanges,
  measureRates,
  ms,
  now,
  ONE_THREAD,
  printMachineFloor,
  toHotServices,
  wallNow,
} from './lib/proxy-workload.js';

const SERVICES = Number(process.argv[2] ?? 10_000);
const ENDPOINTS = Number(process.argv[3] ?? 10);

const ROUND = 200_000;
const rng = new Rng(7);
const packets: Packet[] = Array.from({ length: ROUND }, (_, k) => ({
  proto: 'TCP',
  src: { ip: `10.${64 + (k % 60)}.${(k >> 8) & 255}.${k & 255}`, port: 1024 + (k % 60000) },
  dst: { ip: clusterIP(rng.int(SERVICES)), port: 80 },
}));
const keyed = keyedPackets(packets);
const hot = toHotServices(packets, HOT_SERVICES);
const pod = { from: 'pod', pod: 'default/client' } as const;

interface Figures {
  /** CPU ms, every thread of the process. */
  build: number;
  /** Elapsed ms. */
  buildWall: number;
  newFlows: number;
  established: number;
  /** Median ms of one endpoint change, and the slowest. */
  change: number;
  changeMax: number;
  /** One dependent 16 MB read, ns, measured right after the rates (the machine's phase when they were taken). */
  readNs: number;
}

type Make = (init: EngineInit) => ProxyEngine & { sync(now?: number): void };

function run(name: string, make: Make, flows: readonly Packet[]): Figures {
  const table = benchTable(SERVICES, ENDPOINTS);
  const config = proxyConfig({ mode: name.startsWith('ipvs') ? 'ipvs' : 'userspace', clusterCIDR: '10.64.0.0/10' });
  // Making the packets left garbage: collected first (when V8 lets the bench ask, `--expose-gc`), so this build is
  // not charged for it. The build's own garbage still counts.
  globalThis.gc?.();
  const t0 = now();
  const w0 = wallNow();
  const engine = make({ table, config, rng: new Rng(1) });
  engine.sync(0); // engines apply table state lazily: the first sync programs every Service
  const build = ms(now() - t0);
  const buildWall = ms(wallNow() - w0);

  const { newFlows, established, toEndpoint, sent } = measureRates(engine, flows, pod);
  if (toEndpoint !== sent) console.log(`  !! ${sent - toEndpoint} established packets reached no endpoint`);
  const readNs = dependentReadNs();
  // The rates left a collection owed for their flows: paid first, so V8 does not charge it to the changes.
  globalThis.gc?.();
  const change = measureChanges(200, (c) => {
    table.applySlice(benchSlice((c * 37) % SERVICES, ENDPOINTS, c + 1));
    engine.sync(20 + c / 1000);
  });
  engine.dispose();
  return { build, buildWall, newFlows, established, change: change.median, changeMax: change.max, readNs };
}

const rr: Make = (init) => createIpvsEngine({ ...init, explain: false });
const mh: Make = (init) => createIpvsEngine({ ...init, config: { ...init.config, scheduler: 'mh' }, explain: false });
const userspace: Make = (init) => createUserspaceEngine({ ...init, explain: false });
const engines: [string, Make, readonly Packet[]][] = [
  ['ipvs rr', (init) => createIpvsEngine(init), packets],
  ['ipvs rr (no scheduler trace)', (init) => createIpvsEngine(init, { explainScheduler: false }), packets],
  ['ipvs rr (explain: false)', rr, packets],
  ['ipvs rr (explain: false, keyed)', rr, keyed],
  [`ipvs rr (keyed, ${HOT_SERVICES} hot Services)`, rr, hot],
  ['ipvs mh', (init) => createIpvsEngine({ ...init, config: { ...init.config, scheduler: 'mh' } }), packets],
  ['ipvs mh (explain: false)', mh, packets],
  ['ipvs mh (explain: false, keyed)', mh, keyed],
  ['userspace', (init) => createUserspaceEngine(init), packets],
  ['userspace (explain: false)', userspace, packets],
  ['userspace (explain: false, keyed)', userspace, keyed],
  [`userspace (keyed, ${HOT_SERVICES} hot Services)`, userspace, hot],
];
const child = ownRow();
if (child !== null) {
  const [name, make, flows] = engines[child]!;
  reportRow(run(name, make, flows));
  process.exit(0);
}
console.log(`kube-proxy IPVS and userspace models: ${fmt(SERVICES)} Services × ${ENDPOINTS} endpoints, one node`);
printMachineFloor(packets);
const header = `${'engine'.padEnd(38)} ${'build ms'.padStart(9)} ${'(elapsed)'.padStart(9)} ${'new flows/s'.padStart(13)} ${'established/s'.padStart(14)} ${'change ms'.padStart(10)} ${'(max)'.padStart(8)} ${'read ns'.padStart(8)}`;
// Each row in a fresh process (own-process.ts), every row once and then again: one engine's JIT feedback does not
// slow the next, and one bad minute of the machine does not decide a row's figures.
const runs = runRows<Figures>(engines.length, (done, of) => {
  if (done < of) console.log(`  (pass ${done} of ${of} over the rows done)`);
});
// One run: its figures once (the fastest and the slowest are the same run).
for (const better of runs[0]!.length > 1 ? (['best', 'worst'] as const) : (['best'] as const)) {
  console.log(
    better === 'best'
      ? `\nthe fastest of ${runs[0]!.length} runs per row (each figure its best run's):`
      : '\nthe slowest run of each row (each figure its worst):',
  );
  console.log(header);
  for (const [row, [name]] of engines.entries()) {
    const f = runs[row]!;
    const pick = (get: (r: Figures) => number, kind: 'higher' | 'lower'): number =>
      bestAndWorst(f.map(get), kind)[better];
    const cells = [
      pick((r) => r.build, 'lower')
        .toFixed(0)
        .padStart(9),
      `(${pick((r) => r.buildWall, 'lower').toFixed(0)})`.padStart(9),
      fmt(pick((r) => r.newFlows, 'higher')).padStart(13),
      fmt(pick((r) => r.established, 'higher')).padStart(14),
      pick((r) => r.change, 'lower')
        .toFixed(3)
        .padStart(10),
      `(${pick((r) => r.changeMax, 'lower').toFixed(1)})`.padStart(8),
      pick((r) => r.readNs, 'lower')
        .toFixed(0)
        .padStart(8),
    ];
    console.log(`${name.padEnd(38)} ${cells.join(' ')}`);
  }
}
console.log('\ntargets (one core):                        ≤ 1000             ≥ 1,000,000    ≥ 5,000,000      ≤ 1.000');
console.log(
  `build ms: CPU time of every thread of the process (${ONE_THREAD ? 'V8 single-threaded: one core' : 'V8 helper threads included'}); (elapsed): wall clock`,
);
console.log(
  `hot Services: flows to ${HOT_SERVICES} of the Services only, a diagnostic of what cache misses cost (not the target workload)`,
);
console.log('change ms: median of 200 endpoint changes (table update + sync), CPU time; (max): the slowest of them');
console.log(
  "read ns: one dependent random read in 16 MB right after the row's rates: the machine's memory latency then (it moves by 2x between minutes)",
);
