import test from 'ava';
import { checkText, type FixtureCase, fixtureTable, MSG } from './helpers.js';

const unsupported = (value: string, supported: string) =>
  `Unsupported value: "${value}": supported values: ${supported}`;
const effects = '"NoExecute", "NoSchedule", "PreferNoSchedule"';

const podCases: FixtureCase[] = [
  ['pod-name.yaml', [`4:3: Pod default/Client_1: metadata.name: ${MSG.dns1123Subdomain}, got "Client_1" (document 1)`]],
  [
    'pod-containers-required.yaml',
    ['5:1: Pod default/client: spec.containers: Required value: a pod needs at least one container (document 1)'],
  ],
  [
    'pod-containers.yaml',
    [
      `7:7: Pod default/client: spec.containers[0].name: ${MSG.dns1123Label}, got "App" (document 1)`,
      '9:7: Pod default/client: spec.containers[1].image: Required value (document 1)',
      '10:7: Pod default/client: spec.containers[2].name: Duplicate value: "side" (already used by containers[1]) (document 1)',
      '13:7: Pod default/client: spec.initContainers[0].name: Duplicate value: "side" (already used by containers[1]) (document 1)',
    ],
  ],
  [
    'pod-container-ports.yaml',
    [
      '10:11: Pod default/client: spec.containers[0].ports[0].name: must be no more than 15 characters, got "this-name-is-too-long" (document 1)',
      `13:11: Pod default/client: spec.containers[0].ports[1].containerPort: ${MSG.port}, got 70000 (document 1)`,
      '14:11: Pod default/client: spec.containers[0].ports[2].name: Duplicate value: "http" (document 1)',
      `16:11: Pod default/client: spec.containers[0].ports[2].protocol: Unsupported value: "ICMP": ${MSG.protocols} (document 1)`,
    ],
  ],
  [
    'pod-resources.yaml',
    [
      '11:11: Pod default/client: spec.containers[0].resources.requests.cpu: must be less than or equal to cpu limit of 500m, got "2" (document 1)',
      '12:11: Pod default/client: spec.containers[0].resources.requests.memory: must be a valid quantity, got "1 Gi" (e.g. 500m, 2, 128Mi, 1G) (document 1)',
      '13:11: Pod default/client: spec.containers[0].resources.requests.gpu: must be a standard resource for containers, got "gpu" (cpu, memory, ephemeral-storage, hugepages-<size>, or a name with a domain prefix) (document 1)',
    ],
  ],
  [
    'pod-container-restart-policy.yaml',
    [
      '7:36: Pod default/client: spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always" (document 1)',
      '9:34: Pod default/client: spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers (document 1)',
    ],
  ],
  [
    'pod-hostname.yaml',
    [
      `6:3: Pod default/client: spec.hostname: ${MSG.dns1123Label}, got "My_Host" (document 1)`,
      '7:3: Pod default/client: spec.subdomain: must not contain dots, got "web.internal" (document 1)',
    ],
  ],
  [
    'pod-dns-policy.yaml',
    [
      `6:3: Pod default/client: spec.dnsPolicy: ${unsupported('ClusterFirstWithHostNetwork', '"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"')} (document 1)`,
    ],
  ],
  [
    'pod-dns-config.yaml',
    [
      '7:5: Pod default/client: spec.dnsConfig.nameservers: must not have more than 3 nameservers, got ["1.1.1.1","8.8.8.8","9.9.9.9","10.0.0.256"] (document 1)',
      `7:46: Pod default/client: spec.dnsConfig.nameservers[3]: ${MSG.ip}, got "10.0.0.256" (document 1)`,
      `8:35: Pod default/client: spec.dnsConfig.searches[1]: ${MSG.dns1123SubdomainWithUnderscore}, got "Bad_Domain" (document 1)`,
    ],
  ],
  [
    'pod-dns-none.yaml',
    [
      '5:1: Pod default/client: spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None (document 1)',
    ],
  ],
  [
    'pod-dns-none-nameservers.yaml',
    [
      '7:3: Pod default/client: spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None (document 1)',
    ],
  ],
  [
    'pod-ips.yaml',
    [
      '11:3: Pod default/client: status.podIPs: may specify no more than one IP for each IP family, got ["10.244.1.6","10.244.1.7"] (document 1)',
      '12:7: Pod default/client: status.podIPs[0].ip: must be equal to `podIP`, got "10.244.1.6" (podIP is "10.244.1.5") (document 1)',
    ],
  ],
  ['pod-ip-invalid.yaml', [`10:3: Pod default/client: status.podIP: ${MSG.ip}, got "10.244.1.500" (document 1)`]],
  [
    'pod-tolerations.yaml',
    [
      '12:7: Pod default/client: spec.tolerations[0].value: value must be empty when `operator` is \'Exists\', got "gpu" (document 1)',
      '13:7: Pod default/client: spec.tolerations[1].operator: operator must be Exists when `key` is empty, which means "match all values and all keys", got "Equal" (document 1)',
      '16:7: Pod default/client: spec.tolerations[2].effect: effect must be \'NoExecute\' when `tolerationSeconds` is set, got "NoSchedule" (document 1)',
      `20:7: Pod default/client: spec.tolerations[3].effect: ${unsupported('NoRun', effects)} (document 1)`,
    ],
  ],
  [
    'pod-node-selector.yaml',
    [`7:5: Pod default/client: spec.nodeSelector: ${MSG.labelValue}, got "linux!" (document 1)`],
  ],
];

