/**
 * The resolver: one question in, the answer CoreDNS's kubernetes plugin (kubeadm Corefile) would give out, as a pure
 * function of the zone index, the question and the RNG (plugin/kubernetes/handler.go). No sockets, no clocks.
 *
 * How outcomes map to responses (style.md practice 7; dns.md §8):
 * - class other than IN → REFUSED (no chaos plugin in the Corefile; dns.md 14.6).
 * - a name in no zone → forwarded upstream when `dns.upstream` lists resolvers, else REFUSED, as a Corefile whose
 *   server blocks cover only the cluster zones answers (kube-netsim has no /etc/resolv.conf to forward to).
 * - AXFR/IXFR → REFUSED here; transfers are `zoneTransfer()`, and the server decides who may have one.
 * - name error → NXDOMAIN + SOA, AA; or, in a `fallthrough` zone with upstream resolvers configured, forwarded;
 *   or, while the index is not synced, SERVFAIL + SOA.
 * - the name exists but has no records of the type → NOERROR, empty answer, SOA (NODATA), AA.
 * - otherwise NOERROR with the records, AA; A/AAAA shuffled when `loadbalance` is on and an RNG is given.
 *
 * ANY (kube-netsim's choice, RFC 8482 §4.1 "a subset of the RRsets"): in the cluster zone, the A and AAAA records
 * the name has (an ExternalName gives its CNAME, unchased); in a reverse zone, its PTR records; NODATA when the name
 * has none; NXDOMAIN when it does not exist. CoreDNS itself answers ANY NODATA for every existing name (dns.md 2.10).
 */
import type { ZoneIndex } from '../zone/zone-index.js';
import {
  type Built,
  chasedRecords,
  cnameRecords,
  nsRecords,
  ptrRecords,
  soaRecord,
  srvRecords,
  txtRecords,
} from './answers.js';
import { roundRobin } from './loadbalance.js';
import { QCLASS, QTYPE, qclassName, qclassNumber, qtypeName, qtypeNumber } from './qtype.js';
import { absolute, isSubdomain, makeRequest, matchZone, type Request, withQuestion } from './request.js';
import type { Question, ResolveContext, ResolveResult, Rr } from './types.js';

/** The reverse zones kubeadm's Corefile hands the kubernetes plugin. */
export const REVERSE_ZONES = ['in-addr.arpa.', 'ip6.arpa.'] as const;

/** The zones the resolver is authoritative for: the cluster domain, in-addr.arpa and ip6.arpa (dns.md 1.1). */
export function authoritativeZones(zone: ZoneIndex): string[] {
  return [`${zone.clusterDomain}.`, ...REVERSE_ZONES];
}

export function resolve(question: Question, zone: ZoneIndex, ctx: ResolveContext = {}): ResolveResult {
  const trace: string[] = [];
  const qtype = qtypeNumber(question.type);
  const qclass = qclassNumber(question.class ?? QCLASS.IN);
  const qname = absolute(question.name);
  trace.push(`question: ${qname} ${qclassName(qclass)} ${qtypeName(qtype)}`);

  if (qclass !== QCLASS.IN) {
    trace.push(`class ${qclassName(qclass)} is not IN: REFUSED (CoreDNS core/dnsserver/server.go)`);
    return refused(trace);
  }
  const matched = matchZone(qname.toLowerCase(), authoritativeZones(zone));
  if (matched === undefined) {
    trace.push('outside every zone of the kubernetes plugin (CoreDNS core/dnsserver/server.go)');
    return upstreamOr(zone, qname, qtype, trace, refused);
  }
  const req = makeRequest(qname, qtype, matched);
  trace.push(`zone ${req.zoneSpelled} (DNS spec 2.1)`);
  if (qtype === QTYPE.AXFR || qtype === QTYPE.IXFR) {
    trace.push(
      'zone transfers are served by zoneTransfer(), not by the query handler: REFUSED (CoreDNS plugin/kubernetes/handler.go)',
    );
    return refused(trace);
  }

  const built = dispatch(zone, req, trace);
  if (!built.ok) return nameError(zone, req, built.reason, trace);
  if (built.records.length === 0) {
    trace.push(`NODATA: the name exists, no ${qtypeName(qtype)} records (CoreDNS plugin/kubernetes/kubernetes.go)`);
    return negative('NOERROR', zone, req, trace);
  }
  const result: ResolveResult = {
    rcode: 'NOERROR',
    authoritative: true,
    answer: built.records,
    authority: [],
    additional: built.extra,
    trace,
  };
  if (built.chase && zone.options.upstream.length > 0) {
    trace.push(
      `CNAME target ${built.chase.name} is outside the zone: chase it upstream (CoreDNS plugin/backend_lookup.go)`,
    );
    result.upstream = {
      mode: 'chase',
      name: built.chase.name,
      type: built.chase.type,
      // Upstream.Lookup runs the question through the server's own plugins and hands back whatever they wrote (a
      // SERVFAIL from forward when the upstream is unreachable), never an error: the CNAME stays, with nothing after.
      onFailure: { rcode: 'NOERROR', authoritative: true, answer: built.records, authority: [], additional: [] },
    };
  } else if (built.chase) {
    trace.push(`CNAME target ${built.chase.name} is outside the zone and no upstream is configured: CNAME only`);
  }
  if (zone.options.loadbalance && ctx.rng) {
    result.answer = roundRobin(result.answer, ctx.rng);
    result.additional = roundRobin(result.additional, ctx.rng);
  }
  return result;
}

