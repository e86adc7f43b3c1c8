import test from 'ava';
import { attachSource, positionOf, sourceOf } from '../../src/model/source.js';
import { validateObjects } from '../../src/model/validate/index.js';
import { checkFixture, checkText, type FixtureCase, fixtureTable, MSG } from './helpers.js';

const cases: FixtureCase[] = [
  [
    'common-not-mapping.yaml',
    ['1:1: a manifest must be a mapping with apiVersion, kind and metadata, got a list (document 1)'],
  ],
  ['common-missing-kind.yaml', ['1:1: kind: Required value (document 1)']],
  ['common-missing-api-version.yaml', ['1:1: Service default/web: apiVersion: Required value (document 1)']],
  [
    'common-api-version.yaml',
    [
      '1:1: Deployment default/web: apiVersion: no matches for kind "Deployment" in version "extensions/v1beta1" (use "apps/v1") (document 1)',
    ],
  ],
  [
    'common-missing-name.yaml',
    ['3:1: Service default/<unnamed>: metadata.name: Required value: name or generateName is required (document 1)'],
  ],
  [
    'common-generate-name.yaml',
    [
      '3:1: Pod default/<unnamed>: metadata.name: Required value: metadata.generateName is not supported: kube-netsim loads manifests like `kubectl apply`, which needs a fixed name (document 1)',
    ],
  ],
  [
    'common-namespace.yaml',
    [`5:3: Service Team_A/web: metadata.namespace: ${MSG.dns1123Label}, got "Team_A" (document 1)`],
  ],
  [
    'common-labels.yaml',
    [
      `6:5: Service default/web: metadata.labels: ${MSG.labelKeyName}, got "bad key!" (document 1)`,
      `7:5: Service default/web: metadata.labels: ${MSG.labelValue}, got "-web" (document 1)`,
      `9:5: Service default/web: metadata.annotations: a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName'), got "example.com/a/b" (document 1)`,
    ],
  ],
  [
    // Decoding errors, as kubectl's: nothing is coerced, and every wrongly typed field is reported.
    'common-wrong-types.yaml',
    [
      '6:5: Service default/web: metadata.labels.enabled: must be a string, got true (YAML 1.1 reads unquoted y/n/yes/no/on/off/true/false as booleans and kubectl fails to decode them here too: quote the value) (document 1)',
      '7:5: Service default/web: metadata.labels.version: must be a string, got 2 (kubectl fails to decode an unquoted number here too: quote the value) (document 1)',
      '10:7: Service default/web: spec.ports[0].port: must be an integer, got "80" (kubectl fails too: "cannot unmarshal string into" an integer field; remove the quotes) (document 1)',
      '11:7: Service default/web: spec.ports[1].port: must be an integer, got 80.5 (document 1)',
      '12:3: Service default/web: spec.selector: must be a mapping, got ["app"] (document 1)',
    ],
  ],
  [
    'common-duplicate.yaml',
    [
      '11:3: Service default/web: metadata.name: duplicate object: Service default/web is already defined at fixtures/bad/common-duplicate.yaml:4:3 (document 2)',
    ],
  ],
  [
    // Several objects, each with its own problem: all are reported, in file order.
    'common-many-errors.yaml',
    [
      '6:3: Service default/web: spec.type: Unsupported value: "Balanced": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort" (document 1)',
      '14:3: Pod default/client: spec.dnsPolicy: Unsupported value: "Sometimes": supported values: "ClusterFirst", "ClusterFirstWithHostNet", "Default", "None" (document 2)',
      '16:7: Pod default/client: spec.containers[0].image: Required value (document 2)',
      '24:17: NetworkPolicy default/web: spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Egress", "Ingress" (document 3)',
    ],
  ],
];

fixtureTable(test, cases);

test('an unknown kind is a warning naming the kind and where it is; the rest of the batch is kept', async (t) => {
  const { lines, result } = await checkFixture('common-unknown-kind.yaml');
  t.deepEqual(lines, []);
  t.deepEqual(result.warnings, [
    'fixtures/bad/common-unknown-kind.yaml:2:1 (document 1): kind "ConfigMap" (apiVersion "v1") is not modelled by kube-netsim; the object is skipped',
  ]);
  t.deepEqual(
    result.objects.map((o) => `${o.kind} ${o.metadata.name}`),
    ['Service web'],
  );
});

