/**
 * kube-proxy's UDP conntrack cleanup (pkg/proxy/conntrack/cleanup.go, CleanStaleEntries), as on upstream's main
 * branch: UDP has no close, so an entry whose endpoint went away, or one created while the Service could not answer,
 * would keep black-holing the client's packets for as long as the client keeps sending. After every sync kube-proxy
 * lists the UDP entries and deletes those whose original destination is a Service frontend (ClusterIP, LB IP or
 * externalIP with the Service port; or any address with the NodePort) while their reply source is not a *serving*
 * endpoint (`ip:port`) of that Service port.
 *
 * - Every serving endpoint counts: traffic policy, topology and terminating state are ignored, so changing them does
 *   not break existing flows (as for TCP). The endpoint's port counts too (since 1.33, kubernetes#130542), so a
 *   changed targetPort moves its flows.
 * - A Service port with no serving endpoint, and one deleted in this sync, has every entry to its frontends deleted
 *   (kubernetes#139629 and #141371, 2026; from 1.32 until then such ports were skipped and their flows lingered).
 * - The pass covers every UDP Service port at each sync, so an entry created since the last one (to a NodePort on
 *   an address that is no Service's, say) goes at the next change of any Service.
 */
import { type Conntrack, type ConntrackEntry, entryFamily } from './conntrack.js';
import type { ServicePortEntry } from './service-table.js';

const NONE: ReadonlySet<string> = new Set();
const endpointKey = (ip: string, port: number): string => `${ip}|${port}`;

/**
 * One sync's pass: `live` are the Service ports now in the table (any protocol; only UDP ones are read), `deleted`
 * the ports this sync removed. Returns the deleted entries.
 */
export function cleanStaleUdpEntries(
  ct: Conntrack,
  live: Iterable<ServicePortEntry>,
  deleted: Iterable<ServicePortEntry> = [],
): ConntrackEntry[] {
  const stale = new Set<ConntrackEntry>();
  const sweep = (entry: ServicePortEntry, serving: ReadonlySet<string>): void => {
    const info = entry.info;
    const consider = (e: ConntrackEntry): void => {
      // One pass per family, as upstream lists one family's entries (a NodePort is shared by both).
      if (entryFamily(e) !== info.family) return;
      if (!serving.has(endpointKey(e.replySrc.ip, e.replySrc.port))) stale.add(e);
    };
    for (const ip of [info.clusterIP, ...info.loadBalancerVIPs, ...info.externalIPs])
      for (const e of ct.udpEntriesTo(ip, info.port)) consider(e);
    if (info.nodePort !== 0) for (const e of ct.udpEntriesToPort(info.nodePort)) consider(e);
  };
  for (const entry of live) {
    if (entry.info.protocol !== 'UDP') continue;
    const serving = new Set<string>();
    for (const ep of entry.endpoints) if (ep.serving) serving.add(endpointKey(ep.ip, ep.port));
    sweep(entry, serving);
  }
  for (const entry of deleted) if (entry.info.protocol === 'UDP') sweep(entry, NONE);
  for (const e of stale) ct.delete(e);
  return [...stale];
}
