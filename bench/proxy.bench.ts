/**
 * kube-proxy iptables mode at 10,000 Services × 10 endpoints on one node. Run:
 *   node --single-threaded --expose-gc --import=tsx bench/proxy.bench.ts [services] [endpointsPerService]
 * (`npm run bench -- proxy` passes `--single-threaded`: the targets are one core's, see bench/run.ts)
 *
 * Prints: service-table build, engine build (compile every Service's rules), new-flow decisions/s (first packets:
 * full rule walk + conntrack insert), established-flow packets/s (conntrack hit), the same two rates for an engine
 * built with `explain: false` (verdicts without steps, as bulk runs use it), the same from packets with keyed addresses
 * (packet.ts `address()`: a kernel never reads address text, so this is the per-packet work the model shares with
 * it; the text rows add reading two addresses per packet), the keyed rates again with every flow sent to one of
 * 100 Services (a diagnostic, not the target workload: the Services' rules stay in the CPU cache, so the gap to the
 * uniform row is what cache misses on the rules cost), one endpoint change (table update +
 * recompile of that Service), iptables-save render, and rules traversed per new flow against the baselines: a naive
 * full scan of every nat rule, and IPVS's constant hash lookup. Targets (issue): ≥1,000,000 new flows/s,
 * ≥5,000,000 established packets/s, build ≤ 1 s, endpoint change ≤ 1 ms, render ≤ 2 s.
 *
 * Each rate row runs in a process of its own (lib/own-process.ts), so no row inherits another's JIT feedback, and
 * several times (KUBE_NETSIM_BENCH_RUNS, default 3): the fastest run's figures are printed, the slowest's beside them.
 * The keyed row's process then times the endpoint change and the render, on an engine still holding its flows.
 */
import { proxyConfig } from '../src/proxy/engine.js';
import { IptablesEngine } from '../src/proxy/iptables/engine.js';
import type { Packet } from '../src/proxy/packet.js';
import type { ServiceTable } from '../src/proxy/service-table.js';
import { Rng } from '../src/util/rng.js';
import { bestAndWorst, ownRow, reportRow, runRows } from './lib/own-process.js';
import {
  benchSlice,
  benchTable,
  CPU_LABEL,
  clusterIP,
  dependentReadNs,
  fmt,
  HOT_SERVICES,
  keyedPackets,
  measureChanges,
  measureRates,
  ms,
  now,
  printMachineFloor,
  toHotServices,
  wallNow,
} from './lib/proxy-workload.js';

const SERVICES = Number(process.argv[2] ?? 10_000);
const ENDPOINTS = Number(process.argv[3] ?? 10);
const CLUSTER_CIDR = '10.64.0.0/10';

// New flows: distinct tuples (2,000 client pods × ephemeral ports) to random Services, 200k per round; the conntrack
// table is flushed between rounds (outside the timing) so memory stays bounded.
const rng = new Rng(7);
const ROUND = 200_000;
const packets: Packet[] = Array.from({ length: ROUND }, (_, k) => ({
  proto: 'TCP',
  src: { ip: `10.${64 + ((k % 2000) >> 8)}.${(k % 2000) & 255}.7`, port: 1024 + Math.floor(k / 2000) },
  dst: { ip: clusterIP(rng.int(SERVICES)), port: 80 },
}));
const pod = { from: 'pod', pod: 'default/client' } as const;

/** What a rate row's process reports; the keyed row (the one `explain: false` engine kept) adds the rest. */
interface RowFigures extends ReturnType<typeof measureRates> {
  readNs: number;
  change?: { median: number; max: number };
  renderMs?: number;
  lines?: number;
  natRules?: number;
  natServices?: number;
}

/**
 * The rate rows, each run in a process of its own (lib/own-process.ts): the engine built with steps recorded, then
 * without (`trace --count`, bulk runs: same verdicts, costs and random draws), then the same flows from keyed
 * addresses (each address read once when its packet is built, not on every packet), then those sent to 100 Services.
 */
const ROWS: { explain: boolean; flows: () => Packet[] }[] = [
  { explain: true, flows: () => packets },
  { explain: false, flows: () => packets },
  { explain: false, flows: () => keyedPackets(packets) },
  { explain: false, flows: () => toHotServices(packets, HOT_SERVICES) },
];
const KEYED_ROW = 2;

function engineFor(table: ServiceTable, explain: boolean): IptablesEngine {
  return new IptablesEngine({ table, config: proxyConfig({ clusterCIDR: CLUSTER_CIDR }), rng: new Rng(1), explain });
}