/** The per-type handlers of CoreDNS's ServeDNS switch. */
function dispatch(zone: ZoneIndex, req: Request, trace: string[]): Built {
  switch (req.qtype) {
    case QTYPE.A:
    case QTYPE.AAAA:
      return chasedRecords(zone, req, trace);
    case QTYPE.TXT:
      return txtRecords(zone, req, trace);
    case QTYPE.SRV:
      return srvRecords(zone, req, trace);
    case QTYPE.CNAME:
      return cnameRecords(zone, req, trace);
    case QTYPE.PTR:
      return ptrRecords(zone, req, trace);
    case QTYPE.SOA:
      // Below the apex the handler never consults the backend: always NODATA (dns.md 1.6).
      if (req.name !== req.zone)
        trace.push('SOA below the apex: NODATA without a lookup (CoreDNS plugin/kubernetes/handler.go)');
      return { ok: true, records: req.name === req.zone ? [soaRecord(zone, req.zoneSpelled)] : [], extra: [] };
    case QTYPE.NS:
      if (req.name === req.zone) return nsRecords(zone, req, trace);
      return fakeLookup(zone, req, trace);
    case QTYPE.ANY:
      return anyRecords(zone, req, trace);
    default:
      return fakeLookup(zone, req, trace);
  }
}

/** CoreDNS's "fake A lookup": the records are thrown away, only NODATA vs NXDOMAIN is kept (dns.md 2.10). */
function fakeLookup(zone: ZoneIndex, req: Request, trace: string[]): Built {
  trace.push(
    `${qtypeName(req.qtype)}: no records of this type here; an A lookup decides NODATA or NXDOMAIN (CoreDNS plugin/kubernetes/handler.go)`,
  );
  const built = chasedRecords(zone, withQuestion(req, req.qname, QTYPE.A), trace);
  return built.ok ? { ok: true, records: [], extra: [] } : built;
}

function anyRecords(zone: ZoneIndex, req: Request, trace: string[]): Built {
  trace.push('ANY: answered minimally with the address (or PTR) records of the name (RFC 8482 §4.1)');
  if (req.zone !== `${zone.clusterDomain}.`) return ptrRecords(zone, withQuestion(req, req.qname, QTYPE.PTR), trace);
  const v4 = chasedRecords(zone, withQuestion(req, req.qname, QTYPE.A), trace);
  if (!v4.ok) return v4;
  const v6 = chasedRecords(zone, withQuestion(req, req.qname, QTYPE.AAAA), trace);
  // Only records owned by the name itself: a chased CNAME target's records belong to other owners.
  const records = v4.records.filter((r) => r.name === req.qname);
  if (v6.ok) records.push(...v6.records.filter((r) => r.name === req.qname && r.type === 'AAAA'));
  const cname = records.find((r) => r.type === 'CNAME');
  return { ok: true, records: cname ? [cname] : records, extra: [] };
}

function nameError(zone: ZoneIndex, req: Request, reason: string, trace: string[]): ResolveResult {
  trace.push(`name error: ${reason}`);
  const fallthrough = zone.options.fallthrough.some((z) => isSubdomain(req.name, `${z}.`));
  if (fallthrough && zone.options.upstream.length > 0) {
    trace.push(
      'fallthrough zone: passed on upstream instead of NXDOMAIN (CoreDNS kubernetes plugin, fallthrough option)',
    );
    return upstreamOr(zone, req.qname, req.qtype, trace, refused);
  }
  if (!zone.hasSynced) {
    trace.push('the index has not synced: SERVFAIL instead of NXDOMAIN (CoreDNS plugin/kubernetes/handler.go)');
    return negative('SERVFAIL', zone, req, trace);
  }
  return negative('NXDOMAIN', zone, req, trace);
}

function negative(
  rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL',
  zone: ZoneIndex,
  req: Request,
  trace: string[],
): ResolveResult {
  const authority: Rr[] = [soaRecord(zone, req.zoneSpelled)];
  return { rcode, authoritative: true, answer: [], authority, additional: [], trace };
}

/** Forward the question upstream when resolvers are configured; otherwise answer `otherwise`. */
function upstreamOr(
  zone: ZoneIndex,
  qname: string,
  qtype: number,
  trace: string[],
  otherwise: (trace: string[]) => ResolveResult,
): ResolveResult {
  if (zone.options.upstream.length === 0) {
    trace.push('no upstream resolvers configured: REFUSED');
    return otherwise(trace);
  }
  trace.push(`forward ${qname} upstream (${zone.options.upstream.join(', ')})`);
  const onFailure = { rcode: 'SERVFAIL', authoritative: false, answer: [], authority: [], additional: [] } as const;
  return {
    ...onFailure,
    answer: [],
    authority: [],
    additional: [],
    upstream: {
      mode: 'forward',
      name: qname,
      type: qtype,
      onFailure: { ...onFailure, answer: [], authority: [], additional: [] },
    },
    trace,
  };
}

function refused(trace: string[]): ResolveResult {
  return { rcode: 'REFUSED', authoritative: false, answer: [], authority: [], additional: [], trace };
}
