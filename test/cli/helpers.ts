/** Run the CLI as a user does: `node bin/kube-netsim.js ARGS`, with its exit code, stdout and stderr. */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * CLI processes running at once. ava starts a file's tests together, and forty CLI processes on a two-core machine
 * each took most of a minute, so a loaded machine pushed them past the timeout (which then measured the queue, not
 * the command). Queued here, each process runs at about its own speed and the timeout is its own.
 */
const MAX_RUNNING = Math.max(2, availableParallelism());
let running = 0;
const waiting: (() => void)[] = [];

async function slot(): Promise<void> {
  if (running < MAX_RUNNING) {
    running++;
    return;
  }
  await new Promise<void>((resolve) => waiting.push(resolve));
}

function release(): void {
  const next = waiting.shift();
  if (next) next();
  else running--;
}

export async function cli(...args: string[]): Promise<CliResult> {
  await slot();
  try {
    return await new Promise((resolve) => {
      execFile(
        process.execPath,
        ['bin/kube-netsim.js', ...args],
        { timeout: 60_000, maxBuffer: 64 * 2 ** 20 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  } finally {
    release();
  }
}
