/**
 * `--metrics ADDR:PORT`: Prometheus text on /metrics (CoreDNS's prometheus plugin), `OK` on /health (the health
 * plugin) and /ready (the ready plugin: 200 once the zone has synced, 503 naming the plugin that is not ready).
 */
import http from 'node:http';
import { formatAddress, listenTcpServer, parseListen } from './listeners.js';

/** Where /metrics and /ready get their answers: one server in process, or the merged state of its workers. */
export interface MetricsSource {
  metrics(): string | Promise<string>;
  ready(): boolean;
}

export async function serveMetrics(
  address: string,
  source: MetricsSource,
): Promise<{ address: string; close(): Promise<void> }> {
  const addr = parseListen(address, '--metrics');
  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      const text = await source.metrics();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(text);
    } else if (path === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('OK');
    } else if (path === '/ready') {
      const ready = source.ready();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(ready ? 'OK' : 'kubernetes');
    } else {
      res.writeHead(404);
      res.end('404 page not found\n');
    }
  });
  await listenTcpServer(server, addr);
  const bound = server.address() as import('node:net').AddressInfo;
  return {
    address: formatAddress(bound.address, bound.port),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
