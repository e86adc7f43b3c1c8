/** `kube-netsim resolv-conf NAMESPACE/POD PATH...`: the pod's /etc/resolv.conf as kubelet forms it. */
import type { Command } from 'commander';
import { formatResolvConf } from '../../dns/client/index.js';
import { loadCluster } from './load.js';
import { findPod, resolvConfOf } from './pod-dns.js';

export function registerResolvConf(program: Command): void {
  program
    .command('resolv-conf')
    .description("print a pod's /etc/resolv.conf as kubelet writes it (dnsPolicy, dnsConfig, hostNetwork)")
    .argument('<namespace/pod>', 'the pod')
    .argument('<paths...>', 'manifest files or directories')
    .option('--seed <n>', 'seed for every random choice')
    .action(async (podRef: string, paths: string[], opts: { seed?: string }) => {
      const cluster = await loadCluster(paths, opts);
      const rc = resolvConfOf(cluster, findPod(cluster, podRef));
      for (const w of rc.warnings) process.stderr.write(`Warning  ${w.reason}  ${w.message}\n`);
      process.stdout.write(formatResolvConf(rc));
    });
}
