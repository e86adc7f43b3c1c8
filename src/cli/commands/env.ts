/** `kube-netsim env NAMESPACE/POD PATH...`: the Service environment variables kubelet injects into that pod. */
import type { Command } from 'commander';
import { NotFoundError } from '../../errors.js';
import { podServiceEnv } from '../../kubelet/service-env.js';
import { loadCluster, parseNamespacedName } from './load.js';

export function registerEnv(program: Command): void {
  program
    .command('env')
    .description("print the Service environment variables kubelet would inject into a pod's containers")
    .argument('<namespace/pod>', 'the pod')
    .argument('<paths...>', 'manifest files or directories')
    .option('--seed <n>', 'seed for every random choice')
    .action(async (podRef: string, paths: string[], opts: { seed?: string }) => {
      const { namespace, name } = parseNamespacedName(podRef);
      const cluster = await loadCluster(paths, opts);
      const pod = cluster.get('Pod', name, namespace);
      if (!pod) throw new NotFoundError(`pod "${name}" not found in namespace "${namespace}"`);
      const lines = podServiceEnv(pod, cluster.store.each('Service')).map(([k, v]) => `${k}=${v}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
