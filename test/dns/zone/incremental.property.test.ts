/**
 * Property: an index that followed any sequence of store batches answers every question exactly like an index
 * built from scratch over the final state (answers compared as sets; the clock is fixed so serials agree).
 */
import test from 'ava';
import fc from 'fast-check';
import { reverseName } from '../../../src/cni/ip.js';
import { DNS_DEFAULTS, type DnsOptions } from '../../../src/dns/config.js';
import { formatRr } from '../../../src/dns/resolve/format.js';
import { resolve } from '../../../src/dns/resolve/resolve.js';
import type { ResolveResult } from '../../../src/dns/resolve/types.js';
import { ZoneIndex } from '../../../src/dns/zone/zone-index.js';
import { Store } from '../../../src/model/store.js';
import type { AnyObject, EndpointPort, Kind, ServicePort } from '../../../src/model/types.js';
import {
  clusterIPService,
  endpoint,
  externalNameService,
  headlessService,
  namespace,
  pod,
  port,
  slice,
} from '../resolve/helpers.js';

const NAMESPACES = ['a', 'b'];
const SERVICES = ['s1', 's2', 's3'];
const ENDPOINT_IPS = ['10.0.0.1', '10.0.0.2', '10.0.0.3', 'fd00::1', 'fd00::2'];
const CLUSTER_IPS = ['10.96.0.1', '10.96.0.2', 'fd00:96::1'];
const NAMES = ['h0', 'h1', 'p0', 'p1'];
const SERVICE_PORTS: ServicePort[] = [port('http', 'TCP', 80), port('dns', 'UDP', 53), port(undefined, 'TCP', 8080)];
const SLICE_PORTS: EndpointPort[] = [
  { name: 'http', protocol: 'TCP', port: 8080 },
  { name: 'dns', protocol: 'UDP', port: 53 },
  {},
];

const ns = fc.constantFrom(...NAMESPACES);
const svcName = fc.constantFrom(...SERVICES);

const serviceArb: fc.Arbitrary<AnyObject> = fc.oneof(
  fc
    .tuple(ns, svcName, fc.subarray(CLUSTER_IPS, { minLength: 1 }), fc.subarray(SERVICE_PORTS))
    .map(([n, s, ips, ports]) => clusterIPService(n, s, ips, ports)),
  fc.tuple(ns, svcName, fc.subarray(SERVICE_PORTS)).map(([n, s, ports]) => headlessService(n, s, ports)),
  fc
    .tuple(ns, svcName, fc.constantFrom('example.org', 's1.a.svc.cluster.local', 's2.b.svc.cluster.local.', '10.1.1.1'))
    .map(([n, s, target]) => externalNameService(n, s, target)),
);

const endpointArb = fc
  .record({
    ip: fc.constantFrom(...ENDPOINT_IPS),
    ready: fc.constantFrom(true, false, undefined),
    hostname: fc.option(fc.constantFrom('h0', 'h1'), { nil: undefined }),
    pod: fc.option(fc.constantFrom('p0', 'p1'), { nil: undefined }),
  })
  .map(({ ip, ...opts }) => endpoint(ip, { ...opts }));

const sliceArb: fc.Arbitrary<AnyObject> = fc
  .tuple(ns, svcName, fc.constantFrom('x1', 'x2'), fc.array(endpointArb, { maxLength: 4 }), fc.subarray(SLICE_PORTS))
  .map(([n, s, name, endpoints, ports]) => slice(n, s, `${s}-${name}`, endpoints, ports));

const podArb: fc.Arbitrary<AnyObject> = fc
  .tuple(
    ns,
    fc.constantFrom('p0', 'p1', 'p2'),
    fc.constantFrom(...ENDPOINT_IPS),
    fc.constantFrom('Running', 'Pending', 'Succeeded'),
    fc.boolean(),
  )
  .map(([n, name, ip, phase, deleting]) => pod(n, name, ip, { phase: phase as 'Running', deleting }));

