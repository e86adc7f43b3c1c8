/**
 * Per-node pod IP allocation, as the CNI host-local IPAM plugin with one range (the node's pod CIDR) and default
 * settings (containernetworking/plugins plugins/ipam/host-local/backend/allocator):
 * - the range runs from the address after the network address to the last address, minus the broadcast address
 *   for IPv4 (IPv6 hands out the last address); the gateway defaults to the first of them (`.1`) and is skipped;
 * - allocation is round-robin: it starts after the last reserved IP and walks the range, wrapping at the end, until
 *   it comes back to where it started, so a released address is not reused until the walk comes round again;
 * - every successful reservation, requested or not, becomes the new "last reserved IP"; releases do not move it;
 * - a /31 or /32 (/127, /128) is "too small to allocate from".
 */
import { InvalidArgumentError, RangeExhaustedError } from '../errors.js';
import type { Journal } from '../model/journal.js';
import { AlreadyAllocatedError, OutOfRangeError } from './allocation-errors.js';
import { type Cidr, formatIP, parseIP } from './ip.js';

export class HostLocalAllocator {
  readonly subnet: Cidr;
  /** `rangeStart-rangeEnd`, the way host-local names its range set in errors. */
  readonly rangeSetText: string;
  // Offsets from the network address. The gateway is the range start, as host-local defaults both to `.1`.
  readonly #start = 1n;
  readonly #end: bigint;
  readonly #gateway = 1n;
  readonly #used = new Set<bigint>();
  #lastReserved: bigint | undefined;

  constructor(subnet: Cidr) {
    if (subnet.prefix > subnet.bits - 2) {
      throw new InvalidArgumentError(`Network ${subnet.text} too small to allocate from`);
    }
    this.subnet = subnet;
    this.#end = subnet.family === 'IPv4' ? subnet.size - 2n : subnet.size - 1n;
    this.rangeSetText = `${this.#format(this.#start)}-${this.#format(this.#end)}`;
  }

  /** The gateway address (the first address after the network address); never given to a pod. */
  get gateway(): string {
    return this.#format(this.#gateway);
  }

  /** How many addresses pods can get: the range minus the gateway. */
  get capacity(): bigint {
    return this.#end - this.#start;
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
    if (BigInt(this.#used.size) >= this.capacity) {
      throw new RangeExhaustedError('no IP addresses available', this.subnet.text);
    }
    const length = this.#end - this.#start + 1n;
    const first = this.#lastReserved === undefined ? this.#start : this.#after(this.#lastReserved);
    for (let step = 0n; step < length; step++) {
      const offset = this.#start + ((first - this.#start + step) % length);
      if (offset === this.#gateway || this.#used.has(offset)) continue;
      this.#take(offset, journal);
      return this.#format(offset);
    }
    // unreachable while the used count is below capacity
    throw new RangeExhaustedError('no IP addresses available', this.subnet.text);
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
    const offset = parsed.value - this.subnet.base;
    if (offset === 0n) throw this.#outOfRange(`${text} is the network address of ${this.subnet.text}`, text);
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
    journal.record(() => this.#used.add(offset));
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

  #take(offset: bigint, journal: Journal): void {
    const previous = this.#lastReserved;
    this.#used.add(offset);
    this.#lastReserved = offset;
    journal.record(() => {
      this.#used.delete(offset);
      this.#lastReserved = previous;
    });
  }

  #after(offset: bigint): bigint {
    return offset >= this.#end ? this.#start : offset + 1n;
  }

  #offsetOf(ip: string): bigint | undefined {
    const parsed = parseIP(ip);
    if (parsed === undefined || parsed.family !== this.subnet.family || !this.subnet.containsValue(parsed.value)) {
      return undefined;
    }
    return parsed.value - this.subnet.base;
  }

  #outOfRange(message: string, value: string): OutOfRangeError {
    return new OutOfRangeError(message, value, this.subnet.text);
  }

  #format(offset: bigint): string {
    return formatIP(this.subnet.base + offset, this.subnet.family);
  }
}
