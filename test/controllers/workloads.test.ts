import test from 'ava';
import {
  deleteWorkload,
  LABEL_POD_INDEX,
  LABEL_STATEFULSET_POD_NAME,
  podsToDelete,
  reconcileDaemonSet,
  reconcileDeployment,
  reconcileStatefulSet,
} from '../../src/controllers/workloads/index.js';
import type { Deployment, Pod } from '../../src/model/types.js';
import {
  CONTROL_PLANE_TAINT,
  container,
  daemonSet,
  deployment,
  node,
  pod,
  statefulSet,
  TestCluster,
  template,
} from './helpers.js';

const SUFFIX = '[bcdfghjklmnpqrstvwxz2456789]{5}';

function clusterWithWorkers(n = 3): TestCluster {
  const c = new TestCluster();
  c.addNodes(...Array.from({ length: n }, (_, i) => node(`w${i}`)));
  return c;
}

function applyDeployment(c: TestCluster, d: Deployment): Deployment {
  return c.run((ctx) => {
    const stored = ctx.put(d);
    reconcileDeployment(ctx, stored);
    return stored;
  });
}

test('a Deployment makes one ReplicaSet per template and pods named after it', (t) => {
  const c = clusterWithWorkers();
  const d = applyDeployment(c, deployment('web', 3));
  const [rs, ...more] = c.store.list('ReplicaSet');
  t.is(more.length, 0);
  const hash = rs!.metadata.labels!['pod-template-hash']!;
  t.is(rs!.metadata.name, `web-${hash}`);
  t.deepEqual(rs!.spec.selector.matchLabels, { app: 'web', 'pod-template-hash': hash });
  t.deepEqual(rs!.metadata.ownerReferences, [
    { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', controller: true },
  ]);
  const pods = c.podsOf();
  t.is(pods.length, 3);
  for (const p of pods) {
    t.regex(p.metadata.name, new RegExp(`^web-${hash}-${SUFFIX}$`));
    t.deepEqual(p.metadata.labels, { app: 'web', 'pod-template-hash': hash });
    t.deepEqual(p.metadata.ownerReferences, [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs!.metadata.name, controller: true },
    ]);
    // Pods share one defaulted copy of the template's containers: 150,000 pods of one template carry one array.
    t.is(p.spec.containers, pods[0]!.spec.containers);
    // The template's containers, defaulted as the API server defaults every Pod's (SetDefaults_Container).
    t.deepEqual(
      p.spec.containers,
      d.spec.template.spec.containers.map((container) => ({
        ...container,
        imagePullPolicy: 'Always', // nginx has no tag
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
      })),
    );
    t.truthy(p.spec.nodeName);
  }
});

test('pods a controller makes are defaulted as Pods (SetDefaults_Pod), their template stays as written', (t) => {
  const c = clusterWithWorkers(2);
  const limited = { ...container(), resources: { limits: { cpu: '3' } } };
  const d = applyDeployment(c, deployment('big', 2, template({ app: 'big' }, { containers: [limited] })));
  const hostNet = template(
    { app: 'hn' },
    { hostNetwork: true, containers: [container({ ports: [{ containerPort: 80, protocol: 'TCP' }] })] },
  );
  applyDeployment(c, deployment('hn', 1, hostNet));
  const big = c.podsOf().filter((p) => p.metadata.labels?.app === 'big');
  t.is(big.length, 2);
  // Requests default to limits: the scheduler counts 3 CPUs for each.
  for (const p of big) t.deepEqual(p.spec.containers[0]!.resources?.requests, { cpu: '3' });
  const [hn] = c.podsOf().filter((p) => p.metadata.labels?.app === 'hn');
  t.is(hn!.spec.containers[0]!.ports![0]!.hostPort, 80);
  t.is(hn!.spec.enableServiceLinks, true);
  t.is(d.spec.template.spec.containers[0]!.resources?.requests, undefined);
  t.is(hostNet.spec.containers[0]!.ports![0]!.hostPort, undefined);
});