const KIND_CASES: [apiVersion: string, kind: string, outcome: 'skipped' | 'rejected'][] = [
  ['v1', 'ConfigMap', 'skipped'],
  ['rbac.authorization.k8s.io/v1', 'Role', 'skipped'],
  ['gateway.networking.k8s.io/v1', 'HTTPRoute', 'skipped'], // a custom resource's group: not judged
  ['v1', 'Sevice', 'rejected'],
  ['apps/v1', 'Deploymnet', 'rejected'],
  ['networking.k8s.io/v1', 'NetworkPolcy', 'rejected'],
];
for (const [apiVersion, kind, outcome] of KIND_CASES) {
  test(`kind ${kind} in ${apiVersion}: ${outcome}`, (t) => {
    const { lines, result } = checkText(`apiVersion: ${apiVersion}\nkind: ${kind}\nmetadata: {name: x}\n`);
    if (outcome === 'skipped') {
      t.deepEqual(lines, []);
      t.is(result.warnings.length, 1);
    } else {
      t.deepEqual(lines, [
        `inline.yaml:2:1: ${kind} default/x: kind: no matches for kind "${kind}" in version "${apiVersion}" (document 1)`,
      ]);
    }
    t.deepEqual(result.objects, []);
  });
}

test('duplicates are per kind, namespace and name: the same name in another namespace or kind is fine', async (t) => {
  const { result } = await checkFixture('common-duplicate.yaml');
  t.deepEqual(
    result.objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    ['default/web', 'other/web'],
  );
  const { lines } = checkText(`apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
`);
  t.deepEqual(lines, []);
});

test('a cluster-scoped object ignores metadata.namespace, as the API server does', (t) => {
  const { lines, result } = checkText(`apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  namespace: Not_Even_Valid
`);
  t.deepEqual(lines, []);
  t.is(result.objects[0]?.metadata.namespace, undefined);
});

test('valid objects come back defaulted, with their SourceRef still attached', (t) => {
  const { lines, result } = checkText(
    `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
    - port: 80
`,
    'web.yaml',
  );
  t.deepEqual(lines, []);
  const svc = result.objects[0];
  t.is(svc?.kind, 'Service');
  if (svc?.kind !== 'Service') return;
  t.is(svc.spec.type, 'ClusterIP');
  t.is(svc.spec.ports?.[0]?.targetPort, 80);
  t.truthy(sourceOf(svc));
  t.deepEqual(positionOf(svc, ['spec', 'ports', 0, 'port']), { file: 'web.yaml', document: 1, line: 8, column: 7 });
});

test('objects built in code (no SourceRef) are validated too, and their issues say <input>', (t) => {
  const result = validateObjects([
    { value: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 0 }] } } },
  ] as never);
  t.deepEqual(
    result.issues.map((i) => `${i.position.file}:${i.position.line}: ${i.object}: ${i.field}: ${i.detail}`),
    ['<input>:0: Service default/web: spec.ports[0].port: must be between 1 and 65535, inclusive, got 0'],
  );
});

test('an object that already carries a SourceRef is located through it', (t) => {
  const value = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } };
  attachSource(value, {
    file: 'gen.yaml',
    document: 3,
    locate: (path) => ({ file: 'gen.yaml', document: 3, line: path.length, column: 1 }),
  });
  const result = validateObjects([{ value, source: sourceOf(value)! }]);
  t.deepEqual(result.issues[0]?.position, { file: 'gen.yaml', document: 3, line: 2, column: 1 });
});

test('a batch of valid objects of every kind passes with no issue and no warning', (t) => {
  const { lines, result } = checkText(`apiVersion: kube-netsim.io/v1alpha1
kind: ClusterConfig
spec:
  podCIDRs: [10.244.0.0/16, "fd00:10:244::/56"]
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Node
metadata: {name: worker-1, labels: {kubernetes.io/os: linux}}
spec:
  podCIDRs: [10.244.1.0/24, "fd00:10:244:1::/64"]
  taints: [{key: dedicated, value: db, effect: NoSchedule}]
status:
  addresses: [{type: InternalIP, address: 172.18.0.3}, {type: Hostname, address: worker-1}]
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
---
apiVersion: v1
kind: Service
metadata: {name: upstream, namespace: shop}
spec:
  type: ExternalName
  externalName: api.example.com.
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  ipFamilies: [IPv4, IPv6]
  clusterIP: 10.96.0.20
  clusterIPs: [10.96.0.20, "fd00:10:96::14"]
  loadBalancerSourceRanges: [" 203.0.113.0/24 "]
  externalTrafficPolicy: Local
  sessionAffinity: ClientIP
  selector: {app: web}
  ports:
    - {name: http, port: 80, targetPort: http, nodePort: 30080}
    - {name: dns, port: 53, protocol: UDP}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db, tier: data}}
    spec:
      subdomain: db
      tolerations: [{key: dedicated, operator: Equal, value: db, effect: NoSchedule}, {operator: Exists}]
      containers:
        - name: db
          image: postgres:16
          ports: [{name: pg, containerPort: 5432}]
          resources: {requests: {cpu: 250m, memory: 256Mi}, limits: {cpu: "1", memory: 1Gi}}
          env: [{name: PGDATA, value: /data}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: shop}
spec:
  dnsPolicy: None
  dnsConfig: {nameservers: [10.96.0.10], searches: [shop.svc.cluster.local, svc.cluster.local., _tcp.example.com], options: [{name: ndots, value: "2"}]}
  containers: [{name: c, image: busybox}]
status:
  phase: Running
  podIP: 10.244.1.9
  podIPs: [{ip: 10.244.1.9}, {ip: "fd00:10:244:1::9"}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-x1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv6
endpoints:
  - addresses: ["fd00:10:244:1::9"]
    conditions: {ready: true, serving: true, terminating: false}
    nodeName: worker-1
ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
          podSelector: {matchExpressions: [{key: role, operator: In, values: [frontend]}]}
        - ipBlock: {cidr: 192.168.0.0/16, except: [192.168.1.0/24]}
      ports: [{port: 8000, endPort: 8080}, {port: http, protocol: TCP}]
  egress: [{}]
`);
  t.deepEqual(lines, []);
  t.deepEqual(result.warnings, []);
  t.deepEqual(
    result.objects.map((o) => `${o.kind} ${o.metadata.name}`),
    [
      'Namespace shop',
      'Node worker-1',
      'Service db',
      'Service upstream',
      'Service web',
      'StatefulSet db',
      'Pod client',
      'EndpointSlice web-x1',
      'NetworkPolicy web',
    ],
  );
  t.deepEqual(result.config?.spec.serviceCIDRs, ['10.96.0.0/12', 'fd00:10:96::/112']);
});

