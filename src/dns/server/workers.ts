/**
 * `serve --workers N`: N worker processes share the UDP and TCP sockets (node:cluster hands them one listening handle),
 * so the kernel spreads queries over both cores. The primary keeps the cluster (the API server's role) and streams
 * DNS-relevant store events to every worker (the CoreDNS replicas' role).
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Store } from '../../model/store.js';
import { DnsMetrics, type MetricsState } from './metrics.js';
import { dnsKinds, forwardEvents, type ReplicaEvent, snapshotEvents } from './replica.js';
import type { DnsServerOptions } from './server.js';

export type ToWorker =
  | { type: 'init'; options: DnsServerOptions }
  | { type: 'synced' }
  | { type: 'events'; seq: number; events: ReplicaEvent[] }
  | { type: 'metrics'; id: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'hello' }
  | { type: 'ready'; listeners: { transport: 'udp' | 'tcp'; address: string }[] }
  | { type: 'applied'; seq: number }
  | { type: 'metrics'; id: number; state: MetricsState };

const SNAPSHOT_CHUNK = 500;

export interface WorkerPool {
  listeners: { transport: 'udp' | 'tcp'; address: string }[];
  pids: number[];
  /** Resolves once every worker has applied every batch sent so far. */
  synced(): Promise<void>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startWorkers(store: Store, options: DnsServerOptions, count: number): Promise<WorkerPool> {
  cluster.setupPrimary({
    exec: fileURLToPath(new URL('./worker-main.ts', import.meta.url)),
    // --expose-gc: a worker collects the snapshot's garbage before it starts serving (see worker-main.ts).
    execArgv: ['--import', import.meta.resolve('tsx'), '--expose-gc'],
    serialization: 'advanced',
    silent: false,
  });
  const kinds = dnsKinds(options.dns);
  const workers: Worker[] = [];
  let seq = 0;
  const appliedBy = new Map<Worker, number>();
  const waiters: (() => void)[] = [];
  const checkSynced = () => {
    if ([...appliedBy.values()].every((s) => s === seq)) for (const w of waiters.splice(0)) w();
  };
  const stopForwarding = forwardEvents(store, kinds, (events) => {
    seq++;
    for (const w of workers) w.send({ type: 'events', seq, events } satisfies ToWorker);
  });
  let listeners: WorkerPool['listeners'] = [];
  const metricReplies = new Map<number, MetricsState[]>();
  const metricWaiters = new Map<number, () => void>();
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const worker = cluster.fork({ KUBE_NETSIM_WORKER: String(i) });
      return new Promise<void>((resolve, reject) => {
        worker.on('message', (m: FromWorker) => {
          if (m.type === 'hello') {
            // From the snapshot on, the worker gets every batch: nothing is sent to it before, so nothing is replayed twice.
            worker.send({ type: 'init', options: { ...options, synced: false } } satisfies ToWorker);
            // The snapshot goes in chunks, so neither side ever holds one message the size of the whole cluster.
            const snapshot = snapshotEvents(store, kinds);
            for (let at = 0; at < snapshot.length; at += SNAPSHOT_CHUNK) {
              worker.send({ type: 'events', seq, events: snapshot.slice(at, at + SNAPSHOT_CHUNK) } satisfies ToWorker);
            }
            worker.send({ type: 'synced' } satisfies ToWorker);
            workers.push(worker);
            appliedBy.set(worker, seq);
          } else if (m.type === 'ready') {
            listeners = m.listeners;
            resolve();
          } else if (m.type === 'applied') {
            appliedBy.set(worker, m.seq);
            checkSynced();
          } else if (m.type === 'metrics') {
            const list = metricReplies.get(m.id);
            list?.push(m.state);
            if (list && list.length === count) metricWaiters.get(m.id)?.();
          }
        });
        worker.once('exit', (code) => reject(new Error(`DNS worker ${i} exited with code ${code}`)));
      });
    }),
  );
  let metricId = 0;
  return {
    listeners,
    pids: workers.map((w) => w.process.pid!),
    synced: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        checkSynced();
      }),
    async metrics() {
      const id = ++metricId;
      metricReplies.set(id, []);
      await new Promise<void>((resolve) => {
        metricWaiters.set(id, resolve);
        for (const w of workers) w.send({ type: 'metrics', id } satisfies ToWorker);
      });
      const merged = new DnsMetrics();
      for (const state of metricReplies.get(id)!) merged.merge(state);
      metricReplies.delete(id);
      metricWaiters.delete(id);
      return merged.render();
    },
    async stop() {
      stopForwarding();
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              w.removeAllListeners('exit');
              w.once('exit', () => resolve());
              w.send({ type: 'stop' } satisfies ToWorker);
            }),
        ),
      );
    },
  };
}
