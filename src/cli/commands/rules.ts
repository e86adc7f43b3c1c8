/**
 * `kube-netsim rules PATH... --node NODE --mode iptables|ipvs [--family ipv4|ipv6] [--script FILE]`: what kube-proxy
 * programs on that node: `iptables-save` (or `ip6tables-save`) text for nat and filter, or `ipvsadm -Ln` with weights
 * and connection counts of the current state (after the scenario, when a script is given). Without `--family`,
 * iptables mode prints IPv4 (iptables-save) and ipvs mode both families in one listing, as `ipvsadm -Ln` does.
 * In ipvs mode `--show iptables` prints the nat and filter rules kube-proxy writes around the IPVS table (IPv4 unless
 * `--family`) and `--show ipset` its ipsets as `ipset save` lists them (every family unless `--family`). In every
 * mode `--show conntrack` prints the node's conntrack table as `conntrack -L` does (its summary line on stderr).
 */
import type { Command } from 'commander';
import type { NodeProxy } from '../../cluster/node-proxy.js';
import { InvalidArgumentError } from '../../errors.js';
import type { IPFamily } from '../../model/types.js';
import { conntrackSummary, renderConntrackList } from '../../proxy/conntrack-list.js';
import { IpvsEngine } from '../../proxy/ipvs/engine.js';
import { loadCluster } from './load.js';
import { engineFor, type ProxyCommandOptions } from './trace.js';
import { readScript, runScript, scriptEndTime } from './trace-script.js';

export function registerRules(program: Command): void {
  program
    .command('rules')
    .description(
      'print the rules kube-proxy would program on a node (iptables-save or ipvsadm -Ln; --show for ipsets, conntrack)',
    )
    .argument('<paths...>', 'manifest files or directories')
    .requiredOption('--node <node>', 'the node')
    .option('--mode <mode>', 'iptables, ipvs or userspace (default: the ClusterConfig, else iptables)')
    .option('--family <family>', 'ipv4 or ipv6 (default: ipv4; ipvs lists both)')
    .option('--scheduler <name>', 'IPVS scheduler')
    .option(
      '--show <what>',
      'conntrack (conntrack -L), or in ipvs mode: ipvsadm (default), iptables (nat and filter rules), ipset (ipset save)',
    )
    .option('--script <file>', 'run a scenario first (see trace --script)')
    .option('--seed <n>', "seed for the engine's random choices (default: the ClusterConfig's seed)")
    .action(
      async (paths: string[], opts: ProxyCommandOptions & { family?: string; script?: string; show?: string }) => {
        const family: IPFamily | undefined =
          opts.family === undefined
            ? undefined
            : ({ ipv4: 'IPv4', ipv6: 'IPv6' }[opts.family.toLowerCase()] as IPFamily | undefined);
        if (opts.family !== undefined && !family)
          throw new InvalidArgumentError(`--family must be ipv4 or ipv6, got "${opts.family}"`);
        if (opts.show !== undefined && !SHOW.includes(opts.show))
          throw new InvalidArgumentError(`--show must be ${SHOW.join(', ')}, got "${opts.show}"`);
        // --seed seeds the engine only: the cluster (ClusterIPs, pod names) stays what `get` shows without it.
        const cluster = await loadCluster(paths);
        const engine = engineFor(cluster, opts);
        if (opts.script) {
          const steps = readScript(opts.script);
          await runScript(cluster, engine, steps, opts.script);
          // The script's clock moves only by its advance steps: counts are shown as of its end, trailing ones included.
          engine.sync(scriptEndTime(steps));
        }
        if (opts.show === 'conntrack') {
          engine.sync();
          const lines = renderConntrackList(engine.conntrack.entries(), engine.now, family);
          process.stdout.write(lines.map((l) => `${l}\n`).join(''));
          process.stderr.write(`${conntrackSummary(lines.length)}\n`);
          return;
        }
        const text = listing(engine, family, opts.show);
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      },
    );
}

const SHOW = ['ipvsadm', 'iptables', 'ipset', 'conntrack'];

/** What `--show` asks of the node's engine: ipvs mode has three listings, the others one (their iptables rules). */
function listing(proxy: NodeProxy, family: IPFamily | undefined, show: string | undefined): string {
  const engine = proxy.engine;
  if (engine instanceof IpvsEngine) {
    proxy.sync();
    if (show === 'iptables') return engine.iptablesRules(family);
    if (show === 'ipset') return engine.ipsetSave(family);
    return proxy.rules(family);
  }
  if (show === undefined || show === 'iptables') return proxy.rules(family);
  throw new InvalidArgumentError(`--show ${show} is for ipvs mode; ${proxy.mode} mode has iptables rules only`);
}
