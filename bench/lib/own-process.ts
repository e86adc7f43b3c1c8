/**
 * Each bench row in a process of its own, as JMH forks a JVM per benchmark.
 *
 * Why: V8 optimises a function for the object shapes and call targets it has seen. Rows that share a process share
 * that feedback: the conntrack code an IPVS row warmed up meets a userspace engine's calls and keyed packets after
 * text ones, and turns polymorphic. Measured on this machine, the last row of a shared run (userspace, keyed) ran at
 * half the new-flow rate and a third of the established rate it reaches alone. A program that runs one engine on one
 * kind of packet, the case the figures stand for, never pays that; so each row starts from a fresh V8.
 */
import { spawnSync } from 'node:child_process';

/** The environment variable that tells a child which row it runs. */
const ROW_VAR = 'KUBE_NETSIM_BENCH_ROW';
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
