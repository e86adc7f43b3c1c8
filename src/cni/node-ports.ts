/**
 * NodePort allocation, as kube-apiserver's port allocator (pkg/registry/core/service/portallocator): every port of
 * the range is usable, and the KEP-3070 lower band is `min(max(16, size/32), 128)` ports (0 when the range has 16
 * ports or fewer). With the default 30000-32767 (2768 ports) the band is 30000-30085.
 */
import { InvalidArgumentError, RangeExhaustedError } from '../errors.js';
import type { Journal } from '../model/journal.js';
import type { Rng } from '../util/rng.js';
import { AlreadyAllocatedError, OutOfRangeError } from './allocation-errors.js';
import { BandedBitmap } from './banded-bitmap.js';

/** An inclusive port range, as kube-apiserver's --service-node-port-range. */
export interface PortRange {
  first: number;
  last: number;
}

/** Kubernetes' default --service-node-port-range. */
export const DEFAULT_NODE_PORT_RANGE: PortRange = { first: 30000, last: 32767 };

/** The KEP-3070 lower-band size for a port range of `size` ports. */
export function nodePortRangeOffset(size: number): number {
  if (size <= 16) return 0;
  const offset = Math.floor(size / 32);
  return Math.min(Math.max(16, offset), 128);
}

export class NodePortAllocator {
  readonly range: PortRange;
  /** `first-last`, as Kubernetes prints the range in its errors. */
  readonly rangeText: string;
  readonly #bitmap: BandedBitmap;

  constructor(range: PortRange, rng: Rng) {
    const { first, last } = range;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 1 || last > 65535 || first > last) {
      throw new InvalidArgumentError(
        `node port range ${first}-${last} must be whole ports within 1-65535, first <= last`,
      );
    }
    this.range = { first, last };
    this.rangeText = `${first}-${last}`;
    const size = last - first + 1;
    this.#bitmap = new BandedBitmap(size, nodePortRangeOffset(size), rng);
  }

  get size(): number {
    return this.#bitmap.max;
  }

  get usedCount(): number {
    return this.#bitmap.count;
  }

  get freeCount(): number {
    return this.#bitmap.max - this.#bitmap.count;
  }

  /** Ports random allocation avoids while the upper band has room; `undefined` for ranges of 16 ports or fewer. */
  get staticBand(): PortRange | undefined {
    const offset = this.#bitmap.offset;
    return offset === 0 ? undefined : { first: this.range.first, last: this.range.first + offset - 1 };
  }

  /** A random free port, upper band first. Throws RangeExhaustedError naming the range when none is left. */
  allocateNext(journal: Journal): number {
    const item = this.#bitmap.allocateNext(journal);
    if (item === undefined) throw new RangeExhaustedError('failed to allocate a nodePort', this.rangeText);
    return this.range.first + item;
  }

  /** Take a requested port; errors carry Kubernetes' wording (shown after `spec.ports[0].nodePort: Invalid value:`). */
  allocate(port: number, journal: Journal): void {
    if (!this.#contains(port)) {
      throw new OutOfRangeError(
        `provided port is not in the valid range. The range of valid ports is ${this.rangeText}`,
        String(port),
        this.rangeText,
      );
    }
    if (!this.#bitmap.allocate(port - this.range.first, journal)) {
      throw new AlreadyAllocatedError('provided port is already allocated', String(port), this.rangeText);
    }
  }

  /** Give a port back; a port not held or outside the range is a no-op (false), as upstream. */
  release(port: number, journal: Journal): boolean {
    return this.#contains(port) && this.#bitmap.release(port - this.range.first, journal);
  }

  has(port: number): boolean {
    return this.#contains(port) && this.#bitmap.has(port - this.range.first);
  }

  /** Allocated ports in ascending order. */
  allocated(): number[] {
    return this.#bitmap.items().map((item) => this.range.first + item);
  }

  #contains(port: number): boolean {
    return Number.isInteger(port) && port >= this.range.first && port <= this.range.last;
  }
}
