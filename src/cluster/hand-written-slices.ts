/**
 * An EndpointSlice written or deleted by someone other than its controller (a manifest, `delete`). Both controllers
 * watch the slices they manage (endpointslice_controller.go and endpointslicemirroring_controller.go
 * onEndpointSlice{Add,Update,Delete}): a change they did not make queues the slice's Service (or Endpoints) for a
 * resync, which puts a deleted slice back, restores an edited one and deletes a labelled slice the Service does not
 * own. The slice is filed in the controllers' indexes at once (the indexes' store watch would see it only after the
 * batch), so that resync in this batch's `finish` sees it.
 */
import { mirroredSliceIndex, sliceIndex } from '../controllers/group-index.js';
import type { Journal } from '../model/journal.js';
import type { Store } from '../model/store.js';
import {
  ENDPOINTSLICE_CONTROLLER_NAME,
  type EndpointSlice,
  LABEL_MANAGED_BY,
  LABEL_SERVICE_NAME,
  MIRRORING_CONTROLLER_NAME,
} from '../model/types.js';

/** Where to note what must be synced again: `ns/name` of Services (slice controller) and of Endpoints (mirroring). */
export interface ResyncQueues {
  services: Set<string>;
  mirrors: Set<string>;
}

export function sliceWrittenByHand(
  store: Store,
  journal: Journal,
  old: EndpointSlice | undefined,
  next: EndpointSlice | undefined,
  queues: ResyncQueues,
): void {
  for (const index of [sliceIndex(store), mirroredSliceIndex(store)]) {
    if (old) index.remove(old, journal);
    if (next) index.add(next, journal);
  }
  for (const slice of [old, next]) {
    const labels = slice?.metadata.labels;
    const service = labels?.[LABEL_SERVICE_NAME];
    if (!slice || service === undefined) continue;
    const key = `${slice.metadata.namespace ?? 'default'}/${service}`;
    if (labels?.[LABEL_MANAGED_BY] === ENDPOINTSLICE_CONTROLLER_NAME) queues.services.add(key);
    else if (labels?.[LABEL_MANAGED_BY] === MIRRORING_CONTROLLER_NAME) queues.mirrors.add(key);
  }
}
