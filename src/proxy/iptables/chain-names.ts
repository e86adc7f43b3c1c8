/**
 * kube-proxy's iptables chain names (pkg/proxy/iptables/proxier.go: portProtoHash, servicePortEndpointChainName).
 *
 * A Service port's chains share one hash: the first 16 characters of base32(sha256(servicePortName + protocol)),
 * where servicePortName is `ns/name:port` (or `ns/name` for an unnamed port) and protocol is lower case (`tcp`).
 * An endpoint's chain hashes servicePortName + protocol + `ip:port` (IPv6 bracketed). 16 base32 characters plus the
 * 9-character prefix stay within iptables' 28-character limit. Example: `ns1/svc1:p80` + `tcp` → KUBE-SVC-XPGD46QRK7WJZT7O.
 */
import * as crypto from 'node:crypto';
import type { Protocol } from '../../model/types.js';

/** RFC 4648's base32 alphabet (Go's base32.StdEncoding), as character codes. */
const BASE32 = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'].map((c) => c.charCodeAt(0));

/**
 * Base32 of the first 10 bytes of a hex digest: exactly the 16 characters kube-proxy keeps (10 bytes = 80 bits = 16
 * groups of 5 bits, so no padding reaches them). Read in 20-bit pieces (5 hex digits, 4 base32 characters) so plain
 * number arithmetic stays exact, and made into one string at the end: a render names 100,000 KUBE-SEP chains.
 */
function base32First16(hex: string): string {
  const c = new Array<number>(16);
  for (let piece = 0; piece < 4; piece++) {
    let bits = 0;
    for (let k = piece * 5; k < piece * 5 + 5; k++) bits = (bits << 4) | hexValue(hex.charCodeAt(k));
    for (let j = 0; j < 4; j++) c[piece * 4 + j] = BASE32[(bits >> (15 - 5 * j)) & 31]!;
  }
  return String.fromCharCode(...c);
}

/** A lower-case hex digit's value (node:crypto writes hex in lower case). */
function hexValue(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

/** The 16-character hash of a hash input string. */
export function chainHash(input: string): string {
  return base32First16(sha256Hex(input));
}

// crypto.hash (one-shot, Node ≥ 20.12) is faster than createHash for short inputs, and a hex string is much cheaper
// to return than a Buffer; fall back where it is missing.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;
function sha256Hex(input: string): string {
  return oneShot ? oneShot('sha256', input, 'hex') : crypto.createHash('sha256').update(input).digest('hex');
}

/** `tcp` / `udp` / `sctp`, as kube-proxy lower-cases the protocol for hashes and `-p`/`-m` arguments. */
export function lowerProtocol(protocol: Protocol): 'tcp' | 'udp' | 'sctp' {
  return protocol === 'TCP' ? 'tcp' : protocol === 'UDP' ? 'udp' : 'sctp';
}

/** The four per-Service-port chains. */
export interface ServiceChainNames {
  /** KUBE-SVC-: Cluster traffic policy endpoints. */
  readonly cluster: string;
  /** KUBE-SVL-: Local traffic policy endpoints. */
  readonly local: string;
  /** KUBE-EXT-: external destinations (NodePort, externalIPs, LB IPs). */
  readonly external: string;
  /** KUBE-FW-: loadBalancerSourceRanges firewall. */
  readonly firewall: string;
}

export function serviceChainNames(servicePortName: string, protocol: Protocol): ServiceChainNames {
  const hash = chainHash(servicePortName + lowerProtocol(protocol));
  return {
    cluster: `KUBE-SVC-${hash}`,
    local: `KUBE-SVL-${hash}`,
    external: `KUBE-EXT-${hash}`,
    firewall: `KUBE-FW-${hash}`,
  };
}

/** KUBE-SEP- chain of one endpoint (`ip:port`, IPv6 as `[ip]:port`) of a Service port. */
export function endpointChainName(servicePortName: string, protocol: Protocol, endpoint: string): string {
  return `KUBE-SEP-${chainHash(servicePortName + lowerProtocol(protocol) + endpoint)}`;
}

/**
 * KUBE-SEP names already computed, by Service port name, protocol and endpoint: keyed by the persistent `spn` and
 * endpoint-address strings (whose hashes V8 caches) rather than by a composite string built per lookup.
 */
export class SepNameCache {
  readonly #names = new Map<string, Partial<Record<Protocol, Map<string, string>>>>();

  name(servicePortName: string, protocol: Protocol, endpoint: string): string {
    let byProto = this.#names.get(servicePortName);
    if (byProto === undefined) {
      byProto = {};
      this.#names.set(servicePortName, byProto);
    }
    let names = byProto[protocol];
    if (names === undefined) {
      names = new Map();
      byProto[protocol] = names;
    }
    let name = names.get(endpoint);
    if (name === undefined) {
      name = endpointChainName(servicePortName, protocol, endpoint);
      names.set(endpoint, name);
    }
    return name;
  }
}
