/**
 * ClusterIP allocation for one service CIDR, as kube-apiserver's bitmap range (pkg/registry/core/service/ipallocator,
 * bitmap.go):
 * - item 0 is the address after the network address; the network address is never handed out, nor (IPv4) the
 *   broadcast address; both are simply outside the bitmap, so they can never be released into it either;
 * - an IPv6 range is capped at its first 65536 addresses (so 65535 usable), as the bitmap would be too large;
 * - KEP-3070: the lower `offset` items (`min(max(16, size/16), 256)`, 0 when the CIDR has 16 addresses or fewer)
 *   are left for explicitly requested IPs while random allocation has room above them.
 *
 * Since MultiCIDRServiceAllocator (KEP-1880) went GA, kube-apiserver tracks IPAddress objects instead of a bitmap;
 * the bands are the same but there is no 65536 cap. We keep the bitmap's cap.
 */
import { RangeExhaustedError } from '../errors.js';
import type { Journal } from '../model/journal.js';
import type { Rng } from '../util/rng.js';
import { AlreadyAllocatedError, OutOfRangeError } from './allocation-errors.js';
import { BandedBitmap } from './banded-bitmap.js';
import { type Cidr, formatIP, type IPFamily, parseIP } from './ip.js';

const IPV6_MAX_ADDRESSES = 65536n;
const MAX_ITEMS = 2n ** 31n - 1n; // upstream caps the bitmap at math.MaxInt32

/** The KEP-3070 lower-band size for a service CIDR: `min(max(16, size/16), 256)`, or 0 when size <= 16. */
export function serviceRangeOffset(cidrSize: bigint): number {
  if (cidrSize <= 16n) return 0;
  const offset = cidrSize / 16n;
  if (offset < 16n) return 16;
  if (offset > 256n) return 256;
  return Number(offset);
}

/** An inclusive band of addresses, as canonical text. */
export interface AddressBand {
  first: string;
  last: string;
}

export class ServiceIPAllocator {
  readonly cidr: Cidr;
  readonly family: IPFamily;
  readonly #bitmap: BandedBitmap;
  /** Value of bitmap item 0: the address after the network address. */
  readonly #first: bigint;

  constructor(cidr: Cidr, rng: Rng) {
    this.cidr = cidr;
    this.family = cidr.family;
    let max = cidr.size;
    if (cidr.family === 'IPv6' && max > IPV6_MAX_ADDRESSES) max = IPV6_MAX_ADDRESSES;
    if (cidr.family === 'IPv4') max -= 1n; // broadcast
    max -= 1n; // network address
    if (max < 0n) max = 0n;
    if (max > MAX_ITEMS) max = MAX_ITEMS;
    this.#first = cidr.base + 1n;
    this.#bitmap = new BandedBitmap(Number(max), serviceRangeOffset(cidr.size), rng);
  }

  /** Usable addresses in the range. */
  get size(): number {
    return this.#bitmap.max;
  }

  get usedCount(): number {
    return this.#bitmap.count;
  }

  get freeCount(): number {
    return this.#bitmap.max - this.#bitmap.count;
  }

  /** Size of the static (lower) band; 0 when the range is too small to have one. */
  get staticBandSize(): number {
    return this.#bitmap.offset;
  }

  /** The addresses random allocation avoids while the upper band has room; `undefined` when there is no band. */
  get staticBand(): AddressBand | undefined {
    if (this.#bitmap.offset === 0) return undefined;
    return { first: this.#format(0), last: this.#format(this.#bitmap.offset - 1) };
  }

  /** A random free address, upper band first. Throws RangeExhaustedError naming the CIDR when none is left. */
  allocateNext(journal: Journal): string {
    const item = this.#bitmap.allocateNext(journal);
    if (item === undefined) throw new RangeExhaustedError('failed to allocate a serviceIP', this.cidr.text);
    return this.#format(item);
  }

  /**
   * Take a requested address. Errors carry Kubernetes' wording (what kubectl shows after `spec.clusterIPs[0]:
   * Invalid value: ...`): "failed to allocate IP <ip>: provided IP is already allocated" and "... the provided IP
   * (<ip>) is not in the valid range. The range of valid IPs is <cidr>".
   */
  allocate(ip: string, journal: Journal): string {
    const item = this.#itemOf(ip);
    const text = parseIP(ip)?.text ?? ip;
    if (item === undefined) {
      const detail = `the provided IP (${text}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`;
      throw new OutOfRangeError(`failed to allocate IP ${text}: ${detail}`, text, this.cidr.text);
    }
    if (!this.#bitmap.allocate(item, journal)) {
      throw new AlreadyAllocatedError(
        `failed to allocate IP ${text}: provided IP is already allocated`,
        text,
        this.cidr.text,
      );
    }
    return text;
  }

  /** Give an address back. Like upstream, an address that is not held or not in the range is a no-op (false). */
  release(ip: string, journal: Journal): boolean {
    const item = this.#itemOf(ip);
    return item !== undefined && this.#bitmap.release(item, journal);
  }

  has(ip: string): boolean {
    const item = this.#itemOf(ip);
    return item !== undefined && this.#bitmap.has(item);
  }

  /** Whether the address could be allocated here at all (in the CIDR, not network/broadcast, under the IPv6 cap). */
  isAllocatable(ip: string): boolean {
    return this.#itemOf(ip) !== undefined;
  }

  /** Allocated addresses in ascending order. */
  allocated(): string[] {
    return this.#bitmap.items().map((item) => this.#format(item));
  }

  #itemOf(ip: string): number | undefined {
    const parsed = parseIP(ip);
    if (parsed === undefined || parsed.family !== this.family || !this.cidr.containsValue(parsed.value)) {
      return undefined;
    }
    const item = parsed.value - this.#first;
    if (item < 0n || item >= BigInt(this.#bitmap.max)) return undefined;
    return Number(item);
  }

  #format(item: number): string {
    return formatIP(this.#first + BigInt(item), this.family);
  }
}