test('a hostNetwork template whose containers share a port makes no pods: defaulted, each pod would take the host port twice', (t) => {
  const c = clusterWithWorkers(2);
  const port = [{ containerPort: 9100, protocol: 'TCP' as const }];
  // Two containers, one port: the template is valid (no hostPort yet); every defaulted pod is not.
  const shared = template(
    { app: 'exporter' },
    {
      hostNetwork: true,
      containers: [
        { ...container({ ports: port }), name: 'a' },
        { ...container({ ports: port }), name: 'b' },
      ],
    },
  );
  applyDeployment(c, deployment('exporter', 2, shared));
  c.run((ctx) => reconcileDaemonSet(ctx, ctx.put(daemonSet('exporter-ds', shared))));
  c.run((ctx) =>
    reconcileStatefulSet(
      ctx,
      ctx.put({
        ...statefulSet('exporter-sts', 2),
        spec: { ...statefulSet('exporter-sts', 2).spec, template: shared },
      }),
    ),
  );
  t.is(c.podsOf().length, 0);
  const owners = [
    /^ReplicaSet default\/exporter-[a-z0-9]+: /,
    /^DaemonSet default\/exporter-ds: /,
    /^StatefulSet default\/exporter-sts: /,
  ];
  t.is(c.warnings.length, owners.length);
  c.warnings.forEach((w, i) => {
    t.regex(w, owners[i]!);
    t.true(
      w.includes('FailedCreate') && w.includes('spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//9100"'),
      w,
    );
  });
  // The same containers on distinct ports, or without hostNetwork, make their pods.
  const apart = template(
    { app: 'apart' },
    {
      hostNetwork: true,
      containers: [
        { ...container({ ports: port }), name: 'a' },
        { ...container({ ports: [{ containerPort: 9101, protocol: 'TCP' }] }), name: 'b' },
      ],
    },
  );
  // Nothing to create, nothing refused: no warning (upstream records FailedCreate only for a create it tries).
  c.run((ctx) =>
    reconcileStatefulSet(
      ctx,
      ctx.put({ ...statefulSet('idle', 0), spec: { ...statefulSet('idle', 0).spec, template: shared } }),
    ),
  );
  const nowhere = { ...shared, spec: { ...shared.spec, nodeSelector: { pool: 'none' } } };
  c.run((ctx) => reconcileDaemonSet(ctx, ctx.put(daemonSet('nowhere', nowhere))));
  applyDeployment(c, deployment('apart', 1, apart));
  applyDeployment(
    c,
    deployment('podnet', 1, {
      ...shared,
      metadata: { labels: { app: 'podnet' } },
      spec: { ...shared.spec, hostNetwork: false },
    }),
  );
  t.is(c.podsOf().length, 2);
  t.is(c.warnings.length, 3);
});

test('scaling a Deployment up and down', (t) => {
  const c = clusterWithWorkers();
  const d = applyDeployment(c, deployment('web', 3));
  applyDeployment(c, { ...d, spec: { ...d.spec, replicas: 5 } });
  t.is(c.podsOf().length, 5);
  applyDeployment(c, { ...d, spec: { ...d.spec, replicas: 2 } });
  t.is(c.podsOf().length, 2);
  t.is(c.store.list('ReplicaSet')[0]!.spec.replicas, 2);
});

test('a template change moves every replica to a new ReplicaSet at once', (t) => {
  const c = clusterWithWorkers();
  const d = applyDeployment(c, deployment('web', 3));
  const oldRs = c.store.list('ReplicaSet')[0]!;
  applyDeployment(c, { ...d, spec: { ...d.spec, template: template({ app: 'web' }, { hostname: 'v2' }) } });
  const sets = c.store.list('ReplicaSet');
  t.is(sets.length, 2);
  const newRs = sets.find((rs) => rs.metadata.name !== oldRs.metadata.name)!;
  t.is(c.store.get('ReplicaSet', oldRs.metadata.name)!.spec.replicas, 0);
  t.is(newRs.spec.replicas, 3);
  t.is(c.podsOf().length, 3);
  for (const p of c.podsOf()) t.true(p.metadata.name.startsWith(`${newRs.metadata.name}-`));
  // Going back reuses the old ReplicaSet.
  applyDeployment(c, d);
  t.is(c.store.get('ReplicaSet', oldRs.metadata.name)!.spec.replicas, 3);
  t.is(c.store.list('ReplicaSet').length, 2);
});

test('re-reconciling unchanged workloads writes nothing', (t) => {
  const c = clusterWithWorkers();
  c.run((ctx) => {
    reconcileDeployment(ctx, ctx.put(deployment('web', 3)));
    reconcileStatefulSet(ctx, ctx.put(statefulSet('db', 2)));
    reconcileDaemonSet(ctx, ctx.put(daemonSet('agent')));
  });
  const rv = c.store.resourceVersion;
  c.run((ctx) => {
    reconcileDeployment(ctx, ctx.store.get('Deployment', 'web')!);
    reconcileStatefulSet(ctx, ctx.store.get('StatefulSet', 'db')!);
    reconcileDaemonSet(ctx, ctx.store.get('DaemonSet', 'agent')!);
  });
  t.is(c.store.resourceVersion, rv);
});

