/**
 * A small cluster for controller tests: a real Store, the Scheduler and PodIndex, and a ControllerContext whose
 * createPod schedules the pod, gives it fake addresses and a Ready status, and writes it.
 */
import type { ControllerContext } from '../../src/controllers/context.js';
import { PodIndex } from '../../src/controllers/pod-index.js';
import { Scheduler, type SchedulerOptions } from '../../src/controllers/scheduler.js';
import type { Journal } from '../../src/model/journal.js';
import { Store } from '../../src/model/store.js';
import type {
  ClusterConfigSpec,
  Container,
  DaemonSet,
  Deployment,
  Node,
  Pod,
  PodTemplateSpec,
  Service,
  StatefulSet,
  Taint,
} from '../../src/model/types.js';
import { Rng } from '../../src/util/rng.js';

export const CONFIG: ClusterConfigSpec = {
  clusterDomain: 'cluster.local',
  podCIDRs: ['10.244.0.0/16'],
  serviceCIDRs: ['10.96.0.0/12'],
  nodeCIDRMaskSize: { ipv4: 24, ipv6: 64 },
  nodePortRange: { first: 30000, last: 32767 },
  loadBalancerPools: [],
  nodeNetworks: ['172.18.0.0/16'],
  nodes: { controlPlane: 1, workers: 2, namePrefix: 'kind' },
  seed: 1,
};

export interface TestClusterOptions {
  seed?: number;
  dualStack?: boolean;
  scheduler?: Omit<SchedulerOptions, 'rng'>;
}

export class TestCluster {
  readonly store = new Store();
  readonly pods = new PodIndex();
  readonly scheduler: Scheduler;
  readonly names: Rng;
  readonly dualStack: boolean;
  /** What controllers warned of (ControllerContext.warn). */
  readonly warnings: string[] = [];
  #nextIP = 1;

  constructor(options: TestClusterOptions = {}) {
    const rng = new Rng(options.seed ?? 1);
    this.scheduler = new Scheduler({ rng: rng.fork('scheduler'), ...options.scheduler });
    this.names = rng.fork('names');
    this.dualStack = options.dualStack ?? false;
  }

  /** Run `fn` as one batch with a context bound to its journal. */
  run<T>(fn: (ctx: ControllerContext) => T): T {
    return this.store.transaction((journal) => fn(this.context(journal)));
  }

  context(journal: Journal): ControllerContext {
    return {
      store: this.store,
      journal,
      config: CONFIG,
      names: this.names,
      createPod: (pod) => this.admit(pod, journal),
      deletePod: (pod) => this.removePod(pod, journal),
      put: (obj) => this.store.put(obj),
      remove: (kind, name, namespace) => {
        this.store.remove(kind, name, namespace);
      },
      warn: (message) => this.warnings.push(message),
    };
  }

  addNodes(...nodes: Node[]): void {
    this.store.transaction((journal) => {
      for (const node of nodes) {
        this.store.put(node);
        this.scheduler.addNode(node, journal);
      }
    });
  }

  removeNode(name: string): void {
    this.store.transaction((journal) => {
      this.scheduler.removeNode(name, journal);
      this.store.remove('Node', name);
    });
  }

  /** Schedule (unless placed), address and write a pod, keeping the scheduler and index in step. */
  admit(pod: Pod, journal: Journal): Pod {
    const ns = pod.metadata.namespace ?? 'default';
    const old = this.store.get('Pod', pod.metadata.name, ns);
    let placed = pod;
    if (!pod.spec.nodeName) {
      const result = this.scheduler.schedule(pod, journal);
      if ('unschedulable' in result) {
        placed = {
          ...pod,
          status: {
            phase: 'Pending',
            conditions: [
              { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: result.unschedulable },
            ],
          },
        };
      } else placed = { ...pod, spec: { ...pod.spec, nodeName: result.nodeName } };
    }
    if (placed.spec.nodeName && !placed.status.podIPs) {
      const n = this.#nextIP++;
      const ips = [`10.244.${(n >> 8) & 255}.${n & 255}`];
      if (this.dualStack) ips.push(`fd00:10:244::${n.toString(16)}`);
      placed = {
        ...placed,
        status: {
          phase: 'Running',
          podIP: ips[0],
          podIPs: ips.map((ip) => ({ ip })),
          conditions: placed.status.conditions?.length ? placed.status.conditions : [{ type: 'Ready', status: 'True' }],
        },
      };
    }
    if (old) {
      this.scheduler.unbind(old, journal);
      this.pods.remove(old, journal);
    }
    const stored = this.store.put(placed);
    this.pods.add(stored, journal);
    if (stored.spec.nodeName) this.scheduler.bind(stored, stored.spec.nodeName, journal);
    return stored;
  }

  removePod(pod: Pod, journal: Journal): void {
    const current = this.store.get('Pod', pod.metadata.name, pod.metadata.namespace);
    if (!current) return;
    this.scheduler.unbind(current, journal);
    this.pods.remove(current, journal);
    this.store.remove('Pod', current.metadata.name, current.metadata.namespace);
  }

  podsOf(namespace = 'default'): Pod[] {
    return this.store.list('Pod', namespace);
  }
}

export interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  ready?: 'True' | 'False' | 'Unknown';
  unschedulable?: boolean;
  zone?: string;
}

export function node(name: string, o: NodeOptions = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        ...(o.zone ? { 'topology.kubernetes.io/zone': o.zone } : {}),
        ...o.labels,
      },
    },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: {
      addresses: [{ type: 'InternalIP', address: '172.18.0.2' }],
      allocatable: { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' },
      conditions: [{ type: 'Ready', status: o.ready ?? 'True' }],
    },
  };
}

export const CONTROL_PLANE_TAINT: Taint = { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' };

export function container(o: { cpu?: string; memory?: string; ports?: Container['ports'] } = {}): Container {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    name: 'app',
    image: 'nginx',
    ...(o.ports ? { ports: o.ports } : {}),
    ...(o.cpu || o.memory ? { resources: { requests } } : {}),
  };
}

export function pod(
  name: string,
  o: Partial<Pod['spec']> & { labels?: Record<string, string>; namespace?: string } = {},
): Pod {
  const { labels, namespace, ...spec } = o;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: namespace ?? 'default', ...(labels ? { labels } : {}) },
    spec: { containers: [container()], dnsPolicy: 'ClusterFirst', ...spec },
    status: { phase: 'Pending' },
  };
}

export function template(labels: Record<string, string>, spec: Partial<Pod['spec']> = {}): PodTemplateSpec {
  return { metadata: { labels }, spec: { containers: [container()], dnsPolicy: 'ClusterFirst', ...spec } };
}

export function deployment(name: string, replicas: number, tpl = template({ app: name })): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: { ...tpl.metadata?.labels } }, template: tpl },
  };
}

export function statefulSet(name: string, replicas: number, serviceName = name): StatefulSet {
  const tpl = template({ app: name });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default' },
    spec: { replicas, serviceName, selector: { matchLabels: { app: name } }, template: tpl },
  };
}

export function daemonSet(name: string, tpl = template({ app: name })): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name, namespace: 'default' },
    spec: { selector: { matchLabels: { ...tpl.metadata?.labels } }, template: tpl },
  };
}

export function service(name: string, o: Partial<Service['spec']> & { labels?: Record<string, string> } = {}): Service {
  const { labels, ...spec } = o;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', ...(labels ? { labels } : {}) },
    spec: {
      type: 'ClusterIP',
      selector: { app: name },
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      ipFamilies: ['IPv4'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      sessionAffinity: 'None',
      ...spec,
    },
    status: { loadBalancer: {} },
  };
}
