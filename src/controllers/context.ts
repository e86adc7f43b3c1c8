/**
 * What controllers may do. Controllers read the store and write derived objects back through this context, inside
 * the batch's transaction, so a rejected batch undoes their work too.
 */
import type { Journal } from '../model/journal.js';
import type { Store } from '../model/store.js';
import type { ClusterConfigSpec, Kind, KindMap, Pod } from '../model/types.js';
import type { Rng } from '../util/rng.js';

export interface ControllerContext {
  readonly store: Store;
  readonly journal: Journal;
  readonly config: ClusterConfigSpec;
  /** Stream for generated names (pod-template-hash suffixes, `-xxxxx` pod and slice suffixes). */
  readonly names: Rng;
  /**
   * Create or replace a pod. The cluster admits it: the scheduler picks a node (unless spec.nodeName is set),
   * the CNI gives it addresses, and it is written to the store. Returns the stored pod.
   */
  createPod(pod: Pod): Pod;
  /** Delete a pod: the CNI releases its addresses and it leaves the store and the scheduler. */
  deletePod(pod: Pod): void;
  /** Write a derived object (ReplicaSet, EndpointSlice) to the store. */
  put<T extends KindMap[Kind]>(obj: T): T;
  /** Remove a derived object from the store. */
  remove(kind: Kind, name: string, namespace?: string): void;
  /** Report what a controller could not do (upstream: a warning event, such as FailedCreate). */
  warn(message: string): void;
}