test('a deleted pod is replaced', (t) => {
  const c = clusterWithWorkers();
  applyDeployment(c, deployment('web', 2));
  const victim = c.podsOf()[0]!;
  c.run((ctx) => {
    ctx.deletePod(victim);
    reconcileDeployment(ctx, ctx.store.get('Deployment', 'web')!);
  });
  t.is(c.podsOf().length, 2);
  t.falsy(c.store.get('Pod', victim.metadata.name));
});

test('scale-down removes unscheduled, then not-ready, then the newest pods first', (t) => {
  const base = (name: string, o: Partial<Pod['spec']>, ready: boolean, rv: string): Pod => ({
    ...pod(name, o),
    metadata: { name, namespace: 'default', resourceVersion: rv },
    status: {
      phase: o.nodeName ? 'Running' : 'Pending',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });
  const pods = [
    base('ready-old', { nodeName: 'a' }, true, '1'),
    base('ready-new', { nodeName: 'b' }, true, '5'),
    base('not-ready', { nodeName: 'c' }, false, '2'),
    base('pending', {}, false, '3'),
  ];
  t.deepEqual(
    podsToDelete(pods, 3).map((p) => p.metadata.name),
    ['pending', 'not-ready', 'ready-new'],
  );
});

test('a StatefulSet names pods by ordinal with hostname, subdomain and identity labels', (t) => {
  const c = clusterWithWorkers();
  c.run((ctx) => reconcileStatefulSet(ctx, ctx.put(statefulSet('db', 3, 'db-headless'))));
  const pods = c.podsOf().sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  t.deepEqual(
    pods.map((p) => p.metadata.name),
    ['db-0', 'db-1', 'db-2'],
  );
  pods.forEach((p, i) => {
    t.is(p.spec.hostname, `db-${i}`);
    t.is(p.spec.subdomain, 'db-headless');
    t.is(p.metadata.labels?.[LABEL_STATEFULSET_POD_NAME], `db-${i}`);
    t.is(p.metadata.labels?.[LABEL_POD_INDEX], String(i));
    t.regex(p.metadata.labels?.['controller-revision-hash'] ?? '', /^db-/);
  });
});

test('a StatefulSet whose serviceName is no DNS label makes no pods (their subdomain would fail validation), and says so', (t) => {
  const c = clusterWithWorkers();
  c.run((ctx) => reconcileStatefulSet(ctx, ctx.put(statefulSet('db', 2, 'Db_Svc'))));
  t.is(c.podsOf().length, 0);
  t.is(c.warnings.length, 1);
  t.regex(c.warnings[0]!, /StatefulSet default\/db: FailedCreate: .*"Db_Svc"/);
});

test('a StatefulSet scales down from the highest ordinal and back up', (t) => {
  const c = clusterWithWorkers();
  const sts = c.run((ctx) => {
    const s = ctx.put(statefulSet('db', 4));
    reconcileStatefulSet(ctx, s);
    return s;
  });
  const db0 = c.store.get('Pod', 'db-0')!;
  c.run((ctx) => reconcileStatefulSet(ctx, ctx.put({ ...sts, spec: { ...sts.spec, replicas: 2 } })));
  t.deepEqual(
    c
      .podsOf()
      .map((p) => p.metadata.name)
      .sort(),
    ['db-0', 'db-1'],
  );
  t.is(c.store.get('Pod', 'db-0'), db0);
  c.run((ctx) => reconcileStatefulSet(ctx, ctx.put({ ...sts, spec: { ...sts.spec, replicas: 3 } })));
  t.deepEqual(
    c
      .podsOf()
      .map((p) => p.metadata.name)
      .sort(),
    ['db-0', 'db-1', 'db-2'],
  );
});

test('a StatefulSet template change replaces its pods, keeping their names', (t) => {
  const c = clusterWithWorkers();
  const sts = c.run((ctx) => {
    const s = ctx.put(statefulSet('db', 2));
    reconcileStatefulSet(ctx, s);
    return s;
  });
  const before = c.store.get('Pod', 'db-1')!.metadata.labels!['controller-revision-hash'];
  const tpl = template({ app: 'db' }, { containers: [container({ cpu: '100m' })] });
  c.run((ctx) => reconcileStatefulSet(ctx, ctx.put({ ...sts, spec: { ...sts.spec, template: tpl } })));
  const after = c.store.get('Pod', 'db-1')!.metadata.labels!['controller-revision-hash'];
  t.not(after, before);
  t.is(c.podsOf().length, 2);
});

test('a DaemonSet runs one pod on each eligible node, pinned by nodeName', (t) => {
  const c = new TestCluster();
  c.addNodes(node('cp', { taints: [CONTROL_PLANE_TAINT] }), node('w1'), node('w2'), node('sick', { ready: 'False' }));
  c.run((ctx) => reconcileDaemonSet(ctx, ctx.put(daemonSet('agent'))));
  const pods = c.podsOf();
  t.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['w1', 'w2']);
  for (const p of pods) {
    t.regex(p.metadata.name, new RegExp(`^agent-${SUFFIX}$`));
    t.true(p.spec.tolerations?.some((tol) => tol.key === 'node.kubernetes.io/unschedulable'));
  }
});

