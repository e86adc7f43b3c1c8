/**
 * The zones as RFC 1035 master files that Knot or NSD can load, for `kube-netsim zone` and the differential test
 * against Knot. Each file holds every record a query for a name that exists would return, computed by asking
 * `resolve()` itself, so the files and the resolver cannot disagree. What a static zone cannot express (the CoreDNS
 * answers that depend on more than stored records) is listed in `unexpressible`, with its dns.md row, so a
 * differential test can skip or expect those differences.
 */
import { reverseName } from '../../cni/ip.js';
import { endpointName } from '../zone/projections.js';
import type { ZoneIndex } from '../zone/zone-index.js';
import { formatRr } from './format.js';
import { QTYPE } from './qtype.js';
import { REVERSE_ZONES, resolve } from './resolve.js';
import type { Rr } from './types.js';

export interface ZoneFileExport {
  /** Zone name without the trailing dot (`cluster.local`, `in-addr.arpa`, `ip6.arpa`) → master-file text. */
  files: Record<string, string>;
  /** Behaviour that a static zone cannot reproduce, for this index's options. */
  unexpressible: { row: string; note: string }[];
}

const ADDRESS_AND_SRV = [QTYPE.A, QTYPE.AAAA, QTYPE.SRV];

export function exportZoneFiles(zone: ZoneIndex): ZoneFileExport {
  const apex = `${zone.clusterDomain}.`;
  const forward = new Collector(zone);
  forward.add(apex, [QTYPE.SOA, QTYPE.NS]);
  forward.add(`dns-version.${apex}`, [QTYPE.TXT]);
  forward.add(`ns.dns.${apex}`, [QTYPE.A, QTYPE.AAAA]);
  const reverseNames = new Set<string>();
  for (const svc of zone.services()) {
    if (!zone.namespaceExists(svc.namespace)) continue;
    const base = `${svc.name}.${svc.namespace}.svc.${apex}`;
    if (svc.kind === 'external-name') {
      forward.add(base, [QTYPE.CNAME]);
      continue;
    }
    forward.add(base, ADDRESS_AND_SRV);
    for (const ip of svc.clusterIPs) reverseNames.add(`${reverseName(ip)}.`);
    const ports = svc.kind === 'cluster-ip' ? [...svc.ports] : [];
    for (const slice of zone.slicesOf(svc.name, svc.namespace)) {
      if (svc.kind === 'headless') ports.push(...slice.ports);
      for (let i = 0; i < slice.ips.length; i++) {
        forward.add(`${endpointName(slice, i).toLowerCase()}.${base}`, ADDRESS_AND_SRV);
      }
    }
    for (const port of ports) {
      if (port.name !== '')
        forward.add(`_${port.name.toLowerCase()}._${port.protocol.toLowerCase()}.${base}`, ADDRESS_AND_SRV);
    }
  }
  // Endpoint PTRs do not need the Service to exist (CoreDNS reads the slice's label).
  for (const svc of zone.services()) {
    for (const slice of zone.slicesOf(svc.name, svc.namespace))
      for (const ip of slice.ips) reverseNames.add(`${reverseName(ip)}.`);
  }
  for (const [namespace, ip] of zone.pods()) {
    const dashed = ip.replaceAll(ip.includes(':') ? ':' : '.', '-');
    forward.add(`${dashed}.${namespace}.pod.${apex}`, [QTYPE.A, QTYPE.AAAA]);
  }

  const files: Record<string, string> = { [zone.clusterDomain]: forward.text(apex) };
  for (const reverseApex of REVERSE_ZONES) {
    const collector = new Collector(zone);
    collector.add(reverseApex, [QTYPE.SOA, QTYPE.NS]);
    for (const name of reverseNames) if (name.endsWith(`.${reverseApex}`)) collector.add(name, [QTYPE.PTR]);
    files[reverseApex.slice(0, -1)] = collector.text(reverseApex);
  }
  return { files, unexpressible: unexpressible(zone) };
}

/** Records gathered by asking the resolver, kept when they belong to the zone being written. */
class Collector {
  readonly #zone: ZoneIndex;
  readonly #lines = new Map<string, Rr>();

  constructor(zone: ZoneIndex) {
    this.#zone = zone;
  }