const workloadCases: FixtureCase[] = [
  [
    'deploy-selector-required.yaml',
    [
      '5:1: Deployment default/web: spec.selector: Required value: apps/v1 does not default the selector from the template labels (document 1)',
    ],
  ],
  [
    'deploy-selector-empty.yaml',
    ['6:3: Deployment default/web: spec.selector: empty selector is invalid for deployment, got {} (document 1)'],
  ],
  [
    'deploy-selector-mismatch.yaml',
    [
      '11:7: Deployment default/web: spec.template.metadata.labels: `selector` does not match template `labels`, got {"app":"web"} (document 1)',
    ],
  ],
  [
    'deploy-replicas.yaml',
    ['6:3: Deployment default/web: spec.replicas: must be greater than or equal to 0, got -1 (document 1)'],
  ],
  [
    'deploy-template-spec.yaml',
    [
      `14:7: Deployment default/web: spec.template.spec.restartPolicy: ${unsupported('Never', '"Always"')} (document 1)`,
      '19:15: Deployment default/web: spec.template.spec.containers[0].ports[0].containerPort: Required value (document 1)',
    ],
  ],
  [
    'sts-pod-management.yaml',
    [
      `7:3: StatefulSet default/db: spec.podManagementPolicy: must be 'OrderedReady' or 'Parallel', got "Random" (document 1)`,
    ],
  ],
  [
    'sts-negative-fields.yaml',
    [
      '7:3: StatefulSet default/db: spec.minReadySeconds: must be greater than or equal to 0, got -5 (document 1)',
      '9:5: StatefulSet default/db: spec.ordinals.start: must be greater than or equal to 0, got -1 (document 1)',
    ],
  ],
  [
    'selector-expressions.yaml',
    [
      "8:9: ReplicaSet default/web: spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn' (document 1)",
      "12:9: ReplicaSet default/web: spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist' (document 1)",
      '14:9: ReplicaSet default/web: spec.selector.matchExpressions[2].operator: not a valid selector operator, got "Matches" (use one of In, NotIn, Exists, DoesNotExist) (document 1)',
    ],
  ],
];

fixtureTable(test, podCases);
fixtureTable(test, workloadCases);

test('a DaemonSet with an empty selector uses its own wording', (t) => {
  const { lines } = checkText(
    `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector: {}
  template:
    spec:
      containers: [{name: agent, image: busybox}]
`,
    'ds.yaml',
  );
  t.deepEqual(lines, [
    'ds.yaml:6:3: DaemonSet default/agent: spec.selector: empty selector is invalid for daemonset, got {} (document 1)',
  ]);
});

test('a valid workload with matchExpressions passes and keeps its template', (t) => {
  const { lines, result } = checkText(`apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchExpressions:
      - {key: app, operator: In, values: [db]}
      - {key: canary, operator: DoesNotExist}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers: [{name: db, image: postgres, ports: [{name: pg, containerPort: 5432}]}]
`);
  t.deepEqual(lines, []);
  t.is(result.objects.length, 1);
});

test('hostNetwork pods: hostPort defaults to containerPort, and a different hostPort is an error', (t) => {
  const { lines } = checkText(
    `apiVersion: v1
kind: Pod
metadata:
  name: agent
spec:
  hostNetwork: true
  containers:
    - name: agent
      image: busybox
      ports:
        - containerPort: 9100
        - containerPort: 9101
          hostPort: 19101
`,
    'hostnet.yaml',
  );
  t.deepEqual(lines, [
    'hostnet.yaml:13:11: Pod default/agent: spec.containers[0].ports[1].hostPort: must match `containerPort` when `hostNetwork` is true, got 19101 (document 1)',
  ]);
});

test('two ports of a Pod take one host port: Duplicate (checkHostPortConflicts), also via hostNetwork defaulting', (t) => {
  const { lines } = checkText(`apiVersion: v1
kind: Pod
metadata: {name: hn}
spec:
  hostNetwork: true
  containers:
  - {name: a, image: x, ports: [{containerPort: 8080}]}
  - {name: b, image: x, ports: [{containerPort: 8080}, {containerPort: 8080, protocol: UDP}]}
---
apiVersion: v1
kind: Pod
metadata: {name: hp}
spec:
  containers:
  - {name: a, image: x, ports: [{containerPort: 80, hostPort: 8081}, {containerPort: 81, hostPort: 8081, hostIP: 10.0.0.1}]}
  - {name: b, image: x, ports: [{containerPort: 82, hostPort: 8081}]}
`);
  t.deepEqual(
    lines.map((l) => l.replace(/^inline\.yaml:\d+:\d+: /, '')),
    [
      'Pod default/hn: spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080" (document 1)',
      'Pod default/hp: spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8081" (document 2)',
    ],
  );
});
