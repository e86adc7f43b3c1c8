/**
 * kube-proxy's UDP conntrack cleanup (pkg/proxy/conntrack/cleanup.go, CleanStaleEntries, 1.31+): UDP has no close,
 * so an entry whose endpoint went away, or one created while the Service could not answer, would keep black-holing
 * the client's packets until it times out. After each sync kube-proxy lists UDP entries and deletes those whose
 * original destination is a Service frontend (ClusterIP, LB IP or externalIP with the Service port; or any address
 * with the NodePort) while their reply source is not the IP of a *serving* endpoint of that Service port.
 *
 * - Only endpoint IPs are compared (not ports), and every serving endpoint counts: traffic policy, topology and
 *   terminating state are ignored, so changing them does not break existing flows (as for TCP).
 * - A Service port without serving endpoints is left alone.
 * - Frontends that no longer belong to any Service (a deleted Service, an old ClusterIP) are not touched: their
 *   entries simply expire. (Releases before 1.31 also flushed deleted UDP ClusterIPs; see DeletedUDPClusterIPs.)
 *
 * Engines run `reconcileUdpService` for each changed UDP Service port: the same result as upstream's full pass, since
 * entries of unchanged Services cannot have become stale.
 */
import type { Conntrack, ConntrackEntry } from './conntrack.js';
import type { ServicePortEntry } from './service-table.js';

/** Delete the stale UDP entries of one Service port; returns the deleted entries. */
export function reconcileUdpService(ct: Conntrack, entry: ServicePortEntry): ConntrackEntry[] {
  const info = entry.info;
  if (info.protocol !== 'UDP') return [];
  const serving = new Set<string>();
  for (const ep of entry.endpoints) if (ep.serving) serving.add(ep.ip);
  if (serving.size === 0) return [];
  const stale: ConntrackEntry[] = [];
  const consider = (e: ConntrackEntry) => {
    if (!serving.has(e.replySrc.ip) && !stale.includes(e)) stale.push(e);
  };
  for (const ip of [info.clusterIP, ...info.loadBalancerVIPs, ...info.externalIPs])
    for (const e of ct.udpEntriesTo(ip, info.port)) consider(e);
  if (info.nodePort !== 0) for (const e of ct.udpEntriesToPort(info.nodePort)) consider(e);
  for (const e of stale) ct.delete(e);
  return stale;
}

/** The full pass over every UDP Service port of a family (what one kube-proxy sync does). */
export function reconcileUdp(ct: Conntrack, entries: Iterable<ServicePortEntry>): ConntrackEntry[] {
  const deleted: ConntrackEntry[] = [];
  for (const entry of entries) deleted.push(...reconcileUdpService(ct, entry));
  return deleted;
}
