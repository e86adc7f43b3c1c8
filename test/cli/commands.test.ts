/** The CLI's commands on the demo cluster: what a user types, what they read, and the exit codes. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { readScript } from '../../src/cli/commands/trace-script.js';
import { cli } from './helpers.js';

const DEMO = 'fixtures/demo';
/** `trace` from a pod on the demo's first worker. */
const FROM_WORKER_POD = ['--node', 'kube-netsim-worker', '--src', '10.244.1.4'];

/** A table's cells, row by row (columns split on `sep`: any run of spaces, or three or more where cells hold one). */
function cells(table: string, sep = /\s+/): string[][] {
  return table
    .trim()
    .split('\n')
    .map((line) => line.split(sep));
}

/** A fresh directory holding one manifest file, to pass after DEMO. */
function manifestDir(file: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-cli-'));
  writeFileSync(join(dir, file), text);
  return dir;
}

test('get services: kubectl columns, NodePort and LoadBalancer shapes', async (t) => {
  const r = await cli('get', 'services', '-n', 'shop', DEMO);
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.regex(lines[0]!, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)$/);
  t.true(lines.some((l) => /^db\s+ClusterIP\s+None\s+<none>\s+5432\/TCP$/.test(l)));
  t.true(lines.some((l) => /^web-nodeport\s+NodePort\s+10\.96\.\S+\s+<none>\s+80:30080\/TCP$/.test(l)));
  t.true(lines.some((l) => /^web-lb\s+LoadBalancer\s+10\.96\.\S+\s+172\.18\.255\.200\s+80:\d+\/TCP$/.test(l)));
  t.true(lines.some((l) => /^payments\s+ExternalName\s+<none>\s+payments\.example\.com\s+<none>$/.test(l)));
});

test('get all -A -o wide and -o json', async (t) => {
  const all = await cli('get', 'all', '-A', DEMO);
  t.is(all.code, 0, all.stderr);
  t.regex(all.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS$/m);
  t.regex(all.stdout, /deployment\.apps\/web\s+3\/3/);
  t.regex(all.stdout, /statefulset\.apps\/db\s+3\/3/);
  const json = await cli('get', 'pods', '-n', 'shop', '-o', 'json', DEMO);
  const list = JSON.parse(json.stdout) as { kind: string; items: { status: { podIP: string } }[] };
  t.is(list.kind, 'List');
  t.is(list.items.length, 6);
  t.true(list.items.every((p) => /^10\.244\./.test(p.status.podIP)));
});

test('get namespaces and networkpolicies: kubectl columns (STATUS; POD-SELECTOR, <none> for every pod)', async (t) => {
  const ns = await cli('get', 'namespaces', DEMO);
  t.is(ns.code, 0, ns.stderr);
  t.regex(ns.stdout, /^NAME\s+STATUS$/m);
  t.regex(ns.stdout, /^shop\s+Active$/m);
  const dir = manifestDir(
    'deny.yaml',
    'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny-all, namespace: shop }\nspec:\n  podSelector: {}\n',
  );
  const policies = await cli('get', 'netpol', '-n', 'shop', DEMO, dir);
  t.is(policies.code, 0, policies.stderr);
  t.deepEqual(cells(policies.stdout), [
    ['NAME', 'POD-SELECTOR'],
    ['db-from-web', 'app=db'],
    ['deny-all', '<none>'],
  ]);
});

