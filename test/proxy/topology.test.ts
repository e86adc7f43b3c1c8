/** CategorizeEndpoints (pkg/proxy/topology.go), table-driven. */
import test from 'ava';
import type { EndpointInfo } from '../../src/proxy/endpoints.js';
import { address } from '../../src/proxy/packet.js';
import { servicePortsOf } from '../../src/proxy/service-port.js';
import { categorizeEndpoints } from '../../src/proxy/topology.js';
import { service } from './fixtures.js';

const NODE = { name: 'n1', zone: 'zone-a' };

function ep(ip: string, o: Partial<EndpointInfo> = {}): EndpointInfo {
  return {
    ip,
    port: 80,
    address: `${ip}:80`,
    ready: true,
    serving: true,
    terminating: false,
    nodeName: null,
    zone: null,
    isLocal: false,
    zoneHints: null,
    nodeHints: null,
    target: null,
    destination: address(ip, 80),
    ...o,
  };
}

function port(extra: Record<string, unknown> = {}) {
  return servicePortsOf(
    service('ns', 's', { clusterIP: '10.96.0.1', ports: [{ port: 80, nodePort: 30000 }], ...extra }),
    'IPv4',
  )[0]!;
}

const ips = (eps: readonly EndpointInfo[] | null) => (eps === null ? null : eps.map((e) => e.ip));

interface Case {
  name: string;
  svc?: Record<string, unknown>;
  endpoints: EndpointInfo[];
  preferSameNode?: boolean;
  cluster: string[] | null;
  local: string[] | null;
  all: string[];
  any: boolean;
}

const cases: Case[] = [
  {
    name: 'Cluster policy: ready endpoints',
    endpoints: [ep('10.0.0.1'), ep('10.0.0.2', { ready: false })],
    cluster: ['10.0.0.1'],
    local: null,
    all: ['10.0.0.1'],
    any: true,
  },
  {
    name: 'no ready endpoints: serving terminating fallback',
    endpoints: [
      ep('10.0.0.1', { ready: false, terminating: true }),
      ep('10.0.0.2', { ready: false, serving: false, terminating: true }),
    ],
    cluster: ['10.0.0.1'],
    local: null,
    all: ['10.0.0.1'],
    any: true,
  },
  {
    name: 'only not-serving terminating endpoints: none at all',
    endpoints: [ep('10.0.0.1', { ready: false, serving: false, terminating: true })],
    cluster: [],
    local: null,
    all: [],
    any: false,
  },
  {
    name: 'zone hints for this zone: PreferSameZone',
    endpoints: [ep('10.0.0.1', { zoneHints: new Set(['zone-a']) }), ep('10.0.0.2', { zoneHints: new Set(['zone-b']) })],
    cluster: ['10.0.0.1'],
    local: null,
    all: ['10.0.0.1'],
    any: true,
  },
  {
    name: 'hints missing on one endpoint: ignored',
    endpoints: [ep('10.0.0.1', { zoneHints: new Set(['zone-a']) }), ep('10.0.0.2')],
    cluster: ['10.0.0.1', '10.0.0.2'],
    local: null,
    all: ['10.0.0.1', '10.0.0.2'],
    any: true,
  },
  {
    name: 'no hint for this zone: ignored',
    endpoints: [ep('10.0.0.1', { zoneHints: new Set(['zone-c']) }), ep('10.0.0.2', { zoneHints: new Set(['zone-b']) })],
    cluster: ['10.0.0.1', '10.0.0.2'],
    local: null,
    all: ['10.0.0.1', '10.0.0.2'],
    any: true,
  },
  {
    name: 'node hints for this node win over zone hints (PreferSameNode)',
    endpoints: [
      ep('10.0.0.1', { nodeHints: new Set(['n1']), zoneHints: new Set(['zone-b']) }),
      ep('10.0.0.2', { nodeHints: new Set(['n2']), zoneHints: new Set(['zone-a']) }),
    ],
    cluster: ['10.0.0.1'],
    local: null,
    all: ['10.0.0.1'],
    any: true,
  },
  {
    name: 'PreferSameNode gate off: zone hints decide',
    preferSameNode: false,
    endpoints: [
      ep('10.0.0.1', { nodeHints: new Set(['n1']), zoneHints: new Set(['zone-b']) }),
      ep('10.0.0.2', { nodeHints: new Set(['n2']), zoneHints: new Set(['zone-a']) }),
    ],
    cluster: ['10.0.0.2'],
    local: null,
    all: ['10.0.0.2'],
    any: true,
  },
  {
    name: 'iTP Local: local ready endpoints only, no cluster set',
    svc: { internalTrafficPolicy: 'Local', type: 'ClusterIP', ports: [{ port: 80 }] },
    endpoints: [ep('10.0.0.1', { isLocal: true }), ep('10.0.0.2')],
    cluster: null,
    local: ['10.0.0.1'],
    all: ['10.0.0.1'],
    any: true,
  },
  {
    name: 'iTP Local without local endpoints: none local, but the Service has endpoints',
    svc: { internalTrafficPolicy: 'Local', type: 'ClusterIP', ports: [{ port: 80 }] },
    endpoints: [ep('10.0.0.2')],
    cluster: null,
    local: [],
    all: [],
    any: true,
  },
  {
    name: 'eTP Local: cluster and local sets; local terminating fallback merges into allReachable',
    svc: { type: 'NodePort', externalTrafficPolicy: 'Local' },
    endpoints: [ep('10.0.0.1', { isLocal: true, ready: false, terminating: true }), ep('10.0.0.2')],
    cluster: ['10.0.0.2'],
    local: ['10.0.0.1'],
    all: ['10.0.0.1', '10.0.0.2'],
    any: true,
  },
  {
    name: 'local sets ignore hints',
    svc: { type: 'NodePort', externalTrafficPolicy: 'Local' },
    endpoints: [
      ep('10.0.0.1', { isLocal: true, zoneHints: new Set(['zone-b']) }),
      ep('10.0.0.2', { zoneHints: new Set(['zone-a']) }),
    ],
    cluster: ['10.0.0.2'],
    local: ['10.0.0.1'],
    all: ['10.0.0.1', '10.0.0.2'],
    any: true,
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const r = categorizeEndpoints(c.endpoints, port(c.svc), NODE, { preferSameNode: c.preferSameNode ?? true });
    t.deepEqual(ips(r.cluster), c.cluster, 'cluster');
    t.deepEqual(ips(r.local), c.local, 'local');
    t.deepEqual(ips(r.allReachable), c.all, 'allReachable');
    t.is(r.hasAnyEndpoints, c.any, 'hasAnyEndpoints');
  });
}
