/**
 * bench/dns: dnsperf against kube-netsim and against Knot serving the exported zone of the same generated cluster
 * (10,000 Services; a mix of A, AAAA, SRV, PTR and NXDOMAIN names), one after the other, 10 s each. Prints both QPS,
 * their ratio, the loss and the latency. Target: at least half of Knot's QPS with no loss.
 *
 *   node --import=tsx bench/dns.ts [--seconds 10] [--services 10000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateScaleCluster } from '../fixtures/scale/generate.js';
import { Cluster } from '../src/cluster/cluster.js';
import { dnsOptionsOf } from '../src/cluster/config-sections.js';
import { exportZoneFiles } from '../src/dns/resolve/zone-file.js';
import { DnsServer } from '../src/dns/server/server.js';
import { Rng } from '../src/util/rng.js';
import { dnsperf, freePort, type PerfResult, startKnot } from './lib/dnsperf.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    services: { type: 'string', default: '10000' },
  },
});
const seconds = Number(values.seconds);
const services = Number(values.services);

const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-bench-dns-'));
const cluster = Cluster.create(generateScaleCluster({ nodes: 500, pods: services * 3, services, seed: 7 }));
const server = new DnsServer(cluster, {
  listen: ['127.0.0.1:0'],
  dns: { ...dnsOptionsOf(cluster.config), loadbalance: false },
});
await server.start();

// The query mix: for random Services, A, AAAA, SRV of the named port, PTR of the ClusterIP, and a missing name.
const rng = new Rng(11);
const all = cluster.list('Service').filter((s) => s.metadata.namespace?.startsWith('load-'));
const lines: string[] = [];
for (let i = 0; i < 20_000; i++) {
  const svc = all[rng.int(all.length)]!;
  const name = `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`;
  const ip = svc.spec.clusterIP;
  switch (i % 5) {
    case 0:
      lines.push(`${name} A`);
      break;
    case 1:
      lines.push(`${name} AAAA`);
      break;
    case 2:
      lines.push(`_http._tcp.${name} SRV`);
      break;
    case 3:
      lines.push(ip && ip !== 'None' ? `${ip.split('.').reverse().join('.')}.in-addr.arpa PTR` : `${name} A`);
      break;
    default:
      lines.push(`missing-${i}.${svc.metadata.namespace}.svc.cluster.local A`);
  }
}
const queryFile = join(dir, 'queries.txt');
writeFileSync(queryFile, `${lines.join('\n')}\n`);

const exported = exportZoneFiles(server.zone);
for (const [zone, text] of Object.entries(exported.files)) writeFileSync(join(dir, `${zone}.zone`), text);

const show = (name: string, r: PerfResult) =>
  console.log(
    `${name.padEnd(12)} ${r.qps.toFixed(0).padStart(8)} qps   lost ${r.lost}/${r.sent}   avg latency ${r.avgLatencyMs.toFixed(3)} ms`,
  );

console.log(
  `cluster: ${cluster.store.count('Service')} Services, ${cluster.store.count('Pod')} pods; ${lines.length} queries, ${seconds} s each`,
);
const ours = await dnsperf(server.port, queryFile, seconds);
show('kube-netsim', ours);
await server.stop();

const knotPort = await freePort();
const knot = await startKnot(dir, Object.keys(exported.files), knotPort);
const peer = await dnsperf(knotPort, queryFile, seconds);
show('knot', peer);
knot.kill('SIGTERM');

console.log(`ratio kube-netsim/knot: ${(ours.qps / peer.qps).toFixed(2)} (target ≥ 0.50 with no loss)`);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