test('get: several resources with their prefixes, v1 Endpoints, cluster-scoped kinds under -A, a NodeLost pod, sorted YAML', async (t) => {
  const dir = manifestDir(
    'extra.yaml',
    [
      'apiVersion: v1',
      'kind: Service',
      'metadata: { name: ext, namespace: shop }',
      'spec: { ports: [{ port: 80 }] }',
      '---',
      'apiVersion: v1',
      'kind: Endpoints',
      'metadata: { name: ext, namespace: shop }',
      'subsets:',
      '- addresses: [{ ip: 192.0.2.1 }, { ip: 192.0.2.2 }, { ip: 192.0.2.3 }, { ip: 192.0.2.4 }]',
      '  ports: [{ port: 80 }]',
      '---',
      'apiVersion: v1',
      'kind: Endpoints',
      'metadata: { name: empty, namespace: shop }',
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata: { name: lost, namespace: shop, deletionTimestamp: "2024-01-01T00:00:00Z" }',
      'spec: { containers: [{ name: c, image: nginx }] }',
      'status: { phase: Running, reason: NodeLost }',
      '',
    ].join('\n'),
  );
  const ep = await cli('get', 'ep', '-n', 'shop', DEMO, dir);
  t.is(ep.code, 0, ep.stderr);
  t.deepEqual(cells(ep.stdout, /\s{3,}/), [
    ['NAME', 'ENDPOINTS'],
    ['empty', '<none>'],
    ['ext', '192.0.2.1:80,192.0.2.2:80,192.0.2.3:80 + 1 more...'],
  ]);
  // client-go's warning writer prefixes the API server's warnings with "Warning: ".
  t.regex(ep.stderr, /^Warning: v1 Endpoints is deprecated in v1\.33\+/m);
  const two = await cli('get', 'deploy,svc', '-n', 'shop', DEMO);
  t.regex(two.stdout, /^deployment\.apps\/web\s+3\/3/m);
  t.regex(two.stdout, /^service\/web\s+ClusterIP/m);
  t.regex(two.stdout, /\n\nNAME\s+TYPE/, 'one table per kind, a blank line between');
  t.is((await cli('get', 'deploy,nope', '-n', 'shop', DEMO)).code, 2);
  // MultipleTypesRequested counts the types as typed: two spellings of one kind are two, one spelling twice is one.
  t.regex((await cli('get', 'deploy,deployments', '-n', 'shop', DEMO)).stdout, /^deployment\.apps\/web\s+3\/3/m);
  t.regex((await cli('get', 'deploy,deploy', '-n', 'shop', DEMO)).stdout, /^web\s+3\/3/m);
  // A resource qualified by its API group (and version), as kubectl's RESTMapper takes it; a wrong group is refused.
  t.regex((await cli('get', 'deployments.apps', '-n', 'shop', DEMO)).stdout, /^web\s+3\/3/m);
  t.regex((await cli('get', 'deploy.v1.apps', '-n', 'shop', DEMO)).stdout, /^web\s+3\/3/m);
  t.is((await cli('get', 'pods.apps', '-n', 'shop', DEMO)).code, 2);
  const ns = await cli('get', 'ns', '-A', DEMO);
  t.regex(ns.stdout, /^NAME\s+STATUS\n/, 'no NAMESPACE column for a cluster-scoped kind');
  const pods = await cli('get', 'pods', '-n', 'shop', DEMO, dir);
  t.regex(pods.stdout, /^lost\s+1\/1\s+Unknown\s+0$/m);
  const yaml = await cli('get', 'svc', '-n', 'shop', '-o', 'yaml', DEMO);
  t.regex(yaml.stdout, /^apiVersion: v1\nitems:\n- apiVersion: v1\n {2}kind: Service\n {2}metadata:\n/);
  const json = await cli('get', 'svc', '-n', 'shop', '-o', 'json', DEMO);
  const first = (JSON.parse(json.stdout) as { items: Record<string, Record<string, unknown>>[] }).items[0]!;
  t.deepEqual(Object.keys(first), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  t.deepEqual(Object.keys(first.spec!), [...Object.keys(first.spec!)].sort());
});

test('get -o name: resource.group/name kind by kind, no namespace under -A; an unknown format names the ones there are', async (t) => {
  const r = await cli('get', 'deploy,svc', '-n', 'shop', '-o', 'name', DEMO);
  t.is(r.code, 0);
  const lines = r.stdout.trim().split('\n');
  t.is(lines[0], 'deployment.apps/web');
  t.true(lines.slice(1).every((l) => l.startsWith('service/')));
  t.deepEqual(lines.slice(1), [...lines.slice(1)].sort());
  const all = await cli('get', 'endpointslices,netpol', '-A', '-o', 'name', DEMO);
  t.regex(all.stdout, /^endpointslice\.discovery\.k8s\.io\/web-[a-z0-9]{5}$/m);
  t.notRegex(all.stdout, /^shop\//m);
  // Nothing to list: nothing printed at all (kubectl's "No resources found" belongs to its tables).
  const none = await cli('get', 'pods', '-n', 'nope', '-o', 'name', DEMO);
  t.is(none.code, 0);
  t.is(none.stdout, '');
  t.is(none.stderr, '');
  const bad = await cli('get', 'pods', '-o', 'yml', DEMO);
  t.is(bad.code, 2);
  t.regex(
    bad.stderr,
    /unable to match a printer suitable for the output format "yml", allowed formats are: json,name,wide,yaml/,
  );
});

test('get -o json: workloads carry the status their controllers write, counted from their pods; spec defaults filled', async (t) => {
  const r = await cli('get', 'deploy,rs,sts', '-n', 'shop', '-o', 'json', DEMO);
  t.is(r.code, 0);
  const items = JSON.parse(r.stdout).items as { kind: string; spec: Record<string, unknown>; status: unknown }[];
  const of = (kind: string) => items.find((i) => i.kind === kind)!;
  t.deepEqual(of('Deployment').status, { availableReplicas: 3, readyReplicas: 3, replicas: 3, updatedReplicas: 3 });
  t.deepEqual(of('ReplicaSet').status, {
    availableReplicas: 3,
    fullyLabeledReplicas: 3,
    readyReplicas: 3,
    replicas: 3,
  });
  t.deepEqual(of('StatefulSet').status, {
    availableReplicas: 3,
    currentReplicas: 3,
    readyReplicas: 3,
    replicas: 3,
    updatedReplicas: 3,
  });
  t.deepEqual(of('Deployment').spec.strategy, {
    rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    type: 'RollingUpdate',
  });
  t.is(of('Deployment').spec.progressDeadlineSeconds, 600);
  t.deepEqual(of('StatefulSet').spec.updateStrategy, { rollingUpdate: { partition: 0 }, type: 'RollingUpdate' });
  // A Deployment short of its replicas says how many are unavailable.
  const dir = manifestDir(
    'scaled.yaml',
    'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wide, namespace: shop}\nspec:\n  replicas: 50\n  selector: {matchLabels: {app: wide}}\n  template:\n    metadata: {labels: {app: wide}}\n    spec: {containers: [{name: c, image: nginx, resources: {requests: {cpu: "2"}}}]}\n',
  );
  const short = await cli('get', 'deploy', '-n', 'shop', '-o', 'json', DEMO, dir);
  const status = (
    JSON.parse(short.stdout).items as { metadata: { name: string }; status: Record<string, number> }[]
  ).find((i) => i.metadata.name === 'wide')!.status;
  t.is(status.replicas, 50);
  t.true(status.readyReplicas! < 50);
  t.is(status.unavailableReplicas, 50 - status.readyReplicas!);
});

test('get with nothing to list: kubectl says so on stderr, stdout stays empty, exit 0', async (t) => {
  for (const [args, notice] of [
    [['-n', 'nowhere'], 'No resources found in nowhere namespace.\n'],
    [['-A'], 'No resources found\n'],
  ] as const) {
    const r = await cli('get', 'daemonsets', ...args, DEMO);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, '');
    t.is(r.stderr, notice);
  }
});

test('ipam shows node CIDRs and range usage', async (t) => {
  const r = await cli('ipam', DEMO);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /CLUSTER CIDRS/);
  t.regex(r.stdout, /kube-netsim-worker\s+10\.244\.\d+\.0\/24\s+10\.244\.\d+\.1\s+253\s+\d+/);
  t.regex(r.stdout, /10\.96\.0\.0\/16\s+IPv4/);
  t.regex(r.stdout, /30000-32767/);
});

test('env: the Service variables kubelet injects', async (t) => {
  const r = await cli('env', 'shop/db-0', DEMO);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^KUBERNETES_SERVICE_HOST=10\.96\.0\.1$/m);
  t.regex(r.stdout, /^WEB_SERVICE_PORT_HTTP=80$/m);
  t.regex(r.stdout, /^WEB_PORT_443_TCP_ADDR=10\.96\.\d+\.\d+$/m);
  t.notRegex(r.stdout, /^DB_SERVICE_HOST/m, 'headless Services inject nothing');
});

test('resolv-conf and resolve: the ndots:5 walk', async (t) => {
  const rc = await cli('resolv-conf', 'shop/db-0', DEMO);
  t.regex(rc.stdout, /^search shop\.svc\.cluster\.local svc\.cluster\.local cluster\.local$/m);
  t.regex(rc.stdout, /^nameserver 10\.96\.0\.10$/m);
  t.regex(rc.stdout, /^options ndots:5$/m);
  const walk = await cli('resolve', 'web', '--from', 'shop/db-0', '--output', 'json', DEMO);
  const json = JSON.parse(walk.stdout) as { queries: { qname: string; rcode: string }[] };
  t.deepEqual(
    json.queries.map((s) => [s.qname, s.rcode]),
    [['web.shop.svc.cluster.local.', 'NOERROR']],
  );
});

