/**
 * The userspace proxier's portals (pkg/proxy/userspace/proxier.go, openPortal / openNodePort): iptables rules that
 * send a Service's traffic to the proxy's own listening socket, and their `iptables-save` text.
 *
 * Per Service port, on a proxy port allocated for it (proxier.listenIP 0.0.0.0):
 * - ClusterIP and each LB ingress IP: nat KUBE-PORTALS-CONTAINER (PREROUTING) `REDIRECT --to-ports <proxyPort>`;
 *   KUBE-PORTALS-HOST (OUTPUT) `DNAT --to-destination <hostIP>:<proxyPort>` (REDIRECT does not work for local
 *   traffic, upstream explains).
 * - each externalIP ("external" portal): a CONTAINER rule for traffic not arriving from a bridge
 *   (`-m physdev ! --physdev-is-in`), one for external IPs that are local addresses (`--dst-type LOCAL`), and the
 *   HOST rule, also restricted to local destinations.
 * - NodePort: KUBE-NODEPORT-CONTAINER (REDIRECT) and KUBE-NODEPORT-HOST (DNAT), matched on the port alone behind the
 *   `--dst-type LOCAL` jumps, plus filter KUBE-NODEPORT-NON-LOCAL `-m state --state NEW -j ACCEPT` on the proxy port.
 *   `--nodeport-addresses` was accepted by NewProxier but never used.
 * Destinations print as `/32` (`/128`), since iptables-save shows them so and old iptables compared rules by text.
 */

import type { IPFamily, Protocol } from '../../model/types.js';

/** One Service port as the proxier opened it. */
export interface PortalService {
  /** ServicePortName.String(). */
  readonly name: string;
  readonly protocol: Protocol;
  readonly family: IPFamily;
  readonly clusterIP: string;
  readonly port: number;
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  readonly proxyPort: number;
}

/** Which nat chain a packet traverses: PREROUTING for pods and outside traffic, OUTPUT for the node's own. */
export type PortalChain =
  | 'KUBE-PORTALS-CONTAINER'
  | 'KUBE-PORTALS-HOST'
  | 'KUBE-NODEPORT-CONTAINER'
  | 'KUBE-NODEPORT-HOST';

const PORTALS_COMMENT = '-m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules"';
const NODE_PORTS_JUMP =
  '-m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain"';

/** The built-in chain's rule that jumps to each portal chain (the proxier's iptablesContainer/HostPortalChain etc.). */
export const PORTAL_JUMPS: Readonly<Record<PortalChain, { readonly where: string; readonly rule: string }>> = {
  'KUBE-PORTALS-CONTAINER': {
    where: 'nat/PREROUTING',
    rule: `-A PREROUTING ${PORTALS_COMMENT} -j KUBE-PORTALS-CONTAINER`,
  },
  'KUBE-NODEPORT-CONTAINER': {
    where: 'nat/PREROUTING',
    rule: `-A PREROUTING ${NODE_PORTS_JUMP} -j KUBE-NODEPORT-CONTAINER`,
  },
  'KUBE-PORTALS-HOST': { where: 'nat/OUTPUT', rule: `-A OUTPUT ${PORTALS_COMMENT} -j KUBE-PORTALS-HOST` },
  'KUBE-NODEPORT-HOST': { where: 'nat/OUTPUT', rule: `-A OUTPUT ${NODE_PORTS_JUMP} -j KUBE-NODEPORT-HOST` },
};

function cidr(ip: string, family: IPFamily): string {
  return `${ip}/${family === 'IPv6' ? 128 : 32}`;
}

function target(chain: PortalChain, s: PortalService, hostIP: string): string {
  if (chain === 'KUBE-PORTALS-CONTAINER' || chain === 'KUBE-NODEPORT-CONTAINER') {
    return `-j REDIRECT --to-ports ${s.proxyPort}`;
  }
  const host = s.family === 'IPv6' ? `[${hostIP}]` : hostIP;
  return `-j DNAT --to-destination ${host}:${s.proxyPort}`;
}

/** The text of one portal rule. `extra` carries the physdev / addrtype matches of external portals. */
export function portalRule(
  chain: PortalChain,
  s: PortalService,
  hostIP: string,
  dest: string | null,
  destPort: number,
  extra = '',
): string {
  const proto = s.protocol.toLowerCase();
  const d = dest === null ? '' : ` -d ${cidr(dest, s.family)}`;
  return `-A ${chain}${d} -p ${proto} -m comment --comment "${s.name}" -m ${proto} --dport ${destPort}${extra} ${target(chain, s, hostIP)}`;
}

export const PHYSDEV_NOT_BRIDGE = ' -m physdev ! --physdev-is-in';
export const DST_LOCAL = ' -m addrtype --dst-type LOCAL';

const NAT_BUILTINS = [
  ':PREROUTING ACCEPT [0:0]',
  ':INPUT ACCEPT [0:0]',
  ':OUTPUT ACCEPT [0:0]',
  ':POSTROUTING ACCEPT [0:0]',
];
const FILTER_BUILTINS = [':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]'];
/** The tables of a family the proxier does not run in: the built-in chains only. */
const BUILTIN_ONLY = ['*nat', ...NAT_BUILTINS, 'COMMIT', '*filter', ...FILTER_BUILTINS, 'COMMIT', ''].join('\n');

