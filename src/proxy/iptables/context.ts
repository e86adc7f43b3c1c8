/**
 * Everything about the node and kube-proxy's flags that the iptables rules depend on, for one IP family: the
 * local-traffic detector (`--cluster-cidr`), masquerade settings, NodePort addresses, localhost NodePorts and the
 * node's own addresses. Rebuilt when the Node or the config changes; services are recompiled against it.
 */

import { podGateways } from '../../cni/host-local.js';
import { parseCIDR } from '../../cni/ip.js';
import type { IPFamily } from '../../model/types.js';
import type { ProxyConfig } from '../engine.js';
import { type CidrMatcher, cidrMatcher, LocalAddresses } from '../ip-match.js';
import { proxierNodeIP } from '../node-view.js';
import type { NodeView } from '../service-table.js';
import { addressKey } from '../tuple-table.js';

export interface RuleContext {
  readonly family: IPFamily;
  readonly config: ProxyConfig;
  /** DetectLocalByCIDR for this family, or null when `clusterCIDR` has none (no detector). */
  readonly localDetector: CidrMatcher | null;
  /** The node's primary address of this family (the SNAT source), or null. */
  readonly nodeIP: string | null;
  /** The proxier's node IP (node-view.ts `proxierNodeIP`): the KUBE-FW "allow from node" test. */
  readonly proxierNodeIP: string;
  /** `addressKey(nodeIP)` (tuple-table.ts), or -1: the SNAT source as conntrack keys it. */
  readonly nodeKey: number;
  readonly localAddresses: LocalAddresses;
  /**
   * `--src-type LOCAL` sources: the node's addresses and its pod network gateways (the bridge's address, the source of
   * what the node sends into the pod network), which is what the origin of a packet counts as the node's own
   * (packet-origin.ts). As a destination the gateway is not a node address (README).
   */
  readonly localSources: LocalAddresses;
  /** Localhost NodePorts in effect: flag on, IPv4, and nodePortAddresses holding loopback (NewNodePortAddresses). */
  readonly localhostNodePorts: boolean;
  /** No usable nodePortAddresses of this family: the NodePort jump uses `--dst-type LOCAL`. */
  readonly nodePortsMatchAll: boolean;
  /** With nodePortAddresses: the node addresses (loopback included) that accept NodePorts, in rule order. */
  readonly nodePortIPs: readonly string[];
  /**
   * 1 << masqueradeBit in hex (`0x4000`), as kube-proxy's unit tests print it (their fake proxier sets that text). The
   * real NewProxier formats it with `%#08x`, giving `0x00004000` in its restore input; the kernel holds the same mark.
   */
  readonly mark: string;
}

export function ruleContext(family: IPFamily, config: ProxyConfig, node: NodeView): RuleContext {
  let localDetector: CidrMatcher | null = null;
  for (const part of config.clusterCIDR.split(',')) {
    const cidr = parseCIDR(part.trim());
    if (cidr && cidr.family === family) {
      localDetector = cidrMatcher(cidr.text);
      break;
    }
  }
  const nodeAddresses = node.addresses[family];
  const nodeIP = nodeAddresses[0] ?? null;
  const loopback = family === 'IPv4' ? '127.0.0.1' : '::1';

  // NewNodePortAddresses: CIDRs of this family ('primary' = the node IP); none (or a zero CIDR) means all.
  const cidrs: CidrMatcher[] = [];
  let matchAll = true;
  let containsLoopback = true;
  const wanted = config.nodePortAddresses.filter((s) => s.trim() !== '');
  if (wanted.length) {
    for (const text of wanted) {
      if (text === 'primary') {
        if (nodeIP) cidrs.push(cidrMatcher(family === 'IPv4' ? `${nodeIP}/32` : `${nodeIP}/128`));
        continue;
      }
      const cidr = parseCIDR(text.trim());
      if (cidr && cidr.family === family) cidrs.push(cidrMatcher(cidr.text));
    }
    const zero = cidrs.some((c) => c.text.endsWith('/0'));
    matchAll = cidrs.length === 0 || zero;
    // NewNodePortAddresses: an IPv4 CIDR whose address is a loopback one, or that holds 127.0.0.0.
    containsLoopback = matchAll || cidrs.some((c) => c.text.startsWith('127.') || c.matches('127.0.0.0'));
  }
  const localhostNodePorts = config.localhostNodePorts && family === 'IPv4' && containsLoopback;
  const nodePortIPs: string[] = [];
  if (!matchAll) {
    // GetNodeIPs: interface addresses inside the CIDRs, loopback interface first; loopback only where supported.
    for (const ip of [loopback, ...nodeAddresses]) {
      if (!cidrs.some((c) => c.matches(ip))) continue;
      if (ip === loopback && !localhostNodePorts) continue;
      if (!nodePortIPs.includes(ip)) nodePortIPs.push(ip);
    }
  }
  return Object.freeze({
    family,
    config,
    localDetector,
    nodeIP,
    proxierNodeIP: proxierNodeIP(node, family),
    nodeKey: nodeIP === null ? -1 : addressKey(nodeIP),
    localAddresses: new LocalAddresses(nodeAddresses),
    localSources: new LocalAddresses([
      ...nodeAddresses,
      ...podGateways(node.podCIDRs).filter((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4') === family),
    ]),
    localhostNodePorts,
    nodePortsMatchAll: matchAll,
    nodePortIPs,
    mark: `0x${(1 << config.masqueradeBit).toString(16)}`,
  });
}
