/**
 * The userspace proxier's claims on the node's own addresses (proxier.go claimNodePort / releaseNodePort).
 *
 * A portal whose address is one of the node's (an externalIP or LB ingress IP that is a node address) first claims
 * that address, port and protocol for its Service port, holding a socket on it so nothing else takes it. A Service
 * port claiming what another already holds fails ("Port conflict detected"), and openPortal returns at that address:
 * neither its portal nor any after it, NodePort included, is installed. Claiming again for the same owner is no
 * error. Closing a portal releases only what its own Service port holds; a port that lost a conflict tries again at
 * every sync (open-portal.ts).
 */
import type { Protocol } from '../../model/types.js';
import { hostPort } from '../packet.js';

export class PortClaims {
  /** Owner (ServicePortName, without the protocol) by `protocol|address|port`. */
  readonly #owners = new Map<string, string>();

  /** Claim for `owner`; returns the conflict as upstream words it, or null when the claim holds. */
  claim(protocol: Protocol, ip: string, port: number, owner: string): string | null {
    const key = claimKey(protocol, ip, port);
    const holder = this.#owners.get(key);
    if (holder === undefined) {
      this.#owners.set(key, owner);
      return null;
    }
    if (holder === owner) return null;
    return `Port conflict detected on port ${hostPort(ip, port)}/${protocol}.  ${owner} vs ${holder}`;
  }

  /** Whether `owner` holds the claim. */
  holds(protocol: Protocol, ip: string, port: number, owner: string): boolean {
    return this.#owners.get(claimKey(protocol, ip, port)) === owner;
  }

  /** Release a claim `owner` holds; another owner's is left alone (releaseNodePort's "unowned unlock"). */
  release(protocol: Protocol, ip: string, port: number, owner: string): void {
    const key = claimKey(protocol, ip, port);
    if (this.#owners.get(key) === owner) this.#owners.delete(key);
  }
}

function claimKey(protocol: Protocol, ip: string, port: number): string {
  return `${protocol}|${ip}|${port}`;
}
