/**
 * The order of the ports in an EndpointSlice. Upstream's reconciler keys endpoints by their port list
 * (k8s.io/endpointslice util `NewPortMapKey`), and to do so sorts that very list in place by each port's hash, so a
 * slice lists its ports in hash order, not the Service's. The hash is FNV-128a (hex, compared as text) of the port
 * as `dump.ForHash` prints it: spew's `%#v` of a discovery/v1 EndpointPort, whose fields are all pointers. Older
 * releases hashed the same text with MD5, which is why kube-dns's slice reads `9153,53,53` on those clusters and
 * `53,53,9153` on current ones.
 */
import type { EndpointPort } from '../model/types.js';

const FNV128_OFFSET = 0x6c62272e07bb014262b821756295c58dn;
const FNV128_PRIME = 0x0000000001000000000000000000013bn;
const MASK128 = (1n << 128n) - 1n;

/** Hash by printed port: a cluster has few distinct ports, and each pod of a Service asks for the same ones. */
const hashes = new Map<string, string>();

/** The ports in upstream's slice order (a new array). */
export function inSliceOrder(ports: readonly EndpointPort[]): EndpointPort[] {
  if (ports.length < 2) return [...ports];
  return ports
    .map((port) => ({ port, hash: portHash(port) }))
    .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0))
    .map((entry) => entry.port);
}

/** FNV-128a of the port as spew prints it, in hex. */
export function portHash(port: EndpointPort): string {
  const text = spewText(port);
  let hash = hashes.get(text);
  if (hash === undefined) {
    let h = FNV128_OFFSET;
    for (const byte of Buffer.from(text, 'utf8')) h = ((h ^ BigInt(byte)) * FNV128_PRIME) & MASK128;
    hash = h.toString(16).padStart(32, '0');
    hashes.set(text, hash);
  }
  return hash;
}

/** spew `%#v` of a discovery/v1 EndpointPort (package `v1`; strings unquoted, a nil pointer `<nil>`). */
export function spewText(port: EndpointPort): string {
  const field = (type: string, value: string | number | undefined) =>
    value === undefined ? `(*${type})<nil>` : `(*${type})${value}`;
  return (
    `(v1.EndpointPort){Name:${field('string', port.name)} Protocol:${field('v1.Protocol', port.protocol)} ` +
    `Port:${field('int32', port.port)} AppProtocol:${field('string', port.appProtocol)}}`
  );
}
