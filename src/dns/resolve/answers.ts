/**
 * From rows to records, one builder per query type, after CoreDNS's plugin/backend_lookup.go: A/AAAA chase
 * ExternalName CNAMEs, TXT holds only the schema version, SRV computes weights and glue, PTR reads the reverse indexes, NS and SOA describe the zone.
 * Each returns `{ ok: false }` for a name error, or the records (possibly none: NODATA).
 */
import { parseReverseName } from '../../cni/ip.js';
import { endpointName } from '../zone/projections.js';
import type { ZoneIndex } from '../zone/zone-index.js';
import { QTYPE } from './qtype.js';
import { DNS_SCHEMA_VERSION, kubernetesRows, lookupRows, nameServers } from './records.js';
import { absolute, isSubdomain, labelsBelowZone, type Request, withQuestion } from './request.js';
import type { Rr } from './types.js';

export type Built =
  | { ok: true; records: Rr[]; extra: Rr[]; chase?: { name: string; type: number } }
  | { ok: false; reason: string };

/** CoreDNS follows at most this many CNAMEs inside the zone (`len(previousRecords) > 7`). */
const MAX_CHAIN = 7;

/**
 * A and AAAA: records of that type, with ExternalName CNAMEs followed. An in-zone target is resolved here and
 * kept only when it yields records (a dangling in-zone CNAME gives NODATA); an out-of-zone target keeps its CNAME and
 * asks the server to chase it upstream (dns.md 6.1, 6.2).
 */
export function chasedRecords(zone: ZoneIndex, req: Request, trace: string[], previous: Rr[] = []): Built {
  const found = lookupRows(zone, req, trace);
  if (!found.ok) return found;
  const records: Rr[] = [];
  let chase: { name: string; type: number } | undefined;
  const seen = new Set<string>();
  for (const row of found.rows) {
    if (row.kind === 'cname') {
      const target = absolute(row.host);
      const lower = target.toLowerCase();
      if (lower === req.name || previous.length > MAX_CHAIN) continue; // x CNAME x, or a chain too long
      const cname: Rr = { name: req.qname, ttl: row.ttl, type: 'CNAME', target };
      if (
        previous.some(
          (r) => r.type === 'CNAME' && r.name.toLowerCase() === req.name && r.target.toLowerCase() === lower,
        )
      ) {
        continue; // a loop through other names
      }
      if (isSubdomain(lower, req.zone)) {
        const next = chasedRecords(zone, withQuestion(req, target, req.qtype), trace, [...previous, cname]);
        if (next.ok && next.records.length > 0) {
          records.push(cname, ...next.records);
          chase ??= next.chase;
        } else {
          trace.push(`CNAME target ${target} has no address records: dropped (CoreDNS plugin/backend_lookup.go)`);
        }
        continue;
      }
      records.push(cname);
      chase ??= { name: target, type: req.qtype };
      continue;
    }
    const wanted = req.qtype === QTYPE.A ? !row.v6 : req.qtype === QTYPE.AAAA ? row.v6 : false;
    if (wanted && !seen.has(row.address)) {
      seen.add(row.address);
      records.push({ name: req.qname, ttl: row.ttl, type: row.v6 ? 'AAAA' : 'A', address: row.address });
    }
  }
  return chase ? { ok: true, records, extra: [], chase } : { ok: true, records, extra: [] };
}

const DNS_VERSION_TTL = 28800;

/**
 * TXT (CoreDNS Services(), TXT branch, since coredns#5737): `dns-version.<zone>` holds the schema version; anywhere
 * else there is no TXT record, and the answer is NODATA where the Kubernetes lookup finds something of another type,
 * NXDOMAIN otherwise. So, unlike A, the apex, `svc`, a namespace and `ns.dns` are NXDOMAIN for TXT, and an
 * ExternalName's CNAME is neither returned nor chased.
 */
export function txtRecords(zone: ZoneIndex, req: Request, trace: string[]): Built {
  const labels = labelsBelowZone(req);
  if (labels.length === 1 && labels[0] === 'dns-version') {
    trace.push('dns-version: the schema version TXT record (DNS spec 2.2)');
    return {
      ok: true,
      records: [{ name: req.qname, ttl: DNS_VERSION_TTL, type: 'TXT', text: [DNS_SCHEMA_VERSION] }],
      extra: [],
    };
  }
  const found = kubernetesRows(zone, req, trace);
  if (found.ok && found.rows.length > 0) return { ok: true, records: [], extra: [] };
  return {
    ok: false,
    reason: found.ok
      ? 'TXT: nothing of any type at this name (CoreDNS answers NXDOMAIN here, coredns#5737)'
      : found.reason,
  };
}

/**
 * SRV: one record per distinct (target, port), weight = floor(100 / rows) over every row found before duplicates
 * are collapsed and before port-less rows are skipped, priority 0; glue A/AAAA per distinct (target, address)
 * (dns.md 2.4, 2.7, 3.6, 3.7).
 */