/** One rate row; the keyed row then also times one endpoint change and the iptables-save render. */
function runRow(row: number): RowFigures {
  const { explain, flows } = ROWS[row]!;
  const table = benchTable(SERVICES, ENDPOINTS);
  const engine = engineFor(table, explain);
  const figures: RowFigures = { ...measureRates(engine, flows(), pod), readNs: dependentReadNs() };
  if (row !== KEYED_ROW) return figures;
  // One endpoint change: replace one endpoint of one Service, through the table (as a watch event would). The rates
  // left a collection owed for their flows: paid first (`--expose-gc`), so V8 does not charge its marking steps to
  // the changes' allocations.
  globalThis.gc?.();
  figures.change = measureChanges(200, (c) => table.applySlice(benchSlice((c * 37) % SERVICES, ENDPOINTS, c + 1)));
  globalThis.gc?.();
  const t0 = now();
  const text = engine.rules('IPv4');
  figures.renderMs = ms(now() - t0);
  figures.lines = text.split('\n').length;
  figures.natRules = text.split('\n').filter((l) => l.startsWith('-A')).length;
  figures.natServices = engine.ruleset('IPv4').chainLengths().natServices;
  return figures;
}

const child = ownRow();
if (child !== null) {
  reportRow(runRow(child));
  process.exit(0);
}

console.log(`kube-proxy iptables model: ${fmt(SERVICES)} Services × ${ENDPOINTS} endpoints, one node`);
let t0 = now();
const table = benchTable(SERVICES, ENDPOINTS);
console.log(
  `service table build            ${ms(now() - t0)
    .toFixed(0)
    .padStart(8)} ms`,
);
t0 = now();
const w0 = wallNow();
engineFor(table, true).dispose();
const buildMs = ms(now() - t0);
const buildWallMs = ms(wallNow() - w0);
console.log(
  `engine build (compile rules)   ${buildMs.toFixed(0).padStart(8)} ms   target ≤ 1000 ms (${CPU_LABEL}; ${buildWallMs.toFixed(0)} ms elapsed)`,
);
printMachineFloor(packets);

const runs = runRows<RowFigures>(ROWS.length, (done, of) => {
  if (done < of) console.log(`  (pass ${done} of ${of} over the rows done)`);
});
const [traced, untraced, keyed, hot] = runs as [RowFigures[], RowFigures[], RowFigures[], RowFigures[]];
const N = traced.length;
/** A rate over a row's runs: the fastest run's, then the slowest's in brackets. */
function rate(row: RowFigures[], pick: (f: RowFigures) => number): string {
  const { best, worst } = bestAndWorst(row.map(pick), 'higher');
  return `${fmt(best).padStart(12)} /s (${fmt(worst)})`;
}
console.log(`rates: the fastest of ${N} runs per row, each in its own process; in brackets the slowest`);
console.log(`new-flow decisions          ${rate(traced, (f) => f.newFlows)}   target ≥ 1,000,000`);
console.log(`established-flow packets    ${rate(traced, (f) => f.established)}   target ≥ 5,000,000`);
console.log(
  `  with explain: false, new  ${rate(untraced, (f) => f.newFlows)}, established ${rate(untraced, (f) => f.established).trim()}`,
);
for (const r of untraced)
  if (r.cost !== traced[0]!.cost) console.log(`  !! rules traversed differ: ${r.cost} vs ${traced[0]!.cost}`);
console.log(
  `  explain: false, keyed     ${rate(keyed, (f) => f.newFlows)}, established ${rate(keyed, (f) => f.established).trim()}`,
);
console.log(
  `  keyed, ${HOT_SERVICES} hot Services    ${rate(hot, (f) => f.newFlows)} new (diagnostic: the rules in use stay in cache)`,
);
console.log(
  `  (one 16 MB dependent read after each run: ${[traced, untraced, keyed, hot].map((row) => row.map((r) => r.readNs.toFixed(0)).join('/')).join(', ')} ns)`,
);
for (const row of [traced, untraced, keyed, hot])
  for (const r of row)
    if (r.toEndpoint !== r.sent) console.log(`  !! ${r.sent - r.toEndpoint} established packets reached no endpoint`);

const change = bestAndWorst(
  keyed.map((r) => r.change!.median),
  'lower',
);
const slowest = Math.max(...keyed.map((r) => r.change!.max));
console.log(
  `one endpoint change            ${change.best.toFixed(3).padStart(8)} ms   (${change.worst.toFixed(3)}) target ≤ 1 ms (median of 200 per run; slowest change ${slowest.toFixed(1)} ms)`,
);
const render = bestAndWorst(
  keyed.map((r) => r.renderMs!),
  'lower',
);
console.log(
  `iptables-save render           ${render.best.toFixed(0).padStart(8)} ms   (${render.worst.toFixed(0)}) ${fmt(keyed[0]!.lines!)} lines, target ≤ 2000 ms`,
);

console.log('\nrules traversed per new flow (the cost of a linear KUBE-SERVICES scan):');
console.log(`  iptables model, average        ${(traced[0]!.cost / (6 * ROUND)).toFixed(1).padStart(10)}`);
console.log(`  KUBE-SERVICES length           ${fmt(keyed[0]!.natServices!).padStart(10)}`);
console.log(`  naive baseline: every rule     ${fmt(keyed[0]!.natRules!).padStart(10)}   (all -A lines, nat + filter)`);
console.log(`  IPVS: hash lookups             ${'1'.padStart(10)}   (one virtual-server lookup + scheduler)`);
