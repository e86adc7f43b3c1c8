/**
 * The backend: what exists at a name, as rows, the way CoreDNS's kubernetes plugin returns `msg.Service` values from
 * Services()/Records()/findServices()/findPods() (plugin/kubernetes/kubernetes.go). The type-specific builders in
 * ./answers.ts turn rows into records, so the NODATA/NXDOMAIN decision is the same for every query type:
 * `{ ok: false }` is a name error (NXDOMAIN), `{ ok: true, rows: [] }` is a name that exists with nothing to show.
 */
import { formatIP, parseIP } from '../../cni/ip.js';
import { endpointName, type SliceRecord } from '../zone/projections.js';
import type { ZoneIndex } from '../zone/zone-index.js';
import { type ParsedName, parseName } from './parse.js';
import { QTYPE } from './qtype.js';
import { labelsBelowZone, type Request } from './request.js';

/**
 * One backend row. `address` rows carry the port they were found through (-1: the no-ports sentinel) and the name
 * an SRV record would target; `cname` rows are ExternalName services.
 */
export type Row =
  | { kind: 'address'; address: string; v6: boolean; port: number; target: string; ttl: number }
  | { kind: 'cname'; host: string; ttl: number };

/** The schema version CoreDNS publishes at `dns-version.<zone>` (kubernetes/dns specification 1.1.0). */
export const DNS_SCHEMA_VERSION = '1.1.0';

export type Lookup = { ok: true; rows: Row[] } | { ok: false; reason: string };

/** CoreDNS Services() for every type but TXT (./answers.ts `txtRecords`): the `ns.dns` special case first. */
export function lookupRows(zone: ZoneIndex, req: Request, trace: string[]): Lookup {
  const labels = labelsBelowZone(req);
  if (labels.length === 2 && labels[0] === 'ns' && labels[1] === 'dns') {
    // The SOA MNAME: answers with the NS glue addresses for A/AAAA, NODATA for anything else (dns.md 1.9).
    trace.push('ns.dns.<zone>: the name server name from the SOA (CoreDNS plugin/kubernetes/kubernetes.go)');
    const want = req.qtype === QTYPE.A ? false : req.qtype === QTYPE.AAAA ? true : undefined;
    const rows: Row[] = [];
    for (const ns of nameServers(zone, req.zoneSpelled)) {
      if (ns.v6 === want)
        rows.push({
          kind: 'address',
          address: ns.address,
          v6: ns.v6,
          port: 0,
          target: req.qname,
          ttl: zone.options.ttl,
        });
    }
    return { ok: true, rows };
  }
  const found = kubernetesRows(zone, req, trace);
  // CoreDNS has no SRV for ExternalName services: their rows are dropped, leaving NODATA (dns.md 6.4).
  if (found.ok && req.qtype === QTYPE.SRV) return { ok: true, rows: found.rows.filter((r) => r.kind !== 'cname') };
  return found;
}

/** CoreDNS Records(): parse the name and look it up. */
export function kubernetesRows(zone: ZoneIndex, req: Request, trace: string[]): Lookup {
  const parsed = parseName(labelsBelowZone(req));
  if (parsed.kind === 'invalid')
    return { ok: false, reason: `grammar: ${parsed.reason} (CoreDNS plugin/kubernetes/parse.go)` };
  if (parsed.kind === 'schema') {
    trace.push(
      'grammar: apex or schema node (svc, pod): exists, holds no records (CoreDNS plugin/kubernetes/parse.go)',
    );
    return { ok: true, rows: [] };
  }
  if (req.name.endsWith('.in-addr.arpa.') || req.name.endsWith('.ip6.arpa.')) {
    return {
      ok: false,
      reason:
        'a reverse-zone name other than a full address is not a Kubernetes name (CoreDNS plugin/kubernetes/reverse.go)',
    };
  }
  if (!zone.namespaceExists(parsed.namespace)) {
    return {
      ok: false,
      reason: `namespace "${parsed.namespace}" does not exist (CoreDNS plugin/kubernetes/kubernetes.go)`,
    };
  }
  return parsed.podOrSvc === 'pod' ? podRows(zone, req, parsed, trace) : serviceRows(zone, req, parsed, trace);
}

