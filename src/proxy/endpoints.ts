/**
 * Endpoints of a Service port as kube-proxy's EndpointSliceCache builds them (pkg/proxy/endpointslicecache.go):
 *
 * - slices belong to the Service named by their `kubernetes.io/service-name` label, and to one family by
 *   `addressType` (FQDN slices are ignored);
 * - each slice port (name + protocol) gives endpoints `addresses[0]:port`; a port without a number, or an endpoint
 *   without addresses or with an address of the other family, is ignored;
 * - conditions default as upstream: ready nil → true, serving nil → true, terminating nil → false;
 * - the same `ip:port` in two slices is kept once, the non-terminating copy winning (a pod IP reused while the old
 *   pod terminates);
 * - the list is sorted by the `ip:port` string, so "10.1.1.11:11" sorts before "10.1.1.1:11": this order is the
 *   order of the iptables probability cascade.
 */
import { parseIP } from '../cni/ip.js';
import type { EndpointSlice, IPFamily, Protocol } from '../model/types.js';
import { type Address, address, hostPort } from './packet.js';

/** One endpoint of one Service port, as seen from one node. Immutable. */
export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** `ip:port`, IPv6 bracketed: kube-proxy's Endpoint.String(), the sort key and the DNAT target text. */
  readonly address: string;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | null;
  readonly zone: string | null;
  /** On the node the table was built for. */
  readonly isLocal: boolean;
  /** hints.forZones names, or null when the endpoint has none. */
  readonly zoneHints: ReadonlySet<string> | null;
  /** hints.forNodes names, or null when the endpoint has none. */
  readonly nodeHints: ReadonlySet<string> | null;
  /** `ns/name` of the targetRef (usually the Pod), or null. */
  readonly target: string | null;
  /**
   * The endpoint as a packet address (`{ ip, port }`, keyed: packet.ts `address()`), one per endpoint: every flow
   * DNATed to it shares this object instead of a copy of its own.
   */
  readonly destination: Address;
}

/** A slice endpoint's facts, before a port makes it an EndpointInfo. */
export type SliceEndpoint = Omit<EndpointInfo, 'port' | 'address' | 'destination'>;

/** What the cache keeps of one slice: its family, ports and parsed endpoints (without the port number yet). */
export interface SliceData {
  readonly name: string;
  readonly family: IPFamily;
  readonly ports: readonly { readonly name: string; readonly protocol: Protocol; readonly port: number }[];
  readonly endpoints: readonly SliceEndpoint[];
}

/** The Service (`ns/name`) a slice belongs to, or undefined when it names none. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const name = slice.metadata.labels?.['kubernetes.io/service-name'];
  if (!name) return undefined;
  return `${slice.metadata.namespace ?? 'default'}/${name}`;
}

/** Parse a slice for the node `nodeName`; undefined for FQDN slices, which kube-proxy ignores. */
export function sliceData(slice: EndpointSlice, nodeName: string): SliceData | undefined {
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return undefined;
  const family = slice.addressType;
  const ports: { name: string; protocol: Protocol; port: number }[] = [];
  for (const p of slice.ports ?? []) {
    if (!p.port) continue; // upstream: "Ignoring invalid endpoint port"
    ports.push({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port });
  }
  const endpoints: SliceEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    const first = ep.addresses[0];
    if (first === undefined) continue;
    const parsed = parseIP(first);
    if (parsed?.family !== family) continue;
    const nodeName_ = ep.nodeName ?? null;
    endpoints.push({
      ip: parsed.text,
      ready: ep.conditions.ready ?? true,
      serving: ep.conditions.serving ?? true,
      terminating: ep.conditions.terminating ?? false,
      nodeName: nodeName_,
      zone: ep.zone ?? null,
      isLocal: nodeName !== '' && nodeName_ === nodeName,
      zoneHints: ep.hints?.forZones?.length ? new Set(ep.hints.forZones.map((z) => z.name)) : null,
      nodeHints: ep.hints?.forNodes?.length ? new Set(ep.hints.forNodes.map((n) => n.name)) : null,
      target: ep.targetRef
        ? `${ep.targetRef.namespace ?? slice.metadata.namespace ?? 'default'}/${ep.targetRef.name}`
        : null,
    });
  }
  return { name: slice.metadata.name, family, ports, endpoints };
}

/** Key of a Service port's endpoint list inside one Service: port name and protocol (ServicePortName's fields). */
export function portKey(portName: string, protocol: Protocol): string {
  return `${portName}/${protocol}`;
}

/**
 * Merge the slices of one Service and one family into sorted endpoint lists per port (`portKey`). Slices are taken in
 * name order so that which of two equal copies wins does not depend on arrival order.
 */
export function mergeSlices(slices: Iterable<SliceData>): Map<string, EndpointInfo[]> {
  const byPort = new Map<string, Map<string, EndpointInfo>>();
  const ordered = [...slices].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const slice of ordered) {
    for (const port of slice.ports) {
      const key = portKey(port.name, port.protocol);
      let set = byPort.get(key);
      if (!set) {
        set = new Map();
        byPort.set(key, set);
      }
      for (const ep of slice.endpoints) {
        const address = hostPort(ep.ip, port.port);
        if (set.has(address) && ep.terminating) continue; // the non-terminating copy wins
        set.set(address, endpointInfo(ep, port.port, address));
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, set] of byPort) {
    if (set.size === 0) continue;
    out.set(
      key,
      [...set.values()].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0)),
    );
  }
  return out;
}

/**
 * An endpoint of one port: the slice endpoint's facts plus port and address, in that property order (as a spread
 * would give). Written as a literal rather than `{ ...ep, port, address }`: freezing spread copies gave every object
 * its own hidden class (~400 bytes each, and every read of `ip`/`port`/`address` on a packet path megamorphic).
 */
function endpointInfo(ep: SliceEndpoint, port: number, text: string): EndpointInfo {
  return Object.freeze({
    ip: ep.ip,
    ready: ep.ready,
    serving: ep.serving,
    terminating: ep.terminating,
    nodeName: ep.nodeName,
    zone: ep.zone,
    isLocal: ep.isLocal,
    zoneHints: ep.zoneHints,
    nodeHints: ep.nodeHints,
    target: ep.target,
    port,
    address: text,
    destination: address(ep.ip, port),
  });
}
