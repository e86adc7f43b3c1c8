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
/** The buckets of coredns_dns_request_size_bytes and coredns_dns_response_size_bytes (plugin/metrics/vars). */
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];

/** CoreDNS labels common types by name and counts the rest as "other" (plugin/metrics/vars/monitor.go). */
const MONITORED_TYPES = [
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
  'other',
] as const;
const TYPE_SLOTS = MONITORED_TYPES.length;
const OTHER = TYPE_SLOTS - 1;
const typeSlots = new Map<number, number>();

/** The `type` label's slot of a query type: every unmonitored type shares the one "other" slot (one series). */
function typeSlot(qtype: number): number {
  let slot = typeSlots.get(qtype);
  if (slot === undefined) {
    const i = (MONITORED_TYPES as readonly string[]).indexOf(typeName(qtype));
    slot = i < 0 ? OTHER : i;
    typeSlots.set(qtype, slot);
  }
  return slot;
}

function labels(pairs: Record<string, string>): string {
  const escapeValue = (v: string) => v.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeValue(v)}"`)
    .join(',')}}`;
}

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

type Counters = [number, number][];
type Histograms = [number, Histogram][];

/** One answered query, for `observe` (a caller may reuse one object: nothing keeps it). */
export interface QueryObservation {
  server: number;
  proto: 'udp' | 'tcp';
  family: 1 | 2;
  qtype: number;
  rcode: number;
  plugin: string;
  seconds: number;
  requestSize: number;
  responseSize: number;
  dnssecOk: boolean;
  cacheHit: boolean;
  denial: boolean;
}

/** Counters as plain data: a worker sends its state, the primary merges them for /metrics. */
export interface MetricsState {
  servers: string[];
  plugins: string[];
  requests: Counters;
  responses: Counters;
  durations: Histograms;
  requestSizes: Histograms;
  responseSizes: Histograms;
  doRequests: Counters;
  cacheHits: Counters;
  cacheMisses: Counters;
}

/*
 * Keys are small integers with the server index as the most significant part (key = server · stride + rest), so a
 * worker's keys are re-based onto the primary's server indexes by arithmetic:
 * - requests: ((server · 2 + proto) · 4 + family) · TYPE_SLOTS + type
 * - responses: (server · 4096 + rcode) · 64 + plugin
 * - durations, do requests, cache misses: server; sizes: server · 2 + proto; cache hits: server · 2 + (denial ? 1 : 0)
 */
const REQUEST_STRIDE = 8 * TYPE_SLOTS;
const RESPONSE_STRIDE = 4096 * 64;

export class DnsMetrics {
  readonly #requests = new Map<number, number>();
  readonly #responses = new Map<number, number>();
  readonly #durations = new Map<number, Histogram>();
  readonly #requestSizes = new Map<number, Histogram>();
  readonly #responseSizes = new Map<number, Histogram>();
  readonly #doRequests = new Map<number, number>();
  readonly #cacheHits = new Map<number, number>();
  readonly #cacheMisses = new Map<number, number>();
  readonly #servers: string[] = [];
  readonly #plugins: string[] = [];

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

  /**
   * One answered query, as CoreDNS's vars.Report and the cache plugin count it. `cacheHit` is a hit of the cache
   * CoreDNS's `cache` plugin would have served (kubeadm's Corefile disables it for the cluster zone, so only
   * forwarded names can hit); `denial` says whether the answer was NXDOMAIN or NODATA.
   */
  observe(q: Readonly<QueryObservation>): void {
    const proto = q.proto === 'udp' ? 0 : 1;
    bump(this.#requests, ((q.server * 2 + proto) * 4 + q.family) * TYPE_SLOTS + typeSlot(q.qtype), 1);
    bump(this.#responses, (q.server * 4096 + q.rcode) * 64 + this.#pluginId(q.plugin), 1);
    record(this.#durations, q.server, DURATION_BUCKETS, q.seconds);
    record(this.#requestSizes, q.server * 2 + proto, SIZE_BUCKETS, q.requestSize);
    record(this.#responseSizes, q.server * 2 + proto, SIZE_BUCKETS, q.responseSize);
    if (q.dnssecOk) bump(this.#doRequests, q.server, 1);
    if (q.cacheHit) bump(this.#cacheHits, q.server * 2 + (q.denial ? 1 : 0), 1);
    else bump(this.#cacheMisses, q.server, 1);
  }

  state(): MetricsState {
    const copy = (m: Map<number, Histogram>): Histograms =>
      [...m].map(([k, h]) => [k, { buckets: [...h.buckets], sum: h.sum, count: h.count }]);
    return {
      servers: [...this.#servers],
      plugins: [...this.#plugins],
      requests: [...this.#requests],
      responses: [...this.#responses],
      durations: copy(this.#durations),
      requestSizes: copy(this.#requestSizes),
      responseSizes: copy(this.#responseSizes),
      doRequests: [...this.#doRequests],
      cacheHits: [...this.#cacheHits],
      cacheMisses: [...this.#cacheMisses],
    };
  }

  /** Add another process's counters, matching servers and plugins by name. */
  merge(other: MetricsState): void {
    const srv = other.servers.map((name) => this.serverId(name));
    const plg = other.plugins.map((name) => this.#pluginId(name));
    const rebase = (key: number, stride: number) => srv[Math.floor(key / stride)]! * stride + (key % stride);
    for (const [key, v] of other.requests) bump(this.#requests, rebase(key, REQUEST_STRIDE), v);
    for (const [key, v] of other.responses) {
      const rest = key % RESPONSE_STRIDE;
      const mapped = srv[Math.floor(key / RESPONSE_STRIDE)]! * RESPONSE_STRIDE + (rest - (rest % 64)) + plg[rest % 64]!;
      bump(this.#responses, mapped, v);
    }
    for (const [key, h] of other.durations) add(this.#durations, rebase(key, 1), h);
    for (const [key, h] of other.requestSizes) add(this.#requestSizes, rebase(key, 2), h);
    for (const [key, h] of other.responseSizes) add(this.#responseSizes, rebase(key, 2), h);
    for (const [key, v] of other.doRequests) bump(this.#doRequests, rebase(key, 1), v);
    for (const [key, v] of other.cacheHits) bump(this.#cacheHits, rebase(key, 2), v);
    for (const [key, v] of other.cacheMisses) bump(this.#cacheMisses, rebase(key, 1), v);
  }

  /** The Prometheus text exposition format (version 0.0.4). */
  render(): string {
    const out: string[] = [];
    const server = (i: number) => this.#servers[i] ?? '';
    const base = (srv: number) => ({ server: server(srv), zone: '.', view: '' });
    const protoOf = (p: number) => (p ? 'tcp' : 'udp');
    const header = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    header('coredns_dns_requests_total', 'counter', 'Counter of DNS requests made per zone, protocol and family.');
    for (const [key, v] of this.#requests) {
      const type = MONITORED_TYPES[key % TYPE_SLOTS]!;
      const rest = Math.floor(key / TYPE_SLOTS);
      const l = {
        ...base(Math.floor(rest / 8)),
        proto: protoOf(Math.floor(rest / 4) % 2),
        family: String(rest % 4),
        type,
      };
      out.push(`coredns_dns_requests_total${labels(l)} ${v}`);
    }
    header('coredns_dns_do_requests_total', 'counter', 'Counter of DNS requests with DO bit set per zone.');
    for (const [srv, v] of this.#doRequests) out.push(`coredns_dns_do_requests_total${labels(base(srv))} ${v}`);
    header('coredns_dns_responses_total', 'counter', 'Counter of response status codes.');
    for (const [key, v] of this.#responses) {
      const plugin = this.#plugins[key % 64] ?? '';
      const rcode = rcodeName(Math.floor(key / 64) % 4096);
      out.push(
        `coredns_dns_responses_total${labels({ ...base(Math.floor(key / RESPONSE_STRIDE)), rcode, plugin })} ${v}`,
      );
    }
    header(
      'coredns_dns_request_duration_seconds',
      'histogram',
      'Histogram of the time (in seconds) each request took per zone.',
    );
    for (const [srv, h] of this.#durations)
      histogram(out, 'coredns_dns_request_duration_seconds', base(srv), DURATION_BUCKETS, h);
    header(
      'coredns_dns_request_size_bytes',
      'histogram',
      'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.',
    );
    for (const [key, h] of this.#requestSizes)
      histogram(out, 'coredns_dns_request_size_bytes', { ...base(key >> 1), proto: protoOf(key & 1) }, SIZE_BUCKETS, h);
    header('coredns_dns_response_size_bytes', 'histogram', 'Size of the returned response in bytes.');
    for (const [key, h] of this.#responseSizes)
      histogram(
        out,
        'coredns_dns_response_size_bytes',
        { ...base(key >> 1), proto: protoOf(key & 1) },
        SIZE_BUCKETS,
        h,
      );
    const cacheLabels = (srv: number) => ({ server: server(srv), view: '', zones: '.' });
    header('coredns_cache_hits_total', 'counter', 'The count of cache hits.');
    for (const [key, v] of this.#cacheHits)
      out.push(
        `coredns_cache_hits_total${labels({ ...cacheLabels(key >> 1), type: key & 1 ? 'denial' : 'success' })} ${v}`,
      );
    header('coredns_cache_misses_total', 'counter', 'The count of cache misses.');
    for (const [srv, v] of this.#cacheMisses) out.push(`coredns_cache_misses_total${labels(cacheLabels(srv))} ${v}`);
    return `${out.join('\n')}\n`;
  }
}

function bump(map: Map<number, number>, key: number, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

/** Count `value` in the histogram at `key` (non-cumulative bucket counts; `histogram` accumulates them). */
function record(map: Map<number, Histogram>, key: number, bounds: readonly number[], value: number): void {
  let h = map.get(key);
  if (!h) {
    h = { buckets: bounds.map(() => 0), sum: 0, count: 0 };
    map.set(key, h);
  }
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  if (i < bounds.length) h.buckets[i]!++;
  h.sum += value;
  h.count++;
}

function add(map: Map<number, Histogram>, key: number, h: Histogram): void {
  const mine = map.get(key);
  if (!mine) {
    map.set(key, { buckets: [...h.buckets], sum: h.sum, count: h.count });
    return;
  }
  h.buckets.forEach((b, i) => {
    mine.buckets[i]! += b;
  });
  mine.sum += h.sum;
  mine.count += h.count;
}

function histogram(
  out: string[],
  name: string,
  base: Record<string, string>,
  bounds: readonly number[],
  h: Histogram,
): void {
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += h.buckets[i]!;
    out.push(`${name}_bucket${labels({ ...base, le: String(le) })} ${cumulative}`);
  });
  out.push(`${name}_bucket${labels({ ...base, le: '+Inf' })} ${h.count}`);
  out.push(`${name}_sum${labels(base)} ${h.sum}`);
  out.push(`${name}_count${labels(base)} ${h.count}`);
}
