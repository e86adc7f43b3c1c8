/**
 * Small builders for proxy tests: Nodes, Services, EndpointSlices in the store's (defaulted) shape, a store holding
 * them, and a node's service table over it. Defaults follow the API server's (TCP, sessionAffinity None, targetPort =
 * port) so a test states only what it is about.
 */
import { Store } from '../../src/model/store.js';
import type {
  Endpoint,
  EndpointSlice,
  LoadBalancerIngress,
  Node,
  Protocol,
  Service,
  ServicePort,
  ServiceSpec,
} from '../../src/model/types.js';
import { type AttachedServiceTable, ServiceTable, type ServiceTableOptions } from '../../src/proxy/service-table.js';

export function node(name: string, addresses: string[], opts: { zone?: string; podCIDRs?: string[] } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: opts.zone ? { 'topology.kubernetes.io/zone': opts.zone } : {} },
    spec: { podCIDRs: opts.podCIDRs ?? [] },
    status: {
      addresses: addresses.map((address) => ({ type: 'InternalIP' as const, address })),
      allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
}

export interface PortSpec {
  name?: string;
  port: number;
  protocol?: Protocol;
  nodePort?: number;
}

export type ServiceInput = Partial<Omit<ServiceSpec, 'ports'>> & {
  ports: PortSpec[];
  ingress?: (string | LoadBalancerIngress)[];
};

export function service(namespace: string, name: string, input: ServiceInput): Service {
  const { ports, ingress, ...spec } = input;
  const clusterIP = spec.clusterIP;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: {
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ...spec,
      ...(clusterIP && !spec.clusterIPs && clusterIP !== 'None' ? { clusterIPs: [clusterIP] } : {}),
      ports: ports.map(
        (p): ServicePort => ({
          ...(p.name !== undefined ? { name: p.name } : {}),
          protocol: p.protocol ?? 'TCP',
          port: p.port,
          targetPort: p.port,
          ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
        }),
      ),
    },
    status: {
      loadBalancer: { ingress: (ingress ?? []).map((i) => (typeof i === 'string' ? { ip: i } : i)) },
    },
  };
}

export interface EndpointSpec {
  ip: string;
  node?: string;
  zone?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  zoneHints?: string[];
  nodeHints?: string[];
  pod?: string;
}

export function endpoint(spec: EndpointSpec | string): Endpoint {
  const s = typeof spec === 'string' ? { ip: spec } : spec;
  const conditions: Endpoint['conditions'] = {};
  if (s.ready !== undefined) conditions.ready = s.ready;
  if (s.serving !== undefined) conditions.serving = s.serving;
  if (s.terminating !== undefined) conditions.terminating = s.terminating;
  const hints: NonNullable<Endpoint['hints']> = {};
  if (s.zoneHints) hints.forZones = s.zoneHints.map((name) => ({ name }));
  if (s.nodeHints) hints.forNodes = s.nodeHints.map((name) => ({ name }));
  return {
    addresses: [s.ip],
    conditions,
    ...(s.node ? { nodeName: s.node } : {}),
    ...(s.zone ? { zone: s.zone } : {}),
    ...(s.zoneHints || s.nodeHints ? { hints } : {}),
    ...(s.pod ? { targetRef: { kind: 'Pod', name: s.pod } } : {}),
  };
}

export function slice(
  namespace: string,
  serviceName: string,
  endpoints: (EndpointSpec | string)[],
  ports: PortSpec[],
  opts: { name?: string; addressType?: 'IPv4' | 'IPv6' } = {},
): EndpointSlice {
  const first = endpoints[0];
  const firstIp = typeof first === 'string' ? first : first?.ip;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: opts.name ?? `${serviceName}-${opts.addressType === 'IPv6' || firstIp?.includes(':') ? 'v6' : 'v4'}`,
      namespace,
      labels: { 'kubernetes.io/service-name': serviceName },
    },
    addressType: opts.addressType ?? (firstIp?.includes(':') ? 'IPv6' : 'IPv4'),
    endpoints: endpoints.map(endpoint),
    ports: ports.map((p) => ({
      ...(p.name !== undefined ? { name: p.name } : { name: '' }),
      port: p.port,
      protocol: p.protocol ?? 'TCP',
    })),
  };
}

type Obj = Node | Service | EndpointSlice;

/** A store holding the objects (one batch). */
export function storeWith(...objects: Obj[]): Store {
  const store = new Store();
  store.transaction(() => {
    for (const o of objects) store.put(o);
  });
  return store;
}

/** Write objects as one batch. */
export function put(store: Store, ...objects: Obj[]): void {
  store.transaction(() => {
    for (const o of objects) store.put(o);
  });
}

/** Delete objects as one batch. */
export function remove(store: Store, ...objects: Obj[]): void {
  store.transaction(() => {
    for (const o of objects) store.remove(o.kind, o.metadata.name, o.metadata.namespace);
  });
}

export function tableFor(store: Store, nodeName: string, options: ServiceTableOptions = {}): AttachedServiceTable {
  return ServiceTable.fromStore(store, nodeName, options);
}
