/** Watch handlers by kind: who follows which kind of object, for the Store and for anything that relays its events. */
import type { Kind, KindMap } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T> {
  type: WatchEventType;
  /** The object after the change (for DELETED, the object as it was). */
  object: T;
  /** The object before the change, for MODIFIED. */
  old?: T;
}

export type WatchHandler<T> = (event: WatchEvent<T>) => void;

export class Watchers {
  readonly #byKind = new Map<Kind, Set<WatchHandler<KindMap[Kind]>>>();

  /** Add a handler; returns a function that removes it. */
  add<K extends Kind>(kind: K, handler: WatchHandler<KindMap[K]>): () => void {
    let set = this.#byKind.get(kind);
    if (!set) {
      set = new Set();
      this.#byKind.set(kind, set);
    }
    set.add(handler as WatchHandler<KindMap[Kind]>);
    return () => set.delete(handler as WatchHandler<KindMap[Kind]>);
  }

  /** The handlers of a kind, or undefined when nobody follows it (so callers can skip building the event). */
  of(kind: Kind): ReadonlySet<WatchHandler<KindMap[Kind]>> | undefined {
    const set = this.#byKind.get(kind);
    return set?.size ? set : undefined;
  }
}
