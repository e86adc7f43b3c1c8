/**
 * The canonical form of a v1 Endpoints' subsets (pkg/api/v1/endpoints RepackSubsets), which the API server stores
 * and the mirroring controller starts from:
 * - an address is one (IP, targetRef uid), wherever it appears; its first occurrence gives its hostname, node and
 *   target;
 * - readiness is per address and port, and not-ready wins over ready;
 * - ports whose addresses (with their readiness) are the same end up in one subset, so subsets have disjoint ports;
 * - a subset without ports keeps its addresses, in a subset without ports.
 *
 * Order: addresses by IP then uid, as upstream sorts them; subsets by their first port (upstream sorts them by a
 * hash of their content, which only changes the order slices are written in).
 */
import { canonicalIP } from '../cni/ip.js';
import type { EndpointAddress, EndpointSubset, EndpointsPort } from '../model/types.js';

/** An address as the repack keys it: the IP (canonical) and the target's uid. */
function addressKey(address: EndpointAddress): string {
  return `${canonicalIP(address.ip) ?? address.ip}\0${address.targetRef?.uid ?? ''}`;
}

/** A port as a map key (its four fields); the empty key stands for "no ports". */
function portKey(port: EndpointsPort | undefined): string {
  if (port === undefined) return '';
  return `${port.name ?? ''}\0${port.protocol ?? ''}\0${port.port}\0${port.appProtocol ?? ''}`;
}

export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const addresses = new Map<string, EndpointAddress>();
  /** port key → (address key → ready), and the port itself. */
  const readiness = new Map<string, { port: EndpointsPort | undefined; ready: Map<string, boolean> }>();
  const note = (port: EndpointsPort | undefined, address: EndpointAddress, ready: boolean) => {
    const key = addressKey(address);
    if (!addresses.has(key)) addresses.set(key, address);
    const pk = portKey(port);
    let entry = readiness.get(pk);
    if (!entry) {
      entry = { port, ready: new Map() };
      readiness.set(pk, entry);
    }
    if (entry.ready.get(key) !== false) entry.ready.set(key, ready);
  };
  for (const subset of subsets) {
    const ports = subset.ports?.length ? subset.ports : [undefined];
    for (const port of ports) {
      for (const address of subset.addresses ?? []) note(port, address, true);
      for (const address of subset.notReadyAddresses ?? []) note(port, address, false);
    }
  }
  // Ports that share one set of (address, readiness) become one subset.
  const bySet = new Map<string, { ready: Map<string, boolean>; ports: EndpointsPort[] }>();
  for (const { port, ready } of readiness.values()) {
    const signature = [...ready]
      .map(([key, r]) => `${key}\0${r ? 1 : 0}`)
      .sort()
      .join('\n');
    let group = bySet.get(signature);
    if (!group) {
      group = { ready, ports: [] };
      bySet.set(signature, group);
    }
    if (port !== undefined) group.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const { ready, ports } of bySet.values()) {
    const keys = [...ready.keys()].sort(byAddressKey);
    const subset: EndpointSubset = {};
    const readyOnes = keys.filter((k) => ready.get(k)).map((k) => addresses.get(k)!);
    const notReady = keys.filter((k) => !ready.get(k)).map((k) => addresses.get(k)!);
    if (readyOnes.length) subset.addresses = readyOnes;
    if (notReady.length) subset.notReadyAddresses = notReady;
    if (ports.length) subset.ports = ports.sort((a, b) => a.port - b.port || portKey(a).localeCompare(portKey(b)));
    out.push(subset);
  }
  return out.sort((a, b) => (a.ports?.[0]?.port ?? 0) - (b.ports?.[0]?.port ?? 0));
}

function byAddressKey(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
