/**
 * `kube-netsim get pods|services|endpoints|endpointslices|nodes|namespaces|networkpolicies|deployments|replicasets|
 *  statefulsets|daemonsets|all [-n NS | -A] [-o wide|name|yaml|json] PATH...`: kubectl's tables, or the objects as
 * YAML/JSON. Several resources may be given at once, as kubectl takes them (`deploy,rs`, `all,ep`): one table per
 * kind, each name prefixed with its resource (`deployment.apps/web`).
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ENDPOINTS_DEPRECATED } from '../../cluster/batch.js';
import type { Cluster } from '../../cluster/cluster.js';
import { InvalidArgumentError } from '../../errors.js';
import { CLUSTER_SCOPED, type Kind, type KindMap, type Pod } from '../../model/types.js';
import {
  type Columns,
  daemonSetColumns,
  deploymentColumns,
  endpointSliceColumns,
  endpointsColumns,
  isPodReady,
  namespaceColumns,
  networkPolicyColumns,
  nodeColumns,
  podColumns,
  replicaSetColumns,
  serviceColumns,
  statefulSetColumns,
  type WorkloadCounts,
} from '../printers/resources.js';
import { renderTable } from '../printers/table.js';
import { loadCluster } from './load.js';

/** kubectl's resource names, short names and plurals. */
const RESOURCES: Record<string, Kind> = {
  pod: 'Pod',
  pods: 'Pod',
  po: 'Pod',
  service: 'Service',
  services: 'Service',
  svc: 'Service',
  endpoints: 'Endpoints',
  ep: 'Endpoints',
  endpointslice: 'EndpointSlice',
  endpointslices: 'EndpointSlice',
  node: 'Node',
  nodes: 'Node',
  no: 'Node',
  namespace: 'Namespace',
  namespaces: 'Namespace',
  ns: 'Namespace',
  deployment: 'Deployment',
  deployments: 'Deployment',
  deploy: 'Deployment',
  replicaset: 'ReplicaSet',
  replicasets: 'ReplicaSet',
  rs: 'ReplicaSet',
  statefulset: 'StatefulSet',
  statefulsets: 'StatefulSet',
  sts: 'StatefulSet',
  daemonset: 'DaemonSet',
  daemonsets: 'DaemonSet',
  ds: 'DaemonSet',
  networkpolicy: 'NetworkPolicy',
  networkpolicies: 'NetworkPolicy',
  netpol: 'NetworkPolicy',
};

/** The prefix kubectl gives each name when it lists more than one resource: the resource and its API group. */
const PREFIX: Partial<Record<Kind, string>> = {
  Pod: 'pod',
  Service: 'service',
  Endpoints: 'endpoints',
  EndpointSlice: 'endpointslice.discovery.k8s.io',
  Node: 'node',
  Namespace: 'namespace',
  Deployment: 'deployment.apps',
  ReplicaSet: 'replicaset.apps',
  StatefulSet: 'statefulset.apps',
  DaemonSet: 'daemonset.apps',
  NetworkPolicy: 'networkpolicy.networking.k8s.io',
};

/**
 * The kind a resource argument names: a name above, or one qualified by its kind's API group, with or without the
 * version (`deployments.apps`, `deploy.v1.apps`), as kubectl's RESTMapper takes it; the core group's kinds only bare.
 */
function kindNamed(arg: string): Kind | undefined {
  const lower = arg.toLowerCase();
  const bare = RESOURCES[lower];
  if (bare !== undefined) return bare;
  const dot = lower.indexOf('.');
  const kind = dot < 0 ? undefined : RESOURCES[lower.slice(0, dot)];
  const prefix = kind === undefined ? undefined : PREFIX[kind];
  if (prefix === undefined || !prefix.includes('.')) return undefined;
  const group = prefix.slice(prefix.indexOf('.') + 1);
  const qualifier = lower.slice(dot + 1);
  return qualifier === group || qualifier === `v1.${group}` ? kind : undefined;
}

/** The `-o` formats `get` prints, in kubectl's (sorted) order. */
const OUTPUT_FORMATS = ['json', 'name', 'wide', 'yaml'];

/** What `kubectl get all` lists (the `all` category), in its order. */
const ALL: Kind[] = ['Pod', 'Service', 'DaemonSet', 'Deployment', 'ReplicaSet', 'StatefulSet'];

interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output?: string;
  seed?: string;
}

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('list objects of the cluster, as kubectl get shows them')
    .argument(
      '<resource>',
      'pods, services, endpoints, endpointslices, nodes, namespaces, networkpolicies, deployments, replicasets, statefulsets, daemonsets or all; several separated by commas',
    )
    .argument('<paths...>', 'manifest files or directories')
    .option('-n, --namespace <ns>', 'namespace to list', 'default')
    .option('-A, --all-namespaces', 'list objects of every namespace')
    .option('-o, --output <format>', 'wide, name, yaml or json')
    .option('--seed <n>', 'seed for every random choice')
    .action(async (resource: string, paths: string[], opts: GetOptions) => {
      const output = opts.output;
      if (output !== undefined && !OUTPUT_FORMATS.includes(output)) {
        // kubectl's wording, listing the formats we print (it also has the template and column printers).
        throw new InvalidArgumentError(
          `unable to match a printer suitable for the output format "${output}", allowed formats are: ${OUTPUT_FORMATS.join(',')}`,
        );
      }
      const kinds = resourceKinds(resource);
      const cluster = await loadCluster(paths, opts);
      const { stdout, stderr } = renderGet(cluster, kinds, { ...opts, resource });
      process.stdout.write(stdout);
      process.stderr.write(stderr);
    });
}

/** The kinds a resource argument names (`all`, a name, or a comma-separated list of them), with their name prefix. */
function resourceKinds(resource: string): [Kind, string][] {
  const kinds: Kind[] = [];
  for (const name of resource.split(',')) {
    const named = name === 'all' ? ALL : [kindNamed(name)];
    for (const kind of named) {
      if (!kind) throw new InvalidArgumentError(`the server doesn't have a resource type "${name}"`);
      if (!kinds.includes(kind)) kinds.push(kind);
    }
  }
  // kubectl prefixes names when the argument names more than one resource type as typed (MultipleTypesRequested:
  // `deploy,deployments` counts two, though they are one kind), or `all` (a category) even if it held one.
  const typed = new Set(resource.split(','));
  const prefixed = typed.size > 1 || typed.has('all');
  return kinds.map((kind) => [kind, prefixed ? (PREFIX[kind] ?? kind.toLowerCase()) : '']);
}

/**
 * What `get` prints. kubectl writes "No resources found" to stderr (`o.ErrOut` in its get command), so a script that
 * reads the table from stdout gets nothing when nothing matched. Exported for tests.
 */
export function renderGet(
  cluster: Cluster,
  kinds: [Kind, string][],
  opts: GetOptions & { resource: string },
): { stdout: string; stderr: string } {
  const namespace = opts.allNamespaces ? undefined : (opts.namespace ?? 'default');
  const select = <K extends Kind>(kind: K): KindMap[K][] =>
    CLUSTER_SCOPED.has(kind) ? cluster.list(kind) : cluster.list(kind, namespace);
  // Listing v1 Endpoints draws the API server's deprecation warning (unless loading them already printed it).
  const warned = kinds.some(([k]) => k === 'Endpoints') && !cluster.warnings.includes(ENDPOINTS_DEPRECATED);
  const warning = warned ? `Warning: ${ENDPOINTS_DEPRECATED}\n` : '';
  if (opts.output === 'yaml' || opts.output === 'json') {
    // The API server lists objects in key order (namespace, then name), whatever order they were created in.
    // kubectl prints them as maps: keys in sorted order, and in YAML list items not indented under their key.
    const items = kinds.flatMap(([kind]) =>
      select(kind)
        .sort(byNamespaceAndName)
        .map((obj) => withWorkloadStatus(cluster, obj)),
    );
    const list = { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
    const text =
      opts.output === 'json'
        ? `${JSON.stringify(sortedKeys(list), null, 4)}\n`
        : stringify(list, { aliasDuplicateObjects: false, sortMapEntries: true, indentSeq: false });
    return { stdout: text, stderr: warning };
  }
  const wide = opts.output === 'wide';
  if (opts.output === 'name') {
    // `resource.group/name` for every kind, kind by kind; no namespace even under -A (kubectl's NamePrinter).
    const names = kinds.flatMap(([kind]) =>
      select(kind)
        .sort(byNamespaceAndName)
        .map((obj) => `${PREFIX[kind] ?? kind.toLowerCase()}/${obj.metadata.name}\n`),
    );
    // Like kubectl's other non-table printers, an empty list prints nothing ("No resources found" is the tables').
    return { stdout: names.join(''), stderr: warning };
  }
  const blocks: string[] = [];
  for (const [kind, prefix] of kinds) {
    const objects = select(kind).sort(byNamespaceAndName);
    if (objects.length === 0) continue;
    const columns = columnsFor(cluster, kind) as Columns<KindMap[Kind]>;
    const withNamespace = namespace === undefined && !CLUSTER_SCOPED.has(kind);
    const headers = [...(withNamespace ? ['NAMESPACE'] : []), ...columns.headers, ...(wide ? columns.wide : [])];
    const rows = objects.map((obj) => {
      const row = columns.row(obj, wide);
      if (prefix) row[0] = `${prefix}/${row[0]}`;
      return withNamespace ? [obj.metadata.namespace ?? '', ...row] : row;
    });
    blocks.push(renderTable(headers, rows));
  }
  if (blocks.length === 0) {
    const notice = namespace === undefined ? 'No resources found\n' : `No resources found in ${namespace} namespace.\n`;
    return { stdout: '', stderr: warning + notice };
  }
  return { stdout: `${blocks.join('\n\n')}\n`, stderr: warning };
}

/** A copy of a JSON value with every object's keys in sorted order (Go's encoding/json writes maps so). */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortedKeys((value as Record<string, unknown>)[key]);
  return out;
}

