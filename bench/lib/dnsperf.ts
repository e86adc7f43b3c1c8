/** Running dnsperf and Knot for the DNS benchmark: the peer runs beside us, same query file, same duration. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PerfResult {
  qps: number;
  sent: number;
  completed: number;
  lost: number;
  avgLatencyMs: number;
  stdout: string;
}

/** dnsperf -l SECONDS against 127.0.0.1:PORT with the query file; -t 1 so a lost query does not stall for 5 s. */
export async function dnsperf(
  port: number,
  queryFile: string,
  seconds: number,
  extra: string[] = [],
): Promise<PerfResult> {
  const { stdout } = await run(
    'dnsperf',
    ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-l', String(seconds), '-t', '1', ...extra],
    { timeout: (seconds + 30) * 1000, maxBuffer: 16 * 2 ** 20 },
  );
  const num = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? Number.NaN);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    stdout,
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** knotd serving zone files from `dir` on 127.0.0.1:PORT, one UDP worker (as in toolchain.md's measurement). */
export async function startKnot(dir: string, zones: string[], port: number): Promise<ChildProcess> {
  const zoneConf = zones
    .map(
      (z) =>
        `  - domain: ${z}\n    file: "${join(dir, `${z}.zone`)}"\n    zonefile-sync: -1\n    journal-content: none\n`,
    )
    .join('');
  writeFileSync(
    join(dir, 'knot.conf'),
    `server:\n  listen: 127.0.0.1@${port}\n  rundir: "${dir}"\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n` +
      `log:\n  - target: stderr\n    any: error\ndatabase:\n  storage: "${dir}/db"\ncontrol:\n  listen: "${dir}/knot.sock"\nzone:\n${zoneConf}`,
  );
  const knot = spawn('knotd', ['-c', join(dir, 'knot.conf')], { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await run('dig', ['@127.0.0.1', '-p', String(port), '+short', '+tries=1', '+time=1', 'SOA', zones[0]!])
      .then((r) => r.stdout.includes('hostmaster'))
      .catch(() => false);
    if (ok) return knot;
    if (Date.now() > deadline) throw new Error('knotd did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
}
