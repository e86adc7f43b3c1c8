import test from 'ava';
import { applyDefaults, defaultPullPolicy } from '../../src/model/defaults.js';
import { attachSource, sourceOf } from '../../src/model/source.js';
import type { AnyObject } from '../../src/model/types.js';

const meta = { name: 'x' };
const ns = { name: 'x', namespace: 'default' };
const container = { name: 'c', image: 'busybox' };
/** SetDefaults_Container's fields for `container` (busybox, no tag: pulled Always). */
const containerDefaults = {
  imagePullPolicy: 'Always',
  terminationMessagePath: '/dev/termination-log',
  terminationMessagePolicy: 'File',
};

/** [title, input, expected output] */
const cases: [string, unknown, unknown][] = [
  [
    'Service: type ClusterIP, TCP, targetPort = port, affinity None, internal policy Cluster, SingleStack',
    { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { ports: [{ port: 80 }] } },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: ns,
      spec: {
        type: 'ClusterIP',
        ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
        sessionAffinity: 'None',
        internalTrafficPolicy: 'Cluster',
        ipFamilyPolicy: 'SingleStack',
      },
      status: { loadBalancer: {} },
    },
  ],
  [
    'Service: a named targetPort is kept; targetPort 0 means unset',
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: {
        ports: [
          { name: 'a', port: 80, targetPort: 'http' },
          { name: 'b', port: 81, targetPort: 0, protocol: 'UDP' },
        ],
      },
    },
    [
      { name: 'a', port: 80, targetPort: 'http', protocol: 'TCP' },
      { name: 'b', port: 81, targetPort: 81, protocol: 'UDP' },
    ],
  ],
  [
    'Service: ClientIP affinity gets the 10800 s timeout',
    { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { sessionAffinity: 'ClientIP', ports: [{ port: 80 }] } },
    { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } },
  ],
  [
    'Service: affinity None drops a stray sessionAffinityConfig',
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } }, ports: [{ port: 80 }] },
    },
    { sessionAffinity: 'None', sessionAffinityConfig: undefined },
  ],
  [
    'Service: NodePort gets externalTrafficPolicy Cluster',
    { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { type: 'NodePort', ports: [{ port: 80 }] } },
    { externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: undefined },
  ],
  [
    'Service: LoadBalancer gets externalTrafficPolicy Cluster and allocateLoadBalancerNodePorts true',
    { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
    { externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true },
  ],
  [
    'Service: ClusterIP with externalIPs is externally accessible, so it gets externalTrafficPolicy too',
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { externalIPs: ['203.0.113.1'], ports: [{ port: 80 }] },
    },
    { externalTrafficPolicy: 'Cluster' },
  ],
  [
    'Service: ExternalName gets neither internalTrafficPolicy nor ipFamilyPolicy',
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { type: 'ExternalName', externalName: 'db.example.com' },
    },
    { internalTrafficPolicy: undefined, ipFamilyPolicy: undefined, externalTrafficPolicy: undefined },
  ],
  [
    'Service: clusterIP is kept as written (admission fills clusterIPs when it allocates)',
    { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }] } },
    { clusterIP: '10.96.0.10', clusterIPs: undefined, ipFamilyPolicy: 'SingleStack' },
  ],
  [
    'Service: two clusterIPs imply RequireDualStack',
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00:10:96::a'], ports: [{ port: 80 }] },
    },
    { ipFamilyPolicy: 'RequireDualStack' },
  ],
  [
    'Service: two ipFamilies imply RequireDualStack',
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { ipFamilies: ['IPv6', 'IPv4'], ports: [{ port: 80 }] },
    },
    { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv6', 'IPv4'] },
  ],
  [
    'Service: headless without selector requires dual-stack (initIPFamilyFields); with a selector it is single-stack',
    { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { clusterIP: 'None' } },
    { ipFamilyPolicy: 'RequireDualStack', clusterIP: 'None' },
  ],
  [
    'Service: an explicit ipFamilyPolicy is kept',
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta,
      spec: { ipFamilyPolicy: 'PreferDualStack', ports: [{ port: 80 }] },
    },
    { ipFamilyPolicy: 'PreferDualStack' },
  ],
  [
    'Pod: dnsPolicy ClusterFirst, restartPolicy Always, enableServiceLinks, scheduler, TCP ports, phase Pending',
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta,
      spec: { containers: [{ ...container, ports: [{ containerPort: 80 }] }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: ns,
      spec: {
        containers: [{ ...container, ...containerDefaults, ports: [{ containerPort: 80, protocol: 'TCP' }] }],
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        enableServiceLinks: true,
        terminationGracePeriodSeconds: 30,
        securityContext: {},
      },
      status: { phase: 'Pending' },
    },
  ],
  [
    'Pod: requests default to limits; hostNetwork makes container ports host ports',
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta,
      spec: {
        hostNetwork: true,
        containers: [
          {
            ...container,
            ports: [{ containerPort: 9100 }],
            resources: { requests: { cpu: '100m' }, limits: { cpu: '1', memory: '1Gi' } },
          },
        ],
      },
    },
    [
      {
        ...container,
        ...containerDefaults,
        ports: [{ containerPort: 9100, protocol: 'TCP', hostPort: 9100 }],
        resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
      },
    ],
  ],
  [
    'Pod: a stated status is kept as written (podIP and podIPs are not copied into each other)',
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: meta,
      spec: { containers: [container] },
      status: { phase: 'Running', podIP: '10.244.1.5', hostIPs: [{ ip: '172.18.0.2' }] },
    },
    { phase: 'Running', podIP: '10.244.1.5', podIPs: undefined, hostIP: undefined, hostIPs: [{ ip: '172.18.0.2' }] },
  ],
  [
    'Deployment: replicas 1; the template gets pod-spec defaults but not Pod-only ones',
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        selector: { matchLabels: { app: 'x' } },
        template: {
          metadata: { labels: { app: 'x' } },
          spec: { containers: [{ ...container, ports: [{ containerPort: 80 }] }] },
        },
      },
    },
    {
      replicas: 1,
      selector: { matchLabels: { app: 'x' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: {
        metadata: { labels: { app: 'x' } },
        spec: {
          containers: [{ ...container, ...containerDefaults, ports: [{ containerPort: 80, protocol: 'TCP' }] }],
          dnsPolicy: 'ClusterFirst',
          restartPolicy: 'Always',
          schedulerName: 'default-scheduler',
          terminationGracePeriodSeconds: 30,
          securityContext: {},
        },
      },
    },
  ],
  [
    'StatefulSet: replicas 1 and podManagementPolicy OrderedReady',
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta,
      spec: { selector: { matchLabels: { app: 'x' } }, template: { spec: { containers: [container] } } },
    },
    {
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    },
  ],
  [
    'Deployment: a given strategy is kept; Recreate gets no rolling-update parameters, a partial one is filled in',
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        strategy: { type: 'Recreate' },
        selector: { matchLabels: { app: 'x' } },
        template: { spec: { containers: [{ name: 'c', image: 'registry:5000/app:1.2' }] } },
      },
    },
    { strategy: { type: 'Recreate' } },
  ],
  [
    'StatefulSet: a given RollingUpdate without parameters keeps none; a partial retention policy is completed',
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta,
      spec: {
        updateStrategy: { type: 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' },
        selector: { matchLabels: { app: 'x' } },
        template: { spec: { containers: [container] } },
      },
    },
    {
      updateStrategy: { type: 'RollingUpdate' },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
    },
  ],
  [
    'Deployment: an empty strategy type is unset: RollingUpdate with its parameters',
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta,
      spec: {
        strategy: { type: '', rollingUpdate: { maxSurge: 1 } },
        selector: { matchLabels: { app: 'x' } },
        template: { spec: { containers: [container] } },
      },
    },
    { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } } },
  ],
  [
    'DaemonSet: maxUnavailable 1 and maxSurge 0; a given maxUnavailable kept',
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta,
      spec: {
        updateStrategy: { rollingUpdate: { maxUnavailable: '10%' } },
        selector: { matchLabels: { app: 'x' } },
        template: { spec: { containers: [container] } },
      },
    },
    {
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%', maxSurge: 0 } },
      revisionHistoryLimit: 10,
    },
  ],
  [
    'DaemonSet: no replicas',
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: meta,
      spec: { selector: { matchLabels: { app: 'x' } }, template: { spec: { containers: [container] } } },
    },
    { replicas: undefined },
  ],
  [
    'NetworkPolicy: Ingress always, TCP ports',
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta,
      spec: { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] },
    },
    { podSelector: {}, ingress: [{ ports: [{ port: 80, protocol: 'TCP' }] }], policyTypes: ['Ingress'] },
  ],
  [
    'NetworkPolicy: egress rules add Egress',
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta,
      spec: { podSelector: {}, egress: [{}] },
    },
    { policyTypes: ['Ingress', 'Egress'] },
  ],
  [
    'NetworkPolicy: an omitted podSelector is the empty selector (every pod of the namespace)',
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta,
      spec: { policyTypes: ['Ingress'] },
    },
    { podSelector: {}, policyTypes: ['Ingress'] },
  ],
  [
    'NetworkPolicy: explicit policyTypes are kept',
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta,
      spec: { podSelector: {}, policyTypes: ['Egress'] },
    },
    { policyTypes: ['Egress'] },
  ],
  [
    'EndpointSlice: TCP ports, the empty name for a port without one, and empty conditions',
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: meta,
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'] }],
      ports: [{ name: 'http', port: 80 }, { port: 81 }],
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: ns,
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.1.5'], conditions: {} }],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: '', port: 81, protocol: 'TCP' },
      ],
    },
  ],
  [
    'Namespace: phase Active, the kubernetes finalizer and the kubernetes.io/metadata.name label; no namespace of its own',
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', namespace: 'ignored' } },
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'team-a' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    },
  ],
  [
    'Namespace: finalizers given are kept, kubernetes added after them',
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' }, spec: { finalizers: ['example.com/hold'] } },
    { finalizers: ['example.com/hold', 'kubernetes'] },
  ],
  [
    'Node: allocatable 8 CPUs, 32Gi, 110 pods; Ready; podCIDR kept as written',
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.1.0/24' } },
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { podCIDR: '10.244.1.0/24' },
      status: {
        addresses: [],
        allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
      },
    },
  ],
  [
    'Node: allocatable defaults to capacity first; stated conditions are kept',
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: { capacity: { cpu: '4', pods: '50' }, conditions: [{ type: 'Ready', status: 'False' }] },
    },
    {
      capacity: { cpu: '4', pods: '50' },
      allocatable: { cpu: '4', pods: '50', memory: '32Gi' },
      conditions: [{ type: 'Ready', status: 'False' }],
      addresses: [],
    },
  ],
];