function byNamespaceAndName(a: KindMap[Kind], b: KindMap[Kind]): number {
  const an = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const bn = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

function ownedPods(cluster: Cluster, kind: string, name: string, namespace: string | undefined): Pod[] {
  return cluster
    .list('Pod', namespace)
    .filter((p) => p.metadata.ownerReferences?.some((o) => o.kind === kind && o.name === name));
}

function counts(pods: Pod[]): WorkloadCounts {
  const live = pods.filter((p) => !p.metadata.deletionTimestamp);
  return { current: live.length, ready: live.filter(isPodReady).length };
}

/** A workload's ready and current pods, as its table row and its status count them. */
function workloadCounts(cluster: Cluster, obj: KindMap[Kind]): WorkloadCounts {
  const { kind, metadata } = obj;
  if (kind !== 'Deployment') return counts(ownedPods(cluster, kind, metadata.name, metadata.namespace));
  const replicaSets = cluster
    .list('ReplicaSet', metadata.namespace)
    .filter((rs) => rs.metadata.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === metadata.name));
  return counts(replicaSets.flatMap((rs) => ownedPods(cluster, 'ReplicaSet', rs.metadata.name, rs.metadata.namespace)));
}

/**
 * A workload as `-o yaml/json` shows it: with the status its controller would have written, counted from its pods as
 * the tables count them (ready counts as available: the model has no clock for minReadySeconds). Fields Go omits when
 * zero are left out; no conditions or observedGeneration (no clock, no generations). Other kinds as stored.
 */
function withWorkloadStatus(cluster: Cluster, obj: KindMap[Kind]): KindMap[Kind] {
  if (!['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'].includes(obj.kind)) return obj;
  const c = workloadCounts(cluster, obj);
  const nonZero = (fields: Record<string, number>) =>
    Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== 0));
  const wanted = (obj as { spec?: { replicas?: number } }).spec?.replicas ?? 0;
  let status: Record<string, number>;
  switch (obj.kind) {
    case 'Deployment':
      status = nonZero({
        replicas: c.current,
        updatedReplicas: c.current,
        readyReplicas: c.ready,
        availableReplicas: c.ready,
        unavailableReplicas: Math.max(0, wanted - c.ready),
      });
      break;
    case 'ReplicaSet':
      status = {
        replicas: c.current,
        ...nonZero({ fullyLabeledReplicas: c.current, readyReplicas: c.ready, availableReplicas: c.ready }),
      };
      break;
    case 'StatefulSet':
      status = {
        replicas: c.current,
        availableReplicas: c.ready,
        ...nonZero({ readyReplicas: c.ready, currentReplicas: c.current, updatedReplicas: c.current }),
      };
      break;
    default:
      status = {
        currentNumberScheduled: c.current,
        numberMisscheduled: 0,
        desiredNumberScheduled: c.current,
        numberReady: c.ready,
        ...nonZero({
          updatedNumberScheduled: c.current,
          numberAvailable: c.ready,
          numberUnavailable: c.current - c.ready,
        }),
      };
  }
  return { ...obj, status } as unknown as KindMap[Kind];
}

function columnsFor(cluster: Cluster, kind: Kind): Columns<never> {
  switch (kind) {
    case 'Pod':
      return podColumns as Columns<never>;
    case 'Service':
      return serviceColumns as Columns<never>;
    case 'Endpoints':
      return endpointsColumns as Columns<never>;
    case 'EndpointSlice':
      return endpointSliceColumns as Columns<never>;
    case 'Node':
      return nodeColumns as Columns<never>;
    case 'Namespace':
      return namespaceColumns as Columns<never>;
    case 'NetworkPolicy':
      return networkPolicyColumns as Columns<never>;
    case 'Deployment':
      return deploymentColumns((d) => workloadCounts(cluster, d)) as Columns<never>;
    case 'ReplicaSet':
      return replicaSetColumns((rs) => workloadCounts(cluster, rs)) as Columns<never>;
    case 'StatefulSet':
      return statefulSetColumns((s) => workloadCounts(cluster, s)) as Columns<never>;
    case 'DaemonSet':
      return daemonSetColumns((ds) => {
        const c = workloadCounts(cluster, ds);
        return { ...c, desired: c.current };
      }) as Columns<never>;
    default:
      return {
        headers: ['NAME'],
        wide: [],
        row: (obj: KindMap[Kind]) => [obj.metadata.name],
      } as unknown as Columns<never>;
  }
}
