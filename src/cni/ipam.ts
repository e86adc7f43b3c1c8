/**
 * The cluster's address management in one place: node pod CIDRs (one allocator per cluster CIDR), pod IPs (one
 * host-local allocator per node and family, created when the node gets its CIDRs), ClusterIPs (one allocator per
 * service CIDR), NodePorts and LoadBalancer pools.
 *
 * Every mutating method takes the batch's Journal. Methods that touch several allocators are atomic on their own:
 * if the second family fails, the first is undone before the error propagates.
 */
import { InvalidArgumentError, NotFoundError } from '../errors.js';
import { Journal } from '../model/journal.js';
import type { Rng } from '../util/rng.js';
import { AlreadyAllocatedError, OutOfRangeError } from './allocation-errors.js';
import { HostLocalAllocator } from './host-local.js';
import { type IPFamily, parseCIDR, parseIP } from './ip.js';
import { type IpamConfig, nodeMaskSizeFor, parseFlagCidrs, parseServiceCidrs } from './ipam-config.js';
import type { IpamReport } from './ipam-report.js';
import { LoadBalancerPools } from './lb-pools.js';
import { NodeCidrAllocator } from './node-cidrs.js';
import { NodePortAllocator } from './node-ports.js';
import { ServiceIPAllocator } from './service-ips.js';

interface NodeRanges {
  cidrs: string[];
  pods: HostLocalAllocator[];
}

export class Ipam {
  readonly #clusterCidrs: NodeCidrAllocator[];
  readonly #services: ServiceIPAllocator[];
  readonly #nodePorts: NodePortAllocator;
  readonly #lbPools: LoadBalancerPools;
  readonly #nodes = new Map<string, NodeRanges>();
  /** Node subnet → node name, for "already allocated to node x" messages and the report. */
  readonly #owners = new Map<string, string>();

