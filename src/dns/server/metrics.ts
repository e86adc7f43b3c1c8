/**
 * Prometheus metrics under CoreDNS's names (plugin/metrics/vars, plugin/cache), so dashboards and alerts written for
 * CoreDNS read ours unchanged. Labels follow CoreDNS: `server` is `dns://ADDR:PORT`, `zone` the server block's zone
 * (kubeadm's `.:53` → "."), `view` empty.
 */
import { rcodeName, typeName } from '../wire/message.js';

/** CoreDNS's plugin.TimeBuckets: exponential from 0.25 ms, factor 2, 16 buckets. */
const DURATION_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

/** CoreDNS only labels common types by name; the rest are counted as "other". */
const MONITORED_TYPES = new Set([
  'A',
  'AAAA',
  'MX',
  'SOA',
  'CNAME',
  'PTR',
  'TXT',
  'NS',
  'SRV',
  'DS',
  'DNSKEY',
  'RRSIG',
  'NSEC',
  'NSEC3',
  'HTTPS',
  'IXFR',
  'AXFR',
  'ANY',
]);

function label(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function labels(pairs: Record<string, string>): string {
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${label(v)}"`)
    .join(',')}}`;
}

export class DnsMetrics {
  readonly #requests = new Map<string, number>();
  readonly #responses = new Map<string, number>();
  readonly #durations = new Map<string, { buckets: number[]; sum: number; count: number }>();
  #cacheHits = 0;
  #cacheMisses = 0;

  observe(
    server: string,
    proto: 'udp' | 'tcp',
    family: 1 | 2,
    qtype: number,
    rcode: number,
    plugin: string,
    seconds: number,
    cacheHit: boolean,
  ): void {
    const name = typeName(qtype);
    const type = MONITORED_TYPES.has(name) ? name : 'other';
    const req = labels({ server, zone: '.', view: '', proto, family: String(family), type });
    this.#requests.set(req, (this.#requests.get(req) ?? 0) + 1);
    const res = labels({ server, zone: '.', view: '', rcode: rcodeName(rcode), plugin });
    this.#responses.set(res, (this.#responses.get(res) ?? 0) + 1);
    const durKey = JSON.stringify([server, type]);
    let d = this.#durations.get(durKey);
    if (!d) {
      d = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(durKey, d);
    }
    for (let i = 0; i < DURATION_BUCKETS.length; i++) if (seconds <= DURATION_BUCKETS[i]!) d.buckets[i]!++;
    d.sum += seconds;
    d.count++;
    if (cacheHit) this.#cacheHits++;
    else this.#cacheMisses++;
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  render(server: string): string {
    const out: string[] = [];
    out.push('# HELP coredns_dns_requests_total Counter of DNS requests made per zone, protocol and family.');
    out.push('# TYPE coredns_dns_requests_total counter');
    for (const [l, v] of this.#requests) out.push(`coredns_dns_requests_total${l} ${v}`);
    out.push('# HELP coredns_dns_responses_total Counter of response status codes.');
    out.push('# TYPE coredns_dns_responses_total counter');
    for (const [l, v] of this.#responses) out.push(`coredns_dns_responses_total${l} ${v}`);
    out.push(
      '# HELP coredns_dns_request_duration_seconds Histogram of the time (in seconds) each request took per zone.',
    );
    out.push('# TYPE coredns_dns_request_duration_seconds histogram');
    for (const [key, d] of this.#durations) {
      const [srv, type] = JSON.parse(key) as [string, string];
      const base = { server: srv, zone: '.', view: '', type };
      DURATION_BUCKETS.forEach((le, i) => {
        out.push(`coredns_dns_request_duration_seconds_bucket${labels({ ...base, le: String(le) })} ${d.buckets[i]}`);
      });
      out.push(`coredns_dns_request_duration_seconds_bucket${labels({ ...base, le: '+Inf' })} ${d.count}`);
      out.push(`coredns_dns_request_duration_seconds_sum${labels(base)} ${d.sum}`);
      out.push(`coredns_dns_request_duration_seconds_count${labels(base)} ${d.count}`);
    }
    out.push('# HELP coredns_cache_hits_total The count of cache hits.');
    out.push('# TYPE coredns_cache_hits_total counter');
    out.push(`coredns_cache_hits_total${labels({ server, type: 'success', view: '', zones: '.' })} ${this.#cacheHits}`);
    out.push(
      '# HELP coredns_cache_misses_total The count of cache misses. Deprecated, derive misses from cache hits/requests counters.',
    );
    out.push('# TYPE coredns_cache_misses_total counter');
    out.push(`coredns_cache_misses_total${labels({ server, view: '', zones: '.' })} ${this.#cacheMisses}`);
    return `${out.join('\n')}\n`;
  }
}