test('zone prints RFC 1035 zone files', async (t) => {
  const r = await cli('zone', DEMO);
  t.regex(r.stdout, /^\$ORIGIN cluster\.local\.$/m);
  t.regex(r.stdout, /^web\.shop\.svc\.cluster\.local\. 30 IN A 10\.96\./m);
});

test('zone --out: makes the directory and its parents; a path that cannot be one is E_OUTPUT_UNWRITABLE (exit 2)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-zone-'));
  const made = await cli('zone', DEMO, '--out', join(dir, 'a', 'b'));
  t.is(made.code, 0);
  t.deepEqual(readdirSync(join(dir, 'a', 'b')).sort(), ['cluster.local.zone', 'in-addr.arpa.zone', 'ip6.arpa.zone']);
  writeFileSync(join(dir, 'file'), '');
  symlinkSync(join(dir, 'nowhere'), join(dir, 'dangling'));
  const cases: [string, RegExp][] = [
    [join(dir, 'file'), /^error: cannot create directory .*\/file: it exists and is not a directory$/m],
    [join(dir, 'file', 'below'), /^error: cannot create directory .*\/file\/below: not a directory$/m],
    // Node's recursive mkdir spins forever here (Node 20); `mkdir -p` fails at once, and so must we.
    ['/proc/kube-netsim-nope', /^error: cannot create directory \/proc\/kube-netsim-nope: no such file or directory$/m],
    // A symbolic link to nothing: neither a directory nor a place to make one.
    [join(dir, 'dangling'), /^error: cannot create directory .*\/dangling: file exists$/m],
  ];
  for (const [out, expected] of cases) {
    const r = await cli('zone', DEMO, '--out', out);
    t.is(r.code, 2, out);
    t.regex(r.stderr, expected, out);
    t.notRegex(r.stderr, /internal error/, out);
  }
});

/** `trace` on the demo worker from pod 10.244.1.4 (shop/db-1) to `dst`. */
function traceFromPod(dst: string, ...flags: string[]) {
  return cli('trace', DEMO, '--node', 'kube-netsim-worker', '--src', '10.244.1.4', '--dst', dst, ...flags);
}

test('trace --json: a pod to a Service name, DNATed to an endpoint', async (t) => {
  const r = await traceFromPod('web.shop:80', '--json');
  t.is(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as {
    verdict: string;
    endpoint: string;
    packet: { dst: string };
    snat: null;
    steps: unknown[];
  };
  t.is(v.verdict, 'DNAT');
  t.regex(v.endpoint, /^10\.244\.\d+\.\d+:8080$/);
  t.is(v.packet.dst, v.endpoint);
  t.is(v.snat, null);
  t.true(v.steps.length > 3);
});

test('trace --json: the DNS lookups are the first steps; an IPv6 sender asks for AAAA', async (t) => {
  const v4 = JSON.parse((await traceFromPod('web.shop:80', '--json')).stdout) as { steps: { where: string }[] };
  t.is(v4.steps[0]!.where, 'dns');
  // db-1's IPv6 address (the demo is dual-stack; host-local gives it the host part of 10.244.1.4).
  const six = 'fd00:10:244:1::4';
  const r = await cli(
    'trace',
    DEMO,
    '--node',
    'kube-netsim-worker',
    '--src',
    `[${six}]:5555`,
    '--dst',
    'web-dual.shop:80',
    '--json',
  );
  t.is(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as { verdict: string; endpoint: string; steps: { where: string; rule: string }[] };
  t.is(v.verdict, 'DNAT');
  t.regex(v.endpoint, /^\[[0-9a-f:]+\]:8080$/);
  t.true(v.steps.filter((s) => s.where === 'dns').every((s) => s.rule.endsWith(' AAAA')));
});

const TRACE_INPUT_ERRORS: readonly [dst: string, src: string, message: RegExp][] = [
  ['nosuch.shop:80', '10.244.1.4', /"nosuch\.shop" has no A record/],
  ['web.shop:http', '10.244.1.4', /NAME:PORT/],
  ['web.shop:70000', '10.244.1.4', /NAME:PORT/],
  ['10.96.0.1:443', '[fd00::1]:5', /one IP family/],
];
for (const [dst, src, message] of TRACE_INPUT_ERRORS) {
  test(`trace --src ${src} --dst ${dst}: exit 2 with the reason`, async (t) => {
    const r = await cli('trace', DEMO, '--node', 'kube-netsim-worker', '--src', src, '--dst', dst);
    t.is(r.code, 2);
    t.regex(r.stderr, message);
  });
}

// Flags the parser refuses are bad input like any other: exit 2 and one `error:` line, no usage text after it.
const MALFORMED_FLAGS: readonly (readonly string[])[] = [
  ['trace', DEMO, '--src', '10.244.1.4', '--dst', 'web.shop:80'],
  ['trace', DEMO, ...FROM_WORKER_POD, '--dst', 'web.shop:80', '--bogus'],
  ['trace', DEMO, ...FROM_WORKER_POD, '--dst', 'web.shop:80', '--proto'],
  ['rules', DEMO, '--node', 'kube-netsim-worker', '--count', '3'],
  ['nosuch'],
  // Refused by the command, in the flag's words (not the library call's).
  ['trace', DEMO, ...FROM_WORKER_POD, '--dst', 'web.shop:80', '--mode', 'ipvs', '--scheduler', 'RR'],
];
for (const args of MALFORMED_FLAGS)
  test(`kube-netsim ${args.join(' ')}: exit 2, one error line`, async (t) => {
    const r = await cli(...args);
    t.is(r.code, 2);
    t.regex(r.stderr, /^error: [^\n]+\n$/);
    t.notRegex(r.stderr, /cluster\.proxy/);
  });

test('trace: the sent line writes the destination canonically, IPv6 in brackets, with --dst as given beside it', async (t) => {
  const v6 = await cli(
    'trace',
    DEMO,
    '--node',
    'kube-netsim-worker',
    '--src',
    'fd00:10:244:1::4',
    '--dst',
    '[FD00:10:96:0::71E0]:80',
  );
  t.is(v6.code, 0, v6.stderr);
  t.regex(
    v6.stdout,
    /^sent {5}TCP \[fd00:10:244:1::4\]:40000 -> \[fd00:10:96::71e0\]:80 {2}\(--dst \[FD00:10:96:0::71E0\]:80\)$/m,
  );
  const plain = await cli(
    'trace',
    DEMO,
    '--node',
    'kube-netsim-worker',
    '--src',
    '10.244.1.4',
    '--dst',
    '10.96.210.12:80',
  );
  t.regex(plain.stdout, /^sent {5}TCP 10\.244\.1\.4:40000 -> 10\.96\.210\.12:80$/m);
});

test('trace --count to an ExternalName: exit 2, as there are no kube-proxy rules to send flows through', async (t) => {
  const r = await traceFromPod('payments.shop:443', '--count', '5', '--json');
  t.is(r.code, 2);
  t.is(r.stdout, '');
  t.regex(r.stderr, /--count: payments\.shop:443 sends no flows through kube-proxy: ExternalName Service/);
});

test('trace --count to an address no Service rule matches: the text says the flows passed unchanged', async (t) => {
  const r = await traceFromPod('db.shop:5432', '--count', '3');
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /rejected 0, dropped 0, passed unchanged \(no Service rule\) 3/);
});

/** `trace --count N --json` from pod 10.244.1.4 on the worker to web.shop:80, in ipvs mode. */
async function countFlows(n: number, ...flags: string[]) {
  const r = await traceFromPod('web.shop:80', '--mode', 'ipvs', '--count', String(n), ...flags, '--json');
  return {
    code: r.code,
    stderr: r.stderr,
    ...(JSON.parse(r.stdout || '{}') as { flows: number; endpoints: Record<string, number>; rejected: number }),
  };
}

test('trace --count --json: the per-endpoint distribution', async (t) => {
  const d = await countFlows(300);
  t.is(d.flows, 300);
  t.deepEqual(Object.values(d.endpoints), [100, 100, 100], 'ipvs rr is exactly round-robin');
  t.is(d.rejected, 0);
});

// --count flows are answered, so they are established (active) unless --closed leaves them in TIME_WAIT (inactive).
// lc and wlc weigh inactive connections too (active·256 + inactive); sed and nq count only active ones, so closed
// flows leave every server tied and the first one takes them all (ip_vs_sed.c, ip_vs_nq.c).
const COUNTING_SCHEDULERS: readonly [scheduler: string, closed: boolean, spread: number[]][] = [
  ['lc', false, [100, 100, 100]],
  ['wlc', false, [100, 100, 100]],
  ['sed', false, [100, 100, 100]],
  ['nq', false, [100, 100, 100]],
  ['lc', true, [100, 100, 100]],
  ['sed', true, [300]],
  ['nq', true, [300]],
];
for (const [scheduler, closed, spread] of COUNTING_SCHEDULERS) {
  test(`trace --count 300 --scheduler ${scheduler}${closed ? ' --closed' : ''}: ${spread.join('/')}`, async (t) => {
    const d = await countFlows(300, '--scheduler', scheduler, ...(closed ? ['--closed'] : []));
    t.is(d.code, 0, d.stderr);
    t.deepEqual(
      Object.values(d.endpoints).sort((a, b) => b - a),
      spread,
    );
  });
}

test('trace: an ExternalName gets no proxy rules, and the trace says so', async (t) => {
  const r = await traceFromPod('payments.shop:443');
  t.regex(r.stdout, /ExternalName Service: CNAME payments\.example\.com\./);
  // The same verdict --json gives: nothing for kube-proxy to rewrite.
  t.regex(r.stdout, /^verdict {2}ACCEPT: no packet to a Service address/m);
});

test('trace: an ExternalName naming a Service in the cluster is followed to its address, and the trace says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-alias-'));
  writeFileSync(
    join(dir, 'alias.yaml'),
    'apiVersion: v1\nkind: Service\nmetadata: {name: alias, namespace: shop}\nspec: {type: ExternalName, externalName: web.shop.svc.cluster.local}\n',
  );
  const r = await cli('trace', DEMO, dir, ...FROM_WORKER_POD, '--dst', 'alias.shop:80', '--json');
  t.is(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as { verdict: string; service: string; steps: { decision: string }[] };
  t.true(
    v.steps.some((s) =>
      /^ExternalName Service: CNAME web\.shop\.svc\.cluster\.local\., which resolves to /.test(s.decision),
    ),
  );
  t.deepEqual([v.verdict, v.service], ['DNAT', 'shop/web:http']);
});

