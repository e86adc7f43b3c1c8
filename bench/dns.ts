/**
 * bench/dns: the DNS figures issue 3 names, each beside its peer.
 *
 * 1. Throughput: dnsperf against kube-netsim and against Knot serving the exported zone of the same generated cluster
 *    (10,000 Services; a mix of A, AAAA, SRV, PTR and NXDOMAIN names), one after the other, 10 s each: both QPS, their
 *    ratio, the loss and the latency. Target: at least half of Knot's QPS with no loss.
 * 2. Memory: RSS of a DNS worker while serving the 150,000-pod / 8,200-Service scale cluster, against CoreDNS's
 *    published sizing, (pods + services)/1000 + 54 MB.
 * 3. Freshness: time from applying one endpoint change to the changed answer at the socket, on that cluster (≤ 10 ms).
 *
 *   node --import=tsx bench/dns.ts [--seconds 10] [--services 10000] [--workers 2]
 */
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { generateScaleCluster } from '../fixtures/scale/generate.js';
import { Cluster } from '../src/cluster/cluster.js';
import { dnsOptionsOf } from '../src/cluster/config-sections.js';
import { exportZoneFiles } from '../src/dns/resolve/zone-file.js';
import { startWorkers } from '../src/dns/server/workers.js';
import { ZoneIndex } from '../src/dns/zone/zone-index.js';
import type { Pod } from '../src/model/types.js';
import { Rng } from '../src/util/rng.js';
import { dnsperf, freePort, type PerfResult, startKnot } from './lib/dnsperf.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    services: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '2' },
    'skip-scale': { type: 'boolean', default: false },
    'skip-throughput': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const workers = Number(values.workers);

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

function serverOptions(cluster: Cluster) {
  return {
    listen: ['127.0.0.1:0'],
    dns: { ...dnsOptionsOf(cluster.config), loadbalance: false },
    clusterDomain: cluster.config.clusterDomain,
    seed: cluster.config.seed,
  };
}

