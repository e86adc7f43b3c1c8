/**
 * `kube-netsim healthcheck PATH... --node NODE --service NS/NAME [--mode M]`: what kube-proxy's health-check server on the
 * Service's healthCheckNodePort answers on that node: 200 with the local endpoint count, or 503. In userspace mode
 * nothing listens there (that proxier had no health server): an error, exit 2.
 */
import type { Command } from 'commander';
import { proxyConfigOf } from '../../cluster/config-sections.js';
import { NotFoundError } from '../../errors.js';
import { serviceHealth } from '../../proxy/healthcheck.js';
import { ignoredBecause, ServiceTable } from '../../proxy/service-table.js';
import { loadCluster, parseNamespacedName } from './load.js';
import { parseModeFlag, requireNode } from './proxy-common.js';

const REASONS: Record<number, string> = { 200: 'OK', 503: 'Service Unavailable' };

interface HealthcheckOptions {
  node: string;
  service: string;
  mode?: string;
  json?: boolean;
  seed?: string;
}

export function registerHealthcheck(program: Command): void {
  program
    .command('healthcheck')
    .description("print what kube-proxy's health-check server answers for a Service on a node")
    .argument('<paths...>', 'manifest files or directories')
    .requiredOption('--node <node>', 'the node')
    .requiredOption('--service <ns/name>', 'a LoadBalancer Service with externalTrafficPolicy: Local')
    .option('--mode <mode>', 'iptables, ipvs or userspace (default: the ClusterConfig, else iptables)')
    .option('--json', 'print JSON')
    .option('--seed <n>', 'seed for every random choice')
    .action(async (paths: string[], opts: HealthcheckOptions) => {
      const mode = parseModeFlag(opts.mode);
      const cluster = await loadCluster(paths, opts);
      const node = requireNode(cluster, opts.node);
      const { namespace, name } = parseNamespacedName(opts.service);
      const svc = cluster.get('Service', name, namespace);
      if (!svc) throw new NotFoundError(`service "${name}" not found in namespace "${namespace}"`);
      if ((mode ?? proxyConfigOf(cluster.config).mode) === 'userspace') {
        // Only the iptables and ipvs proxiers run a service health server.
        throw new NotFoundError(
          `the userspace proxier runs no health-check server: nothing listens on the healthCheckNodePort of ${namespace}/${name} (connection refused)`,
        );
      }
      const table = ServiceTable.fromStore(cluster.store, node);
      const answer = serviceHealth(table, `${namespace}/${name}`);
      table.detach();
      if (!answer) {
        const handedOff = ignoredBecause(svc.metadata.labels);
        if (handedOff)
          throw new NotFoundError(
            `kube-proxy ignores service ${namespace}/${name} (it is labelled ${handedOff}): no health-check server listens for it`,
          );
        throw new NotFoundError(
          `service ${namespace}/${name} has no healthCheckNodePort (only LoadBalancer Services with externalTrafficPolicy: Local get one)`,
        );
      }
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ status: answer.status, headers: answer.headers, body: JSON.parse(answer.body) }, null, 2)}\n`,
        );
        return;
      }
      process.stdout.write(`HTTP/1.1 ${answer.status} ${REASONS[answer.status]}\n`);
      for (const [k, v] of Object.entries(answer.headers)) process.stdout.write(`${k}: ${v}\n`);
      process.stdout.write(`\n${answer.body}\n`);
    });
}
