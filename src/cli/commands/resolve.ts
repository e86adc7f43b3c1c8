/**
 * `kube-netsim resolve NAME [--type A] --from NAMESPACE/POD PATH...`: what that pod's stub resolver sends for NAME —
 * every query the search path and ndots produce, in order, with each answer — and the final result.
 */
import type { Command } from 'commander';
import type { Cluster } from '../../cluster/cluster.js';
import { dnsOptionsOf } from '../../cluster/config-sections.js';
import {
  type Answer,
  formatWalk,
  type LookupType,
  type QueryFn,
  resolveFromPod,
  walkToJSON,
} from '../../dns/client/index.js';
import { formatRdata } from '../../dns/resolve/format.js';
import { resolve as resolveName } from '../../dns/resolve/resolve.js';
import { ZoneIndex } from '../../dns/zone/zone-index.js';
import { InvalidArgumentError } from '../../errors.js';
import { podHostsLines } from '../../kubelet/hosts-file.js';
import { loadCluster } from './load.js';
import { findPod, podNode, resolvConfOf } from './pod-dns.js';

interface ResolveOptions {
  from: string;
  type: string;
  musl?: boolean;
  output?: string;
  seed?: string;
}

const TYPES = new Set(['ADDR', 'A', 'AAAA', 'SRV', 'TXT', 'PTR', 'CNAME', 'MX', 'NS', 'SOA', 'CAA', 'ANY']);

export function registerResolve(program: Command): void {
  program
    .command('resolve')
    .description("replay a pod's name lookup: every query its search path and ndots produce, with each answer")
    .argument('<name>', 'the name the application looks up')
    .argument('<paths...>', 'manifest files or directories')
    .requiredOption('--from <namespace/pod>', 'the pod whose resolver to simulate')
    .option('--type <type>', 'A, AAAA, SRV, … or ADDR for getaddrinfo (A and AAAA per candidate)', 'A')
    .option('--musl', "musl's rules (Alpine) instead of glibc's")
    .option('-o, --output <format>', 'json')
    .option('--seed <n>', 'seed for every random choice')
    .action(async (name: string, paths: string[], opts: ResolveOptions) => {
      const type = opts.type.toUpperCase();
      if (!TYPES.has(type))
        throw new InvalidArgumentError(`--type must be one of ${[...TYPES].join(', ')}, got "${opts.type}"`);
      const cluster = await loadCluster(paths, opts);
      const pod = findPod(cluster, opts.from);
      const zone = new ZoneIndex(cluster.store, {
        clusterDomain: cluster.config.clusterDomain,
        options: dnsOptionsOf(cluster.config),
      });
      const resolvConf = resolvConfOf(cluster, pod);
      const walk = await resolveFromPod(name, {
        resolvConf,
        type: type as LookupType,
        flavor: opts.musl ? 'musl' : 'glibc',
        query: inProcessQuery(zone, reachesClusterDns(cluster, resolvConf.nameservers)),
        hosts: podHostsLines(pod, cluster.config.clusterDomain, podNode(cluster, pod)),
      });
      zone.dispose();
      process.stdout.write(
        opts.output === 'json' ? `${JSON.stringify(walkToJSON(walk), null, 2)}\n` : `${formatWalk(walk)}\n`,
      );
    });
}

/** Whether a resolv.conf's nameservers include cluster DNS (a ClusterIP of kube-system/kube-dns). */
function reachesClusterDns(cluster: Cluster, nameservers: readonly string[]): boolean {
  const kubeDns = cluster.get('Service', 'kube-dns', 'kube-system')?.spec.clusterIPs ?? [];
  return nameservers.some((ns) => kubeDns.includes(ns));
}

/**
 * Each query goes to the nameserver the pod's resolv.conf names. Cluster DNS is answered in process by the resolver
 * the server uses (names that belong upstream get the answer it gives without upstream resolvers). A pod whose
 * resolv.conf names only other servers (dnsPolicy Default, a hostNetwork pod on ClusterFirst, None) asks the node's
 * resolver, which knows nothing of the cluster zone: its names are NXDOMAIN there, and other names are not emulated.
 */
function inProcessQuery(zone: ZoneIndex, clusterDns: boolean): QueryFn {
  const clusterSuffix = `.${zone.clusterDomain}.`.toLowerCase();
  return (qname, qtype): Answer => {
    if (!clusterDns) {
      const lower = qname.toLowerCase();
      const inCluster = lower.endsWith(clusterSuffix) || lower === clusterSuffix.slice(1);
      return { rcode: inCluster ? 'NXDOMAIN' : 'REFUSED', answers: [] };
    }
    const result = resolveName({ name: qname, type: qtype }, zone);
    return {
      rcode: result.rcode,
      answers: result.answer.map((rr) => ({ name: rr.name, type: rr.type, ttl: rr.ttl, data: formatRdata(rr) })),
    };
  };
}
