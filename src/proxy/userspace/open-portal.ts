/**
 * openPortal for one Service port, as the 1.25 proxier ran it: when mergeService opens the port, and again for every
 * open port at the end of every sync (ensurePortals).
 *
 * It walks the ClusterIP, each externalIP, each LB IP, then the NodePort, adding each one's rules if they are missing
 * (EnsureRule appends, so a rule added later stands after every rule already there), and returns at the first error:
 * an address of the other family (its rule is malformed, every time), or a node address another Service port has
 * claimed (claimNodePort; port-claims.ts). A port stopped by a claim is tried again at the next sync, so once the
 * holder lets go its missing rules are added. Rules are never taken away while the port stays open ("this does not
 * remove rules that should not be present"), and a node address is claimed only once the proxier knows its local
 * addresses: at the first sync, mergeService opens every port before they are read.
 */
import type { PortClaims } from './port-claims.js';
import { installedPortal, type OpenedPort } from './service-ports.js';

export interface OpenPortalContext {
  /** The proxier's local addresses (localAddrs): empty until the first sync has read them. */
  readonly local: ReadonlySet<string>;
  readonly claims: PortClaims;
  /** The next rule rank: rules added later stand later in their chain. */
  nextRank(): number;
}

/** Run openPortal for `port` (its `rules` are updated); returns whether it added a rule. */
export function openPortal(port: OpenedPort, ctx: OpenPortalContext): boolean {
  const rules = port.rules;
  let added = false;
  rules.failure = null;
  // The ClusterIP is never a node address: its rules go in first, unconditionally.
  if (rules.ranks.length === 0) {
    rules.ranks.push(ctx.nextRank());
    added = true;
  }
  for (let i = 0; i < rules.addresses.length; i++) {
    const ip = rules.addresses[i]!;
    if (ctx.local.has(ip)) {
      const conflict = ctx.claims.claim(port.protocol, ip, port.portal.port, port.name);
      if (conflict !== null) {
        rules.failure = `openPortal failed at ${ip} (${conflict}): no portal added from there on, NodePort included`;
        return added;
      }
    }
    if (rules.ranks.length === i + 1) {
      rules.ranks.push(ctx.nextRank());
      added = true;
    }
  }
  if (rules.familyCut !== null) {
    rules.failure = `openPortal failed at ${rules.familyCut} (other family): no portal from there on, NodePort included`;
    return added;
  }
  if (rules.nodePort !== 0 && rules.nodePortRank < 0) {
    rules.nodePortRank = ctx.nextRank();
    added = true;
  }
  return added;
}

/** Whether a later openPortal could change anything: a rule still missing, or a node address it does not hold. */
export function portalUnsettled(port: OpenedPort, ctx: OpenPortalContext): boolean {
  const rules = port.rules;
  if (rules.ranks.length <= rules.addresses.length) return true;
  if (rules.familyCut === null && rules.nodePort !== 0 && rules.nodePortRank < 0) return true;
  return rules.addresses.some(
    (ip) => ctx.local.has(ip) && !ctx.claims.holds(port.protocol, ip, port.portal.port, port.name),
  );
}

/** `port` after openPortal: the same object when no rule was added, else one whose portal shows the new rules. */
export function withRules(port: OpenedPort, ctx: OpenPortalContext): OpenedPort {
  if (!openPortal(port, ctx)) return port;
  const p = port.portal;
  return {
    ...port,
    portal: installedPortal(p.name, p.protocol, p.family, p.clusterIP, p.port, p.proxyPort, port.rules),
  };
}
