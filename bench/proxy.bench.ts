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
 * Each rate row runs in a process of its own (lib/own-process.ts), so no row inherits another's JIT feedback; the
 * keyed row's process then times the endpoint change and the render, on an engine still holding its flows.
 */
import { proxyConfig } from '../src/proxy/engine.js';
import { IptablesEngine } from '../src/proxy/iptables/engine.js';
import type { Packet } from '../src/proxy/packet.js';
import type { ServiceTable } from '../src/proxy/service-table.js';
import { Rng } from '../src/util/rng.js';
import { ownRow, reportRow, runRowInOwnProcess } from './lib/own-process.js';
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

const [traced, untraced, keyed, hot] = ROWS.map((_, row) => runRowInOwnProcess<RowFigures>(row)) as [
  RowFigures,
  RowFigures,
  RowFigures,
  RowFigures,
];
console.log(`new-flow decisions             ${fmt(traced.newFlows).padStart(12)} /s   target ≥ 1,000,000`);
console.log(`established-flow packets       ${fmt(traced.established).padStart(12)} /s   target ≥ 5,000,000`);
console.log(
  `  with explain: false          ${fmt(untraced.newFlows).padStart(12)} /s new, ${fmt(untraced.established)} /s established`,
);
if (untraced.cost !== traced.cost) console.log(`  !! rules traversed differ: ${untraced.cost} vs ${traced.cost}`);
console.log(
  `  explain: false, keyed        ${fmt(keyed.newFlows).padStart(12)} /s new, ${fmt(keyed.established)} /s established`,
);
console.log(
  `  keyed, ${HOT_SERVICES} hot Services       ${fmt(hot.newFlows).padStart(12)} /s new (diagnostic: the rules in use stay in cache)`,
);
console.log(
  `  (each row in its own process; one 16 MB dependent read after each: ${[traced, untraced, keyed, hot].map((r) => r.readNs.toFixed(0)).join(', ')} ns)`,
);
for (const r of [traced, untraced, keyed, hot])
  if (r.toEndpoint !== r.sent) console.log(`  !! ${r.sent - r.toEndpoint} established packets reached no endpoint`);

const change = keyed.change!;
console.log(
  `one endpoint change            ${change.median.toFixed(3).padStart(8)} ms   target ≤ 1 ms (median of 200; slowest ${change.max.toFixed(1)} ms)`,
);
console.log(
  `iptables-save render           ${keyed.renderMs!.toFixed(0).padStart(8)} ms   (${fmt(keyed.lines!)} lines) target ≤ 2000 ms`,
);

console.log('\nrules traversed per new flow (the cost of a linear KUBE-SERVICES scan):');
console.log(`  iptables model, average        ${(traced.cost / (6 * ROUND)).toFixed(1).padStart(10)}`);
console.log(`  KUBE-SERVICES length           ${fmt(keyed.natServices!).padStart(10)}`);
console.log(`  naive baseline: every rule     ${fmt(keyed.natRules!).padStart(10)}   (all -A lines, nat + filter)`);
console.log(`  IPVS: hash lookups             ${'1'.padStart(10)}   (one virtual-server lookup + scheduler)`);
