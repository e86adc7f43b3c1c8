/**
 * The address portals (ClusterIP, externalIPs, LB ingress IPs) by protocol, address and port, each key's portals in
 * the order their rules stand in the portal chains.
 *
 * Why a list, not one portal per key: two portals can share an address and port (a Service whose externalIP is its
 * own LB IP, or two Services given the same externalIP), and iptables takes the first rule that matches the packet.
 * An externalIP's rules match only traffic from outside or to a node address, so a packet that passes them reaches
 * the next portal's. openPortal appends its rules, so the order is the order they were added (`rank`).
 */
import type { Protocol } from '../../model/types.js';
import { DestIndex } from '../dest-index.js';
import type { Portal } from './state.js';

export class PortalIndex {
  readonly #first = new DestIndex<Portal>();

  /** The first portal of a destination whose address is already keyed (`addressKey`); `next` leads to the rest. */
  firstKey(proto: Protocol, ipKey: number, port: number): Portal | undefined {
    return this.#first.getKey(proto, ipKey, port);
  }

  first(proto: Protocol, ip: string, port: number): Portal | undefined {
    return this.#first.get(proto, ip, port);
  }

  /** File a portal at its address (`portal.addr`) and port in rule order. */
  add(proto: Protocol, port: number, portal: Portal): void {
    const addr = portal.addr!;
    const head = this.#first.get(proto, addr, port);
    if (head === undefined || before(portal, head)) {
      portal.next = head;
      this.#first.set(proto, addr, port, portal);
      return;
    }
    let at = head;
    while (at.next !== undefined && !before(portal, at.next)) at = at.next;
    portal.next = at.next;
    at.next = portal;
  }

  /** Take out the portals of Service port `owner` at an address and port. */
  remove(proto: Protocol, ip: string, port: number, owner: Portal['port']): void {
    let head = this.#first.get(proto, ip, port);
    while (head !== undefined && head.port === owner) head = head.next;
    for (let at = head; at !== undefined; at = at.next) while (at.next?.port === owner) at.next = at.next.next;
    if (head === undefined) this.#first.delete(proto, ip, port);
    else this.#first.set(proto, ip, port, head);
  }
}

/** Whether portal `a`'s rules stand before `b`'s: added earlier. */
function before(a: Portal, b: Portal): boolean {
  return a.rank < b.rank;
}
