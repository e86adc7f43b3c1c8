/**
 * `serve --workers N`: N worker processes share the UDP and TCP sockets (node:cluster hands them one listening handle),
 * so the kernel spreads queries over both cores. The primary keeps the cluster (the API server's role) and streams
 * DNS-relevant store events to every worker (the CoreDNS replicas' role).
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { ListenFailedError } from '../../errors.js';
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
  | { type: 'metrics'; id: number; state: MetricsState }
  /** The worker could not bind its sockets (ListenFailedError's message); it waits to be stopped. */
  | { type: 'failed'; message: string };

const SNAPSHOT_CHUNK = 500;

function ignoreSendError(): void {}

export interface WorkerPool {
  listeners: { transport: 'udp' | 'tcp'; address: string }[];
  /** The serving workers' process ids (replacements included). */
  readonly pids: number[];
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
    for (const w of workers) sendTo(w, { type: 'events', seq, events });
  });
  let listeners: WorkerPool['listeners'] = [];
  /** Scrapes in flight: the workers still owing their counters, and what came back. */
  const metricReplies = new Map<number, { owed: Set<Worker>; states: MetricsState[]; done: () => void }>();
  const settle = (pending: { owed: Set<Worker>; done: () => void }) => {
    if (pending.owed.size === 0) pending.done();
  };
  let stopping = false;
  /** Every worker process alive, serving or still starting. */
  const forked = new Set<Worker>();
  /** Send without throwing: a worker that has just died must not take the primary down with it. */
  const sendTo = (w: Worker, message: ToWorker) => {
    if (!w.isConnected()) return;
    try {
      w.send(message, undefined, ignoreSendError);
    } catch {
      // the IPC channel closed between the check and the send; the 'exit' handler replaces the worker
    }
  };
  /** Fork worker `i`; resolves once it serves. A worker that dies later is replaced, as a crashed CoreDNS pod is. */
  const spawn = (i: number, replacing = false): Promise<void> => {
    const worker = cluster.fork({ KUBE_NETSIM_WORKER: String(i) });
    forked.add(worker);
    let ready = false;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'hello') {
          if (stopping) return; // a replacement that came up while the pool stops: stop() ends it
          // From the snapshot on, the worker gets every batch: nothing is sent to it before, so nothing is replayed twice.
          sendTo(worker, { type: 'init', options: { ...options, synced: false } });
          // The snapshot goes in chunks, so neither side ever holds one message the size of the whole cluster.
          const snapshot = snapshotEvents(store, kinds);
          for (let at = 0; at < snapshot.length; at += SNAPSHOT_CHUNK) {
            sendTo(worker, { type: 'events', seq, events: snapshot.slice(at, at + SNAPSHOT_CHUNK) });
          }
          sendTo(worker, { type: 'synced' });
          workers.push(worker);
          appliedBy.set(worker, seq);
        } else if (m.type === 'ready') {
          listeners = m.listeners;
          ready = true;
          resolve();
        } else if (m.type === 'failed') {
          // The worker waits to be stopped: the pool stops a first start's workers; a replacement is ended here and
          // tried again after its exit, as one that crashed.
          reject(new ListenFailedError(m.message));
          if (replacing) worker.process.kill();
        } else if (m.type === 'applied') {
          appliedBy.set(worker, m.seq);
          checkSynced();
        } else if (m.type === 'metrics') {
          const pending = metricReplies.get(m.id);
          if (pending?.owed.delete(worker)) {
            pending.states.push(m.state);
            settle(pending);
          }
        }
      });
      worker.once('exit', (code) => {
        forked.delete(worker);
        const at = workers.indexOf(worker);
        if (at >= 0) workers.splice(at, 1);
        appliedBy.delete(worker);
        checkSynced();
        // A scrape waiting on this worker's counters gets the others' (its own died with it).
        for (const pending of metricReplies.values()) if (pending.owed.delete(worker)) settle(pending);
        if (stopping) return;
        if (!ready && !replacing) reject(new Error(`DNS worker ${i} exited with code ${code}`));
        // A replacement that dies while starting is tried again, a second later so a crash loop stays slow.
        else setTimeout(() => spawn(i, true).catch(() => {}), ready ? 0 : 1000).unref();
      });
    });
  };
  /** Stop every worker process, serving or still starting. */
  const stopAll = async (): Promise<void> => {
    stopping = true;
    stopForwarding();
    // Scrapes in flight answer with what they have: the workers are about to go.
    for (const pending of metricReplies.values()) pending.done();
    // Every process, including a replacement still starting: the primary cannot exit while one is connected.
    await Promise.all(
      [...forked].map(
        (w) =>
          new Promise<void>((resolve) => {
            w.removeAllListeners('exit');
            w.once('exit', () => resolve());
            if (w.isDead()) return resolve();
            // One still loading has no message listener yet and would not hear 'stop'.
            if (!workers.includes(w)) w.process.kill('SIGTERM');
            else sendTo(w, { type: 'stop' });
            // A worker that does not stop within a few seconds (or never got far enough to hear) is killed.
            setTimeout(() => w.process.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  };
  try {
    await Promise.all(Array.from({ length: count }, (_, i) => spawn(i)));
  } catch (err) {
    // One worker could not start (its address is taken, say): the others must not keep the process up.
    await stopAll();
    throw err;
  }
  let metricId = 0;
  return {
    listeners,
    get pids() {
      return workers.map((w) => w.process.pid!);
    },
    synced: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        checkSynced();
      }),
    async metrics() {
      const id = ++metricId;
      const asked = workers.filter((w) => w.isConnected());
      const states: MetricsState[] = [];
      await new Promise<void>((resolve) => {
        const pending = { owed: new Set(asked), states, done: resolve };
        metricReplies.set(id, pending);
        for (const w of asked) sendTo(w, { type: 'metrics', id });
        settle(pending);
      });
      metricReplies.delete(id);
      const merged = new DnsMetrics();
      for (const state of states) merged.merge(state);
      return merged.render();
    },
    stop: stopAll,
  };
}
