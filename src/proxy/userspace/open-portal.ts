/**
 * openPortal for one Service port, as the 1.25 proxier ran it: when mergeService opens the port, and again for every
 * open port at the end of every sync (ensurePortals).
 *
 * It walks the ClusterIP, each externalIP, each LB IP, then the NodePort, adding each one's rules if they are missing
 * (EnsureRule appends, so a rule added later stands after every rule already there), and returns at the first error:
 * an address of the other family (its rule is malformed, every time), or a claim another Service port holds
 * (claimNodePort: a node address, or the NodePort; port-claims.ts). A port stopped by a claim gets its missing rules
 * at the first sync after the holder lets go. Rules are never taken away while the port stays open ("this does not
 * remove rules that should not be present"), and a node address is claimed only once the proxier knows its local
 * addresses: at the first sync, mergeService opens every port before they are read.
 */
import { claimKey, claimText, type PortClaims } from './port-claims.js';
import { installedPortal, type OpenedPort, type PortalRules } from './service-ports.js';

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
  const servicePort = port.portal.port;
  let added = false;
  rules.failure = null;
  // The ClusterIP is never a node address: its rules go in first, unconditionally.
  if (rules.ranks.length === 0) {
    rules.ranks.push(ctx.nextRank());
    added = true;
  }
  for (let i = 0; i < rules.addresses.length; i++) {
    const ip = rules.addresses[i]!;
    if (ctx.local.has(ip) && claimFails(port, ctx, ip, servicePort)) return added;
    if (rules.ranks.length === i + 1) {
      rules.ranks.push(ctx.nextRank());
      added = true;
    }
  }
  if (rules.familyCut !== null) {
    rules.failure = { at: rules.familyCut, holder: null, key: null };
    return added;
  }
  if (rules.nodePort === 0) return added;
  // openNodePort claims the port on no address, whatever localAddrs holds.
  if (claimFails(port, ctx, '', rules.nodePort)) return added;
  if (rules.nodePortRank < 0) {
    rules.nodePortRank = ctx.nextRank();
    added = true;
  }
  return added;
}

/** Claim `ip`:`claimedPort` for the port; on a conflict, note it as the port's failure and return true. */
function claimFails(port: OpenedPort, ctx: OpenPortalContext, ip: string, claimedPort: number): boolean {
  const key = claimKey(port.protocol, ip, claimedPort);
  const holder = ctx.claims.claim(key, port.name);
  if (holder === null) return false;
  port.rules.failure = { at: claimText(port.protocol, ip, claimedPort), holder, key };
  return true;
}

/** The keys of the claims a port may hold: its node addresses' (with its port) and its NodePort's. */
export function claimKeysOf(port: OpenedPort, local: ReadonlySet<string>): string[] {
  const rules = port.rules;
  const keys = rules.addresses.filter((ip) => local.has(ip)).map((ip) => claimKey(port.protocol, ip, port.portal.port));
  if (rules.nodePort !== 0) keys.push(claimKey(port.protocol, '', rules.nodePort));
  return keys;
}

/** Where and why the last openPortal stopped, as a trace says it; null when it got through. */
export function portalFailureText(rules: PortalRules): string | null {
  const f = rules.failure;
  if (f === null) return null;
  if (f.holder === null)
    return `openPortal failed at ${f.at} (other family): no portal from there on, NodePort included`;
  const conflict = `openPortal failed: Port conflict detected on port ${f.at}, held by ${f.holder}`;
  // A port that lost only the claim at start kept the rules the first sync added without claiming.
  const complete = rules.ranks.length > rules.addresses.length && (rules.nodePort === 0 || rules.nodePortRank >= 0);
  return complete
    ? `${conflict} (its rules were added before the claim was made, and stay)`
    : `${conflict}: no rule added from there on until it is released`;
}

/** `port` after openPortal: the same object when no rule was added, else one whose portal shows the new rules. */
export function withRules(port: OpenedPort, ctx: OpenPortalContext): OpenedPort {
  if (!openPortal(port, ctx)) return port;
  return { ...port, portal: installedPortal(port.portal, port.rules) };
}
