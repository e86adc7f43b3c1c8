/**
 * The userspace proxier's claims (proxier.go claimNodePort / releaseNodePort).
 *
 * A portal whose address is one of the node's (an externalIP or LB ingress IP that is a node address) first claims
 * that address, port and protocol for its Service port, holding a socket on it so nothing else takes it; a NodePort is
 * claimed on no address (`''`, upstream's nil IP). A Service port claiming what another already holds fails ("Port
 * conflict detected"), and openPortal returns there (open-portal.ts). Claiming again for the same owner is no error;
 * closing a portal releases only what its own Service port holds.
 */
import type { Protocol } from '../../model/types.js';
import { hostPort } from '../packet.js';

/** The key of a claim: protocol, address (`''` for a NodePort) and port. */
export function claimKey(protocol: Protocol, ip: string, port: number): string {
  return `${protocol}|${ip}|${port}`;
}

/** What a claim names, as upstream prints its key: `ip:port/PROTO`, `:port/PROTO` for a NodePort. */
export function claimText(protocol: Protocol, ip: string, port: number): string {
  return `${ip === '' ? `:${port}` : hostPort(ip, port)}/${protocol}`;
}

export class PortClaims {
  /** Owner (ServicePortName, without the protocol) by claim key. */
  readonly #owners = new Map<string, string>();

  /** Claim for `owner`: null when the claim is (now) its own, else the Service port that holds it. */
  claim(key: string, owner: string): string | null {
    const holder = this.#owners.get(key);
    if (holder === undefined) {
      this.#owners.set(key, owner);
      return null;
    }
    return holder === owner ? null : holder;
  }

  /** Release a claim `owner` holds (another owner's is left alone: "unowned unlock"); returns whether it did. */
  release(key: string, owner: string): boolean {
    if (this.#owners.get(key) !== owner) return false;
    this.#owners.delete(key);
    return true;
  }
}
