/**
 * Cascading deletion (the garbage collector's foreground work, done at once): deleting a workload deletes what it
 * owns, a Deployment's ReplicaSets and, through them, their pods. The workload object itself is left to the caller.
 */
import type { DaemonSet, Deployment, ReplicaSet, StatefulSet } from '../../model/types.js';
import type { ControllerContext } from '../context.js';
import { deletePod, ownedBy, removeOwned } from './common.js';

export type Workload = Deployment | ReplicaSet | StatefulSet | DaemonSet;

export function deleteWorkload(ctx: ControllerContext, obj: Workload): void {
  if (obj.kind === 'Deployment') {
    for (const rs of ownedBy(ctx, 'ReplicaSet', obj)) {
      deleteWorkload(ctx, rs);
      removeOwned(ctx, rs);
    }
    return;
  }
  for (const pod of ownedBy(ctx, 'Pod', obj)) deletePod(ctx, pod);
}
