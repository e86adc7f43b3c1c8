/**
 * Test support for the resolver, in the manner of CoreDNS's handler_test.go: a fixture cluster written straight into a
 * Store, and table cases whose expected records are zone-file text, compared as sorted sets per section.
 */
import type { ExecutionContext } from 'ava';
import { DNS_DEFAULTS, type DnsOptions } from '../../../src/dns/config.js';
import { formatRr } from '../../../src/dns/resolve/format.js';
import { resolve } from '../../../src/dns/resolve/resolve.js';
import type { Rcode, ResolveContext, ResolveResult, Rr } from '../../../src/dns/resolve/types.js';
import { ZoneIndex } from '../../../src/dns/zone/zone-index.js';
import { Store } from '../../../src/model/store.js';
import type {
  AnyObject,
  Endpoint,
  EndpointPort,
  EndpointSlice,
  Namespace,
  Pod,
  Service,
  ServicePort,
} from '../../../src/model/types.js';

/** The injected clock: every serial in the tests is 1700000000. */
export const NOW = 1_700_000_000_000;
export const SERIAL = 1_700_000_000;

export function namespace(name: string): Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, status: { phase: 'Active' } };
}

export function port(name: string | undefined, protocol: 'TCP' | 'UDP' | 'SCTP', number: number): ServicePort {
  return { ...(name ? { name } : {}), protocol, port: number, targetPort: number };
}

export function clusterIPService(
  ns: string,
  name: string,
  ips: string[],
  ports: ServicePort[],
  selector?: Record<string, string>,
): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: {
      type: 'ClusterIP',
      clusterIP: ips[0],
      clusterIPs: ips,
      ports,
      sessionAffinity: 'None',
      ...(selector ? { selector } : {}),
    },
    status: { loadBalancer: {} },
  };
}

export function headlessService(ns: string, name: string, ports: ServicePort[]): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], ports, sessionAffinity: 'None' },
    status: { loadBalancer: {} },
  };
}

export function externalNameService(ns: string, name: string, target: string): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { type: 'ExternalName', externalName: target, ports: [port('http', 'TCP', 80)], sessionAffinity: 'None' },
    status: { loadBalancer: {} },
  };
}

/** An endpoint; `ready` undefined means the condition is nil (counts as ready). */
export function endpoint(ip: string, opts: { ready?: boolean; hostname?: string; pod?: string } = {}): Endpoint {
  return {
    addresses: [ip],
    conditions: opts.ready === undefined ? {} : { ready: opts.ready },
    ...(opts.hostname ? { hostname: opts.hostname } : {}),
    ...(opts.pod ? { targetRef: { kind: 'Pod', name: opts.pod } } : {}),
  };
}

export function slice(
  ns: string,
  service: string,
  name: string,
  endpoints: Endpoint[],
  ports: EndpointPort[] = [{ name: 'http', protocol: 'TCP', port: 80 }],
): EndpointSlice {
  const v6 = endpoints.some((e) => e.addresses[0]?.includes(':'));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': service } },
    addressType: v6 ? 'IPv6' : 'IPv4',
    endpoints,
    ...(ports.length ? { ports } : {}),
  };
}

