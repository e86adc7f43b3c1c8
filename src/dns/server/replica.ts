/**
 * A DNS worker process follows the part of the store DNS reads, as CoreDNS follows the API server: the primary sends a
 * snapshot, then every committed batch's events, and the worker relays them to its ZoneIndex. The relay keeps no
 * objects (the zone index keeps the slim projections it needs), so a worker holds about what CoreDNS would.
 */
import type { Store, WatchEventType, WatchHandler, WatchSource } from '../../model/store.js';
import type { AnyObject, Kind, KindMap } from '../../model/types.js';
import { Watchers } from '../../model/watchers.js';
import type { DnsOptions } from '../config.js';

export interface ReplicaEvent {
  kind: Kind;
  type: WatchEventType;
  object: AnyObject;
}

/** The kinds the zone index reads: pods only when `pods verified` needs them. */
export function dnsKinds(options: Pick<DnsOptions, 'pods'>): Kind[] {
  const kinds: Kind[] = ['Namespace', 'Service', 'EndpointSlice'];
  if (options.pods === 'verified') kinds.push('Pod');
  return kinds;
}

export function snapshotEvents(store: Store, kinds: readonly Kind[]): ReplicaEvent[] {
  const events: ReplicaEvent[] = [];
  for (const kind of kinds) for (const object of store.each(kind)) events.push({ kind, type: 'ADDED', object });
  return events;
}

/**
 * Follow the store and hand each batch's events to `send` once the batch has been delivered (store events arrive
 * synchronously after a commit, so one microtask later the batch is complete). Returns a function that stops.
 */
export function forwardEvents(
  store: Store,
  kinds: readonly Kind[],
  send: (events: ReplicaEvent[]) => void,
): () => void {
  let pending: ReplicaEvent[] = [];
  const flush = () => {
    const events = pending;
    pending = [];
    send(events);
  };
  const stops = kinds.map((kind) =>
    store.watch(kind, (event) => {
      if (pending.length === 0) queueMicrotask(flush);
      pending.push({ kind, type: event.type, object: event.object as AnyObject });
    }),
  );
  return () => {
    for (const stop of stops) stop();
  };
}

/** The worker's side: events from the primary, delivered to whoever watches, in order. */
export class EventRelay implements WatchSource {
  readonly #watchers = new Watchers();

  *each<K extends Kind>(_kind: K): IterableIterator<KindMap[K]> {
    // Nothing is kept: a snapshot arrives as ADDED events like any other batch.
  }

  watch<K extends Kind>(kind: K, handler: WatchHandler<KindMap[K]>): () => void {
    return this.#watchers.add(kind, handler);
  }

  deliver(events: readonly ReplicaEvent[]): void {
    for (const e of events) {
      for (const handler of this.#watchers.of(e.kind) ?? [])
        handler({ type: e.type, object: e.object as KindMap[Kind] });
    }
  }
}
