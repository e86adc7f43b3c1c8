/**
 * kube-proxy's UDP conntrack cleanup (pkg/proxy/conntrack/cleanup.go, CleanStaleEntries), as on upstream's main
 * branch: UDP has no close, so an entry whose endpoint went away, or one created while the Service could not answer,
 * would keep black-holing the client's packets for as long as the client keeps sending. After every sync kube-proxy
 * lists the UDP entries and deletes those whose original destination is a Service frontend (ClusterIP, LB IP or
 * externalIP with the Service port; or any address with the NodePort) while their reply source is not a *serving*
 * endpoint (`ip:port`) of that Service port.
 *
 * - Every serving endpoint counts: traffic policy, topology and terminating state are ignored, so changing them does
 *   not break existing flows (as for TCP). The endpoint's port counts too (since 1.34, kubernetes#130542), so a
 *   changed targetPort moves its flows.
 * - A Service port with no serving endpoint, and one deleted in this sync, has every entry to its frontends deleted
 *   (kubernetes#139629 and #141371, 2026; from 1.32 until then such ports were skipped and their flows lingered). A
 *   frontend a live port still has is the live port's to judge: a port renamed in place, or one whose frontend
 *   another port took over, keeps the flows the live port serves (upstream fills its filter with the deleted ports
 *   first, so the live ones overwrite them).
 * - The pass covers every UDP Service port at each sync, so an entry created since the last one (to a NodePort on
 *   an address that is no Service's, say) goes at the next change of any Service.
 */
import { type Conntrack, type ConntrackEntry, entryFamily } from './conntrack.js';
import type { ServicePortEntry } from './service-table.js';

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
  const gone = [...deleted].filter((entry) => entry.info.protocol === 'UDP');
  /**
   * The frontends of live UDP ports, by family (`family|ip|port`, no ip for a NodePort on any address): kept only
   * when a port went this sync, as only its sweep reads them (most syncs delete nothing).
   */
  const liveFrontends = gone.length > 0 ? new Set<string>() : null;
  const sweep = (entry: ServicePortEntry, serving: ReadonlySet<string> | null): void => {
    const info = entry.info;
    // `ip` null: a NodePort, on any address.
    const frontend = (ip: string | null, port: number, entries: readonly ConntrackEntry[]): void => {
      if (liveFrontends !== null) {
        const scoped = `${info.family}|${ip ?? ''}|${port}`;
        if (serving !== null) liveFrontends.add(scoped);
        else if (liveFrontends.has(scoped)) return;
      }
      for (const e of entries) {
        // One pass per family, as upstream lists one family's entries (a NodePort is shared by both).
        if (entryFamily(e) !== info.family) continue;
        if (!serving?.has(endpointKey(e.replySrc.ip, e.replySrc.port))) stale.add(e);
      }
    };
    for (const ip of [info.clusterIP, ...info.loadBalancerVIPs, ...info.externalIPs])
      frontend(ip, info.port, ct.udpEntriesTo(ip, info.port));
    if (info.nodePort !== 0) frontend(null, info.nodePort, ct.udpEntriesToPort(info.nodePort));
  };
  for (const entry of live) {
    if (entry.info.protocol !== 'UDP') continue;
    const serving = new Set<string>();
    for (const ep of entry.endpoints) if (ep.serving) serving.add(endpointKey(ep.ip, ep.port));
    sweep(entry, serving);
  }
  // null: no endpoint serves a deleted port, and its frontends that a live port has were judged above.
  for (const entry of gone) sweep(entry, null);
  for (const e of stale) ct.delete(e);
  return [...stale];
}