test('trace --script: ClientIP affinity holds, then times out', async (t) => {
  const r = await cli(
    'trace',
    DEMO,
    '--node',
    'kube-netsim-worker',
    '--script',
    'fixtures/scripts/affinity.yaml',
    '--json',
    '--seed',
    '3',
  );
  t.is(r.code, 0, r.stderr);
  const results = JSON.parse(r.stdout) as { time: number; endpoint: string; verdict: string }[];
  t.is(results.length, 3);
  t.true(results.every((x) => x.verdict === 'DNAT'));
  t.is(results[0]!.endpoint, results[1]!.endpoint);
  t.is(results[2]!.time, 61);
});

/** One JSON result per packet of `trace --script` on the demo worker, the steps given as YAML flow lines. */
async function scriptResults<T>(lines: string[], ...flags: string[]): Promise<T[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'kube-netsim-script-')), 'steps.yaml');
  writeFileSync(file, lines.map((l) => `- ${l}\n`).join(''));
  const r = await cli('trace', DEMO, '--node', 'kube-netsim-worker', '--script', file, '--json', ...flags);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T[];
}

for (const mode of ['iptables', 'ipvs', 'userspace']) {
  test(`trace --script, ${mode}: a reply step written with the client's own tuple is the answer to that flow`, async (t) => {
    const client = '{src: "10.244.1.4:41000", dst: "10.96.0.10:53", proto: tcp';
    const results = await scriptResults<{
      conntrack: string;
      closed?: boolean;
      packet: { src: string; dst: string };
    }>([`${client}}`, `${client}, reply: true}`, `${client}}`, `${client}, reply: true, close: true}`], '--mode', mode);
    // The endpoint's answer reaches the client from the Service address, whatever the mode rewrote on the way.
    t.is(results[1]!.conntrack, 'reply');
    t.deepEqual(results[1]!.packet, { proto: 'TCP', src: '10.96.0.10:53', dst: '10.244.1.4:41000' });
    t.is(results[2]!.conntrack, 'established');
    // A closing answer in the same form: the endpoint's FIN, back to the client, and the flow closes.
    t.deepEqual([results[3]!.conntrack, results[3]!.closed], ['reply', true]);
    t.deepEqual(results[3]!.packet, { proto: 'TCP', src: '10.96.0.10:53', dst: '10.244.1.4:41000' });
  });
}