type Name = Extract<ParsedName, { kind: 'name' }>;

/** CoreDNS findPods(). */
function podRows(zone: ZoneIndex, req: Request, p: Name, trace: string[]): Lookup {
  const mode = zone.options.pods;
  if (mode === 'disabled')
    return { ok: false, reason: 'pods disabled: no pod records (CoreDNS kubernetes plugin, pods option)' };
  if (p.service === '') {
    trace.push(`grammar: namespace "${p.namespace}" under pod: exists (CoreDNS plugin/kubernetes/kubernetes.go)`);
    return { ok: true, rows: [] };
  }
  // Exactly three dashes and no `--` read as IPv4; anything else as IPv6 (dns.md 5.2).
  const dashes = p.service.split('-').length - 1;
  const text =
    dashes === 3 && !p.service.includes('--') ? p.service.replaceAll('-', '.') : p.service.replaceAll('-', ':');
  const host = hostAddress(text);
  if (!host)
    return {
      ok: false,
      reason: `pod name "${p.service}" is not a dashed IP (CoreDNS plugin/kubernetes/kubernetes.go)`,
    };
  if (mode === 'verified' && !zone.hasPod(text, p.namespace)) {
    return {
      ok: false,
      reason: `pods verified: no pod with IP ${text} in namespace "${p.namespace}" (CoreDNS kubernetes plugin, pods option)`,
    };
  }
  trace.push(`pods ${mode}: ${p.service} → ${host.address} (CoreDNS kubernetes plugin, pods option)`);
  const target = `${p.service}.${p.namespace}.pod.${req.zoneSpelled}`;
  return { ok: true, rows: [{ kind: 'address', ...host, port: 0, target, ttl: zone.options.ttl }] };
}

/** CoreDNS findServices(). */
function serviceRows(zone: ZoneIndex, req: Request, p: Name, trace: string[]): Lookup {
  if (p.service === '') {
    trace.push(`grammar: namespace "${p.namespace}" under svc: exists (CoreDNS plugin/kubernetes/kubernetes.go)`);
    return { ok: true, rows: [] };
  }
  const svc = zone.service(p.service, p.namespace);
  if (!svc)
    return {
      ok: false,
      reason: `service ${p.namespace}/${p.service} does not exist (CoreDNS plugin/kubernetes/kubernetes.go)`,
    };
  const ttl = zone.options.ttl;
  if (
    zone.options.ignoreEmptyService &&
    svc.kind === 'cluster-ip' &&
    zone.readyEndpointCount(svc.name, svc.namespace) === 0
  ) {
    return {
      ok: false,
      reason: `ignoreEmptyService: ${p.namespace}/${p.service} has no ready endpoints (CoreDNS kubernetes plugin, ignore empty_service)`,
    };
  }
  const base = `${svc.name}.${svc.namespace}.svc.${req.zoneSpelled}`;

  if (svc.kind === 'external-name') {
    if (p.endpoint || p.port || p.protocol) {
      return {
        ok: false,
        reason: 'ExternalName services have no names below them (CoreDNS plugin/kubernetes/kubernetes.go)',
      };
    }
    if (svc.externalName === '' || parseIP(svc.externalName)) {
      return {
        ok: false,
        reason: `externalName "${svc.externalName}" is not a DNS name (CoreDNS plugin/kubernetes/kubernetes.go)`,
      };
    }
    trace.push(`ExternalName ${p.namespace}/${p.service} → CNAME ${svc.externalName} (DNS spec 2.5)`);
    return { ok: true, rows: [{ kind: 'cname', host: svc.externalName, ttl }] };
  }

  const rows: Row[] = [];
  if (svc.kind === 'headless' || p.endpoint) {
    for (const slice of zone.slicesOf(svc.name, svc.namespace)) endpointRows(slice, p, base, ttl, rows);
    if (rows.length === 0) {
      const what = p.endpoint ? `no ready endpoint named "${p.endpoint}"` : 'no ready endpoint';
      const portNote = p.port || p.protocol ? ' with that port' : '';
      return {
        ok: false,
        reason: `${p.namespace}/${p.service}: ${what}${portNote} (DNS spec 2.4.1)`,
      };
    }
    trace.push(`${svc.kind} ${p.namespace}/${p.service}: ${rows.length} endpoint row(s) (DNS spec 2.4.1)`);
    return { ok: true, rows };
  }

  let matched = false;
  for (const port of svc.ports) {
    if (!matchPort(p, port.name, port.protocol)) continue;
    matched = true;
    for (const ip of svc.clusterIPs) {
      rows.push({ kind: 'address', address: ip, v6: ip.includes(':'), port: port.port, target: base, ttl });
    }
  }
  if (!matched)
    return {
      ok: false,
      reason: `${p.namespace}/${p.service}: no port matches _${p.port}._${p.protocol} (CoreDNS plugin/kubernetes/kubernetes.go)`,
    };
  trace.push(`ClusterIP ${p.namespace}/${p.service}: ${rows.length} row(s) (DNS spec 2.3.1)`);
  return { ok: true, rows };
}

