/**
 * Node admission: the node's own addresses (from the ClusterConfig's node networks, as kind's Docker network hands
 * them out: .2, .3, … in node order) and its pod CIDRs (kube-controller-manager's range allocator), unless pinned.
 */

import { type Cidr, parseCIDR } from '../cni/ip.js';
import type { Ipam } from '../cni/ipam.js';
import type { Journal } from '../model/journal.js';
import type { Node, NodeAddress } from '../model/types.js';
import type { AdmissionEnv } from './admission-context.js';

/** Hands out node addresses from the node networks, skipping the network address and the gateway (.1). */
export class NodeAddressPool {
  readonly #networks: Cidr[];
  readonly #used = new Set<string>();
  readonly #next: bigint[];

  constructor(networks: string[]) {
    this.#networks = networks.map((n) => parseCIDR(n)!).filter(Boolean);
    this.#next = this.#networks.map(() => 2n);
  }

  reserve(ip: string, journal: Journal): void {
    if (this.#used.has(ip)) return;
    this.#used.add(ip);
    journal.record(() => this.#used.delete(ip));
  }

  release(ip: string, journal: Journal): void {
    if (!this.#used.delete(ip)) return;
    journal.record(() => this.#used.add(ip));
  }

  /** One address per node network (one per family). */
  allocate(journal: Journal): NodeAddress[] {
    return this.#networks.map((cidr, i) => {
      let index = this.#next[i]!;
      while (this.#used.has(cidr.nth(index))) index++;
      const ip = cidr.nth(index);
      const previous = this.#next[i]!;
      this.#next[i] = index + 1n;
      journal.record(() => {
        this.#next[i] = previous;
      });
      this.reserve(ip, journal);
      return { type: 'InternalIP', address: ip };
    });
  }
}

export interface NodeAdmission extends AdmissionEnv {
  readonly ipam: Ipam;
  readonly nodeAddresses: NodeAddressPool;
}

export function admitNode(env: NodeAdmission, node: Node, old: Node | undefined): Node | undefined {
  const before = env.issues.issues.length;
  const spec = { ...node.spec };
  const status = { ...node.status };
  const givenAddresses = node.status.addresses.filter((a) => a.type === 'InternalIP');
  if (old && givenAddresses.length === 0) {
    status.addresses = old.status.addresses;
  } else if (givenAddresses.length) {
    for (const a of givenAddresses) env.nodeAddresses.reserve(a.address, env.journal);
  } else {
    // The kubelet reports a Hostname too; one the manifest gave already is kept as given, not listed twice.
    const given = node.status.addresses.filter((a) => a.type !== 'InternalIP');
    const hostname = given.some((a) => a.type === 'Hostname')
      ? []
      : [{ type: 'Hostname' as const, address: node.metadata.name }];
    status.addresses = [...env.nodeAddresses.allocate(env.journal), ...hostname, ...given];
  }

  const pinned = spec.podCIDRs ?? (spec.podCIDR ? [spec.podCIDR] : undefined);
  if (old?.spec.podCIDRs) {
    if (pinned && pinned.join(',') !== old.spec.podCIDRs.join(',')) {
      env.issues.reject(node, ['spec', 'podCIDRs'], `may not change once set, was ${old.spec.podCIDRs.join(',')}`);
      return undefined;
    }
    spec.podCIDRs = old.spec.podCIDRs;
  } else {
    const path = spec.podCIDRs ? ['spec', 'podCIDRs'] : ['spec', 'podCIDR'];
    const cidrs = env.issues.attempt(node, path, () =>
      env.ipam.allocateNodeCIDRs(node.metadata.name, pinned, env.journal),
    );
    if (cidrs) spec.podCIDRs = cidrs;
  }
  spec.podCIDR = spec.podCIDRs?.[0];
  if (env.issues.issues.length > before) return undefined;
  return { ...node, spec, status };
}

export function releaseNode(env: NodeAdmission, node: Node): void {
  env.ipam.releaseNode(node.metadata.name, env.journal);
  for (const a of node.status.addresses) if (a.type === 'InternalIP') env.nodeAddresses.release(a.address, env.journal);
}
