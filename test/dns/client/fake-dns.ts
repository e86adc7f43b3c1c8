/**
 * A table-driven stand-in for the cluster resolver: names map to records or a forced rcode, every parent of a name
 * that exists is an empty non-terminal (NODATA), everything else is NXDOMAIN. That is CoreDNS's behaviour for the
 * cases the tests use (dns.md §8): `svc.cluster.local` and `<ns>.svc.cluster.local` are NODATA, a missing service is
 * NXDOMAIN.
 */
import type { Answer, AnswerRecord, QueryFn, QueryType, Rcode, ResolvConf } from '../../../src/dns/client/index.js';

export interface FakeName {
  A?: string[];
  AAAA?: string[];
  SRV?: string[];
  CNAME?: string;
  /** Forced reply for every type (SERVFAIL, REFUSED, TIMEOUT, …). */
  rcode?: Rcode;
  /** Forced reply per type, winning over `rcode`. */
  rcodeByType?: Partial<Record<QueryType, Rcode>>;
}

export interface FakeDns {
  query: QueryFn;
  /** `qname qtype` of every query, in order. */
  log: string[];
}

const fqdn = (name: string) => (name.endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`);

/** A fake resolver over `names` (keys with or without the final dot). */
export function fakeDns(names: Record<string, FakeName>): FakeDns {
  const table = new Map(Object.entries(names).map(([k, v]) => [fqdn(k), v]));
  const existing = new Set<string>();
  for (const name of table.keys()) {
    const labels = name.slice(0, -1).split('.');
    for (let i = 0; i < labels.length; i++) existing.add(`${labels.slice(i).join('.')}.`);
  }
  const log: string[] = [];
  const query = (qname: string, qtype: QueryType): Answer => {
    log.push(`${qname} ${qtype}`);
    const key = fqdn(qname);
    const entry = table.get(key);
    const forced = entry?.rcodeByType?.[qtype] ?? entry?.rcode;
    if (forced !== undefined) return { rcode: forced, answers: [] };
    if (!existing.has(key)) return { rcode: 'NXDOMAIN', answers: [] };
    const answers: AnswerRecord[] = [];
    if (entry?.CNAME !== undefined) answers.push({ name: key, type: 'CNAME', ttl: 30, data: fqdn(entry.CNAME) });
    const values = qtype === 'A' || qtype === 'AAAA' || qtype === 'SRV' ? (entry?.[qtype] ?? []) : [];
    for (const data of values) answers.push({ name: key, type: qtype, ttl: 30, data });
    return { rcode: 'NOERROR', answers };
  };
  return { query, log };
}

/** The resolv.conf of a ClusterFirst pod in namespace `app` (what podResolvConf gives on a plain kind node). */
export const CLUSTER_FIRST_APP: ResolvConf = {
  nameservers: ['10.96.0.10'],
  searches: ['app.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
  options: [{ name: 'ndots', value: '5' }],
};

/**
 * A small cluster: Services web in app and other, an SRV record for web's http port, namespace `db` with no Service
 * called `db`, and two external names (documentation addresses only).
 */
export const CLUSTER: Record<string, FakeName> = {
  'web.app.svc.cluster.local': { A: ['10.96.0.11'] },
  '_http._tcp.web.app.svc.cluster.local': { SRV: ['0 100 80 web.app.svc.cluster.local.'] },
  'web.other.svc.cluster.local': { A: ['10.96.0.21'] },
  'kafka.db.svc.cluster.local': { A: ['10.96.0.31'] },
  'example.com': { A: ['192.0.2.10'], AAAA: ['2001:db8::10'] },
  'db.corp.example': { A: ['198.51.100.7'] },
};
