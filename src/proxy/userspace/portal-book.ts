/**
 * The portal rules of the userspace engine's open ports, as packets meet them (the state's portal, NodePort and proxy
 * socket indexes), and the claims behind them: openPortal when a port opens, and ensurePortals at the end of every
 * sync (open-portal.ts).
 *
 * A port stopped by a claim another holds would stop there again at every sync until the holder lets go, so it waits
 * on that claim instead, and the holder's close, or a change of the node's addresses, hands it to the next sync.
 */
import type { NodeView } from '../node-view.js';
import { portalKey } from './connect.js';
import { claimKeysOf, withRules } from './open-portal.js';
import { PortClaims } from './port-claims.js';
import { ruleGroups } from './portals.js';
import type { OpenedPort } from './service-ports.js';
import type { Portal, UserspaceState } from './state.js';

export class PortalBook {
  readonly #st: UserspaceState;
  /** The engine's open ports by key; a port whose rules grow is replaced here by one showing them. */
  readonly #opened: Map<string, OpenedPort>;
  /** openPortal's context: localAddrs (as of the last sync's end), the claims, the rule counter. */
  readonly #context: { local: ReadonlySet<string>; claims: PortClaims; nextRank(): number };
  #rank = 0;
  /** Keys of open ports the next ensurePortals runs openPortal for: opened, woken, or all when localAddrs changed. */
  readonly #unsettled = new Set<string>();
  /** Open ports stopped by a claim another holds, by that claim's key. */
  readonly #waiting = new Map<string, Set<string>>();

  constructor(st: UserspaceState, opened: Map<string, OpenedPort>) {
    this.#st = st;
    this.#opened = opened;
    this.#context = { local: new Set(), claims: new PortClaims(), nextRank: () => ++this.#rank };
  }

  /** mergeService's openPortal for a port just opened: the port with the rules it got (index it once it is kept). */
  open(port: OpenedPort): OpenedPort {
    const next = withRules(port, this.#context);
    this.#unsettled.add(next.key);
    return next;
  }

  /** closePortal: the port's rules go, and what it claimed is released, which wakes the ports waiting for it. */
  close(o: OpenedPort): void {
    this.unindex(o);
    this.#unsettled.delete(o.key);
    const waitingOn = o.rules.failure?.key;
    if (waitingOn) this.#waiting.get(waitingOn)?.delete(o.key);
    const { local, claims } = this.#context;
    for (const key of claimKeysOf(o, local)) {
      if (!claims.release(key, o.name)) continue;
      for (const k of this.#waiting.get(key) ?? []) this.#unsettled.add(k);
      this.#waiting.delete(key);
    }
  }

  /**
   * ensurePortals, at the end of a sync: localAddrs read again (`nodeChanged`: every open port is looked at once more,
   * as its addresses may have become the node's or stopped being), then openPortal for every port that could get
   * further, in the order they were opened (upstream's was a Go map's, so of several ports waiting for one claim any
   * could win; here the oldest does).
   */
  ensure(node: NodeView, nodeChanged: boolean): void {
    const ctx = this.#context;
    const local = new Set([...node.addresses.IPv4, ...node.addresses.IPv6, '127.0.0.1', '::1']);
    if (nodeChanged || local.size !== ctx.local.size || [...local].some((ip) => !ctx.local.has(ip))) {
      ctx.local = local;
      for (const k of this.#opened.keys()) this.#unsettled.add(k);
      this.#waiting.clear();
    }
    if (this.#unsettled.size === 0) return;
    const ports = [...this.#unsettled].map((k) => this.#opened.get(k)!).sort((a, b) => a.socket - b.socket);
    this.#unsettled.clear();
    for (const before of ports) {
      const next = withRules(before, ctx);
      if (next !== before) {
        this.unindex(before);
        this.#opened.set(next.key, next);
        this.index(next);
      }
      const waitingOn = next.rules.failure?.key;
      if (!waitingOn) continue;
      let waiting = this.#waiting.get(waitingOn);
      if (waiting === undefined) {
        waiting = new Set();
        this.#waiting.set(waitingOn, waiting);
      }
      waiting.add(next.key);
    }
  }

  /** File the port's portals where packets look them up, each at its rules' rank. */
  index(o: OpenedPort): void {
    const p = o.portal;
    const portal = (addr: string | null, external: boolean, rank: number): Portal => ({
      port: o,
      balancer: o.balancer,
      addr,
      external,
      steps: undefined,
      rank,
      next: undefined,
      name: o.name,
      protocol: o.protocol,
      family: o.family,
      proxyPort: o.proxyPort,
      balancerId: o.balancer?.id ?? -1,
      clientNat: null,
      clientNatHost: '',
      clientNatEndpoint: '',
      directNat: null,
    });
    // The rules openPortal has added, as the chains hold them (an address listed twice has one set: ruleGroups).
    for (const g of ruleGroups(p, o.rules.ranks, o.rules.nodePortRank))
      if (g.kind !== 'nodePort')
        this.#st.portals.add(p.protocol, p.port, portal(g.addr, g.kind === 'external', g.rank));
    this.#st.proxySockets.set(portalKey(p.protocol, p.proxyPort), portal(null, false, 0));
    if (p.nodePort)
      this.#st.nodePorts.set(portalKey(p.protocol, p.nodePort), portal(null, false, o.rules.nodePortRank));
  }

  /** Take the port's portals out of the lookups (another port's at the same key stay). */
  unindex(o: OpenedPort): void {
    const p = o.portal;
    for (const ip of [p.clusterIP, ...p.loadBalancerIPs, ...p.externalIPs])
      this.#st.portals.remove(p.protocol, ip, p.port, o);
    const np = portalKey(p.protocol, p.nodePort);
    if (p.nodePort && this.#st.nodePorts.get(np)?.port === o) this.#st.nodePorts.delete(np);
    const socket = portalKey(p.protocol, p.proxyPort);
    if (this.#st.proxySockets.get(socket)?.port === o) this.#st.proxySockets.delete(socket);
  }
}
