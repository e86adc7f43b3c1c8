/**
 * The store: objects keyed by kind, namespace and name, a resourceVersion per change, atomic batches and watch events.
 *
 * Writes happen inside `transaction()`. Each write records its undo step in the batch's Journal; events are held back
 * until the batch commits, so watchers (the DNS zone, the proxy tables) only ever see whole, valid batches.
 */
import { Journal } from './journal.js';
import { type WatchEvent, type WatchEventType, Watchers, type WatchHandler } from './watchers.js';

export type { WatchEvent, WatchEventType, WatchHandler } from './watchers.js';

import { CLUSTER_SCOPED, type Kind, type KindMap } from './types.js';

type AnyEvent = { kind: Kind } & WatchEvent<KindMap[Kind]>;

/**
 * What an index needs to follow objects: the current ones, then every change. The Store is one; a DNS worker's relay
 * of the primary's events (dns/server/replica.ts) is another that keeps no objects at all.
 */
export interface WatchSource {
  each<K extends Kind>(kind: K, namespace?: string): Iterable<KindMap[K]>;
  watch<K extends Kind>(kind: K, handler: WatchHandler<KindMap[K]>): () => void;
}
type AnyObject = KindMap[Kind];

const CLUSTER = '';

/** Pending events are kept flat, `kind, type, object, old` per event, and built as objects only when delivered. */
const EVENT_SLOTS = 4;

// Undo steps shared by every write (see Journal.recordCall): no closure per stored object.
function undoPut(names: Map<string, AnyObject>, name: string, old: AnyObject | undefined): void {
  if (old) names.set(name, old);
  else names.delete(name);
}

function undoRemove(names: Map<string, AnyObject>, name: string, old: AnyObject): void {
  names.set(name, old);
}

export class Store implements WatchSource {
  /** kind → namespace ('' for cluster-scoped) → name → object */
  readonly #objects = new Map<Kind, Map<string, Map<string, KindMap[Kind]>>>();
  readonly #watchers = new Watchers();
  #resourceVersion = 0;
  #journal: Journal | null = null;
  /** Events of the open batch, flat (see EVENT_SLOTS): a bulk load queues one per object until it commits. */
  #pending: unknown[] = [];

  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  get<K extends Kind>(kind: K, name: string, namespace?: string): KindMap[K] | undefined {
    const ns = CLUSTER_SCOPED.has(kind) ? CLUSTER : (namespace ?? 'default');
    return this.#objects.get(kind)?.get(ns)?.get(name) as KindMap[K] | undefined;
  }

  /** All objects of a kind, or those of one namespace; in insertion order. */
  list<K extends Kind>(kind: K, namespace?: string): KindMap[K][] {
    const byNs = this.#objects.get(kind);
    if (!byNs) return [];
    if (namespace !== undefined) return [...(byNs.get(namespace)?.values() ?? [])] as KindMap[K][];
    const out: KindMap[K][] = [];
    for (const names of byNs.values()) for (const obj of names.values()) out.push(obj as KindMap[K]);
    return out;
  }

  /** Iterate without copying, for hot loops over large kinds. */
  *each<K extends Kind>(kind: K, namespace?: string): IterableIterator<KindMap[K]> {
    const byNs = this.#objects.get(kind);
    if (!byNs) return;
    if (namespace !== undefined) {
      const names = byNs.get(namespace);
      if (names) yield* names.values() as IterableIterator<KindMap[K]>;
      return;
    }
    for (const names of byNs.values()) yield* names.values() as IterableIterator<KindMap[K]>;
  }

  count(kind: Kind): number {
    let n = 0;
    for (const names of this.#objects.get(kind)?.values() ?? []) n += names.size;
    return n;
  }

  namespacesOf(kind: Kind): string[] {
    return [...(this.#objects.get(kind)?.keys() ?? [])];
  }

  /**
   * Run `fn` as one batch. If it throws, every write it made is undone and no event is emitted;
   * otherwise the batch's events are delivered to watchers, in order, after it commits.
   * Nested calls join the outer batch.
   */
  transaction<T>(fn: (journal: Journal) => T): T {
    if (this.#journal) return fn(this.#journal);
    const journal = new Journal();
    this.#journal = journal;
    const rvBefore = this.#resourceVersion;
    let result: T;
    try {
      result = fn(journal);
    } catch (err) {
      journal.rollback();
      this.#resourceVersion = rvBefore;
      this.#pending = [];
      this.#journal = null;
      throw err;
    }
    journal.commit();
    this.#journal = null;
    const events = this.#pending;
    this.#pending = [];
    for (let i = 0; i < events.length; i += EVENT_SLOTS) {
      const kind = events[i] as Kind;
      const handlers = this.#watchers.of(kind);
      if (!handlers) continue;
      const type = events[i + 1] as WatchEventType;
      const object = events[i + 2] as AnyObject;
      const old = events[i + 3] as AnyObject | undefined;
      const event: AnyEvent = old ? { kind, type, object, old } : { kind, type, object };
      for (const handler of handlers) handler(event);
    }
    return result;
  }

  /** Create or replace an object. Must run inside a transaction. Returns the stored object. */
  put<T extends KindMap[Kind]>(obj: T): T {
    const journal = this.#requireJournal();
    const kind = obj.kind as Kind;
    const ns = CLUSTER_SCOPED.has(kind) ? CLUSTER : (obj.metadata.namespace ?? 'default');
    const names = this.#names(kind, ns);
    const name = obj.metadata.name;
    const old = names.get(name) as T | undefined;
    this.#resourceVersion++;
    obj.metadata.resourceVersion = String(this.#resourceVersion);
    names.set(name, obj);
    journal.recordCall(undoPut, names, name, old);
    this.#pending.push(kind, old ? 'MODIFIED' : 'ADDED', obj, old);
    return obj;
  }

  /** Remove an object. Must run inside a transaction. Returns the removed object, if there was one. */
  remove<K extends Kind>(kind: K, name: string, namespace?: string): KindMap[K] | undefined {
    const journal = this.#requireJournal();
    const ns = CLUSTER_SCOPED.has(kind) ? CLUSTER : (namespace ?? 'default');
    const names = this.#objects.get(kind)?.get(ns);
    const old = names?.get(name) as KindMap[K] | undefined;
    if (!names || !old) return undefined;
    this.#resourceVersion++;
    names.delete(name);
    journal.recordCall(undoRemove, names as Map<string, AnyObject>, name, old as AnyObject);
    this.#pending.push(kind, 'DELETED', old, undefined);
    return old;
  }

  /** Follow changes of one kind. Returns a function that stops the watch. */
  watch<K extends Kind>(kind: K, handler: WatchHandler<KindMap[K]>): () => void {
    return this.#watchers.add(kind, handler);
  }

  #names(kind: Kind, ns: string): Map<string, KindMap[Kind]> {
    let byNs = this.#objects.get(kind);
    if (!byNs) {
      byNs = new Map();
      this.#objects.set(kind, byNs);
    }
    let names = byNs.get(ns);
    if (!names) {
      names = new Map();
      byNs.set(ns, names);
    }
    return names;
  }

  #requireJournal(): Journal {
    if (!this.#journal) throw new Error('store writes must run inside store.transaction()');
    return this.#journal;
  }
}
