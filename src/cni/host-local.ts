/**
 * Per-node pod IP allocation, as the CNI host-local IPAM plugin with one range (the node's pod CIDR) and default
 * settings (containernetworking/plugins plugins/ipam/host-local/backend/allocator):
 * - the range runs from the address after the network address to the last address, minus the broadcast address
 *   for IPv4 (IPv6 hands out the last address); the gateway defaults to the first of them (`.1`) and is skipped;
 * - allocation is round-robin: it starts after the last reserved IP and walks the range, wrapping at the end, until
 *   it comes back to where it started, so a released address is not reused until the walk comes round again;
 * - every successful reservation, requested or not, becomes the new "last reserved IP"; releases do not move it;
 * - a /31 or /32 (/127, /128) is "too small to allocate from".
 *
 * Every pod takes one address per family, so this is on the per-pod path of a bulk load. Ranges of up to 2^32
 * addresses (every IPv4 range, IPv6 /96 and longer) keep their offsets as plain numbers, and IPv4 addresses are
 * formatted from a number: no BigInt arithmetic and no bigint Set keys per pod. Larger IPv6 ranges (a /64 has 2^64
 * addresses, beyond a Number) keep bigint offsets. The walk is the same either way.
 */
import { InvalidArgumentError, RangeExhaustedError } from '../errors.js';
import type { Journal } from '../model/journal.js';
import { AlreadyAllocatedError, OutOfRangeError } from './allocation-errors.js';
import { type Cidr, formatIP, parseCIDR, parseIP } from './ip.js';

/** Ranges up to this many addresses use number offsets (see the module comment). */
const NUMBER_RANGE_LIMIT = 2n ** 32n;

/** An offset from the network address: a number in small ranges, a bigint in large ones, never mixed in one range. */
type Offset = number | bigint;

/** host-local's default gateway of a subnet (the bridge's address on the node): the address after the network's. */
export function defaultGateway(subnet: Cidr): string {
  return formatIP(subnet.base + 1n, subnet.family);
}

/** The gateways of a node's pod CIDRs (as `spec.podCIDRs` writes them; unparsable ones have none), in their order. */
export function podGateways(podCIDRs: readonly string[]): string[] {
  const gateways: string[] = [];
  for (const text of podCIDRs) {
    const cidr = parseCIDR(text);
    if (cidr) gateways.push(defaultGateway(cidr));
  }
  return gateways;
}

export class HostLocalAllocator {
  readonly subnet: Cidr;
  /** `rangeStart-rangeEnd`, the way host-local names its range set in errors. */
  readonly rangeSetText: string;
  // Offsets from the network address. The gateway is the range start, as host-local defaults both to `.1`.
  readonly #start: Offset;
  readonly #end: Offset;
  readonly #gateway: Offset;
  /** Whether offsets are numbers (ranges of up to 2^32 addresses). */
  readonly #small: boolean;
  /** The IPv4 network address as a number, to format IPv4 addresses without BigInt; -1 for IPv6. */
  readonly #base4: number;
  /** `capacity` as a number, for the per-allocation check (exact: a range too large for it never fills up). */
  readonly #room: number;
  readonly #used = new Set<Offset>();
  #lastReserved: Offset | undefined;

  constructor(subnet: Cidr) {
    if (subnet.prefix > subnet.bits - 2) {
      throw new InvalidArgumentError(`Network ${subnet.text} too small to allocate from`);
    }
    this.subnet = subnet;
    const end = subnet.family === 'IPv4' ? subnet.size - 2n : subnet.size - 1n;
    this.#small = subnet.size <= NUMBER_RANGE_LIMIT;
    this.#start = this.#offset(1n);
    this.#gateway = this.#offset(1n);
    this.#end = this.#offset(end);
    this.#base4 = subnet.family === 'IPv4' ? Number(subnet.base) : -1;
    this.#room = Number(this.capacity);
    this.rangeSetText = `${this.#format(this.#start)}-${this.#format(this.#end)}`;
  }

  /** The gateway address (the first address after the network address); never given to a pod. */
  get gateway(): string {
    return this.#format(this.#gateway);
  }