  /** Throws InvalidArgumentError when the configuration is not one kube-apiserver/controller-manager would accept. */
  constructor(config: IpamConfig, rng: Rng) {
    this.#clusterCidrs = parseFlagCidrs('--cluster-cidr', config.podCIDRs).map(
      (cidr) => new NodeCidrAllocator(cidr, nodeMaskSizeFor(config, cidr.family)),
    );
    this.#services = parseServiceCidrs(config.serviceCIDRs).map(
      (cidr) => new ServiceIPAllocator(cidr, rng.fork(`clusterip/${cidr.family}`)),
    );
    this.#nodePorts = new NodePortAllocator(config.nodePortRange, rng.fork('nodeport'));
    this.#lbPools = new LoadBalancerPools(config.loadBalancerPools);
  }

  /** Service IP families in configuration order; the first is the cluster's primary family. */
  serviceFamilies(): IPFamily[] {
    return this.#services.map((service) => service.family);
  }

  /** Pod IP families in configuration order (one per cluster CIDR). */
  podFamilies(): IPFamily[] {
    return this.#clusterCidrs.map((allocator) => allocator.cluster.family);
  }

  /** A node's pod CIDRs, or `undefined` when it has none yet. */
  nodeCIDRs(nodeName: string): readonly string[] | undefined {
    return this.#nodes.get(nodeName)?.cidrs;
  }

  /**
   * Give a Node its pod CIDRs, one per cluster CIDR, or occupy the ones it pins (`spec.podCIDRs`). As upstream,
   * pinned CIDRs are matched to cluster CIDRs by position and a node that pins some gets only those. Calling again
   * for a node that has CIDRs returns them, unless different ones are pinned (pod CIDRs cannot change).
   */
  allocateNodeCIDRs(nodeName: string, pinnedCidrs: readonly string[] | undefined, journal: Journal): string[] {
    const pinned = pinnedCidrs?.length ? pinnedCidrs : undefined;
    const existing = this.#nodes.get(nodeName);
    if (existing) {
      const same = pinned === undefined || sameCidrs(pinned, existing.cidrs);
      if (same) return [...existing.cidrs];
      throw new AlreadyAllocatedError(
        `node ${nodeName} already has pod CIDRs ${existing.cidrs.join(', ')}; spec.podCIDRs cannot change`,
        pinned.join(','),
        existing.cidrs.join(','),
      );
    }
    if (pinned !== undefined && pinned.length > this.#clusterCidrs.length) {
      const clusters = this.#clusterCidrs.map((a) => a.cluster.text).join(', ');
      throw new OutOfRangeError(
        `node ${nodeName} pins ${pinned.length} pod CIDRs but the cluster has ${this.#clusterCidrs.length} (${clusters})`,
        pinned.join(','),
        clusters,
      );
    }
    return atomically(journal, (inner) => {
      const cidrs =
        pinned === undefined
          ? this.#clusterCidrs.map((allocator) => allocator.allocate(inner))
          : pinned.map((text, index) => this.#occupy(nodeName, this.#clusterCidrs[index]!, text, inner));
      const ranges: NodeRanges = { cidrs, pods: cidrs.map((cidr) => new HostLocalAllocator(parseCIDR(cidr)!)) };
      this.#nodes.set(nodeName, ranges);
      for (const cidr of cidrs) this.#owners.set(cidr, nodeName);
      inner.record(() => {
        this.#nodes.delete(nodeName);
        for (const cidr of cidrs) this.#owners.delete(cidr);
      });
      return [...cidrs];
    });
  }

  /** Free a node's pod CIDRs and forget its pod IPs; false when the node had none. */
  releaseNode(nodeName: string, journal: Journal): boolean {
    const ranges = this.#nodes.get(nodeName);
    if (ranges === undefined) return false;
    atomically(journal, (inner) => {
      for (const cidr of ranges.cidrs) {
        for (const allocator of this.#clusterCidrs) allocator.release(cidr, inner);
        this.#owners.delete(cidr);
      }
      this.#nodes.delete(nodeName);
      // the node's host-local allocators are kept by reference, untouched, so undo restores them exactly
      inner.record(() => {
        this.#nodes.set(nodeName, ranges);
        for (const cidr of ranges.cidrs) this.#owners.set(cidr, nodeName);
      });
    });
    return true;
  }

  /**
   * IPs for one pod on a node: one per pod range of the node, in the node's CIDR order. Pinned IPs
   * (`status.podIPs`) are reserved as given, at most one per family; families without one are allocated.
   */
  allocatePodIPs(nodeName: string, pinned: readonly string[] | undefined, journal: Journal): string[] {
    const ranges = this.#nodes.get(nodeName);
    if (ranges === undefined) throw new NotFoundError(`node ${nodeName} has no pod CIDR yet`);
    // The common case, one range and nothing pinned: a single allocation is atomic by itself (it throws before it
    // takes anything), so it needs no inner journal.
    if (ranges.pods.length === 1 && !pinned?.length) return [ranges.pods[0]!.allocate(journal)];
    const wanted = new Map<HostLocalAllocator, string>();
    for (const ip of pinned ?? []) {
      const parsed = parseIP(ip);
      if (parsed === undefined) throw new InvalidArgumentError(`"${ip}" is not a valid IP address`);
      const allocator = ranges.pods.find((pods) => pods.subnet.family === parsed.family);
      if (allocator === undefined) {
        const cidrs = ranges.cidrs.join(', ');
        throw new OutOfRangeError(
          `pod IP ${parsed.text} is ${parsed.family} but node ${nodeName} has ${cidrs}`,
          ip,
          cidrs,
        );
      }
      if (wanted.has(allocator)) {
        throw new InvalidArgumentError(`pod IPs ${wanted.get(allocator)} and ${ip} are both ${parsed.family}`);
      }
      wanted.set(allocator, ip);
    }
    return atomically(journal, (inner) =>
      ranges.pods.map((allocator) => {
        const ip = wanted.get(allocator);
        return ip === undefined ? allocator.allocate(inner) : allocator.reserve(ip, inner);
      }),
    );
  }

  /** Give a pod's IPs back to its node; returns how many were held. Unknown nodes and IPs are ignored. */
  releasePodIPs(nodeName: string, ips: readonly string[], journal: Journal): number {
    const ranges = this.#nodes.get(nodeName);
    if (ranges === undefined) return 0;
    let released = 0;
    for (const ip of ips) {
      if (ranges.pods.some((allocator) => allocator.release(ip, journal))) released++;
    }
    return released;
  }

  /** A ClusterIP of the family: the pinned one (`spec.clusterIPs[i]`) or a random free one. */
  allocateClusterIP(family: IPFamily, pinned: string | undefined, journal: Journal): string {
    const allocator = this.#services.find((service) => service.family === family);
    if (allocator === undefined) {
      const cidrs = this.#services.map((service) => service.cidr.text).join(', ');
      throw new OutOfRangeError(`${family} is not configured on this cluster (service CIDRs: ${cidrs})`, family, cidrs);
    }
    return pinned === undefined ? allocator.allocateNext(journal) : allocator.allocate(pinned, journal);
  }

  /** Give a ClusterIP back; false when no service range holds it. */
  releaseClusterIP(ip: string, journal: Journal): boolean {
    return this.#services.some((service) => service.release(ip, journal));
  }

  /** A NodePort: the pinned one (`spec.ports[i].nodePort`) or a random free one. */
  allocateNodePort(pinned: number | undefined, journal: Journal): number {
    if (pinned === undefined) return this.#nodePorts.allocateNext(journal);
    this.#nodePorts.allocate(pinned, journal);
    return pinned;
  }

  releaseNodePort(port: number, journal: Journal): boolean {
    return this.#nodePorts.release(port, journal);
  }

  /** Whether LoadBalancer Services of the family can get an address at all (else they stay pending). */
  hasLoadBalancerPools(family: IPFamily): boolean {
    return this.#lbPools.hasPools(family);
  }

  /** An ingress IP: the pinned one (accepted even outside the pools) or the lowest free pool address. */
  allocateLoadBalancerIP(family: IPFamily, pinned: string | undefined, journal: Journal): string {
    if (pinned === undefined) return this.#lbPools.allocate(family, journal);
    const parsed = parseIP(pinned);
    if (parsed !== undefined && parsed.family !== family) {
      throw new OutOfRangeError(`LoadBalancer IP ${parsed.text} is not ${family}`, parsed.text, family);
    }
    return this.#lbPools.pin(pinned, journal).ip;
  }

  releaseLoadBalancerIP(ip: string, journal: Journal): boolean {
    return this.#lbPools.release(ip, journal);
  }

  /** Per-range usage for `kube-netsim ipam`. */
  report(): IpamReport {
    const nodeNames = [...this.#nodes.keys()].sort();
    return {
      clusterCIDRs: this.#clusterCidrs.map((allocator) => ({
        cidr: allocator.cluster.text,
        family: allocator.cluster.family,
        nodeMaskSize: allocator.nodeMaskSize,
        capacity: String(allocator.capacity),
        used: allocator.usedCount,
        free: String(allocator.freeCount),
        nodes: allocator.allocated().map((cidr) => ({ node: this.#owners.get(cidr) ?? '', cidr })),
      })),
      nodes: nodeNames.map((node) => ({
        node,
        ranges: this.#nodes.get(node)!.pods.map((pods) => ({
          cidr: pods.subnet.text,
          gateway: pods.gateway,
          capacity: String(pods.capacity),
          used: pods.usedCount,
          free: String(pods.freeCount),
          ...(pods.lastReserved === undefined ? {} : { lastReserved: pods.lastReserved }),
        })),
      })),
      serviceCIDRs: this.#services.map((service) => ({
        cidr: service.cidr.text,
        family: service.family,
        size: String(service.size),
        used: service.usedCount,
        free: String(service.freeCount),
        staticBand: service.staticBand ?? null,
      })),
      nodePorts: {
        range: this.#nodePorts.rangeText,
        size: String(this.#nodePorts.size),
        used: this.#nodePorts.usedCount,
        free: String(this.#nodePorts.freeCount),
        staticBand: this.#nodePorts.staticBand ?? null,
      },
      loadBalancerPools: this.#lbPools.report(),
    };
  }

  #occupy(nodeName: string, allocator: NodeCidrAllocator, text: string, journal: Journal): string {
    const cidr = parseCIDR(text);
    const owner = cidr && this.#owners.get(cidr.text);
    if (cidr !== undefined && owner !== undefined) {
      throw new AlreadyAllocatedError(
        `pod CIDR ${cidr.text} is already allocated to node ${owner}`,
        cidr.text,
        allocator.cluster.text,
      );
    }
    if (cidr !== undefined && cidr.family !== allocator.cluster.family) {
      throw new OutOfRangeError(
        `node ${nodeName}: pod CIDR ${cidr.text} is ${cidr.family}, but the cluster CIDR at that position is ${allocator.cluster.text}`,
        cidr.text,
        allocator.cluster.text,
      );
    }
    return allocator.occupy(text, journal);
  }
}

/** Run several allocator steps as one: on failure undo them here; on success hand their undo to the batch. */
function atomically<T>(journal: Journal, work: (inner: Journal) => T): T {
  const inner = new Journal();
  try {
    const result = work(inner);
    journal.recordCall(rollbackInner, inner);
    return result;
  } catch (err) {
    inner.rollback();
    throw err;
  }
}

function rollbackInner(inner: Journal): void {
  inner.rollback();
}

function sameCidrs(pinned: readonly string[], held: readonly string[]): boolean {
  return pinned.length === held.length && pinned.every((text, i) => parseCIDR(text)?.text === held[i]);
}
