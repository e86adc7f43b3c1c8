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

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding) of the first 10 bytes: exactly the 16 characters kube-proxy keeps. */
function base32First16(bytes: Uint8Array): string {
  let out = '';
  // 10 bytes = 80 bits = 16 groups of 5 bits: no padding can reach them. Two 40-bit blocks, split in 20-bit halves
  // so plain number arithmetic stays exact.
  for (let block = 0; block < 10; block += 5) {
    const hi = (bytes[block]! << 12) | (bytes[block + 1]! << 4) | (bytes[block + 2]! >> 4);
    const lo = ((bytes[block + 2]! & 15) << 16) | (bytes[block + 3]! << 8) | bytes[block + 4]!;
    out += BASE32[(hi >> 15) & 31]! + BASE32[(hi >> 10) & 31]! + BASE32[(hi >> 5) & 31]! + BASE32[hi & 31]!;
    out += BASE32[(lo >> 15) & 31]! + BASE32[(lo >> 10) & 31]! + BASE32[(lo >> 5) & 31]! + BASE32[lo & 31]!;
  }
  return out;
}

/** The 16-character hash of a hash input string. */
export function chainHash(input: string): string {
  return base32First16(sha256(input));
}

// crypto.hash (one-shot, Node ≥ 20.12) is faster than createHash for short inputs; fall back where it is missing.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'buffer') => Buffer }).hash;
function sha256(input: string): Uint8Array {
  return oneShot ? oneShot('sha256', input, 'buffer') : crypto.createHash('sha256').update(input).digest();
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
