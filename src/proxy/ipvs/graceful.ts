/**
 * kube-proxy's graceful termination of IPVS real servers (pkg/proxy/ipvs/graceful_termination.go):
 *
 * - When an endpoint leaves a virtual server, kube-proxy first tries to delete the real server outright: it succeeds
 *   for UDP and SCTP (existing flows are then expired on their next packet, expire_nodest_conn = 1) and for a real
 *   server with ActiveConn + InActConn = 0. Otherwise it sets the weight to 0 (quiesced: schedulers skip it, established
 *   connections continue) and puts it on a list.
 * - Every minute (rsCheckDeleteInterval; the first check runs when the proxier starts) each listed real server is
 *   deleted once its connections are gone.
 * - If the endpoint comes back while listed, the quiesced real server is deleted at once and added again (weight 1):
 *   the kernel takes the same destination back out of its trash and puts it at the head of the list, so its
 *   connections carry on.
 *
 * Checks run on the simulated clock, every minute; between two calls only the last due check runs (see `advance`).
 */
import type { Dest } from './schedulers/types.js';
import type { LiveVirtualServer } from './virtual-server.js';

/** rsCheckDeleteInterval, seconds. */
export const RS_CHECK_DELETE_INTERVAL = 60;

interface Listed {
  readonly vs: LiveVirtualServer;
  readonly dest: Dest;
  readonly since: number;
}

/** The graceful-termination list of one proxier. */
export class GracefulTermination {
  readonly interval: number;
  readonly #list = new Map<string, Listed>();
  #nextCheck: number | undefined;

  constructor(interval = RS_CHECK_DELETE_INTERVAL) {
    this.interval = interval;
  }

  static key(vs: LiveVirtualServer, dest: Dest): string {
    return `${vs.spec.key}/${dest.key}`;
  }

  /** Real servers waiting for their connections to drain. */
  get size(): number {
    return this.#list.size;
  }

  inList(vs: LiveVirtualServer, dest: Dest): boolean {
    return this.#list.has(GracefulTermination.key(vs, dest));
  }

  /** When a listed real server was quiesced, or undefined. */
  since(vs: LiveVirtualServer, dest: Dest): number | undefined {
    return this.#list.get(GracefulTermination.key(vs, dest))?.since;
  }

  /** GracefulDeleteRS: delete now if possible, else quiesce (weight 0) and list. Returns what happened. */
  remove(vs: LiveVirtualServer, dest: Dest, now: number): 'deleted' | 'quiesced' {
    if (this.#tryDelete(vs, dest, now)) return 'deleted';
    vs.setWeight(dest, 0);
    this.#list.set(GracefulTermination.key(vs, dest), { vs, dest, since: now });
    return 'quiesced';
  }

  /** MoveRSOutofGracefulDeleteList: the endpoint is back; delete the quiesced real server (the add revives it). */
  moveOut(vs: LiveVirtualServer, dest: Dest): void {
    vs.deleteDest(dest);
    this.#list.delete(GracefulTermination.key(vs, dest));
  }

  /** Forget every listed real server of a virtual server that is being deleted. */
  forget(vs: LiveVirtualServer): void {
    for (const [k, item] of this.#list) if (item.vs === vs) this.#list.delete(k);
  }

  /**
   * Run the periodic checks due by `now` (the first one at the first time seen, as the manager starts with it). Only
   * the last check due is run: between two calls no packet arrives, so connections only expire, and a real server
   * with none left at an earlier check has none at the last one either (and nothing observes which check took it).
   */
  advance(now: number): void {
    if (this.#nextCheck === undefined) this.#nextCheck = now;
    if (this.#nextCheck > now) return;
    const at = this.#nextCheck + Math.floor((now - this.#nextCheck) / this.interval) * this.interval;
    for (const [k, item] of this.#list) {
      if (!item.vs.dest(item.dest.key))
        this.#list.delete(k); // gone with its virtual server
      else if (this.#tryDelete(item.vs, item.dest, at)) this.#list.delete(k);
    }
    this.#nextCheck = at + this.interval;
  }

  #tryDelete(vs: LiveVirtualServer, dest: Dest, at: number): boolean {
    // IsRsGracefulTerminationNeeded: UDP and SCTP real servers are deleted at once, connections or not.
    const graceful = vs.spec.proto !== 'UDP' && vs.spec.proto !== 'SCTP';
    if (graceful && vs.connectionsAt(dest, at) !== 0) return false;
    vs.deleteDest(dest);
    return true;
  }
}
