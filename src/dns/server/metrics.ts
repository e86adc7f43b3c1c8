/**
 * Prometheus metrics under CoreDNS's names (plugin/metrics/vars, plugin/cache), so dashboards and alerts written for
 * CoreDNS read ours unchanged. Labels follow CoreDNS: `server` is `dns://ADDR:PORT`, `zone` the server block's zone
 * (kubeadm's `.:53` → "."), `view` empty.
 *
 * `observe` runs once per query, so counters are keyed by small integers and label text is built only when scraped.
 */
import { rcodeName, typeName } from '../wire/message.js';

/** CoreDNS's plugin.TimeBuckets: exponential from 0.25 ms, factor 2, 16 buckets. */
const DURATION_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

/** CoreDNS labels common types by name and counts the rest as "other". */
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

function monitoredType(qtype: number): string {
  const name = typeName(qtype);
  return MONITORED_TYPES.has(name) ? name : 'other';
}

function labels(pairs: Record<string, string>): string {
  const escapeValue = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeValue(v)}"`)
    .join(',')}}`;
}

/** Counters as plain data: a worker sends its state, the primary merges them for /metrics. */
export interface MetricsState {
  servers: string[];
  plugins: string[];
  requests: [number, number][];
  responses: [number, number][];
  durations: [number, Histogram][];
  cacheHits: number;
  cacheMisses: number;
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export class DnsMetrics {
  /** (server index, proto, family, qtype) → count */
  readonly #requests = new Map<number, number>();
  /** (server index, rcode, plugin) → count */
  readonly #responses = new Map<number, number>();
  /** (server index, qtype) → histogram */
  readonly #durations = new Map<number, Histogram>();
  readonly #servers: string[] = [];
  readonly #plugins: string[] = [];
  #cacheHits = 0;
  #cacheMisses = 0;

  /** A small number standing for a server label; call once per listener. */
  serverId(server: string): number {
    const i = this.#servers.indexOf(server);
    if (i >= 0) return i;
    this.#servers.push(server);
    return this.#servers.length - 1;
  }

  #pluginId(plugin: string): number {
    const i = this.#plugins.indexOf(plugin);
    if (i >= 0) return i;
    this.#plugins.push(plugin);
    return this.#plugins.length - 1;
  }

  observe(
    server: number,
    proto: 'udp' | 'tcp',
    family: 1 | 2,
    qtype: number,
    rcode: number,
    plugin: string,
    seconds: number,
    cacheHit: boolean,
  ): void {
    const req = ((server * 2 + (proto === 'udp' ? 0 : 1)) * 4 + family) * 65536 + qtype;
    this.#requests.set(req, (this.#requests.get(req) ?? 0) + 1);
    const res = (server * 4096 + rcode) * 64 + this.#pluginId(plugin);
    this.#responses.set(res, (this.#responses.get(res) ?? 0) + 1);
    const dur = server * 65536 + qtype;
    let h = this.#durations.get(dur);
    if (!h) {
      h = { buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(dur, h);
    }
    // Non-cumulative counts here; render() accumulates them as Prometheus wants.
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    if (i < DURATION_BUCKETS.length) h.buckets[i]!++;
    h.sum += seconds;
    h.count++;
    if (cacheHit) this.#cacheHits++;
    else this.#cacheMisses++;
  }

  state(): MetricsState {
    return {
      servers: [...this.#servers],
      plugins: [...this.#plugins],
      requests: [...this.#requests],
      responses: [...this.#responses],
      durations: [...this.#durations],
      cacheHits: this.#cacheHits,
      cacheMisses: this.#cacheMisses,
    };
  }

  /** Add another process's counters, matching servers and plugins by name. */
  merge(other: MetricsState): void {
    const srv = other.servers.map((name) => this.serverId(name));
    const plg = other.plugins.map((name) => this.#pluginId(name));
    const add = (map: Map<number, number>, key: number, v: number) => map.set(key, (map.get(key) ?? 0) + v);
    for (const [key, v] of other.requests) {
      const server = Math.floor(key / 65536 / 8);
      add(this.#requests, key + (srv[server]! - server) * 8 * 65536, v);
    }
    for (const [key, v] of other.responses) {
      const server = Math.floor(key / 64 / 4096);
      const plugin = key % 64;
      add(this.#responses, (srv[server]! * 4096 + (Math.floor(key / 64) % 4096)) * 64 + plg[plugin]!, v);
    }
    for (const [key, h] of other.durations) {
      const mapped = srv[Math.floor(key / 65536)]! * 65536 + (key % 65536);
      const mine = this.#durations.get(mapped);
      if (!mine) {
        this.#durations.set(mapped, { buckets: [...h.buckets], sum: h.sum, count: h.count });
        continue;
      }
      h.buckets.forEach((b, i) => {
        mine.buckets[i]! += b;
      });
      mine.sum += h.sum;
      mine.count += h.count;
    }
    this.#cacheHits += other.cacheHits;
    this.#cacheMisses += other.cacheMisses;
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  render(): string {
    const out: string[] = [];
    const server = (i: number) => this.#servers[i] ?? '';
    out.push('# HELP coredns_dns_requests_total Counter of DNS requests made per zone, protocol and family.');
    out.push('# TYPE coredns_dns_requests_total counter');
    for (const [key, v] of this.#requests) {
      const qtype = key % 65536;
      const rest = Math.floor(key / 65536);
      const family = rest % 4;
      const proto = Math.floor(rest / 4) % 2 ? 'tcp' : 'udp';
      const srv = Math.floor(rest / 8);
      const l = { server: server(srv), zone: '.', view: '', proto, family: String(family), type: monitoredType(qtype) };
      out.push(`coredns_dns_requests_total${labels(l)} ${v}`);
    }
    out.push('# HELP coredns_dns_responses_total Counter of response status codes.');
    out.push('# TYPE coredns_dns_responses_total counter');
    for (const [key, v] of this.#responses) {
      const plugin = this.#plugins[key % 64] ?? '';
      const rcode = Math.floor(key / 64) % 4096;
      const srv = Math.floor(key / 64 / 4096);
      out.push(
        `coredns_dns_responses_total${labels({ server: server(srv), zone: '.', view: '', rcode: rcodeName(rcode), plugin })} ${v}`,
      );
    }
    out.push(
      '# HELP coredns_dns_request_duration_seconds Histogram of the time (in seconds) each request took per zone.',
    );
    out.push('# TYPE coredns_dns_request_duration_seconds histogram');
    for (const [key, h] of this.#durations) {
      const base = { server: server(Math.floor(key / 65536)), zone: '.', view: '', type: monitoredType(key % 65536) };
      let cumulative = 0;
      DURATION_BUCKETS.forEach((le, i) => {
        cumulative += h.buckets[i]!;
        out.push(`coredns_dns_request_duration_seconds_bucket${labels({ ...base, le: String(le) })} ${cumulative}`);
      });
      out.push(`coredns_dns_request_duration_seconds_bucket${labels({ ...base, le: '+Inf' })} ${h.count}`);
      out.push(`coredns_dns_request_duration_seconds_sum${labels(base)} ${h.sum}`);
      out.push(`coredns_dns_request_duration_seconds_count${labels(base)} ${h.count}`);
    }
    const first = server(0);
    out.push('# HELP coredns_cache_hits_total The count of cache hits.');
    out.push('# TYPE coredns_cache_hits_total counter');
    out.push(
      `coredns_cache_hits_total${labels({ server: first, type: 'success', view: '', zones: '.' })} ${this.#cacheHits}`,
    );
    out.push('# HELP coredns_cache_misses_total The count of cache misses.');
    out.push('# TYPE coredns_cache_misses_total counter');
    out.push(`coredns_cache_misses_total${labels({ server: first, view: '', zones: '.' })} ${this.#cacheMisses}`);
    return `${out.join('\n')}\n`;
  }
}
