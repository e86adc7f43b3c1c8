/** The workload controllers: Deployment → ReplicaSet → Pods, StatefulSet, DaemonSet, and cascading deletion. */
export { LABEL_CONTROLLER_REVISION_HASH, LABEL_POD_TEMPLATE_HASH } from './common.js';
export { daemonPlacement, reconcileDaemonSet } from './daemonset.js';
export { deleteWorkload, type Workload } from './delete.js';
export { newReplicaSet, reconcileDeployment } from './deployment.js';
export { ANNOTATION_DELETION_COST, podsToDelete, reconcileReplicaSet } from './replicaset.js';
export {
  LABEL_POD_INDEX,
  LABEL_STATEFULSET_POD_NAME,
  ordinalOf,
  reconcileStatefulSet,
} from './statefulset.js';
