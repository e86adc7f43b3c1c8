/**
 * LoadBalancer ingress addresses from configured pools, in the spirit of MetalLB's address pools (no cloud here):
 * - a pool is a CIDR (`192.168.10.0/24`, every address usable, as MetalLB does unless `avoidBuggyIPs`) or an
 *   inclusive range `first-last` (`192.168.10.5-192.168.10.20`, either family, spaces around `-` allowed);
 * - dynamic allocation hands out the numerically lowest free address over all pools of the family, so the result
 *   does not depend on pool order or on randomness;
 * - pinned addresses (a fixture's `status.loadBalancer.ingress[].ip` or `spec.loadBalancerIP`) are always accepted:
 *   Kubernetes itself does not forbid two Services sharing an ingress IP (MetalLB does, unless they share a
 *   sharing key). Inside a pool they are counted as held, with a holder count so that two Services pinning the
 *   same address release it only when both are gone; outside every pool they are not tracked at all.
 */
import { InvalidArgumentError, RangeExhaustedError } from '../errors.js';
import type { Journal } from '../model/journal.js';
import { formatIP, type IPFamily, parseCIDR, parseIP } from './ip.js';

/** One pool: an inclusive run of addresses of one family. */
export interface LbPool {
  /** Canonical text: `network/prefix` for a CIDR pool, `first-last` for a range pool. */
  text: string;
  family: IPFamily;
  first: bigint;
  last: bigint;
  size: bigint;
}

/** Per-pool usage, for `kube-netsim ipam`. Counts that may exceed 2^53 (IPv6) are decimal strings. */
export interface LbPoolReport {
  pool: string;
  family: IPFamily;
  size: string;
  used: number;
  free: string;
}

/** The outcome of pinning an address: its canonical text and the pool it counts against, if any. */
export interface PinnedLbIP {
  ip: string;
  pool: string | undefined;
}

/** Parse a pool strictly; `undefined` when it is not a canonical CIDR or an ordered same-family range. */
export function parsePool(text: string): LbPool | undefined {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const cidr = parseCIDR(text.trim());
    if (cidr === undefined || !cidr.isCanonical) return undefined;
    return { text: cidr.text, family: cidr.family, first: cidr.base, last: cidr.last, size: cidr.size };
  }
  if (dash !== text.lastIndexOf('-')) return undefined;
  const first = parseIP(text.slice(0, dash).trim());
  const last = parseIP(text.slice(dash + 1).trim());
  if (first === undefined || last === undefined || first.family !== last.family || first.value > last.value) {
    return undefined;
  }
  return {
    text: `${first.text}-${last.text}`,
    family: first.family,
    first: first.value,
    last: last.value,
    size: last.value - first.value + 1n,
  };
}

interface PoolState {
  pool: LbPool;
  /** Held address → number of holders. */
  holders: Map<bigint, number>;
}

export class LoadBalancerPools {
  readonly #pools: PoolState[];

  /** Throws InvalidArgumentError for a pool that does not parse or overlaps another. */
  constructor(pools: readonly string[]) {
    this.#pools = [];
    for (const text of pools) {
      const pool = parsePool(text);
      if (pool === undefined) {
        throw new InvalidArgumentError(
          `LoadBalancer pool "${text}" is neither a CIDR network (10.0.0.0/24) nor a range (10.0.0.5-10.0.0.20)`,
        );
      }
      const clash = this.#pools.find(
        ({ pool: other }) => other.family === pool.family && other.first <= pool.last && pool.first <= other.last,
      );
      if (clash) throw new InvalidArgumentError(`LoadBalancer pools ${clash.pool.text} and ${pool.text} overlap`);
      this.#pools.push({ pool, holders: new Map() });
    }
  }

  /** The pools, canonical, in the order given. */
  get pools(): readonly LbPool[] {
    return this.#pools.map((state) => state.pool);
  }

  /** Whether any pool serves the family; without one a Service of that family stays pending. */
  hasPools(family: IPFamily): boolean {
    return this.#pools.some((state) => state.pool.family === family);
  }

  /** The lowest free address over all pools of the family. Throws RangeExhaustedError naming the pools. */
  allocate(family: IPFamily, journal: Journal): string {
    let best: { state: PoolState; value: bigint } | undefined;
    for (const state of this.#pools) {
      if (state.pool.family !== family) continue;
      const value = lowestFree(state);
      if (value !== undefined && (best === undefined || value < best.value)) best = { state, value };
    }
    if (best === undefined) {
      const pools = this.#pools.filter((state) => state.pool.family === family).map((state) => state.pool.text);
      const range = pools.length > 0 ? pools.join(', ') : `of ${family} pools (none configured)`;
      throw new RangeExhaustedError(`cannot allocate an ${family} LoadBalancer IP`, range);
    }
    this.#hold(best.state, best.value, journal);
    return formatIP(best.value, family);
  }

  /** Accept a pinned address (see the module comment). Throws InvalidArgumentError when it does not parse. */
  pin(ip: string, journal: Journal): PinnedLbIP {
    const parsed = parseIP(ip);
    if (parsed === undefined) throw new InvalidArgumentError(`"${ip}" is not a valid IP address`);
    const state = this.#poolOf(parsed.family, parsed.value);
    if (state !== undefined) this.#hold(state, parsed.value, journal);
    return { ip: parsed.text, pool: state?.pool.text };
  }

  /** Drop one holder of the address; false (no-op) when it is not tracked. */
  release(ip: string, journal: Journal): boolean {
    const parsed = parseIP(ip);
    const state = parsed && this.#poolOf(parsed.family, parsed.value);
    if (parsed === undefined || state === undefined) return false;
    const count = state.holders.get(parsed.value);
    if (count === undefined) return false;
    if (count === 1) state.holders.delete(parsed.value);
    else state.holders.set(parsed.value, count - 1);
    journal.record(() => state.holders.set(parsed.value, count));
    return true;
  }

  /** Whether a pool address is held by at least one Service. */
  has(ip: string): boolean {
    const parsed = parseIP(ip);
    if (parsed === undefined) return false;
    return this.#poolOf(parsed.family, parsed.value)?.holders.has(parsed.value) ?? false;
  }

  /** Usage per pool, in the order given. */
  report(): LbPoolReport[] {
    return this.#pools.map(({ pool, holders }) => ({
      pool: pool.text,
      family: pool.family,
      size: String(pool.size),
      used: holders.size,
      free: String(pool.size - BigInt(holders.size)),
    }));
  }

  #poolOf(family: IPFamily, value: bigint): PoolState | undefined {
    return this.#pools.find(({ pool }) => pool.family === family && value >= pool.first && value <= pool.last);
  }

  #hold(state: PoolState, value: bigint, journal: Journal): void {
    const count = state.holders.get(value);
    state.holders.set(value, (count ?? 0) + 1);
    journal.record(() => {
      if (count === undefined) state.holders.delete(value);
      else state.holders.set(value, count);
    });
  }
}

function lowestFree({ pool, holders }: PoolState): bigint | undefined {
  if (BigInt(holders.size) >= pool.size) return undefined;
  let value = pool.first;
  while (holders.has(value)) value++;
  return value;
}
