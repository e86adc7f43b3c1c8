/**
 * The cluster: the store plus everything that turns what users apply into what a real cluster would hold.
 *
 *   manifests ──validate+default──▶ apply(batch) ──admission──▶ store ──watch──▶ indexes (DNS zone, proxy tables)
 *                                         │  (IPAM, scheduler)      ▲
 *                                         └──controllers────────────┘  (ReplicaSets, Pods, EndpointSlices)
 *
 * One apply or delete is one batch: it runs in a store transaction, admission and controllers record their undo
 * steps in its journal, and if any object is invalid nothing is applied and every problem is reported.
 */
import { Ipam } from '../cni/ipam.js';
import { PodIndex } from '../controllers/pod-index.js';
import { Scheduler } from '../controllers/scheduler.js';
import { BatchRejectedError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { defaultClusterConfig } from '../model/config.js';
import type { RawDocument } from '../model/load/index.js';
import { readInputs } from '../model/load/index.js';
import { Store, type WatchHandler } from '../model/store.js';
import type { AnyObject, ClusterConfigSpec, Kind, KindMap } from '../model/types.js';
import { validateObjects } from '../model/validate/index.js';
import type { ProxyConfigInput } from '../proxy/engine.js';
import { engineForNode } from '../proxy/registry.js';
import { isSeed, Rng } from '../util/rng.js';
import { NodeAddressPool } from './admit-node.js';
import { Batch, type ClusterParts } from './batch.js';
import { bootstrapObjects } from './bootstrap.js';
import { checkedProxyOverrides, proxyConfigOf, registerFeatureSections } from './config-sections.js';
import { NodeProxy } from './node-proxy.js';
import { originOf } from './packet-origin.js';

registerFeatureSections();

export interface ObjectRef {
  kind: Kind;
  name: string;
  namespace?: string;
}

export interface DeleteOptions {
  /** Remove pods at once instead of marking them terminating first (kubectl delete --force --grace-period=0). */
  force?: boolean;
}

export interface ClusterOptions {
  /** Overrides the ClusterConfig's seed. */
  seed?: number;
}

/** Thrown inside a store transaction to roll it back; never leaves this file. */
const ROLL_BACK = new Error('batch rolled back');

export class Cluster {
  readonly store = new Store();
  readonly config: ClusterConfigSpec;
  /** Warnings from loading and applying: unknown kinds, implicit namespaces, pending LoadBalancers. */
  readonly warnings: string[] = [];
  readonly #parts: ClusterParts;
  /** What the input last said about each object it defines (`Kind/key` → JSON), for `sync`. */
  #input = new Map<string, string>();

  private constructor(config: ClusterConfigSpec) {
    this.config = config;
    const rng = new Rng(config.seed);
    this.#parts = {
      store: this.store,
      config,
      ipam: new Ipam(config, rng.fork('ipam')),
      scheduler: new Scheduler(rng.fork('scheduler')),
      podIndex: new PodIndex(),
      nodeAddresses: new NodeAddressPool(config.nodeNetworks),
      names: rng.fork('names'),
    };
  }

  /** Read manifests (files or directories), validate them and build the cluster they describe. */
  static async load(paths: readonly string[], options: ClusterOptions = {}): Promise<Cluster> {
    const read = await readInputs(paths);
    return Cluster.#fromDocuments(read.documents, read.issues, options);
  }

  /** Build a cluster from objects in memory (plain Kubernetes JSON, ClusterConfig included if wanted). */
  static create(objects: readonly unknown[] = [], options: ClusterOptions = {}): Cluster {
    const documents = objects.map((value) => ({ value, source: undefined }) as unknown as RawDocument);
    return Cluster.#fromDocuments(documents, [], options);
  }

  static #fromDocuments(
    documents: RawDocument[],
    readIssues: BatchRejectedError['issues'],
    options: ClusterOptions,
  ): Cluster {
    const result = validateObjects(documents);
    const spec = { ...(result.config?.spec ?? defaultClusterConfig().spec) };
    if (options.seed !== undefined) spec.seed = options.seed;
    const cluster = new Cluster(spec);
    const build = (batch: Batch) => {
      batch.applyAll(bootstrapObjects(spec, cluster.#parts.ipam, result.objects));
      batch.applyAll(result.objects);
    };
    const issues = [...readIssues, ...result.issues];
    if (issues.length) {
      // Admission's errors of the valid objects are reported too, unless the cluster they would be checked against is
      // in doubt: its ClusterConfig refused, or a document that could be it unreadable.
      if (readIssues.length === 0 && !result.configRejected) issues.push(...cluster.#trialIssues(build));
      throw new BatchRejectedError(issues);
    }
    cluster.warnings.push(...result.warnings);
    cluster.#input = inputMap(result.objects);
    cluster.#run(build);
    return cluster;
  }

  /** Apply objects as one batch (kubectl apply): all of them, or none if any is invalid. */
  apply(objects: readonly unknown[]): void {
    const documents = objects.map((value) => ({ value, source: undefined }) as unknown as RawDocument);
    this.applyDocuments(documents);
  }

  /** Apply already-read documents (with their sources, for precise error positions). */
  applyDocuments(documents: RawDocument[]): void {
    const result = validateObjects(documents);
    if (result.config) {
      throw new BatchRejectedError([
        ...result.issues,
        {
          code: 'E_MANIFEST_INVALID',
          position: { file: '<input>', document: 0, line: 0, column: 0 },
          object: 'ClusterConfig',
          field: '',
          detail: 'a ClusterConfig can only be given when the cluster is created',
        },
      ]);
    }
    const apply = (batch: Batch) => batch.applyAll(result.objects);
    if (result.issues.length) throw new BatchRejectedError([...result.issues, ...this.#trialIssues(apply)]);
    this.warnings.push(...result.warnings);
    this.#run(apply);
  }

  /**
   * Make the cluster match a new reading of its input files (what `serve` does when they change, like CoreDNS's
   * reload): objects that changed are applied, objects the input no longer defines are deleted, all as one batch.
   * An invalid input throws and the cluster keeps its last good state.
   */
  syncDocuments(
    documents: RawDocument[],
    readIssues: BatchRejectedError['issues'] = [],
  ): { applied: number; deleted: number } {
    const result = validateObjects(documents);
    const issues = [...readIssues, ...result.issues];
    if (issues.length) throw new BatchRejectedError(issues);
    const next = inputMap(result.objects);
    const changed = result.objects.filter((o) => this.#input.get(inputKey(o)) !== next.get(inputKey(o)));
    const gone = [...this.#input.keys()].filter((k) => !next.has(k)).map(parseInputKey);
    this.#run((batch) => {
      batch.applyAll(changed);
      for (const ref of gone) if (this.store.get(ref.kind, ref.name, ref.namespace)) batch.delete(ref, true);
    });
    this.#input = next;
    this.warnings.push(...result.warnings);
    return { applied: changed.length, deleted: gone.length };
  }

  /** Delete objects as one batch (kubectl delete). Pods are marked terminating first unless `force` is set. */
  delete(refs: readonly ObjectRef[], options: DeleteOptions = {}): void {
    this.#run((batch) => {
      for (const ref of refs) batch.delete(ref, options.force ?? false);
    });
  }

  get<K extends Kind>(kind: K, name: string, namespace?: string): KindMap[K] | undefined {
    return this.store.get(kind, name, namespace);
  }

  list<K extends Kind>(kind: K, namespace?: string): KindMap[K][] {
    return this.store.list(kind, namespace);
  }

  watch<K extends Kind>(kind: K, handler: WatchHandler<KindMap[K]>): () => void {
    return this.store.watch(kind, handler);
  }

  /**
   * A kube-proxy engine running on one node, following the cluster: `send` packets through it, `reply`, `close`,
   * `advance` its clock, and read its rules. Mode, scheduler and the rest default to the ClusterConfig's `proxy:`
   * section; `seed` seeds the engine's random choices only (default: the cluster's seed).
   */
  proxy(options: { node: string } & ProxyConfigInput & { seed?: number; explain?: boolean }): NodeProxy {
    const { node, seed, explain, ...overrides } = options;
    if (!this.store.get('Node', node)) throw new NotFoundError(`node "${node}" not found`);
    if (seed !== undefined && !isSeed(seed))
      throw new InvalidArgumentError(`cluster.proxy: seed must be an integer from 0 to 4294967295, got ${seed}`);
    const config = proxyConfigOf(this.config, checkedProxyOverrides(overrides));
    const rng = new Rng(seed ?? this.config.seed).fork(`proxy/${node}`);
    // explain: false skips building each verdict's steps (bulk runs such as trace --count); choices are the same.
    const engine = engineForNode(this.store, node, config, rng, explain ?? true);
    return new NodeProxy(engine, (srcIP) => originOf(this.store, node, srcIP));
  }

  /** Per-range usage of every address and port range (for `kube-netsim ipam`). */
  ipamReport(): ReturnType<Ipam['report']> {
    return this.#parts.ipam.report();
  }

  /** Run `fn` as one batch, kept if admission found nothing wrong; a rejected batch changes nothing. */
  #run(fn: (batch: Batch) => void): void {
    const issues = this.#batch(fn, true);
    if (issues.length) throw new BatchRejectedError(issues);
  }

  /**
   * The admission issues of a batch (a taken ClusterIP or nodePort, an exhausted range), run and always rolled back:
   * a batch that failed validation reports these of its valid objects too, as kubectl reports every object's error.
   */
  #trialIssues(fn: (batch: Batch) => void): BatchRejectedError['issues'] {
    return this.#batch(fn, false);
  }

  /** One batch in a store transaction: its admission issues. Rolled back when it has any, or when it is a trial. */
  #batch(fn: (batch: Batch) => void, keep: boolean): BatchRejectedError['issues'] {
    let issues: BatchRejectedError['issues'] = [];
    try {
      this.store.transaction((journal) => {
        const batch = new Batch(this.#parts, journal);
        fn(batch);
        batch.finish();
        issues = batch.issues.issues;
        if (issues.length || !keep) throw ROLL_BACK;
        this.warnings.push(...batch.issues.warnings);
      });
    } catch (err) {
      if (err !== ROLL_BACK) throw err;
    }
    return issues;
  }
}

function inputKey(obj: AnyObject): string {
  return `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

function parseInputKey(key: string): ObjectRef {
  const [kind, namespace, name] = key.split('/') as [Kind, string, string];
  return namespace ? { kind, namespace, name } : { kind, name };
}

function inputMap(objects: readonly AnyObject[]): Map<string, string> {
  return new Map(objects.map((o) => [inputKey(o), JSON.stringify(o)]));
}

export type { AnyObject };