test('dnsConfig: at most 32 search domains', (t) => {
  const searches = Array.from({ length: 33 }, (_, i) => `d${i}.example`).join(', ');
  const { lines } = checkText(
    `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  dnsConfig: {searches: [${searches}]}
  containers: [{name: c, image: busybox}]
`,
    'p.yaml',
  );
  t.is(lines.length, 1);
  t.true(
    lines[0]!.startsWith(
      'p.yaml:5:15: Pod default/p: spec.dnsConfig.searches: must not have more than 32 search paths, got',
    ),
  );
});

test('integers must fit in 32 bits, as the API types are int32', (t) => {
  const { lines } = checkText(
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 3000000000}\n',
    'd.yaml',
  );
  t.deepEqual(lines, [
    'd.yaml:4:8: Deployment default/d: spec.replicas: must fit in a 32-bit signed integer, got 3000000000 (document 1)',
  ]);
});

test('a Node: podCIDRs[0] must match podCIDR; a Pod: hostIPs[0] must match hostIP', (t) => {
  const { lines } = checkText(
    `apiVersion: v1
kind: Node
metadata: {name: node-a}
spec:
  podCIDR: 10.244.1.0/24
  podCIDRs: [10.244.2.0/24]
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: busybox}]
status:
  hostIP: 172.18.0.2
  hostIPs: [{ip: 172.18.0.3}, {ip: 172.18.0.3}]
`,
    'n.yaml',
  );
  t.deepEqual(lines, [
    'n.yaml:6:3: Node node-a: spec.podCIDRs: first value must match `podCIDR`, got ["10.244.2.0/24"] (document 1)',
    'n.yaml:15:3: Pod default/p: status.hostIPs: may specify no more than one IP for each IP family, got ["172.18.0.3","172.18.0.3"] (document 2)',
    'n.yaml:15:14: Pod default/p: status.hostIPs[0].ip: must be equal to `hostIP`, got "172.18.0.3" (hostIP is "172.18.0.2") (document 2)',
    'n.yaml:15:31: Pod default/p: status.hostIPs[1]: Duplicate value: "172.18.0.3" (document 2)',
  ]);
});

test('a StatefulSet name is a DNS label (its pods are names in the Service zone), other workloads take dots', (t) => {
  const workload = (kind: string, name: string) => `apiVersion: apps/v1
kind: ${kind}
metadata: {name: ${name}}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, image: busybox}]}
`;
  t.deepEqual(checkText(workload('StatefulSet', 'db.v1'), 'sts.yaml').lines, [
    'sts.yaml:3:12: StatefulSet default/db.v1: metadata.name: must not contain dots, got "db.v1" (document 1)',
  ]);
  t.deepEqual(checkText(workload('StatefulSet', 'db-v1'), 'sts.yaml').lines, []);
  t.deepEqual(checkText(workload('Deployment', 'db.v1').replace('  serviceName: db\n', ''), 'd.yaml').lines, []);
});

test('a container port with an empty protocol defaults to TCP (SetDefaults_ContainerPort)', (t) => {
  const { lines, result } = checkText(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, image: busybox, ports: [{containerPort: 80, protocol: ""}]}]
`);
  t.deepEqual(lines, []);
  const pod = result.objects.find((o) => o.kind === 'Pod') as {
    spec: { containers: { ports: { protocol: string }[] }[] };
  };
  t.is(pod.spec.containers[0]!.ports[0]!.protocol, 'TCP');
});
