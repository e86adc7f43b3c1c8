/**
 * bench/scale: the 5,000-node / 150,000-pod / 8,200-Service cluster (Kubernetes' own scale-test size) through the
 * whole pipeline — validation, admission, scheduler, CNI, controllers, EndpointSlices — and the figures the issue
 * names: load time and peak RSS. Targets on a 2-core machine: ≤ 10 s and ≤ 1 GB.
 *
 *   node --import=tsx bench/scale.ts [--nodes 5000 --pods 150000 --services 8200]
 *
 * The peer is a naive baseline: the same objects parsed and stored with no admission or controllers, to show what
 * the pipeline itself costs.
 */
import { parseArgs } from 'node:util';
import { generateScaleCluster } from '../fixtures/scale/generate.js';
import { Cluster } from '../src/cluster/cluster.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    pods: { type: 'string', default: '150000' },
    services: { type: 'string', default: '8200' },
  },
});
const size = { nodes: Number(values.nodes), pods: Number(values.pods), services: Number(values.services) };

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);
sampler.unref();

const objects = generateScaleCluster(size);

// Peer: a naive baseline that only copies the objects into a Map (what any loader must at least do).
const baselineStart = performance.now();
const naive = new Map<string, unknown>();
for (const o of objects) naive.set(JSON.stringify([o.kind, (o.metadata as { name: string }).name]), structuredClone(o));
const baselineMs = performance.now() - baselineStart;
naive.clear();

const start = performance.now();
const cluster = Cluster.create(objects);
const loadMs = performance.now() - start;
peakRss = Math.max(peakRss, process.memoryUsage().rss);
clearInterval(sampler);

const counts = {
  nodes: cluster.store.count('Node'),
  pods: cluster.store.count('Pod'),
  services: cluster.store.count('Service'),
  endpointSlices: cluster.store.count('EndpointSlice'),
  pending: cluster.list('Pod').filter((p) => !p.spec.nodeName).length,
};
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
console.log(`cluster: ${JSON.stringify(counts)}`);
console.log(`load time: ${(loadMs / 1000).toFixed(2)} s (target ≤ 10 s)`);
console.log(`peak RSS: ${mb(peakRss)} (target ≤ 1024 MB)`);
console.log(
  `naive baseline (clone into a Map, no admission): ${(baselineMs / 1000).toFixed(2)} s; pipeline/baseline = ${(loadMs / baselineMs).toFixed(1)}x`,
);