type Op = { put: AnyObject } | { remove: [Kind, string, string] };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(serviceArb, sliceArb, podArb, ns.map(namespace)).map((put) => ({ put })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.tuple(fc.constant('Service' as Kind), svcName, ns),
        fc.tuple(fc.constant('EndpointSlice' as Kind), fc.constantFrom('s1-x1', 's2-x2', 's3-x1'), ns),
        fc.tuple(fc.constant('Pod' as Kind), fc.constantFrom('p0', 'p1'), ns),
        fc.tuple(fc.constant('Namespace' as Kind), ns, fc.constant('')),
      )
      .map((remove) => ({ remove: remove as [Kind, string, string] })),
  },
);

const optionsArb: fc.Arbitrary<Partial<DnsOptions>> = fc.record({
  pods: fc.constantFrom('insecure', 'verified'),
  endpointPodNames: fc.boolean(),
  ignoreEmptyService: fc.boolean(),
});

function apply(store: Store, batch: Op[]): void {
  store.transaction(() => {
    for (const op of batch) {
      if ('put' in op) store.put(structuredClone(op.put));
      else store.remove(op.remove[0], op.remove[1], op.remove[2] || undefined);
    }
  });
}

const QUESTIONS: { name: string; type: string }[] = (() => {
  const out: { name: string; type: string }[] = [{ name: 'cluster.local.', type: 'NS' }];
  for (const n of NAMESPACES) {
    out.push({ name: `${n}.svc.cluster.local.`, type: 'A' }, { name: `${n}.pod.cluster.local.`, type: 'A' });
    for (const ip of ENDPOINT_IPS) {
      const dashed = ip.replaceAll(/[.:]/g, '-');
      out.push({ name: `${dashed}.${n}.pod.cluster.local.`, type: ip.includes(':') ? 'AAAA' : 'A' });
    }
    for (const s of SERVICES) {
      const base = `${s}.${n}.svc.cluster.local.`;
      for (const type of ['A', 'AAAA', 'SRV', 'CNAME', 'TXT']) out.push({ name: base, type });
      out.push({ name: `_http._tcp.${base}`, type: 'SRV' }, { name: `_dns._udp.${base}`, type: 'SRV' });
      const labels = [
        ...NAMES,
        ...ENDPOINT_IPS.map((ip) => ip.replaceAll(ip.includes(':') ? ':' : '.', '-').replace(/-$/, '-0')),
      ];
      for (const label of labels)
        out.push({ name: `${label}.${base}`, type: 'A' }, { name: `${label}.${base}`, type: 'AAAA' });
    }
  }
  for (const ip of [...ENDPOINT_IPS, ...CLUSTER_IPS]) out.push({ name: `${reverseName(ip)}.`, type: 'PTR' });
  return out;
})();

function summary(result: ResolveResult): string {
  const section = (rrs: typeof result.answer) => rrs.map(formatRr).sort().join(' | ');
  return `${result.rcode} ${result.authoritative} [${section(result.answer)}] [${section(result.authority)}] [${section(result.additional)}]`;
}

test('an incrementally updated index answers like one built from the final state', (t) => {
  const property = fc.property(
    optionsArb,
    fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { maxLength: 8 }),
    (opts, batches) => {
      const options = { ...DNS_DEFAULTS, ...opts };
      const init = { clusterDomain: 'cluster.local', options, now: () => 1_700_000_000_000 };
      const store = new Store();
      apply(store, [{ put: namespace('a') }]);
      const followed = new ZoneIndex(store, init);
      for (const batch of batches) apply(store, batch);
      const fresh = new ZoneIndex(store, init);
      if (JSON.stringify(followed.stats()) !== JSON.stringify(fresh.stats())) {
        throw new Error(`stats differ: ${JSON.stringify(followed.stats())} vs ${JSON.stringify(fresh.stats())}`);
      }
      for (const q of QUESTIONS) {
        const a = summary(resolve(q, followed));
        const b = summary(resolve(q, fresh));
        if (a !== b) throw new Error(`${q.name} ${q.type}\n followed: ${a}\n fresh:    ${b}`);
      }
    },
  );
  t.notThrows(() => fc.assert(property, { numRuns: 150 }));
});