test('trace --script: a packet to NAME:PORT resolves through cluster DNS as the sender would, its lookups first', async (t) => {
  const results = await scriptResults<{
    conntrack: string;
    endpoint: string;
    steps: { where: string; rule: string }[];
  }>([
    '{src: "10.244.1.4:41000", dst: "web.shop:80"}',
    '{src: "10.244.1.4:41000", dst: "web.shop:80", reply: true}',
    '{src: "10.244.1.4:41000", dst: "10.96.180.189:80"}',
  ]);
  t.deepEqual(
    results[0]!.steps.filter((s) => s.where === 'dns').map((s) => s.rule),
    ['web.shop.shop.svc.cluster.local. A', 'web.shop.svc.cluster.local. A'],
  );
  t.is(results[1]!.conntrack, 'reply');
  // The name's address is the ClusterIP: the same flow as the address written out.
  t.deepEqual([results[2]!.conntrack, results[2]!.endpoint], ['established', results[0]!.endpoint]);
});

test('trace --script: a reply to a Service name that was sent nothing is an error naming the step (exit 2)', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'kube-netsim-script-')), 'steps.yaml');
  writeFileSync(file, '- {src: "10.244.1.4", dst: "web.shop:80", reply: true}\n');
  const r = await cli('trace', DEMO, '--node', 'kube-netsim-worker', '--script', file);
  t.is(r.code, 2);
  t.regex(r.stderr, /step 1: a reply to 10\.244\.1\.4 -> web\.shop:80, which sent no packet before/);
});

test('trace --script: a name with no address to send to is an error naming the step (exit 2)', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'kube-netsim-script-')), 'steps.yaml');
  writeFileSync(file, '- {src: "10.244.1.4", dst: "web.shop:80"}\n- {src: "10.244.1.4", dst: "payments.shop:443"}\n');
  const r = await cli('trace', DEMO, '--node', 'kube-netsim-worker', '--script', file);
  t.is(r.code, 2);
  t.regex(r.stderr, /step 2: dst payments\.shop:443: ExternalName Service: CNAME payments\.example\.com\./);
});

test('trace --script: a close step passes through its flow, then closes it; one result per packet', async (t) => {
  const results = await scriptResults<{ step: number; verdict?: string; conntrack?: string; closed?: boolean }>([
    '{src: "10.244.1.4:1000", dst: "10.96.0.10:53", proto: udp}',
    '{src: "10.244.1.4:1000", dst: "10.96.0.10:53", proto: udp, close: true}',
    '{src: "10.244.1.4:1001", dst: "10.96.0.10:53", proto: udp, close: true}',
  ]);
  // (A UDP close of no tracked flow is an ordinary datagram: UDP has no close, nothing makes it INVALID.)
  t.deepEqual(
    results.map((x) => [x.step, x.verdict ?? null, x.conntrack ?? null, x.closed ?? null]),
    [
      [1, 'DNAT', 'new', null],
      [2, 'DNAT', 'established', true],
      [3, 'DNAT', 'new', true],
    ],
  );
});

test('resolve: /etc/hosts answers first; a pod whose nameserver is not cluster DNS cannot resolve Services', async (t) => {
  const local = await cli('resolve', 'localhost', '--type', 'ADDR', '--from', 'shop/db-0', DEMO, '-o', 'json');
  t.is(local.code, 0, local.stderr);
  const hosts = JSON.parse(local.stdout) as { queries: unknown[] };
  t.deepEqual(hosts.queries, []);
  const dir = manifestDir(
    'pod.yaml',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: def, namespace: shop}\nspec:\n  dnsPolicy: Default\n  containers: [{name: c, image: busybox}]\n',
  );
  const r = await cli('resolve', 'web.shop.svc.cluster.local', '--from', 'shop/def', DEMO, dir);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /HOST_NOT_FOUND/);
});

test('trace --script: a reply may close the flow; ports left out are the client 40000 and the Service 80', async (t) => {
  const first = '{src: "10.244.1.4", dst: "10.96.0.10:53", proto: udp}';
  const results = await scriptResults<{ packet?: { dst: string }; closed?: boolean }>([
    first,
    '{src: "10.244.1.4", dst: "10.96.0.10:53", proto: udp, close: true}',
  ]);
  t.true(results[1]!.closed, 'the flow the first packet made (from port 40000) is the one closed');
  // The same first packet in a new run makes the same choice (same seed): its endpoint answers, and closes.
  const endpoint = results[0]!.packet!.dst;
  const again = await scriptResults<{ conntrack?: string; closed?: boolean }>([
    first,
    `{src: "${endpoint}", dst: "10.244.1.4", proto: udp, reply: true, close: true}`,
  ]);
  t.is(again[1]!.conntrack, 'reply');
  t.true(again[1]!.closed);
});

const SCRIPT_ERRORS: readonly [name: string, text: string | null, message: RegExp][] = [
  ['a step that is not a mapping', '- hello\n', /step 1: expected a mapping/],
  ['an unknown field', '- {advance: 3, foo: 1}\n', /step 1: unknown field foo/],
  ['not YAML', 'x: [\n', /not YAML/],
  ['an infinite advance', '- {advance: 1e400}\n', /step 1: advance takes a finite number/],
  ['a packet without dst', '- {src: "10.244.1.4:1000"}\n', /step 1: a packet needs src and dst/],
  [
    'a delete of nothing',
    '- {advance: 1}\n- {delete: service/shop/nosuch}\n',
    /step 2: Service shop\/nosuch: not found\n$/,
  ],
  [
    'a packet with a bad address',
    '- {advance: 1}\n- {src: "10.244.1.4", dst: "10.96.0.300:80"}\n',
    /step 2: .*10\.96\.0\.300/,
  ],
  ['a packet with a bad port', '- {src: "10.244.1.4:70000", dst: "10.96.0.10:53"}\n', /step 1: .*70000/],
  [
    'a packet with a bad protocol',
    '- {src: "10.244.1.4", dst: "10.96.0.10:53", proto: icmp}\n',
    /step 1: proto must be/,
  ],
  ['a missing file', null, /--script .*: cannot read input: no such file or directory/],
  [
    'an apply of an invalid manifest',
    '- {advance: 1}\n- apply:\n    apiVersion: v1\n    kind: Service\n    metadata: {name: web2, namespace: shop}\n    spec: {ports: [{port: 99999}]}\n',
    /step 2: [\s\S]*steps\.yaml:6:\d+: Service shop\/web2: spec\.ports\[0\]\.port: must be between 1 and 65535/,
  ],
  [
    'a JSON-lines apply of an invalid manifest',
    '{"advance": 1}\n\n{"apply": {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "w", "namespace": "shop"}, "spec": {"ports": [{"port": 99999}]}}}\n',
    /step 2: [\s\S]*steps\.yaml:3:1: Service shop\/w: spec\.ports\[0\]\.port: must be between 1 and 65535/,
  ],
];
for (const [name, text, message] of SCRIPT_ERRORS) {
  test(`trace --script with ${name}: exit 2, the file and step named`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-script-'));
    const file = join(dir, 'steps.yaml');
    if (text !== null) writeFileSync(file, text);
    const r = await cli('trace', DEMO, '--node', 'kube-netsim-worker', '--script', file);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
    t.true(r.stderr.includes(file), r.stderr);
    t.notRegex(r.stderr, /internal error/);
  });
}

