/**
 * The kinds Kubernetes itself serves, per API group, for the ones kube-netsim does not model: an object of one of
 * these is skipped with a warning (a ConfigMap or a Role in a test suite's manifests is normal), while a kind that no
 * built-in group has (`kind: Sevice` in `v1`) is what kubectl refuses with "no matches for kind". Kinds of other
 * groups may come from CustomResourceDefinitions, which the emulator cannot see installed, so they are skipped too.
 */
const BUILTIN_KINDS: Readonly<Record<string, readonly string[]>> = {
  '': [
    'Binding',
    'ComponentStatus',
    'ConfigMap',
    'Endpoints',
    'Event',
    'LimitRange',
    'Namespace',
    'Node',
    'PersistentVolume',
    'PersistentVolumeClaim',
    'Pod',
    'PodTemplate',
    'ReplicationController',
    'ResourceQuota',
    'Secret',
    'Service',
    'ServiceAccount',
  ],
  apps: ['ControllerRevision', 'DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet'],
  batch: ['CronJob', 'Job'],
  autoscaling: ['HorizontalPodAutoscaler'],
  policy: ['PodDisruptionBudget', 'Eviction'],
  'networking.k8s.io': ['Ingress', 'IngressClass', 'IPAddress', 'NetworkPolicy', 'ServiceCIDR'],
  'discovery.k8s.io': ['EndpointSlice'],
  'rbac.authorization.k8s.io': ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'],
  'storage.k8s.io': [
    'CSIDriver',
    'CSINode',
    'CSIStorageCapacity',
    'StorageClass',
    'VolumeAttachment',
    'VolumeAttributesClass',
  ],
  'scheduling.k8s.io': ['PriorityClass'],
  'coordination.k8s.io': ['Lease'],
  'node.k8s.io': ['RuntimeClass'],
  'events.k8s.io': ['Event'],
  'certificates.k8s.io': ['CertificateSigningRequest', 'ClusterTrustBundle'],
  'admissionregistration.k8s.io': [
    'MutatingAdmissionPolicy',
    'MutatingAdmissionPolicyBinding',
    'MutatingWebhookConfiguration',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
    'ValidatingWebhookConfiguration',
  ],
  'apiextensions.k8s.io': ['CustomResourceDefinition'],
  'apiregistration.k8s.io': ['APIService'],
  'flowcontrol.apiserver.k8s.io': ['FlowSchema', 'PriorityLevelConfiguration'],
  'authentication.k8s.io': ['TokenReview', 'SelfSubjectReview', 'TokenRequest'],
  'authorization.k8s.io': [
    'LocalSubjectAccessReview',
    'SelfSubjectAccessReview',
    'SelfSubjectRulesReview',
    'SubjectAccessReview',
  ],
  'resource.k8s.io': ['DeviceClass', 'ResourceClaim', 'ResourceClaimTemplate', 'ResourceSlice'],
  'internal.apiserver.k8s.io': ['StorageVersion'],
};

/** The API group of an apiVersion (`v1` → the core group ''; `apps/v1` → `apps`). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Whether kubectl would find no such kind: the group is one Kubernetes serves itself and has no kind of that name.
 * Kinds of other groups may be custom resources and are not judged.
 */
export function isUnknownBuiltinKind(apiVersion: string, kind: string): boolean {
  const kinds = BUILTIN_KINDS[groupOf(apiVersion)];
  return kinds !== undefined && !kinds.includes(kind);
}
