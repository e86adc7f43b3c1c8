/**
 * Each bench row in a process of its own, as JMH forks a JVM per benchmark.
 *
 * Why: V8 optimises a function for the object shapes and call targets it has seen. Rows that share a process share
 * that feedback: the conntrack code an IPVS row warmed up meets a userspace engine's calls and keyed packets after
 * text ones, and turns polymorphic. Measured on this machine, the last row of a shared run (userspace, keyed) ran at
 * half the new-flow rate and a third of the established rate it reaches alone. A program that runs one engine on one
 * kind of packet, the case the figures stand for, never pays that; so each row starts from a fresh V8.
 *
 * Each row also runs several times (`runRows`), as timeit repeats a timing and reports the best: on this shared
 * machine the same row's rates move by half between runs a minute apart (iptables keyed: 951,082 and 572,307 new
 * flows/s in two consecutive runs of one build, the 16 MB read taking 153 and 165 ns after them), with the code
 * unchanged. The fastest run is the one least disturbed by the machine's other tenants; the benches print the slowest
 * beside it, so neither is hidden.
 */
import { spawnSync } from 'node:child_process';

/** The environment variable that tells a child which row it runs. */
const ROW_VAR = 'KUBE_NETSIM_BENCH_ROW';
/** The environment variable that sets how many times each row runs (default 3). */
const RUNS_VAR = 'KUBE_NETSIM_BENCH_RUNS';
/** The prefix of the one stdout line that carries a child's figures back. */
const RESULT = 'bench-row-result ';

/** The row this process was started to run, or null in the parent. */
export function ownRow(): number | null {
  const row = process.env[ROW_VAR];
  return row === undefined ? null : Number(row);
}

/**
 * In a child (`ownRow()` not null): print `figures` for the parent. The child's other output (warnings) is passed
 * through to the parent's.
 */
export function reportRow(figures: unknown): void {
  console.log(RESULT + JSON.stringify(figures));
}

/**
 * In the parent: run row `row` in a fresh Node with this process's flags and arguments, and return its figures.
 * Throws if the child fails or reports nothing.
 */
export function runRowInOwnProcess<T>(row: number): T {
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    env: { ...process.env, [ROW_VAR]: String(row) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  let figures: T | undefined;
  for (const line of child.stdout.split('\n')) {
    if (line.startsWith(RESULT)) figures = JSON.parse(line.slice(RESULT.length)) as T;
    else if (line !== '') console.log(line);
  }
  if (child.status !== 0 || figures === undefined)
    throw new Error(`bench row ${row} failed (exit ${child.status ?? child.signal})`);
  return figures;
}

/** How many times each row runs: KUBE_NETSIM_BENCH_RUNS, or 3. */
export function benchRuns(): number {
  const runs = Number(process.env[RUNS_VAR] ?? 3);
  return Number.isInteger(runs) && runs >= 1 ? runs : 3;
}

/**
 * In the parent: rows 0 … rows − 1, each `benchRuns()` times in a fresh process, taking the rows in turn and then again,
 * so a row's runs fall minutes apart (in different phases of the machine, not one bad minute). `onRound` is told after
 * each pass over the rows. Returns each row's figures, one per run.
 */
export function runRows<T>(rows: number, onRound: (done: number, of: number) => void = () => {}): T[][] {
  const runs = benchRuns();
  const figures: T[][] = Array.from({ length: rows }, () => []);
  for (let run = 0; run < runs; run++) {
    for (let row = 0; row < rows; row++) figures[row]!.push(runRowInOwnProcess<T>(row));
    onRound(run + 1, runs);
  }
  return figures;
}

/** The best and the worst value of one figure over a row's runs: rates are better higher, times lower. */
export function bestAndWorst(values: readonly number[], better: 'higher' | 'lower'): { best: number; worst: number } {
  const high = Math.max(...values);
  const low = Math.min(...values);
  return better === 'higher' ? { best: high, worst: low } : { best: low, worst: high };
}