test('trace --script: several YAML documents, each a step or a list of steps', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-script-'));
  const file = join(dir, 'steps.yaml');
  const packet = '{src: "10.244.1.4:1000", dst: "10.96.180.189:80", proto: tcp}';
  writeFileSync(file, `{advance: 0}\n---\n- ${packet}\n---\nadvance: 5\n---\n- ${packet}\n- {advance: 1}\n`);
  const r = await cli('trace', DEMO, '--node', 'kube-netsim-worker', '--script', file, '--json');
  t.is(r.code, 0, r.stderr);
  const results = JSON.parse(r.stdout) as { step: number; time: number; conntrack: string }[];
  t.deepEqual(
    results.map((x) => [x.step, x.time, x.conntrack]),
    [
      [2, 0, 'new'],
      [4, 5, 'established'],
    ],
  );
});

test('readScript: a script that cannot be read is E_INPUT_UNREADABLE', (t) => {
  t.throws(() => readScript(join(tmpdir(), 'kube-netsim-no-such-script.yaml')), { code: 'E_INPUT_UNREADABLE' });
});

test('trace --dst takes a port; --count at most one flow per source port', async (t) => {
  const base = ['trace', DEMO, '--node', 'kube-netsim-worker', '--src', '10.244.1.4'];
  for (const dst of ['10.96.180.189', 'fd00:10:96::71e0:80']) {
    const r = await cli(...base, '--dst', dst);
    t.is(r.code, 2, dst);
    t.regex(r.stderr, /--dst takes IP:PORT or NAME:PORT \(IPv6 as \[addr\]:port\)/, dst);
  }
  const r = await cli(...base, '--dst', '10.96.180.189:80', '--count', '64513');
  t.is(r.code, 2);
  t.regex(r.stderr, /--count must be an integer from 1 to 64512/);
});

const UNREAD_FLAGS: readonly [args: string[], message: RegExp][] = [
  [['--script', 'steps.yaml', '--src', '10.244.1.4'], /--script cannot be used with --src$/m],
  [['--script', 'steps.yaml', '--count', '3', '--closed'], /--script cannot be used with --count, --closed$/m],
  [['--src', '10.244.1.4', '--dst', 'web.shop:80', '--closed'], /--closed is for --count$/m],
];

test('trace --count is written as digits: 1e3 and 3.0 are errors (exit 2)', async (t) => {
  for (const count of ['1e3', '3.0']) {
    const r = await traceFromPod('web.shop:80', '--count', count);
    t.is(r.code, 2, r.stderr);
    t.regex(
      r.stderr,
      new RegExp(`--count must be an integer from 1 to 64512 .*, got "${count.replace('.', '\\.')}"$`, 'm'),
    );
  }
});
for (const [args, message] of UNREAD_FLAGS) {
  test(`trace ${args.join(' ')}: a flag that would go unread is an error (exit 2)`, async (t) => {
    const r = await cli('trace', DEMO, '--node', 'kube-netsim-worker', ...args);
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
  });
}

test('rules: iptables-save with kube-proxy chains, ipvsadm for ipvs', async (t) => {
  const ipt = await cli('rules', DEMO, '--node', 'kube-netsim-worker', '--mode', 'iptables');
  t.regex(ipt.stdout, /^\*nat$/m);
  t.regex(ipt.stdout, /^:KUBE-SERVICES - \[0:0\]$/m);
  t.regex(ipt.stdout, /^-A KUBE-SVC-\w{16} .*--probability 0\.3333333333/m);
  t.regex(ipt.stdout, /^COMMIT$/m);
  const ipvs = await cli('rules', DEMO, '--node', 'kube-netsim-worker', '--mode', 'ipvs');
  t.regex(ipvs.stdout, /^IP Virtual Server version 1\.2\.1 \(size=4096\)$/m);
  t.regex(ipvs.stdout, /^TCP {2}10\.96\.\d+\.\d+:80 rr$/m);
  // A dual-stack node's ipvsadm -Ln lists both families, IPv4 first; --family narrows it.
  const lastV4 = ipvs.stdout.lastIndexOf('TCP  10.96.');
  const firstV6 = ipvs.stdout.indexOf('TCP  [fd00:10:96::');
  t.true(lastV4 > 0 && firstV6 > lastV4, 'IPv4 virtual servers, then IPv6');
  const v6 = await cli('rules', DEMO, '--node', 'kube-netsim-worker', '--mode', 'ipvs', '--family', 'ipv6');
  t.regex(v6.stdout, /^TCP {2}\[fd00:10:96::[0-9a-f:]+\]:80 rr$/m);
  t.false(v6.stdout.includes('TCP  10.96.'));
  const ipt6 = await cli('rules', DEMO, '--node', 'kube-netsim-worker', '--mode', 'iptables', '--family', 'ipv6');
  t.regex(ipt6.stdout, /fd00:10:96::/);
  t.false(ipt.stdout.includes('fd00:10:96::'), 'iptables-save without --family is IPv4 only');
});

test('rules --mode ipvs --show: the iptables rules and ipsets around the IPVS table; other modes refuse ipset', async (t) => {
  const args = ['rules', DEMO, '--node', 'kube-netsim-worker', '--mode', 'ipvs'];
  const ipt = await cli(...args, '--show', 'iptables');
  t.is(ipt.code, 0);
  t.regex(ipt.stdout, /^\*nat\n:KUBE-SERVICES - \[0:0\]\n/);
  t.regex(ipt.stdout, /^-A KUBE-SERVICES -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT$/m);
  t.regex(
    ipt.stdout,
    /^-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst -j REJECT$/m,
  );
  t.false(ipt.stdout.includes('KUBE-6-'), 'IPv4 unless --family');
  const sets = await cli(...args, '--show', 'ipset');
  t.regex(sets.stdout, /^create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536$/m);
  t.regex(sets.stdout, /^add KUBE-CLUSTER-IP 10\.96\.\d+\.\d+,tcp:80$/m);
  t.regex(sets.stdout, /^add KUBE-6-CLUSTER-IP fd00:10:96::[0-9a-f:]+,tcp:80$/m);
  const v6 = await cli(...args, '--show', 'ipset', '--family', 'ipv6');
  t.false(/^create KUBE-CLUSTER-IP /m.test(v6.stdout));
  t.deepEqual((await cli(...args, '--show', 'ipvsadm')).stdout, (await cli(...args)).stdout);
  const refused = await cli('rules', DEMO, '--node', 'kube-netsim-worker', '--mode', 'iptables', '--show', 'ipset');
  t.is(refused.code, 2);
  t.regex(refused.stderr, /--show ipset is for ipvs mode/);
  t.is((await cli(...args, '--show', 'nft')).code, 2);
});

