/**
 * What kube-proxy knows about its own Node: name, zone label (topology hints), own addresses per family (NodePorts,
 * MASQUERADE source, --src-type LOCAL) and pod CIDRs.
 */
import { parseCIDR, parseIP } from '../cni/ip.js';
import type { IPFamily, Node } from '../model/types.js';

/** The zone label kube-proxy reads from its Node. */
export const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** What the proxy knows about its own node. */
export interface NodeView {
  readonly name: string;
  /** False until the Node object has been seen. */
  readonly known: boolean;
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The node's own addresses per family (InternalIPs, then ExternalIPs), canonical text. */
  readonly addresses: Readonly<Record<IPFamily, readonly string[]>>;
  /** The family of its first address (the node IP a single-stack proxier takes its family from), or null. */
  readonly primaryFamily: IPFamily | null;
  /** spec.podCIDRs (or podCIDR), canonical. */
  readonly podCIDRs: readonly string[];
}

/** The view before the Node object is known. */
export function emptyNode(name: string): NodeView {
  return Object.freeze({
    name,
    known: false,
    zone: '',
    labels: {},
    addresses: { IPv4: [], IPv6: [] },
    primaryFamily: null,
    podCIDRs: [],
  });
}

/** What the proxy still knows once its Node object is deleted: its addresses and pod CIDRs, no labels or zone. */
export function withoutNodeObject(node: NodeView): NodeView {
  return Object.freeze({ ...node, known: false, zone: '', labels: {} });
}

/** The node's own addresses, both families (IPv4 first). */
export function ownAddresses(node: NodeView): string[] {
  return [...node.addresses.IPv4, ...node.addresses.IPv6];
}

/** NodeView of a Node object. */
export function nodeView(node: Node): NodeView {
  const addresses: Record<IPFamily, string[]> = { IPv4: [], IPv6: [] };
  let primaryFamily: IPFamily | null = null;
  for (const type of ['InternalIP', 'ExternalIP'] as const) {
    for (const a of node.status?.addresses ?? []) {
      if (a.type !== type) continue;
      const parsed = parseIP(a.address);
      if (!parsed) continue;
      primaryFamily ??= parsed.family;
      if (!addresses[parsed.family].includes(parsed.text)) addresses[parsed.family].push(parsed.text);
    }
  }
  const cidrs = node.spec.podCIDRs?.length ? node.spec.podCIDRs : node.spec.podCIDR ? [node.spec.podCIDR] : [];
  return Object.freeze({
    name: node.metadata.name,
    known: true,
    zone: node.metadata.labels?.[ZONE_LABEL] ?? '',
    labels: { ...(node.metadata.labels ?? {}) },
    addresses,
    primaryFamily,
    podCIDRs: cidrs.map((c) => parseCIDR(c)?.text ?? c),
  });
}

/**
 * The node IP kube-proxy's proxier of `family` works with (detectNodeIPs): the node's first address of the family,
 * or the loopback address when it has none. The proxier tests LoadBalancer source ranges against it ("allow from
 * node"), so a range such as `::/0` lets the node in even when the node has no address of that family.
 */
export function proxierNodeIP(node: NodeView, family: IPFamily): string {
  return node.addresses[family][0] ?? (family === 'IPv4' ? '127.0.0.1' : '::1');
}
