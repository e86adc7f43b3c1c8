/** Prometheus series under CoreDNS's names and labels (plugin/metrics/vars), and merging a worker's counters. */
import test from 'ava';
import { DnsMetrics } from '../../../src/dns/server/metrics.js';

type Query = Parameters<DnsMetrics['observe']>[0];

function query(overrides: Partial<Query> = {}): Query {
  return {
    server: 0,
    proto: 'udp',
    family: 1,
    qtype: 1,
    rcode: 0,
    plugin: 'kubernetes',
    seconds: 0.0001,
    requestSize: 60,
    responseSize: 120,
    dnssecOk: false,
    cacheHit: false,
    denial: false,
    ...overrides,
  };
}

function metricsWith(...queries: Partial<Query>[]): string {
  const m = new DnsMetrics();
  m.serverId('dns://127.0.0.1:53');
  for (const q of queries) m.observe(query(q));
  return m.render();
}

/** The series of one metric name (sample lines only). */
function series(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

test('unmonitored types share one type="other" series (no duplicate series for Prometheus to reject)', (t) => {
  const text = metricsWith({ qtype: 64 }, { qtype: 257 }, { qtype: 1 });
  t.deepEqual(series(text, 'coredns_dns_requests_total'), [
    'coredns_dns_requests_total{server="dns://127.0.0.1:53",zone=".",view="",proto="udp",family="1",type="other"} 2',
    'coredns_dns_requests_total{server="dns://127.0.0.1:53",zone=".",view="",proto="udp",family="1",type="A"} 1',
  ]);
});

test('request duration is labelled by server, zone and view only', (t) => {
  const text = metricsWith({ qtype: 1 }, { qtype: 28 });
  const counts = series(text, 'coredns_dns_request_duration_seconds_count');
  t.deepEqual(counts, ['coredns_dns_request_duration_seconds_count{server="dns://127.0.0.1:53",zone=".",view=""} 2']);
});

test('request and response sizes per protocol, DO requests, cache hits by type', (t) => {
  const text = metricsWith(
    { requestSize: 50, responseSize: 600, dnssecOk: true },
    { proto: 'tcp', requestSize: 50, responseSize: 3000 },
    { cacheHit: true },
    { cacheHit: true, denial: true, rcode: 3 },
  );
  t.true(
    text.includes(
      'coredns_dns_response_size_bytes_bucket{server="dns://127.0.0.1:53",zone=".",view="",proto="udp",le="1023"} 3',
    ),
  );
  t.true(
    text.includes(
      'coredns_dns_response_size_bytes_bucket{server="dns://127.0.0.1:53",zone=".",view="",proto="tcp",le="2047"} 0',
    ),
  );
  t.true(
    text.includes('coredns_dns_request_size_bytes_count{server="dns://127.0.0.1:53",zone=".",view="",proto="udp"} 3'),
  );
  t.deepEqual(series(text, 'coredns_dns_do_requests_total'), [
    'coredns_dns_do_requests_total{server="dns://127.0.0.1:53",zone=".",view=""} 1',
  ]);
  t.deepEqual(series(text, 'coredns_cache_hits_total').sort(), [
    'coredns_cache_hits_total{server="dns://127.0.0.1:53",view="",zones=".",type="denial"} 1',
    'coredns_cache_hits_total{server="dns://127.0.0.1:53",view="",zones=".",type="success"} 1',
  ]);
  t.deepEqual(series(text, 'coredns_cache_misses_total'), [
    'coredns_cache_misses_total{server="dns://127.0.0.1:53",view="",zones="."} 2',
  ]);
});

test("merge: a worker's counters land on the primary's series of the same server", (t) => {
  const primary = new DnsMetrics();
  primary.serverId('dns://127.0.0.1:53');
  primary.observe(query());
  const worker = new DnsMetrics();
  worker.serverId('dns://[::1]:53');
  const shared = worker.serverId('dns://127.0.0.1:53');
  worker.observe(query({ server: shared, qtype: 64, dnssecOk: true }));
  worker.observe(query({ server: shared, rcode: 3 }));
  primary.merge(worker.state());
  const text = primary.render();
  t.deepEqual(series(text, 'coredns_dns_requests_total'), [
    'coredns_dns_requests_total{server="dns://127.0.0.1:53",zone=".",view="",proto="udp",family="1",type="A"} 2',
    'coredns_dns_requests_total{server="dns://127.0.0.1:53",zone=".",view="",proto="udp",family="1",type="other"} 1',
  ]);
  t.true(
    text.includes(
      'coredns_dns_responses_total{server="dns://127.0.0.1:53",zone=".",view="",rcode="NXDOMAIN",plugin="kubernetes"} 1',
    ),
  );
  t.true(text.includes('coredns_dns_request_duration_seconds_count{server="dns://127.0.0.1:53",zone=".",view=""} 3'));
  t.true(text.includes('coredns_dns_do_requests_total{server="dns://127.0.0.1:53",zone=".",view=""} 1'));
});
