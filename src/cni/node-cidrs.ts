/**
 * Node pod-CIDR allocation for one cluster CIDR, as kube-controller-manager's range allocator
 * (pkg/controller/nodeipam/ipam/cidrset): the cluster CIDR is cut into 2^(nodeMask - clusterPrefix) subnets, indexed
 * in address order. Allocation scans from `nextCandidate` for the first free index (wrapping) and then sets
 * `nextCandidate` to the index after the one handed out, so a released subnet is only reused once the scan comes
 * round again. Occupy and release leave `nextCandidate` alone, as upstream.
 *
 * Upstream `Occupy` accepts any block overlapping the cluster CIDR and succeeds when it is already used; we are
 * stricter for pinned `spec.podCIDRs`: the block must be exactly one node-sized subnet of the cluster CIDR, and not
 * already held, so two Nodes never share a range.
 */
import { InvalidArgumentError, RangeExhaustedError } from '../errors.js';
import type { Journal } from '../model/journal.js';
import { AlreadyAllocatedError, OutOfRangeError } from './allocation-errors.js';
import { Cidr, parseCIDR } from './ip.js';

// The subnet mask may be at most 16 bits longer than an IPv6 cluster mask (upstream clusterSubnetMaxDiff).
const IPV6_MAX_MASK_DIFF = 16;

export class NodeCidrAllocator {
  readonly cluster: Cidr;
  readonly nodeMaskSize: number;
  /** How many node subnets the cluster CIDR holds. */
  readonly capacity: number;
  readonly #shift: bigint;
  readonly #used = new Set<number>();
  #nextCandidate = 0;

  constructor(cluster: Cidr, nodeMaskSize: number) {
    if (!Number.isInteger(nodeMaskSize) || nodeMaskSize < cluster.prefix || nodeMaskSize > cluster.bits) {
      throw new InvalidArgumentError(
        `node CIDR mask size /${nodeMaskSize} must be between the cluster CIDR's /${cluster.prefix} and /${cluster.bits} (${cluster.text})`,
      );
    }
    const diff = nodeMaskSize - cluster.prefix;
    if (cluster.family === 'IPv6' && diff > IPV6_MAX_MASK_DIFF) {
      throw new InvalidArgumentError(
        `New CIDR set failed; the node CIDR size is too big: /${nodeMaskSize} is more than ${IPV6_MAX_MASK_DIFF} bits longer than ${cluster.text}`,
      );
    }
    this.cluster = Cidr.of(cluster.family, cluster.base, cluster.prefix);
    this.nodeMaskSize = nodeMaskSize;
    this.capacity = 2 ** diff;
    this.#shift = BigInt(cluster.bits - nodeMaskSize);
  }

  get usedCount(): number {
    return this.#used.size;
  }

  get freeCount(): number {
    return this.capacity - this.#used.size;
  }

  /** The index the next allocation starts scanning from (exposed for tests and reports). */
  get nextCandidate(): number {
    return this.#nextCandidate;
  }

  /** The next free node subnet, e.g. `10.244.3.0/24`. Throws RangeExhaustedError naming the cluster CIDR. */
  allocate(journal: Journal): string {
    if (this.#used.size >= this.capacity) {
      throw new RangeExhaustedError(
        'CIDR allocation failed; there are no remaining CIDRs left to allocate',
        this.cluster.text,
      );
    }
    let candidate = this.#nextCandidate;
    while (this.#used.has(candidate)) candidate = (candidate + 1) % this.capacity;
    const previous = this.#nextCandidate;
    this.#nextCandidate = (candidate + 1) % this.capacity;
    this.#used.add(candidate);
    journal.record(() => {
      this.#used.delete(candidate);
      this.#nextCandidate = previous;
    });
    return this.#subnet(candidate).text;
  }

  /**
   * Mark a pinned subnet (a Node's `spec.podCIDRs` entry) as used; returns its canonical text.
   * Throws InvalidArgumentError when it does not parse or has host bits set, OutOfRangeError when it is not one
   * node-sized subnet of the cluster CIDR, AlreadyAllocatedError when it is held already.
   */
  occupy(text: string, journal: Journal): string {
    const index = this.#indexOf(text, true);
    const cidr = this.#subnet(index).text;
    if (this.#used.has(index)) {
      throw new AlreadyAllocatedError(`pod CIDR ${cidr} is already allocated`, cidr, this.cluster.text);
    }
    this.#used.add(index);
    journal.record(() => this.#used.delete(index));
    return cidr;
  }

  /** Free a subnet; false (no-op) when it is not held here or does not parse. */
  release(text: string, journal: Journal): boolean {
    const index = this.#lookup(text);
    if (index === undefined || !this.#used.delete(index)) return false;
    journal.record(() => this.#used.add(index));
    return true;
  }

  has(text: string): boolean {
    const index = this.#lookup(text);
    return index !== undefined && this.#used.has(index);
  }

  /** Allocated subnets in address order. */
  allocated(): string[] {
    return [...this.#used].sort((a, b) => a - b).map((index) => this.#subnet(index).text);
  }

  #subnet(index: number): Cidr {
    return Cidr.of(this.cluster.family, this.cluster.base + (BigInt(index) << this.#shift), this.nodeMaskSize);
  }

  #lookup(text: string): number | undefined {
    try {
      return this.#indexOf(text, false);
    } catch {
      return undefined;
    }
  }

  #indexOf(text: string, strict: boolean): number {
    const cidr = parseCIDR(text);
    if (cidr === undefined) throw new InvalidArgumentError(`"${text}" is not a valid CIDR`);
    if (strict && !cidr.isCanonical) {
      throw new InvalidArgumentError(`pod CIDR ${text} has host bits set; the network is ${cidr.text}`);
    }
    if (!this.cluster.covers(cidr)) {
      throw new OutOfRangeError(
        `pod CIDR ${cidr.text} is outside the cluster CIDR ${this.cluster.text}`,
        cidr.text,
        this.cluster.text,
      );
    }
    if (cidr.prefix !== this.nodeMaskSize) {
      throw new OutOfRangeError(
        `pod CIDR ${cidr.text} is a /${cidr.prefix}, but nodes get /${this.nodeMaskSize} subnets of ${this.cluster.text}`,
        cidr.text,
        this.cluster.text,
      );
    }
    return Number((cidr.base - this.cluster.base) >> this.#shift);
  }
}