/** The rows of one slice: ready addresses (matching the endpoint label, if any) × matching ports. */
function endpointRows(slice: SliceRecord, p: Name, base: string, ttl: number, rows: Row[]): void {
  for (let i = 0; i < slice.ips.length; i++) {
    const hostname = endpointName(slice, i);
    if (p.endpoint && p.endpoint !== hostname.toLowerCase()) continue;
    const address = slice.ips[i]!;
    for (const port of slice.ports) {
      if (!matchPort(p, port.name, port.protocol)) continue;
      rows.push({
        kind: 'address',
        address,
        v6: address.includes(':'),
        port: port.port,
        target: `${hostname}.${base}`,
        ttl,
      });
    }
  }
}

/** CoreDNS matchPortAndProtocol: an empty label matches anything; names and protocols compare case-insensitively. */
function matchPort(p: Name, name: string, protocol: string): boolean {
  return (
    (p.port === '' || p.port === name.toLowerCase()) && (p.protocol === '' || p.protocol === protocol.toLowerCase())
  );
}

/** One name server address: the NS target name and its glue. */
export interface NameServer {
  name: string;
  address: string;
  v6: boolean;
}

/**
 * CoreDNS nsAddrs(): the names and addresses of "this" DNS server. kube-netsim plays the CoreDNS pods behind the
 * kube-dns Service, so that Service (kube-system, selector `k8s-app: kube-dns`) is the one CoreDNS would find its own
 * pod IP in: its ClusterIPs, or for a headless Service its ready endpoints. Empty when there is no such Service.
 */
export function nameServers(zone: ZoneIndex, zoneSpelled: string): NameServer[] {
  const svc = zone.dnsService();
  if (!svc) return [];
  const base = `${svc.name}.${svc.namespace}.svc.${zoneSpelled}`;
  const out: NameServer[] = [];
  if (svc.kind === 'headless') {
    for (const slice of zone.slicesOf(svc.name, svc.namespace)) {
      slice.ips.forEach((ip, i) => {
        out.push({ name: `${endpointName(slice, i)}.${base}`, address: ip, v6: ip.includes(':') });
      });
    }
  } else {
    for (const ip of svc.clusterIPs) out.push({ name: base, address: ip, v6: ip.includes(':') });
  }
  return out;
}

/**
 * What Go's net.ParseIP + HostType make of a host: an IPv4-mapped IPv6 address is an A record. Strict otherwise
 * (no leading zeros, as Go since 1.17).
 */
export function hostAddress(text: string): { address: string; v6: boolean } | undefined {
  const ip = parseIP(text);
  if (!ip) return undefined;
  if (ip.family === 'IPv6' && ip.value >> 32n === 0xffffn)
    return { address: formatIP(ip.value & 0xffffffffn, 'IPv4'), v6: false };
  return { address: ip.text, v6: ip.family === 'IPv6' };
}