test('a DaemonSet follows nodes: added, tainted, removed', (t) => {
  const c = new TestCluster();
  c.addNodes(node('w1'));
  const tolerant = daemonSet('cni', template({ app: 'cni' }, { tolerations: [{ operator: 'Exists' }] }));
  c.run((ctx) => {
    reconcileDaemonSet(ctx, ctx.put(daemonSet('agent')));
    reconcileDaemonSet(ctx, ctx.put(tolerant));
  });
  c.addNodes(node('w2'), node('cp', { taints: [CONTROL_PLANE_TAINT] }));
  const rerun = () =>
    c.run((ctx) => {
      for (const ds of ctx.store.list('DaemonSet')) reconcileDaemonSet(ctx, ds);
    });
  rerun();
  const nodesOf = (app: string) =>
    c
      .podsOf()
      .filter((p) => p.metadata.labels?.app === app)
      .map((p) => p.spec.nodeName)
      .sort();
  t.deepEqual(nodesOf('agent'), ['w1', 'w2']);
  t.deepEqual(nodesOf('cni'), ['cp', 'w1', 'w2']);
  c.removeNode('w1');
  c.addNodes(node('w2', { taints: [{ key: 'evict', effect: 'NoExecute' }] }));
  rerun();
  t.deepEqual(nodesOf('agent'), []);
  t.deepEqual(nodesOf('cni'), ['cp', 'w2']);
});

test('a DaemonSet pod stays on a node that only gained a NoSchedule taint', (t) => {
  const c = new TestCluster();
  c.addNodes(node('w1'));
  c.run((ctx) => reconcileDaemonSet(ctx, ctx.put(daemonSet('agent'))));
  c.addNodes(node('w1', { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] }));
  const before = c.podsOf()[0];
  c.run((ctx) => reconcileDaemonSet(ctx, ctx.store.get('DaemonSet', 'agent')!));
  t.is(c.podsOf()[0], before);
});

test('deleting workloads cascades to what they own', (t) => {
  const c = clusterWithWorkers();
  c.run((ctx) => {
    reconcileDeployment(ctx, ctx.put(deployment('web', 3)));
    reconcileStatefulSet(ctx, ctx.put(statefulSet('db', 2)));
    reconcileDaemonSet(ctx, ctx.put(daemonSet('agent')));
  });
  t.is(c.podsOf().length, 8);
  c.run((ctx) => {
    deleteWorkload(ctx, ctx.store.get('Deployment', 'web')!);
    deleteWorkload(ctx, ctx.store.get('StatefulSet', 'db')!);
  });
  t.is(c.store.count('ReplicaSet'), 0);
  t.deepEqual(
    c.podsOf().map((p) => p.metadata.labels?.app),
    ['agent', 'agent', 'agent'],
  );
  c.run((ctx) => deleteWorkload(ctx, ctx.store.get('DaemonSet', 'agent')!));
  t.is(c.podsOf().length, 0);
});

test('a rejected batch leaves no trace of the pods it created', (t) => {
  const c = clusterWithWorkers();
  t.throws(() =>
    c.run((ctx) => {
      reconcileDeployment(ctx, ctx.put(deployment('web', 3)));
      throw new Error('reject');
    }),
  );
  t.is(c.podsOf().length, 0);
  applyDeployment(c, deployment('web', 2));
  t.is(c.podsOf().length, 2);
});

test('names come from the seed: the same seed, the same pod names', (t) => {
  const names = () => {
    const c = clusterWithWorkers();
    applyDeployment(c, deployment('web', 4));
    return c.podsOf().map((p) => p.metadata.name);
  };
  t.deepEqual(names(), names());
});