test('healthcheck: 200 on a node with local endpoints, 503 without', async (t) => {
  const ok = await cli('healthcheck', DEMO, '--node', 'kube-netsim-worker', '--service', 'shop/web-lb');
  t.regex(ok.stdout, /^HTTP\/1\.1 200 OK$/m);
  const none = await cli(
    'healthcheck',
    DEMO,
    '--node',
    'kube-netsim-control-plane',
    '--service',
    'shop/web-lb',
    '--json',
  );
  const json = JSON.parse(none.stdout) as { status: number; body: { localEndpoints: number } };
  t.is(json.status, 503);
  t.is(json.body.localEndpoints, 0);
});

test('healthcheck in userspace mode: nothing listens (that proxier had no health server), exit 2', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-userspace-'));
  for (const f of readdirSync(DEMO)) {
    const text = readFileSync(join(DEMO, f), 'utf8');
    writeFileSync(join(dir, f), f === 'cluster.yaml' ? `${text.trimEnd()}\n  proxy: { mode: userspace }\n` : text);
  }
  const r = await cli('healthcheck', dir, '--node', 'kube-netsim-worker', '--service', 'shop/web-lb');
  t.is(r.code, 2);
  t.regex(r.stderr, /userspace proxier runs no health-check server/);
  // --mode overrides the ClusterConfig, as trace's and rules' do.
  const ipvs = await cli(
    'healthcheck',
    dir,
    '--node',
    'kube-netsim-worker',
    '--service',
    'shop/web-lb',
    '--mode',
    'ipvs',
  );
  t.is(ipvs.code, 0, ipvs.stderr);
  t.regex(ipvs.stdout, /^HTTP\/1\.1 (200 OK|503 Service Unavailable)$/m);
  const plain = await cli(
    'healthcheck',
    DEMO,
    '--node',
    'kube-netsim-worker',
    '--service',
    'shop/web-lb',
    '--mode',
    'userspace',
  );
  t.is(plain.code, 2);
  t.regex(plain.stderr, /userspace proxier runs no health-check server/);
});

test('healthcheck of a Service handed to another proxy: kube-proxy ignores it, and says why (exit 2)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-proxy-name-'));
  writeFileSync(join(dir, 'cluster.yaml'), readFileSync(join(DEMO, 'cluster.yaml'), 'utf8'));
  writeFileSync(
    join(dir, 'lb.yaml'),
    `apiVersion: v1
kind: Service
metadata: { name: lb, namespace: default, labels: { service.kubernetes.io/service-proxy-name: other } }
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: { app: one }
  ports: [{ port: 80 }]
`,
  );
  const r = await cli('healthcheck', dir, '--node', 'kube-netsim-worker', '--service', 'default/lb');
  t.is(r.code, 2);
  t.regex(
    r.stderr,
    /kube-proxy ignores service default\/lb \(it is labelled service\.kubernetes\.io\/service-proxy-name\)/,
  );
});

test("get -o json lists items in the API server's key order (namespace, then name), not creation order", async (t) => {
  const r = await cli('get', 'endpointslices', '-A', '-o', 'json', DEMO);
  t.is(r.code, 0, r.stderr);
  const keys = (JSON.parse(r.stdout) as { items: { metadata: { namespace: string; name: string } }[] }).items.map(
    (i) => `${i.metadata.namespace}/${i.metadata.name}`,
  );
  t.true(keys.length > 3);
  t.deepEqual(keys, [...keys].sort());
});

test('exit codes: 2 for bad input and bad arguments, 0 for help', async (t) => {
  const bad = await cli('get', 'pods', 'fixtures/bad/svc-port-range.yaml');
  t.is(bad.code, 2);
  t.regex(bad.stderr, /svc-port-range\.yaml:12:7: Service default\/web: spec\.ports\[1\]\.port: /);
  t.is((await cli('get', 'widgets', DEMO)).code, 2);
  t.is((await cli('get', 'pods', 'no/such/path')).code, 2);
  t.is((await cli('--help')).code, 0);
});

test('run through a link without .js, as npx and a global install run it: the CLI still runs', async (t) => {
  const link = join(mkdtempSync(join(tmpdir(), 'kube-netsim-bin-')), 'kube-netsim');
  symlinkSync(join(process.cwd(), 'bin/kube-netsim.js'), link);
  const child = spawn(process.execPath, [link, 'get', 'nodes', DEMO], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.is(code, 0);
  t.regex(stdout, /^NAME +STATUS +ROLES +VERSION\n/);
});

test('output piped into a reader that stops early (| head): a quiet exit 0, no EPIPE trace', async (t) => {
  const args = ['bin/kube-netsim.js', 'get', 'all', '-A', '-o', 'yaml', DEMO];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // The reader is gone before the first line is written, as when `head` has already exited.
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.is(code, 0);
  t.false(stderr.includes('EPIPE'), stderr);
});

test('trace --script: a packet mixing IPv4 and IPv6 is an error naming the step (exit 2)', async (t) => {
  const file = join(mkdtempSync(join(tmpdir(), 'kube-netsim-script-')), 'steps.yaml');
  writeFileSync(file, '- {src: "[fd00:10:244:1::4]:1000", dst: "10.96.0.10:53", proto: udp}\n');
  const r = await cli('trace', DEMO, '--node', 'kube-netsim-worker', '--script', file, '--json');
  t.is(r.code, 2);
  t.regex(r.stderr, /step 1: a packet has one IP family/);
});

test('rules --mode ipvs --script: counts are of the script end, a trailing advance included; huge advances are quick', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-script-'));
  const ipvs = (command: string, name: string, steps: string, ...extra: string[]) => {
    writeFileSync(join(dir, name), steps);
    return cli(command, DEMO, '--node', 'kube-netsim-worker', '--mode', 'ipvs', '--script', join(dir, name), ...extra);
  };
  const flow = '- {src: "10.244.1.4:41001", dst: "10.96.0.10:53", proto: udp}\n';
  const expired = await ipvs('rules', 'expired.yaml', `${flow}- {advance: 31}\n`);
  t.is(expired.code, 0, expired.stderr);
  const live = await ipvs('rules', 'live.yaml', `${flow}- {advance: 29}\n`);
  const inactive = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.includes('->') && l.includes(':53 '))
      .reduce((n, l) => n + Number(l.trim().split(/\s+/).at(-1)), 0);
  t.is(inactive(live.stdout), 1, 'the UDP flow is there at 29 s');
  t.is(inactive(expired.stdout), 0, 'and gone at 31 s');
  const huge = await ipvs(
    'trace',
    'huge.yaml',
    '- {src: "10.244.1.4:1", dst: "10.96.0.10:53", proto: udp}\n- {advance: 1e17}\n- {src: "10.244.1.4:2", dst: "10.96.0.10:53", proto: udp}\n',
    '--json',
  );
  t.is(huge.code, 0, huge.stderr);
});

