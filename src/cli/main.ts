/**
 * The kube-netsim command line. Parsing and printing only: every command loads a cluster through the library API and
 * prints what it asks for. Exit codes: 0 success, 2 bad input (invalid manifests or arguments), 1 internal fault.
 */
import { Command, CommanderError } from 'commander';
import { KubeNetsimError } from '../errors.js';
import { registerEnv } from './commands/env.js';
import { registerGet } from './commands/get.js';
import { registerHealthcheck } from './commands/healthcheck.js';
import { registerIpam } from './commands/ipam.js';
import { registerResolvConf } from './commands/resolv-conf.js';
import { registerResolve } from './commands/resolve.js';
import { registerRules } from './commands/rules.js';
import { registerServe } from './commands/serve.js';
import { registerTrace } from './commands/trace.js';
import { registerZone } from './commands/zone.js';

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_BAD_INPUT = 2;

export function buildProgram(): Command {
  // A malformed flag is one `error:` line, as every other bad input is (README); `--help` prints the usage.
  const program = new Command('kube-netsim')
    .description('A Kubernetes cluster-networking and service-discovery emulator')
    .exitOverride();
  registerGet(program);
  registerIpam(program);
  registerEnv(program);
  registerServe(program);
  registerResolvConf(program);
  registerResolve(program);
  registerZone(program);
  registerTrace(program);
  registerRules(program);
  registerHealthcheck(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    }
    if (err instanceof KubeNetsimError) {
      process.stderr.write(`error: ${err.message}\n`);
      // Every coded error is about what the user gave us: manifests, arguments, names, ranges.
      return EXIT_BAD_INPUT;
    }
    process.stderr.write(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_INTERNAL;
  }
}

/**
 * `kube-netsim … | head`: once the reader has gone, further writes fail with EPIPE. Like a Unix tool killed by
 * SIGPIPE, stop quietly instead of dying with an unhandled stream error.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
}

/**
 * Run the CLI on this process's arguments and set its exit code. bin/kube-netsim.js, the one way in (`npm start`
 * included), calls this however it was reached (`npx kube-netsim`, a global install's link, a checkout behind a
 * symlink): guessing from the script's path missed npm's links, which have no `.js`, and the CLI then did nothing.
 */
export async function runCli(): Promise<void> {
  exitQuietlyOnClosedPipe(process.stdout);
  const code = await main(process.argv.slice(2));
  // Commands that keep running (serve) set process.exitCode themselves and never resolve here.
  process.exitCode = code;
}