/**
 * The rules one openPortal step added for a Service port: an address's (`plain`: the ClusterIP or an LB IP; an
 * externalIP's), or the NodePort's; `rank`: when, as chains list rules in the order they were appended.
 */
export interface PortalRuleGroup {
  readonly service: PortalService;
  readonly kind: 'plain' | 'external' | 'nodePort';
  /** The address; null for the NodePort. */
  readonly addr: string | null;
  readonly rank: number;
}

/** The rule groups a Service port's portal holds, given each one's rank (ClusterIP, then each address, then NodePort). */
export function ruleGroups(s: PortalService, ranks: readonly number[], nodePortRank: number): PortalRuleGroup[] {
  const groups: PortalRuleGroup[] = [{ service: s, kind: 'plain', addr: s.clusterIP, rank: ranks[0]! }];
  const addresses = [...s.externalIPs, ...s.loadBalancerIPs];
  for (let i = 0; i < addresses.length; i++) {
    const kind = i < s.externalIPs.length ? 'external' : 'plain';
    // An address listed twice: EnsureRule finds its rules already there and adds none.
    if (groups.some((g) => g.kind === kind && g.addr === addresses[i])) continue;
    groups.push({ service: s, kind, addr: addresses[i]!, rank: ranks[i + 1]! });
  }
  if (s.nodePort !== 0) groups.push({ service: s, kind: 'nodePort', addr: null, rank: nodePortRank });
  return groups;
}

/** `iptables-save` of the userspace proxier's chains holding these rules; null: a family it does not run in. */
export function renderPortals(groups: readonly PortalRuleGroup[] | null, hostIP: string): string {
  if (groups === null) return BUILTIN_ONLY;
  const container: string[] = [];
  const host: string[] = [];
  const npContainer: string[] = [];
  const npHost: string[] = [];
  const nonLocal: string[] = [];
  for (const { service: s, kind, addr } of [...groups].sort((a, b) => a.rank - b.rank)) {
    if (kind === 'plain') {
      container.push(portalRule('KUBE-PORTALS-CONTAINER', s, hostIP, addr, s.port));
      host.push(portalRule('KUBE-PORTALS-HOST', s, hostIP, addr, s.port));
    } else if (kind === 'external') {
      container.push(portalRule('KUBE-PORTALS-CONTAINER', s, hostIP, addr, s.port, PHYSDEV_NOT_BRIDGE));
      container.push(portalRule('KUBE-PORTALS-CONTAINER', s, hostIP, addr, s.port, DST_LOCAL));
      host.push(portalRule('KUBE-PORTALS-HOST', s, hostIP, addr, s.port, DST_LOCAL));
    } else {
      npContainer.push(portalRule('KUBE-NODEPORT-CONTAINER', s, hostIP, null, s.nodePort));
      npHost.push(portalRule('KUBE-NODEPORT-HOST', s, hostIP, null, s.nodePort));
      const proto = s.protocol.toLowerCase();
      nonLocal.push(
        `-A KUBE-NODEPORT-NON-LOCAL -p ${proto} -m comment --comment "${s.name}" -m ${proto} --dport ${s.proxyPort} -m state --state NEW -j ACCEPT`,
      );
    }
  }
  return [
    '*nat',
    ...NAT_BUILTINS,
    ':KUBE-NODEPORT-CONTAINER - [0:0]',
    ':KUBE-NODEPORT-HOST - [0:0]',
    ':KUBE-PORTALS-CONTAINER - [0:0]',
    ':KUBE-PORTALS-HOST - [0:0]',
    PORTAL_JUMPS['KUBE-PORTALS-CONTAINER'].rule,
    PORTAL_JUMPS['KUBE-NODEPORT-CONTAINER'].rule,
    PORTAL_JUMPS['KUBE-PORTALS-HOST'].rule,
    PORTAL_JUMPS['KUBE-NODEPORT-HOST'].rule,
    ...npContainer,
    ...npHost,
    ...container,
    ...host,
    'COMMIT',
    '*filter',
    ...FILTER_BUILTINS,
    ':KUBE-NODEPORT-NON-LOCAL - [0:0]',
    '-A INPUT -m comment --comment "Ensure that non-local NodePort traffic can flow" -j KUBE-NODEPORT-NON-LOCAL',
    ...nonLocal,
    'COMMIT',
    '',
  ].join('\n');
}

/**
 * Proxy ports: upstream let the kernel pick an ephemeral port when `--proxy-port-range` was unset; here a seeded
 * random free port of the range (default 32768–60999, Linux's ip_local_port_range).
 */
export class ProxyPortAllocator {
  readonly first: number;
  readonly last: number;
  readonly #used = new Set<number>();
  readonly #random: (n: number) => number;

  constructor(random: (n: number) => number, range: { first: number; last: number } = { first: 32768, last: 60999 }) {
    this.first = range.first;
    this.last = range.last;
    this.#random = random;
  }

  /** A free port, or null when the range is full. */
  allocate(): number | null {
    const size = this.last - this.first + 1;
    if (this.#used.size >= size) return null;
    let port = this.first + this.#random(size);
    while (this.#used.has(port)) port = port === this.last ? this.first : port + 1;
    this.#used.add(port);
    return port;
  }

  release(port: number): void {
    this.#used.delete(port);
  }
}
