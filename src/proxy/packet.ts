/**
 * Packets as kube-proxy's data planes see them: an L4 protocol and two endpoints, nothing else. Payload, TTL and TCP
 * flags play no part in Service NAT; a connection's life (new, established, closing) comes from conntrack and from
 * the engine calls (`send`, `reply`, `close`), not from flags.
 *
 * Addresses are canonical text (`10.96.0.1`, `fd00::1`), as the service table stores them, so a string compare is an
 * address compare. `ip:port` text puts IPv6 in brackets (`[fd00::1]:80`), as Go's net.JoinHostPort does and as
 * kube-proxy prints endpoints in rules.
 */
import type { IPFamily, Protocol } from '../model/types.js';
import { addressKey } from './tuple-table.js';

/** One end of a packet. */
export interface Address {
  readonly ip: string;
  readonly port: number;
  /**
   * `addressKey(ip)`, present on addresses built by `address()`. Engines key conntrack and their indexes by it; without
   * it they read the text on every packet. Not enumerable: a keyed address prints, compares and serializes as
   * `{ ip, port }`.
   */
  readonly key?: number;
}

/**
 * An address whose numeric key is computed once, here, instead of on every packet that carries it: what a traffic
 * generator that sends many packets per flow (benchmarks, `trace --count`) builds its packets from. A real kernel
 * never reads address text, so this is the per-packet cost kube-proxy's data planes actually have.
 */
export function address(ip: string, port: number): Address {
  // Written in the literal, then hidden: the key stays in the object itself (adding it with defineProperty would
  // put it in a separate property store, one more memory read per packet). One hidden property only: each
  // defineProperty reconfigures the object's shape (~0.7 µs), and a 10,000-Service table builds 100,000 of these.
  // (A private field is cheaper to add, but the `#key in a` check each read then needs cost about a sixth of the
  // established-flow rate.)
  const a = { ip, port, key: addressKey(ip) };
  Object.defineProperty(a, 'key', { enumerable: false });
  return a;
}

/** `addressKey` of an address: the key it was built with (`address()`), else computed from its text. */
export function keyOf(a: { readonly ip: string; readonly key?: number }): number {
  const k = a.key;
  return k !== undefined ? k : addressKey(a.ip);
}

/** A packet. Engines never mutate one: a rewrite returns a new packet. */
export interface Packet {
  readonly proto: Protocol;
  readonly src: Address;
  readonly dst: Address;
}

/**
 * Where a packet enters the node whose engine handles it, derived by the caller from the topology:
 * - `pod`: sent by a pod (not host-network) running on this node; `pod` is `ns/name`. In iptables terms the packet
 *   arrives from a veth and traverses nat PREROUTING, then filter FORWARD.
 * - `node`: sent by the node itself or a host-network pod (nat OUTPUT, filter OUTPUT); its source is one of the
 *   node's own addresses or loopback.
 * - `external`: arrives from outside (another node, a client, a load balancer) on a node interface (nat PREROUTING,
 *   then filter INPUT or FORWARD).
 */
export type Origin =
  | { readonly from: 'pod'; readonly pod: string }
  | { readonly from: 'node' }
  | { readonly from: 'external' };

/** The family of canonical address text: IPv6 text always has a colon, IPv4 text never does. */
export function familyOf(ip: string): IPFamily {
  return ip.includes(':') ? 'IPv6' : 'IPv4';
}

/** `ip:port`, bracketing IPv6 (`[fd00::1]:80`), as Go's net.JoinHostPort and kube-proxy's endpoint strings. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `hostPort` of an Address. */
export function formatAddress(address: Address): string {
  return hostPort(address.ip, address.port);
}

/** The inverse of `hostPort`; `undefined` when the text is not `ip:port` / `[ip]:port` with a port in 0..65535. */
export function parseHostPort(text: string): Address | undefined {
  let ip: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']:');
    if (close < 0) return undefined;
    ip = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0 || text.indexOf(':') !== colon) return undefined;
    ip = text.slice(0, colon);
    portText = text.slice(colon + 1);
  }
  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port > 65535 || ip === '') return undefined;
  return { ip, port };
}

/** The same packet with keyed addresses (`address()`). */
export function keyedPacket(p: Packet): Packet {
  return { proto: p.proto, src: address(p.src.ip, p.src.port), dst: address(p.dst.ip, p.dst.port) };
}

/** A packet from parts. */
export function packet(proto: Protocol, src: Address, dst: Address): Packet {
  return { proto, src, dst };
}

/** The packet going the other way: source and destination swapped. */
export function reversed(p: Packet): Packet {
  return { proto: p.proto, src: p.dst, dst: p.src };
}

/** `TCP 10.0.0.1:1234 -> 10.96.0.1:80`: how traces and errors print a packet. */
export function describePacket(p: Packet): string {
  return `${p.proto} ${formatAddress(p.src)} -> ${formatAddress(p.dst)}`;
}

/**
 * The 5-tuple as one string, the key conntrack files a flow under. Built by plain concatenation (no brackets needed:
 * the separators cannot occur inside an address) because it is on every packet's path.
 */
export function tupleKey(proto: Protocol, srcIp: string, srcPort: number, dstIp: string, dstPort: number): string {
  return `${proto} ${srcIp} ${srcPort} ${dstIp} ${dstPort}`;
}

/** `tupleKey` of a packet. */
export function packetKey(p: Packet): string {
  return tupleKey(p.proto, p.src.ip, p.src.port, p.dst.ip, p.dst.port);
}