  add(name: string, types: readonly number[]): void {
    for (const type of types) {
      const result = resolve({ name, type }, this.#zone);
      // Only the name's own records: chased CNAME targets and glue are written at their own names.
      for (const rr of [...result.answer, ...result.additional]) {
        if (rr.name.toLowerCase() === name || (type === QTYPE.NS && rr.type !== 'NS'))
          this.#lines.set(formatRr(rr), rr);
      }
    }
  }

  text(apex: string): string {
    const records = [...this.#lines.values()].filter((rr) => rr.name === apex || rr.name.endsWith(`.${apex}`));
    records.sort(canonicalOrder);
    const lines = records.map(formatRr);
    return [
      `; ${apex} exported by kube-netsim`,
      `$ORIGIN ${apex}`,
      `$TTL ${this.#zone.options.ttl}`,
      ...lines,
      '',
    ].join('\n');
  }
}

const TYPE_ORDER = ['SOA', 'NS'];

/** SOA, then the apex NS, then names in DNSSEC canonical order (labels compared right to left). */
function canonicalOrder(a: Rr, b: Rr): number {
  const ra = TYPE_ORDER.indexOf(a.type);
  const rb = TYPE_ORDER.indexOf(b.type);
  if ((ra >= 0 || rb >= 0) && ra !== rb) return (ra < 0 ? 99 : ra) - (rb < 0 ? 99 : rb);
  const la = a.name.toLowerCase().split('.').reverse();
  const lb = b.name.toLowerCase().split('.').reverse();
  for (let i = 0; i < Math.min(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return la[i]! < lb[i]! ? -1 : 1;
  }
  if (la.length !== lb.length) return la.length - lb.length;
  return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
}

function unexpressible(zone: ZoneIndex): ZoneFileExport['unexpressible'] {
  const notes = [
    { row: '1.6', note: 'SOA queries below the apex: CoreDNS answers NODATA even for names that do not exist' },
    { row: '1.2', note: 'dns-version with a type other than TXT: CoreDNS answers NXDOMAIN, a static zone NODATA' },
    {
      row: '1.3',
      note: 'TXT elsewhere: CoreDNS answers NXDOMAIN at names holding no records (the apex, svc, a namespace) and NODATA at an ExternalName, where a static zone gives NODATA and the CNAME',
    },
    { row: '8', note: '_proto.<svc> (parent of an SRV name): CoreDNS answers NXDOMAIN, a static zone NODATA' },
    {
      row: '2.4',
      note: 'SRV names without underscores (http.tcp.<svc>) or with an empty port label (_._tcp.<svc>) match in CoreDNS',
    },
    {
      row: '8',
      note: '<ns>.svc.<zone>, <ns>.pod.<zone>, svc.<zone>, pod.<zone>: NODATA in CoreDNS for every existing namespace, in a static zone only above records',
    },
    { row: '5.1', note: 'labels left of a pod name (x.<a-b-c-d>.<ns>.pod.<zone>) are ignored by CoreDNS' },
    { row: '6.1', note: 'ExternalName targets outside the zone: CoreDNS appends the upstream answer to the CNAME' },
    {
      row: '6.1',
      note: 'ExternalName targets inside the zone that do not resolve: CoreDNS answers NODATA without the CNAME',
    },
    {
      row: '6.4',
      note: 'SRV (and other types) at an ExternalName name: CoreDNS answers NODATA, a static zone the CNAME',
    },
    {
      row: '7.5',
      note: 'partial reverse names (0.96.10.in-addr.arpa): CoreDNS answers NXDOMAIN, a static zone NODATA',
    },
    {
      row: '7.4',
      note: 'types other than PTR at reverse names: CoreDNS answers NXDOMAIN (or falls through), a static zone NODATA',
    },
    {
      row: '1.7',
      note: 'the reverse zones NS target is built in the reverse zone (kube-dns.kube-system.svc.in-addr.arpa.); CoreDNS has no A record there',
    },
    {
      row: '10.1',
      note: 'CoreDNS spells the zone in SRV targets, glue and SOA as the question did; a static zone as written',
    },
    { row: '15.1', note: 'while not synced CoreDNS answers SERVFAIL instead of NXDOMAIN' },
    { row: '2.10', note: 'ANY: kube-netsim answers with the A/AAAA (or PTR) records; a static zone with every RRset' },
    { row: '3.9', note: 'loadbalance shuffles A/AAAA order per answer' },
  ];
  if (zone.options.pods === 'insecure') {
    notes.push({
      row: '5.1',
      note: 'pods insecure: <a-b-c-d>.<ns>.pod.<zone> answers any IP in an existing namespace',
    });
  }
  if (zone.options.fallthrough.length > 0 && zone.options.upstream.length > 0) {
    notes.push({
      row: '7.4',
      note: `fallthrough ${zone.options.fallthrough.join(' ')}: unknown names there are answered upstream`,
    });
  }
  if (!zone.dnsService()) {
    notes.push({
      row: '1.9',
      note: 'no kube-dns Service: ns.dns.<zone> exists (NODATA) in CoreDNS but not in the static zone',
    });
  }
  return notes;
}
