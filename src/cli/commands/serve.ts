/**
 * `kube-netsim serve PATH... [--listen ADDR:PORT]...`: the cluster's DNS on real UDP and TCP sockets, following the
 * input files (an edit is applied live; an invalid edit is logged and the last good state keeps serving).
 */
import type { Command } from 'commander';
import { dnsOptionsOf } from '../../cluster/config-sections.js';
import type { DnsOptions } from '../../dns/config.js';
import { type MetricsSource, serveMetrics } from '../../dns/server/health.js';
import { parseListen } from '../../dns/server/listeners.js';
import { DnsServer, type DnsServerOptions } from '../../dns/server/server.js';
import { startWorkers } from '../../dns/server/workers.js';
import { InvalidArgumentError, KubeNetsimError } from '../../errors.js';
import { readInputs } from '../../model/load/index.js';
import type { Store } from '../../model/store.js';
import { watchInputs } from '../watch-inputs.js';
import { loadCluster } from './load.js';

interface ServeOptions {
  listen: string[];
  seed?: string;
  ttl?: string;
  pods?: string;
  endpointPodNames?: boolean;
  ignoreEmptyService?: boolean;
  endpoints?: boolean;
  fallthrough?: string[];
  upstream?: string[];
  cache?: string;
  loadbalance?: boolean;
  allowTransfer?: boolean;
  metrics?: string;
  watch?: boolean;
  workers?: string;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description("serve the cluster's DNS (CoreDNS's kubernetes plugin) on UDP and TCP")
    .argument('<paths...>', 'manifest files or directories')
    .option('--listen <addr:port>', 'address to serve on, repeatable (default 127.0.0.1:5353)', collect)
    .option('--seed <n>', 'seed for every random choice')
    .option('--ttl <seconds>', 'TTL of cluster records (0-3600)')
    .option('--pods <mode>', 'pod records: disabled, insecure or verified')
    .option('--endpoint-pod-names', 'name endpoints after their pods when they have no hostname')
    .option('--ignore-empty-service', 'NXDOMAIN for ClusterIP Services without ready endpoints')
    .option('--no-endpoints', 'do not serve endpoint records (CoreDNS noendpoints)')
    .option('--fallthrough <zone>', 'zone whose unknown names go upstream, repeatable', collect)
    .option('--upstream <ip:port>', 'upstream resolver for names outside the cluster, repeatable', collect)
    .option('--cache <seconds>', 'cache upstream and reverse-zone answers this long (0 = off)')
    .option('--no-loadbalance', 'keep A/AAAA records in index order instead of shuffling them')
    .option('--allow-transfer', 'answer AXFR/IXFR of the cluster zone over TCP')
    .option('--metrics <addr:port>', 'serve /metrics, /health and /ready on this address')
    .option('--no-watch', 'do not follow changes to the input files')
    .option('--workers <n>', 'DNS worker processes sharing the sockets (1 serves in this process)', '1')
    .action(async (paths: string[], opts: ServeOptions) => {
      // Addresses are checked before anything starts (workers would each find a bad one on their own).
      for (const text of opts.listen ?? []) parseListen(text);
      if (opts.metrics !== undefined) parseListen(opts.metrics, '--metrics');
      const cluster = await loadCluster(paths, opts);
      const dns = dnsOptions(dnsOptionsOf(cluster.config), opts);
      const workers = Number(opts.workers ?? '1');
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
        throw new InvalidArgumentError(`--workers must be 1-64, got "${opts.workers}"`);
      }
      const serverOptions = {
        listen: opts.listen?.length ? opts.listen : ['127.0.0.1:5353'],
        dns,
        clusterDomain: cluster.config.clusterDomain,
        seed: cluster.config.seed,
        allowTransfer: opts.allowTransfer ?? false,
      };
      const running =
        workers === 1
          ? await inProcess(cluster.store, serverOptions)
          : await inWorkers(cluster.store, serverOptions, workers);
      for (const l of running.listeners) process.stdout.write(`listening on ${l.transport} ${l.address}\n`);
      let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
      try {
        metrics = opts.metrics ? await serveMetrics(opts.metrics, running) : undefined;
      } catch (err) {
        await running.stop();
        throw err;
      }
      if (metrics) process.stdout.write(`metrics on http://${metrics.address}/metrics\n`);
      const stopWatching = opts.watch === false ? () => {} : followInputs(paths, cluster);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      stopWatching();
      await metrics?.close();
      await running.stop();
      process.stdout.write('stopped\n');
    });
}

interface Running extends MetricsSource {
  listeners: { transport: string; address: string }[];
  stop(): Promise<void>;
}

async function inProcess(store: Store, options: DnsServerOptions): Promise<Running> {
  const server = new DnsServer(store, options);
  const listeners = await server.start();
  return {
    listeners,
    metrics: () => server.metrics.render(),
    ready: () => server.zone.hasSynced,
    stop: () => server.stop(),
  };
}

async function inWorkers(store: Store, options: DnsServerOptions, count: number): Promise<Running> {
  const pool = await startWorkers(store, options, count);
  return { listeners: pool.listeners, metrics: () => pool.metrics(), ready: () => true, stop: () => pool.stop() };
}

/** Command-line flags override the ClusterConfig's `dns:` section. */
function dnsOptions(base: DnsOptions, opts: ServeOptions): DnsOptions {
  const out = { ...base };
  if (opts.ttl !== undefined) {
    const ttl = Number(opts.ttl);
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600)
      throw new InvalidArgumentError(`--ttl must be 0-3600, got "${opts.ttl}"`);
    out.ttl = ttl;
  }
  if (opts.pods !== undefined) {
    if (!['disabled', 'insecure', 'verified'].includes(opts.pods)) {
      throw new InvalidArgumentError(`--pods must be disabled, insecure or verified, got "${opts.pods}"`);
    }
    out.pods = opts.pods as DnsOptions['pods'];
  }
  if (opts.endpointPodNames) out.endpointPodNames = true;
  if (opts.ignoreEmptyService) out.ignoreEmptyService = true;
  if (opts.endpoints === false) out.noEndpoints = true;
  if (opts.fallthrough) out.fallthrough = opts.fallthrough;
  if (opts.upstream) out.upstream = opts.upstream;
  if (opts.cache !== undefined) {
    const cache = Number(opts.cache);
    if (!Number.isInteger(cache) || cache < 0)
      throw new InvalidArgumentError(`--cache must be a whole number of seconds, got "${opts.cache}"`);
    out.cache = cache;
  }
  if (opts.loadbalance === false) out.loadbalance = false;
  return out;
}

/** Re-read the inputs when they change (debounced) and bring the cluster in line; log errors, keep the last good state. */
function followInputs(paths: string[], cluster: import('../../cluster/cluster.js').Cluster): () => void {
  // One reload at a time, so a slow read of older contents cannot land after a newer one.
  let reloading = Promise.resolve();
  const readAndSync = async () => {
    try {
      const read = await readInputs(paths);
      const { applied, deleted } = cluster.syncDocuments(read.documents, read.issues);
      if (applied || deleted) process.stdout.write(`reloaded: ${applied} applied, ${deleted} deleted\n`);
    } catch (err) {
      const text = err instanceof KubeNetsimError ? err.message : String(err);
      process.stderr.write(`reload rejected, still serving the last good state:\n${text}\n`);
    }
  };
  return watchInputs(
    paths,
    () => {
      reloading = reloading.then(readAndSync);
    },
    { onError: (dir, err) => process.stderr.write(`not following changes in ${dir}: ${err.message}\n`) },
  );
}
