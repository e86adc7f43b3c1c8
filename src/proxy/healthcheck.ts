/**
 * kube-proxy's service health server (pkg/proxy/healthcheck/service_health.go): for every LoadBalancer Service with
 * externalTrafficPolicy Local, one HTTP listener on its healthCheckNodePort answering on every node. Load balancers
 * probe it to learn which nodes have local endpoints.
 *
 * - 200 when the Service has at least one local *ready* endpoint on this node and kube-proxy is healthy, else 503.
 *   Terminating endpoints do not count, even serving ones (TestHealthCheckNodePortWhenTerminating).
 * - The count is EndpointsMap.LocalReadyEndpoints(): the distinct IPs of local ready endpoints over all the Service's
 *   ports (10.0.0.1:80 and 10.0.0.1:443 are one endpoint, as upstream's comment says), in one IP family. The ports
 *   are the slices' own, so a port only the slices list counts too.
 * - Headers: Content-Type application/json, X-Content-Type-Options nosniff, X-Load-Balancing-Endpoint-Weight = count
 *   (the handler's, in the sorted order Go writes them), then Content-Length, which Go's server adds for a body the
 *   handler wrote whole. Go's server also adds Date; the model has no wall clock, so it is left out.
 * - Body: the JSON below, tab-indented, without a trailing newline (upstream dedents a Go template).
 */
import type { IPFamily } from '../model/types.js';
import type { ServiceTable } from './service-table.js';

export interface HealthCheckResponse {
  readonly status: 200 | 503;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The local ready endpoints counted. */
  readonly localEndpoints: number;
  /** `ns/name` of the Service. */
  readonly service: string;
}

export interface HealthCheckOptions {
  /** kube-proxy's own health (its /healthz): false makes every answer 503. Default true. */
  readonly proxyHealthy?: boolean;
  /** Family whose endpoints count (default: the first family the table tracks that has the Service). */
  readonly family?: IPFamily;
}

/**
 * The answer on `healthCheckNodePort` of this node, or null when no Service uses that port (nothing listens:
 * the connection is refused).
 */
export function healthCheck(
  table: ServiceTable,
  nodePort: number,
  options: HealthCheckOptions = {},
): HealthCheckResponse | null {
  for (const family of options.family ? [options.family] : table.families) {
    for (const entry of table.ports(family)) {
      if (entry.info.healthCheckNodePort === nodePort) return respond(table, entry.serviceKey, family, options);
    }
  }
  return null;
}

/** The health answer for a Service (`ns/name`), or null when it has no health check on this table. */
export function serviceHealth(
  table: ServiceTable,
  serviceKey: string,
  options: HealthCheckOptions = {},
): HealthCheckResponse | null {
  for (const family of options.family ? [options.family] : table.families) {
    const ports = table.portsOfService(family, serviceKey);
    if (ports.some((p) => p.info.healthCheckNodePort !== 0)) return respond(table, serviceKey, family, options);
  }
  return null;
}

function respond(
  table: ServiceTable,
  serviceKey: string,
  family: IPFamily,
  options: HealthCheckOptions,
): HealthCheckResponse {
  const count = table.localReadyEndpointIPs(family, serviceKey).size;
  const healthy = options.proxyHealthy ?? true;
  const slash = serviceKey.indexOf('/');
  const namespace = serviceKey.slice(0, slash);
  const name = serviceKey.slice(slash + 1);
  const body = [
    '{',
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(namespace)},`,
    `\t\t"name": ${JSON.stringify(name)}`,
    '\t},',
    `\t"localEndpoints": ${count},`,
    `\t"serviceProxyHealthy": ${healthy}`,
    '}',
  ].join('\n');
  return {
    status: count !== 0 && healthy ? 200 : 503,
    headers: {
      'Content-Type': 'application/json',
      'X-Content-Type-Options': 'nosniff',
      'X-Load-Balancing-Endpoint-Weight': String(count),
      'Content-Length': String(Buffer.byteLength(body)),
    },
    body,
    localEndpoints: count,
    service: serviceKey,
  };
}