test('rules --mode ipvs --script: a delete is synced at its step, whether or not a packet follows it', async (t) => {
  // The pod's real server has live connections when it goes: weight 0 from the delete (t=5), not deleted outright
  // at whatever later time a packet happened to come.
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-script-'));
  // The first packet starts the engine's 60 s graceful-termination checks at t=0 (60, 120, 180).
  const first = '- {src: "192.0.2.50:1000", dst: "172.18.0.3:31192", proto: tcp}';
  const flows = [1000, 1001, 1002].map((port) => `- {src: "192.0.2.10:${port}", dst: "172.18.0.3:30080", proto: tcp}`);
  const script = (name: string, afterDelete: string[]) => {
    const steps = [
      first,
      '- {advance: 5}',
      ...flows,
      '- {delete: pod/shop/web-76986d7db5-4lpjz}',
      ...afterDelete,
      '- {advance: 125}',
    ];
    writeFileSync(join(dir, name), `${steps.join('\n')}\n`);
    return cli('rules', DEMO, '--node', 'kube-netsim-worker', '--mode', 'ipvs', '--script', join(dir, name));
  };
  const quiet = await script('quiet.yaml', []);
  const busy = await script('busy.yaml', ['- {src: "192.0.2.99:1000", dst: "172.18.0.3:31192", proto: tcp}']);
  t.is(quiet.code, 0, quiet.stderr);
  const realServer = (text: string) => text.split('\n').filter((l) => l.includes('-> 10.244.1.3:8080'));
  t.true(realServer(quiet.stdout).length > 0);
  t.true(
    realServer(quiet.stdout).every((l) => /Masq +0 /.test(l)),
    'quiesced, still listed',
  );
  t.deepEqual(realServer(busy.stdout), realServer(quiet.stdout));
});

test('trace --script: a retransmitted FIN in TIME_WAIT keeps the flow; a FIN of no flow is dropped only when forwarded', async (t) => {
  const syn = '{src: "10.244.1.4:41000", dst: "10.96.0.10:53", proto: tcp';
  const [first] = await scriptResults<{ packet: { dst: string } }>([`${syn}}`]);
  const endpoint = first!.packet.dst;
  const answer = `{src: "${endpoint}", dst: "10.244.1.4:41000", proto: tcp, reply: true}`;
  const results = await scriptResults<{ verdict: string; conntrack: string; steps: { where: string }[] }>([
    `${syn}}`,
    answer,
    `${syn}}`,
    `${syn}, close: true}`,
    '{advance: 1}',
    `${syn}, close: true}`,
    answer,
    '{src: "10.244.1.4:41001", dst: "10.96.0.10:53", proto: tcp, close: true}',
    '{src: "172.18.0.3:41002", dst: "10.96.0.10:53", proto: tcp, close: true}',
  ]);
  t.is(results[4]!.conntrack, 'established', 'the second FIN passes through the TIME_WAIT entry');
  t.is(results[5]!.conntrack, 'reply', 'and the reply is still un-NATed');
  t.is(results[6]!.verdict, 'DROP', 'a FIN of no flow, forwarded from a pod');
  t.is(results[6]!.steps[0]!.where, 'filter/KUBE-FORWARD');
  t.is(results[7]!.verdict, 'ACCEPT', 'from the node itself: no INVALID rule on its path');
});

test('trace --script: a forwarded FIN of no flow passes where no rule drops INVALID (IPVS mode, tcpBeLiberal)', async (t) => {
  const fin = '{src: "10.244.1.4:41001", dst: "10.96.0.10:53", proto: tcp, close: true}';
  type Result = { verdict: string; steps: { where: string; rule: string }[] };
  const [iptables] = await scriptResults<Result>([fin]);
  t.is(iptables!.verdict, 'DROP');
  t.is(
    iptables!.steps[0]!.rule,
    '-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP',
    'the rule as `rules` prints it',
  );
  const [ipvs] = await scriptResults<Result>([fin], '--mode', 'ipvs');
  t.is(ipvs!.verdict, 'ACCEPT', 'IPVS mode writes no INVALID rule');
  // The demo cluster with nf_conntrack_tcp_be_liberal set: kube-proxy leaves the rule out.
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-liberal-'));
  for (const f of readdirSync(DEMO)) writeFileSync(join(dir, f), readFileSync(join(DEMO, f)));
  writeFileSync(
    join(dir, 'cluster.yaml'),
    `${readFileSync(join(DEMO, 'cluster.yaml'), 'utf8')}  proxy: { conntrack: { tcpBeLiberal: true } }\n`,
  );
  const file = join(mkdtempSync(join(tmpdir(), 'kube-netsim-script-')), 'steps.yaml');
  writeFileSync(file, `- ${fin}\n`);
  const r = await cli('trace', dir, '--node', 'kube-netsim-worker', '--script', file, '--json');
  t.is(r.code, 0, r.stderr);
  const [liberal] = JSON.parse(r.stdout) as Result[];
  t.is(liberal!.verdict, 'ACCEPT');
  const rules = await cli('rules', dir, '--node', 'kube-netsim-worker', '--mode', 'iptables');
  t.false(rules.stdout.includes('--ctstate INVALID'));
  // A new flow's walk through KUBE-FORWARD passes two rules, not three.
  const walk = await cli('trace', dir, ...FROM_WORKER_POD, '--dst', '10.96.0.10:53', '--json');
  const forward = (JSON.parse(walk.stdout) as Result).steps.find((s) => s.where === 'filter/KUBE-FORWARD');
  t.is(forward?.rule, '(2 rules)');
});