/** The part of a defaulted object a case's expectation describes: whole object, spec, ports or status. */
function pick(obj: Record<string, unknown>, expected: unknown): unknown {
  if (Array.isArray(expected)) {
    const spec = obj.spec as Record<string, unknown>;
    return spec.ports ?? spec.containers;
  }
  const keys = Object.keys(expected as object);
  if (keys.includes('apiVersion')) return obj;
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const status = (obj.status ?? {}) as Record<string, unknown>;
  const source = keys.every((k) => k in spec || !(k in status)) ? spec : status;
  return Object.fromEntries(keys.map((k) => [k, source[k]]));
}

for (const [title, input, expected] of cases) {
  test(`defaults: ${title}`, (t) => {
    const before = structuredClone(input);
    const out = applyDefaults(input as AnyObject);
    t.deepEqual(pick(out as unknown as Record<string, unknown>, expected), expected);
    t.deepEqual(input, before, 'the input is not modified');
    t.deepEqual(applyDefaults(out), out, 'defaulting twice changes nothing');
  });
}

test('defaults keep the SourceRef of the input on the new object', (t) => {
  const input = { apiVersion: 'v1', kind: 'Service', metadata: meta, spec: { ports: [{ port: 80 }] } } as AnyObject;
  const ref = { file: 'f.yaml', document: 1, locate: () => ({ file: 'f.yaml', document: 1, line: 1, column: 1 }) };
  attachSource(input, ref);
  const out = applyDefaults(input);
  t.not(out, input);
  t.is(sourceOf(out), ref);
});

test('defaultPullPolicy: Always for the tag latest (an image without tag or digest has it), IfNotPresent otherwise', (t) => {
  const cases: [string | undefined, 'Always' | 'IfNotPresent'][] = [
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.27', 'IfNotPresent'],
    ['registry.local:5000/team/app', 'Always'],
    ['registry.local:5000/team/app:2.0', 'IfNotPresent'],
    // Upper case does not parse as a repository name: no tag, so not Always.
    ['Nginx', 'IfNotPresent'],
    ['registry.local:5000/Team/app', 'IfNotPresent'],
    ['app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'IfNotPresent'],
    ['app:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'Always'],
    [undefined, 'IfNotPresent'],
  ];
  for (const [image, policy] of cases) t.is(defaultPullPolicy(image), policy, String(image));
});