  /** How many addresses pods can get: the range minus the gateway. */
  get capacity(): bigint {
    return BigInt(this.#end) - BigInt(this.#start);
  }

  get usedCount(): number {
    return this.#used.size;
  }

  get freeCount(): bigint {
    return this.capacity - BigInt(this.#used.size);
  }

  /** The last reserved address, where the next walk starts after; `undefined` before the first reservation. */
  get lastReserved(): string | undefined {
    return this.#lastReserved === undefined ? undefined : this.#format(this.#lastReserved);
  }

  /** The next free address after the last reserved one. Throws RangeExhaustedError naming the subnet when full. */
  allocate(journal: Journal): string {
    if (this.#used.size >= this.#room) {
      throw new RangeExhaustedError('no IP addresses available', this.subnet.text);
    }
    const offset = this.#small ? this.#nextSmall() : this.#nextLarge();
    // unreachable while the used count is below capacity
    if (offset === undefined) throw new RangeExhaustedError('no IP addresses available', this.subnet.text);
    this.#take(offset, journal);
    return this.#format(offset);
  }

  /**
   * Reserve a requested address (a pinned pod IP). Throws InvalidArgumentError when it does not parse,
   * OutOfRangeError when it is outside the range or is the network, broadcast or gateway address, and
   * AlreadyAllocatedError when another pod holds it. Returns the canonical text.
   */
  reserve(ip: string, journal: Journal): string {
    const parsed = parseIP(ip);
    if (parsed === undefined) throw new InvalidArgumentError(`"${ip}" is not a valid IP address`);
    const text = parsed.text;
    if (parsed.family !== this.subnet.family || !this.subnet.containsValue(parsed.value)) {
      throw this.#outOfRange(`${text} not in range set ${this.rangeSetText}`, text);
    }
    const offset = this.#offset(parsed.value - this.subnet.base);
    if (offset === this.#offset(0n)) {
      throw this.#outOfRange(`${text} is the network address of ${this.subnet.text}`, text);
    }
    if (offset > this.#end) throw this.#outOfRange(`${text} is the broadcast address of ${this.subnet.text}`, text);
    if (offset === this.#gateway) throw this.#outOfRange(`requested ip ${text} is subnet's gateway`, text);
    if (this.#used.has(offset)) {
      throw new AlreadyAllocatedError(
        `requested IP address ${text} is not available in range set ${this.rangeSetText}`,
        text,
        this.subnet.text,
      );
    }
    this.#take(offset, journal);
    return text;
  }

  /** Free an address; false (no-op) when it is not held. The round-robin position stays where it is. */
  release(ip: string, journal: Journal): boolean {
    const offset = this.#offsetOf(ip);
    if (offset === undefined || !this.#used.delete(offset)) return false;
    journal.recordCall(HostLocalAllocator.#undoRelease, this, offset);
    return true;
  }

  has(ip: string): boolean {
    const offset = this.#offsetOf(ip);
    return offset !== undefined && this.#used.has(offset);
  }

  /** Held addresses in ascending order. */
  allocated(): string[] {
    return [...this.#used].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((offset) => this.#format(offset));
  }

  /**
   * The walk, for number offsets: from after the last reservation to the end of the range, then from its start,
   * skipping the gateway and held addresses; undefined when it comes back round without a free address.
   */
  #nextSmall(): number | undefined {
    const start = this.#start as number;
    const end = this.#end as number;
    const last = this.#lastReserved as number | undefined;
    const first = last === undefined || last >= end ? start : last + 1;
    for (let offset = first; offset <= end; offset++) if (this.#free(offset)) return offset;
    for (let offset = start; offset < first; offset++) if (this.#free(offset)) return offset;
    return undefined;
  }

  /** The same walk for bigint offsets (ranges beyond 2^32 addresses). */
  #nextLarge(): bigint | undefined {
    const start = this.#start as bigint;
    const end = this.#end as bigint;
    const last = this.#lastReserved as bigint | undefined;
    const first = last === undefined || last >= end ? start : last + 1n;
    for (let offset = first; offset <= end; offset++) if (this.#free(offset)) return offset;
    for (let offset = start; offset < first; offset++) if (this.#free(offset)) return offset;
    return undefined;
  }

  #free(offset: Offset): boolean {
    return offset !== this.#gateway && !this.#used.has(offset);
  }

  #take(offset: Offset, journal: Journal): void {
    const previous = this.#lastReserved;
    this.#used.add(offset);
    this.#lastReserved = offset;
    journal.recordCall(HostLocalAllocator.#undoTake, this, offset, previous);
  }

  // Undo steps shared by every allocator (Journal.recordCall): no closure per pod.
  static #undoTake(self: HostLocalAllocator, offset: Offset, previous: Offset | undefined): void {
    self.#used.delete(offset);
    self.#lastReserved = previous;
  }

  static #undoRelease(self: HostLocalAllocator, offset: Offset): void {
    self.#used.add(offset);
  }

  /** An offset in this range's representation. */
  #offset(value: bigint): Offset {
    return this.#small ? Number(value) : value;
  }

  #offsetOf(ip: string): Offset | undefined {
    const parsed = parseIP(ip);
    if (parsed === undefined || parsed.family !== this.subnet.family || !this.subnet.containsValue(parsed.value)) {
      return undefined;
    }
    return this.#offset(parsed.value - this.subnet.base);
  }

  #outOfRange(message: string, value: string): OutOfRangeError {
    return new OutOfRangeError(message, value, this.subnet.text);
  }

  #format(offset: Offset): string {
    if (this.#base4 >= 0) {
      // The same text formatIP gives, from a number: the sum stays below 2^32, so `>>>` reads it unsigned.
      const v = this.#base4 + (offset as number);
      return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;
    }
    return formatIP(this.subnet.base + BigInt(offset), this.subnet.family);
  }
}