export function pod(
  ns: string,
  name: string,
  ip: string,
  extra: { phase?: Pod['status']['phase']; deleting?: boolean } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, ...(extra.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { containers: [{ name: 'c' }], dnsPolicy: 'ClusterFirst' },
    status: { phase: extra.phase ?? 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

/** The fixture cluster every resolver test starts from (names after CoreDNS's handler_test.go where they exist). */
export function fixtureObjects(): AnyObject[] {
  const http = [port('http', 'TCP', 80)];
  return [
    ...['default', 'kube-system', 'testns', 'podns', 'data'].map(namespace),
    clusterIPService(
      'kube-system',
      'kube-dns',
      ['10.96.0.10'],
      [port('dns', 'UDP', 53), port('dns-tcp', 'TCP', 53), port('metrics', 'TCP', 9153)],
      { 'k8s-app': 'kube-dns' },
    ),
    slice(
      'kube-system',
      'kube-dns',
      'kube-dns-x1',
      [endpoint('10.244.0.2', { pod: 'coredns-5d78c9869d-abcde' })],
      [{ name: 'dns', protocol: 'UDP', port: 53 }],
    ),
    clusterIPService('testns', 'svc1', ['10.96.1.1'], http),
    slice('testns', 'svc1', 'svc1-x1', [endpoint('10.244.1.10', { hostname: 'ep1a' })]),
    clusterIPService('testns', 'svcempty', ['10.96.1.2'], http),
    slice('testns', 'svcempty', 'svcempty-x1', []),
    clusterIPService('testns', 'svc6', ['fd00:96::6'], http),
    clusterIPService('testns', 'svc-dual-stack', ['10.96.1.3', 'fd00:96::3'], http),
    clusterIPService(
      'testns',
      'multiport',
      ['10.96.1.4'],
      [port('http', 'TCP', 80), port('https', 'TCP', 443), port('dns', 'UDP', 53)],
    ),
    clusterIPService('testns', 'unnamed', ['10.96.1.5'], [port(undefined, 'TCP', 8080)]),
    clusterIPService('testns', 'noports', ['10.96.1.6'], []),
    clusterIPService('testns', 'web', ['10.96.1.7'], http),
    slice(
      'testns',
      'web',
      'web-x1',
      [endpoint('10.244.3.5', { pod: 'web-7d9f-abcde' })],
      [{ name: 'http', protocol: 'TCP', port: 8080 }],
    ),
    headlessService('testns', 'hdls1', http),
    slice('testns', 'hdls1', 'hdls1-v4', [
      endpoint('10.244.1.2', { ready: true }),
      endpoint('10.244.1.3'),
      endpoint('10.244.1.4', { hostname: 'dup-name' }),
      endpoint('10.244.1.5', { hostname: 'dup-name' }),
      endpoint('10.244.1.9', { ready: false }),
    ]),
    slice('testns', 'hdls1', 'hdls1-v6', [endpoint('fd00:10:244:1::1'), endpoint('fd00:10:244:1::2')]),
    headlessService('testns', 'hdlsprtls', []),
    slice('testns', 'hdlsprtls', 'hdlsprtls-x1', [endpoint('10.244.1.20')], []),
    headlessService('testns', 'hdls-unready', http),
    slice('testns', 'hdls-unready', 'hdls-unready-x1', [endpoint('10.244.1.30', { ready: false })]),
    headlessService('testns', 'hdls-noslice', http),
    externalNameService('testns', 'external', 'ext.interwebs.test'),
    externalNameService('testns', 'external-to-service', 'svc1.testns.svc.cluster.local.'),
    externalNameService('testns', 'external-ip', '1.2.3.4'),
    externalNameService('testns', 'external-dangling', 'nothere.testns.svc.cluster.local'),
    headlessService('data', 'db', [port('mysql', 'TCP', 3306)]),
    slice(
      'data',
      'db',
      'db-x1',
      [
        endpoint('10.244.2.10', { hostname: 'db-0', pod: 'db-0' }),
        endpoint('10.244.2.11', { hostname: 'db-1', pod: 'db-1' }),
        endpoint('10.244.2.12', { hostname: 'db-2', pod: 'db-2', ready: false }),
      ],
      [{ name: 'mysql', protocol: 'TCP', port: 3306 }],
    ),
    clusterIPService('data', 'db-read', ['10.96.2.2'], [port('mysql', 'TCP', 3306)]),
    slice(
      'data',
      'db-read',
      'db-read-x1',
      [endpoint('10.244.2.10', { pod: 'db-0' }), endpoint('10.244.2.11', { pod: 'db-1' })],
      [{ name: 'mysql', protocol: 'TCP', port: 3306 }],
    ),
    slice('testns', 'ghost', 'ghost-x1', [endpoint('10.244.7.7')]),
    pod('podns', 'foo', '10.240.0.1'),
    pod('podns', 'gone', '10.240.0.9', { deleting: true }),
    pod('podns', 'done', '10.240.0.8', { phase: 'Succeeded' }),
    pod('testns', 'p6', 'fd00:10:244:9::5'),
  ];
}

export function storeWith(objects: AnyObject[]): Store {
  const store = new Store();
  store.transaction(() => {
    for (const object of objects) store.put(structuredClone(object));
  });
  return store;
}

/** A zone index over the fixture (or `objects`), with kube-netsim's defaults and `options` on top. */
export function fixtureZone(options: Partial<DnsOptions> = {}, objects = fixtureObjects(), synced = true): ZoneIndex {
  return new ZoneIndex(storeWith(objects), {
    clusterDomain: 'cluster.local',
    options: { ...DNS_DEFAULTS, ...options },
    now: () => NOW,
    synced,
  });
}

/** The SOA every negative answer carries (ttl 30, serial fixed). */
export function soa(zone = 'cluster.local.', ttl = 30): string {
  return `${zone} ${Math.min(ttl, 300)} IN SOA ns.dns.${zone} hostmaster.${zone} ${SERIAL} 7200 1800 86400 ${ttl}`;
}

/** One table case: the question, the dns.md row it checks, and the expected response. */
export interface Case {
  row: string;
  name: string;
  type: string | number;
  class?: string | number;
  rcode: Rcode;
  answer?: string[];
  ns?: string[];
  extra?: string[];
  /** Expected AA flag; default: true unless REFUSED. */
  aa?: boolean;
}

/** Normalize zone-file text: single spaces, as formatRr writes. */
function normalize(line: string): string {
  return line.trim().split(/\s+/).join(' ');
}

function section(records: Rr[]): string[] {
  return records.map(formatRr).sort();
}

/** Compare a result with a case: rcode, AA, and each section as a sorted set of zone-file lines. */
export function expectResult(t: ExecutionContext, result: ResolveResult, c: Case): void {
  const label = `[dns.md ${c.row}] ${c.name} ${c.type}`;
  t.is(result.rcode, c.rcode, `${label}: rcode\n${result.trace.join('\n')}`);
  t.is(result.authoritative, c.aa ?? c.rcode !== 'REFUSED', `${label}: AA`);
  t.deepEqual(
    section(result.answer),
    (c.answer ?? []).map(normalize).sort(),
    `${label}: answer\n${result.trace.join('\n')}`,
  );
  t.deepEqual(section(result.authority), (c.ns ?? []).map(normalize).sort(), `${label}: authority`);
  t.deepEqual(section(result.additional), (c.extra ?? []).map(normalize).sort(), `${label}: additional`);
  // A trace is read by users: it cites the Kubernetes DNS spec or CoreDNS's sources, never the team's reference.
  const internal = result.trace.find((line) => line.includes('dns.md'));
  t.is(internal, undefined, `${label}: trace cites a reference users do not have`);
}

/** Run a table of cases against one zone. */
export function runCases(t: ExecutionContext, zone: ZoneIndex, cases: Case[], ctx: ResolveContext = {}): void {
  for (const c of cases) {
    expectResult(
      t,
      resolve({ name: c.name, type: c.type, ...(c.class !== undefined ? { class: c.class } : {}) }, zone, ctx),
      c,
    );
  }
}