// ---------------------------------------------------------------- 1. throughput against Knot
if (!values['skip-throughput']) {
  const services = Number(values.services);
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-bench-dns-'));
  const cluster = Cluster.create(generateScaleCluster({ nodes: 500, pods: services * 3, services, seed: 7 }));
  const rng = new Rng(11);
  const all = cluster.list('Service').filter((s) => s.metadata.namespace?.startsWith('load-'));
  const lines: string[] = [];
  for (let i = 0; i < 20_000; i++) {
    const svc = all[rng.int(all.length)]!;
    const name = `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`;
    const ip = svc.spec.clusterIP;
    const kind = i % 5;
    if (kind === 0) lines.push(`${name} A`);
    else if (kind === 1) lines.push(`${name} AAAA`);
    else if (kind === 2) lines.push(`_http._tcp.${name} SRV`);
    else if (kind === 3 && ip && ip !== 'None') lines.push(`${ip.split('.').reverse().join('.')}.in-addr.arpa PTR`);
    else lines.push(`missing-${i}.${svc.metadata.namespace}.svc.cluster.local A`);
  }
  const queryFile = join(dir, 'queries.txt');
  writeFileSync(queryFile, `${lines.join('\n')}\n`);
  const zone = new ZoneIndex(cluster.store, { clusterDomain: 'cluster.local', options: dnsOptionsOf(cluster.config) });
  const exported = exportZoneFiles(zone);
  zone.dispose();
  for (const [name, text] of Object.entries(exported.files)) writeFileSync(join(dir, `${name}.zone`), text);

  const show = (name: string, r: PerfResult) =>
    console.log(
      `  ${name.padEnd(26)} ${r.qps.toFixed(0).padStart(8)} qps   lost ${r.lost}/${r.sent}   avg latency ${r.avgLatencyMs.toFixed(3)} ms`,
    );
  console.log(
    `throughput: ${cluster.store.count('Service')} Services, ${cluster.store.count('Pod')} pods; ${lines.length} queries (A, AAAA, SRV, PTR, NXDOMAIN), ${seconds} s each`,
  );
  const pool = await startWorkers(cluster.store, serverOptions(cluster), workers);
  const port = Number(pool.listeners[0]!.address.split(':').pop());
  const ours = await dnsperf(port, queryFile, seconds);
  show(`kube-netsim (${workers} worker${workers > 1 ? 's' : ''})`, ours);
  await pool.stop();

  const knotPort = await freePort();
  const knot = await startKnot(dir, Object.keys(exported.files), knotPort);
  const peer = await dnsperf(knotPort, queryFile, seconds);
  show('knot 3.2 (1 UDP worker)', peer);
  knot.kill('SIGTERM');
  console.log(`  ratio kube-netsim/knot: ${(ours.qps / peer.qps).toFixed(2)} (target ≥ 0.50 with no loss)`);
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- 2 and 3. the scale cluster
if (!values['skip-scale']) {
  const size = { nodes: 5000, pods: 150_000, services: 8200 };
  const cluster = Cluster.create(generateScaleCluster(size));
  const pool = await startWorkers(cluster.store, serverOptions(cluster), 1);
  const port = Number(pool.listeners[0]!.address.split(':').pop());
  const target = (size.pods + size.services) / 1000 + 54;
  const workerRss = rssOf(pool.pids[0]!);
  console.log(`memory: scale cluster (${size.nodes} nodes, ${size.pods} pods, ${size.services} Services)`);
  console.log(
    `  DNS worker RSS ${mb(workerRss)} (CoreDNS sizing: (pods + services)/1000 + 54 = ${target.toFixed(0)} MB)`,
  );
  console.log(`  primary (the cluster model, the API server's role) RSS ${mb(process.memoryUsage().rss)}`);

  // Freshness: a pod behind a headless Service turns unready; time until a query no longer returns its address.
  const client = dgram.createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  let id = 0;
  const ask = (name: string) =>
    new Promise<string[]>((resolve) => {
      const qid = ++id & 0xffff;
      const onMessage = (msg: Buffer) => {
        const reply = dnsPacket.decode(msg);
        if (reply.id !== qid) return;
        client.off('message', onMessage);
        resolve((reply.answers ?? []).map((a) => String((a as { data: unknown }).data)));
      };
      client.on('message', onMessage);
      client.send(
        dnsPacket.encode({ type: 'query', id: qid, questions: [{ type: 'A', name, class: 'IN' }] }),
        port,
        '127.0.0.1',
      );
    });
  const headless = cluster
    .list('Service')
    .filter((s) => s.spec.clusterIP === 'None' && s.metadata.namespace?.startsWith('load-'));
  const timings: number[] = [];
  for (const svc of headless.slice(0, 20)) {
    const name = `${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local`;
    const pod = cluster.list('Pod', svc.metadata.namespace).find((p) => p.metadata.labels?.app === svc.metadata.name)!;
    const ip = pod.status.podIP!;
    if (!(await ask(name)).includes(ip)) throw new Error(`${ip} missing from ${name} before the change`);
    const unready: Pod = { ...pod, status: { ...pod.status, conditions: [{ type: 'Ready', status: 'False' }] } };
    const start = performance.now();
    cluster.apply([unready]);
    while ((await ask(name)).includes(ip)) {
      /* the change has not reached the socket yet */
    }
    timings.push(performance.now() - start);
  }
  timings.sort((a, b) => a - b);
  const p50 = timings[Math.floor(timings.length / 2)]!;
  console.log(
    `freshness: one endpoint change to the changed answer at the socket, ${timings.length} changes: median ${p50.toFixed(2)} ms, max ${timings[timings.length - 1]!.toFixed(2)} ms (target ≤ 10 ms)`,
  );
  client.close();
  await pool.stop();
}
process.exit(0);