export function srvRecords(zone: ZoneIndex, req: Request, trace: string[]): Built {
  const found = lookupRows(zone, req, trace);
  if (!found.ok) return found;
  const rows = found.rows;
  const weight = rows.length === 0 ? 0 : Math.max(1, Math.floor((100 / (100 * rows.length)) * 100));
  const records: Rr[] = [];
  const extra: Rr[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (row.kind !== 'address' || row.port === -1) continue;
    const srvKey = `${row.target} ${row.port}`;
    if (!seen.has(srvKey)) {
      seen.add(srvKey);
      records.push({
        name: req.qname,
        ttl: row.ttl,
        type: 'SRV',
        priority: 0,
        weight,
        port: row.port,
        target: row.target,
      });
    }
    const glueKey = `${row.target} @${row.address}`;
    if (!seen.has(glueKey)) {
      seen.add(glueKey);
      extra.push({ name: row.target, ttl: row.ttl, type: row.v6 ? 'AAAA' : 'A', address: row.address });
    }
  }
  if (rows.length > 0)
    trace.push(`SRV: ${rows.length} row(s), weight ${weight} each (CoreDNS plugin/backend_lookup.go)`);
  return { ok: true, records, extra };
}

/** CNAME: the ExternalName target itself, unchased; NODATA for names that are not ExternalName services. */
export function cnameRecords(zone: ZoneIndex, req: Request, trace: string[]): Built {
  const found = lookupRows(zone, req, trace);
  if (!found.ok) return found;
  const first = found.rows[0];
  const records: Rr[] =
    first?.kind === 'cname' ? [{ name: req.qname, ttl: first.ttl, type: 'CNAME', target: absolute(first.host) }] : [];
  return { ok: true, records, extra: [] };
}

/**
 * PTR (CoreDNS reverse.go): a full reverse name is looked up as a ClusterIP first (one PTR, the first Service by
 * key), then as ready endpoint addresses of any Service (one PTR per distinct name). Targets are built in the cluster
 * domain as configured. Anything else in a zone goes through the grammar, for NODATA or NXDOMAIN (dns.md 7): CoreDNS's
 * Reverse() calls Records() there, not Services(), so `ns.dns.<zone>`, which only Services() knows, is NXDOMAIN.
 */
export function ptrRecords(zone: ZoneIndex, req: Request, trace: string[]): Built {
  const ip = parseReverseName(req.name);
  if (ip === undefined) {
    const found = kubernetesRows(zone, req, trace);
    return found.ok ? { ok: true, records: [], extra: [] } : found;
  }
  const primary = `${zone.clusterDomain}.`;
  const ttl = zone.options.ttl;
  const service = zone.servicesByClusterIP(ip)[0];
  if (service) {
    trace.push(`PTR: ${ip} is the ClusterIP of ${service.namespace}/${service.name} (DNS spec 2.3.3)`);
    const target = `${service.name}.${service.namespace}.svc.${primary}`;
    return { ok: true, records: [{ name: req.qname, ttl, type: 'PTR', target }], extra: [] };
  }
  const records: Rr[] = [];
  const seen = new Set<string>();
  for (const slice of zone.slicesByEndpointIP(ip)) {
    slice.ips.forEach((address, i) => {
      if (address !== ip) return;
      const target = `${endpointName(slice, i)}.${slice.service}.${slice.namespace}.svc.${primary}`;
      if (seen.has(target)) return;
      seen.add(target);
      records.push({ name: req.qname, ttl, type: 'PTR', target });
    });
  }
  if (records.length === 0)
    return {
      ok: false,
      reason: `PTR: ${ip} is neither a ClusterIP nor a ready endpoint (CoreDNS plugin/kubernetes/reverse.go)`,
    };
  trace.push(`PTR: ${ip} is a ready endpoint of ${records.length} service name(s) (DNS spec 2.4.3)`);
  return { ok: true, records, extra: [] };
}

/**
 * NS at the apex: the kube-dns Service's name with its addresses as glue (dns.md 1.7). Without a kube-dns Service,
 * `ns.dns.<zone>` without glue (CoreDNS would use its own pod IP; kube-netsim has none to give).
 */
export function nsRecords(zone: ZoneIndex, req: Request, trace: string[]): Built {
  const ttl = zone.options.ttl;
  const servers = nameServers(zone, req.zoneSpelled);
  if (servers.length === 0) {
    trace.push(
      'NS: no kube-dns Service (kube-system, k8s-app=kube-dns): ns.dns.<zone> without glue (CoreDNS plugin/kubernetes/ns.go)',
    );
    return {
      ok: true,
      records: [{ name: req.qname, ttl, type: 'NS', target: `ns.dns.${req.zoneSpelled}` }],
      extra: [],
    };
  }
  const records: Rr[] = [];
  const extra: Rr[] = [];
  for (const ns of servers) {
    extra.push({ name: ns.name, ttl, type: ns.v6 ? 'AAAA' : 'A', address: ns.address });
    if (!records.some((r) => r.type === 'NS' && r.target === ns.name)) {
      records.push({ name: req.qname, ttl, type: 'NS', target: ns.name });
    }
  }
  trace.push(`NS: ${records.length} name server(s) from the kube-dns Service (CoreDNS plugin/kubernetes/ns.go)`);
  return { ok: true, records, extra };
}

/**
 * The zone's SOA (CoreDNS plugin.SOA): owner and names in the zone as spelled by the question, serial from the
 * index, REFRESH 7200, RETRY 1800, EXPIRE 86400, MINIMUM = ttl, and its own TTL min(ttl, 300) (dns.md 1.4).
 */
export function soaRecord(zone: ZoneIndex, zoneSpelled: string): Rr {
  const ttl = zone.options.ttl;
  return {
    name: zoneSpelled,
    ttl: Math.min(ttl, 300),
    type: 'SOA',
    mname: `ns.dns.${zoneSpelled}`,
    rname: `hostmaster.${zoneSpelled}`,
    serial: zone.serial,
    refresh: 7200,
    retry: 1800,
    expire: 86400,
    minimum: ttl,
  };
}
