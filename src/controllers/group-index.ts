/**
 * Objects of one kind grouped by a key (their controller owner; the Service a managed EndpointSlice belongs to), so
 * a controller finds "its" objects without scanning a namespace of 150,000 pods.
 *
 * One index per store and kind, built from the store on first use. It stays current three ways:
 * - controllers file what they write through the context at once, recording the undo in the batch's journal;
 * - a store watch files what others wrote, once their batch commits;
 * - a lookup re-reads every member from the store and drops those that are gone or regrouped, so an entry left by a
 *   rolled-back or foreign write is never returned.
 * What others write inside the current batch is seen after that batch commits.
 */
import type { Journal } from '../model/journal.js';
import { noJournal } from '../model/journal.js';
import type { Store } from '../model/store.js';
import {
  ENDPOINTSLICE_CONTROLLER_NAME,
  type Kind,
  type KindMap,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  MIRRORING_CONTROLLER_NAME,
} from '../model/types.js';
import { getOrCreate } from './maps.js';

type Named = { metadata: { name: string; namespace?: string } };

export class GroupIndex<K extends Kind> {
  readonly #store: Store;
  readonly #kind: K;
  readonly #keyOf: (obj: KindMap[K]) => string | undefined;
  /**
   * namespace → key → member names. Nested rather than keyed by a `namespace\0key` string: filing 150,000 pods
   * then builds no string per pod.
   */
  readonly #groups = new Map<string, Map<string, Set<string>>>();

  constructor(store: Store, kind: K, keyOf: (obj: KindMap[K]) => string | undefined) {
    this.#store = store;
    this.#kind = kind;
    this.#keyOf = keyOf;
    for (const obj of store.each(kind)) this.add(obj, noJournal);
    store.watch(kind, (event) => {
      if (event.old) this.remove(event.old, noJournal);
      if (event.type === 'DELETED') this.remove(event.object, noJournal);
      else this.add(event.object, noJournal);
    });
  }

  add(obj: KindMap[K], journal: Journal): void {
    const key = this.#keyOf(obj);
    if (key === undefined) return;
    const namespace = nsOf(obj);
    const name = obj.metadata.name;
    let keys = this.#groups.get(namespace);
    if (!keys) {
      keys = new Map();
      this.#groups.set(namespace, keys);
    }
    const set = keys.get(key);
    if (set?.has(name)) return;
    if (set) set.add(name);
    else keys.set(key, new Set([name]));
    journal.recordCall(GroupIndex.#undoAdd<K>, this, obj);
  }

  remove(obj: KindMap[K], journal: Journal): void {
    const key = this.#keyOf(obj);
    if (key === undefined) return;
    const namespace = nsOf(obj);
    const name = obj.metadata.name;
    if (!this.#groups.get(namespace)?.get(key)?.has(name)) return;
    this.#drop(namespace, key, name);
    journal.record(() => {
      const keys = getOrCreate(this.#groups, namespace, () => new Map<string, Set<string>>());
      getOrCreate(keys, key, () => new Set<string>()).add(name);
    });
  }

  /** The current members of a group, read from the store, in the order they were filed. */
  members(namespace: string, key: string): KindMap[K][] {
    const set = this.#groups.get(namespace)?.get(key);
    if (!set) return [];
    const out: KindMap[K][] = [];
    for (const name of set) {
      const obj = this.#store.get(this.#kind, name, namespace);
      if (obj && this.#keyOf(obj) === key) out.push(obj);
    }
    return out;
  }

  /** Undo an add; shared by every add (Journal.recordCall), so filing a pod makes no closure. */
  static #undoAdd<K extends Kind>(self: GroupIndex<K>, obj: KindMap[K]): void {
    // The object is the one filed, and stored objects do not change: it gives the same group again.
    self.#drop(nsOf(obj), self.#keyOf(obj)!, obj.metadata.name);
  }

  #drop(namespace: string, key: string, name: string): void {
    const keys = this.#groups.get(namespace);
    const set = keys?.get(key);
    if (!keys || !set) return;
    set.delete(name);
    if (set.size === 0) keys.delete(key);
    if (keys.size === 0) this.#groups.delete(namespace);
  }
}

function nsOf(obj: Named): string {
  return obj.metadata.namespace ?? 'default';
}

/** `Kind\0name` of an object's controller owner. */
export function ownerKey(kind: string, name: string): string {
  return `${kind}\0${name}`;
}

type OwnerRefs = { kind: string; name: string; controller?: boolean }[];

/**
 * controllerOwnerKey per owner-reference array: a controller gives every object it creates in one sync the same
 * array, so the key is built once per owner, not once per pod (and once more per pod at commit, from the watch).
 * Stored objects do not change, so neither does an array's controller.
 */
const ownerKeys = new WeakMap<OwnerRefs, string | null>();

function controllerOwnerKey(obj: { metadata: { ownerReferences?: OwnerRefs } }): string | undefined {
  const refs = obj.metadata.ownerReferences;
  if (!refs) return undefined;
  let key = ownerKeys.get(refs);
  if (key === undefined) {
    const owner = refs.find((o) => o.controller);
    key = owner ? ownerKey(owner.kind, owner.name) : null;
    ownerKeys.set(refs, key);
  }
  return key ?? undefined;
}

const ownedIndexes = new WeakMap<Store, Map<Kind, GroupIndex<Kind>>>();
const sliceIndexes = new WeakMap<Store, Map<string, GroupIndex<'EndpointSlice'>>>();

/** The store's index of objects of `kind` by controller owner (`ownerKey(kind, name)`). */
export function ownedIndex<K extends Kind>(store: Store, kind: K): GroupIndex<K> {
  let byKind = ownedIndexes.get(store);
  if (!byKind) {
    byKind = new Map();
    ownedIndexes.set(store, byKind);
  }
  let index = byKind.get(kind) as GroupIndex<K> | undefined;
  if (!index) {
    index = new GroupIndex(store, kind, controllerOwnerKey);
    byKind.set(kind, index as unknown as GroupIndex<Kind>);
  }
  return index;
}

/** The store's index of EndpointSlices our EndpointSlice controller manages, by Service name. */
export function sliceIndex(store: Store): GroupIndex<'EndpointSlice'> {
  return managedSliceIndex(store, ENDPOINTSLICE_CONTROLLER_NAME);
}

/** The store's index of EndpointSlices mirrored from v1 Endpoints, by Service (and Endpoints) name. */
export function mirroredSliceIndex(store: Store): GroupIndex<'EndpointSlice'> {
  return managedSliceIndex(store, MIRRORING_CONTROLLER_NAME);
}

/** Slices whose managed-by label is `manager`, grouped by their service-name label. */
function managedSliceIndex(store: Store, manager: string): GroupIndex<'EndpointSlice'> {
  const byManager = getOrCreate(sliceIndexes, store, () => new Map<string, GroupIndex<'EndpointSlice'>>());
  return getOrCreate(
    byManager,
    manager,
    () =>
      new GroupIndex(store, 'EndpointSlice', (slice) => {
        const labels = slice.metadata.labels;
        return labels?.[LABEL_MANAGED_BY] === manager ? labels[LABEL_SERVICE_NAME] : undefined;
      }),
  );
}
