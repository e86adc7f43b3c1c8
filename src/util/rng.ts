/**
 * The one source of randomness. Every random choice (generated names, ClusterIPs, NodePorts, iptables probabilities,
 * DNS shuffles) draws from a seeded stream, so the same seed gives the same output.
 *
 * Streams are derived by name (`rng.fork('clusterip/IPv4')`), so adding a consumer does not shift the numbers
 * another consumer sees.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

const TWO_31 = 0x80000000;

/** A seed as `--seed` and `cluster.proxy({ seed })` take one: an integer from 0 to 2^32 - 1 (the stream's width). */
export function isSeed(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

export class Rng {
  readonly seed: number;
  #gen: JumpableRandomGenerator;

  constructor(seed: number) {
    this.seed = seed >>> 0;
    this.#gen = xoroshiro128plus(this.seed);
  }

  /** An independent stream whose numbers depend only on this stream's seed and the label. */
  fork(label: string): Rng {
    return new Rng(hash32(label, this.seed));
  }

  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    if (maxExclusive <= 1) return 0;
    // A power of two up to 2^31 (iptables' statistic match draws from 2^31 on every rule of a cascade): uniformInt
    // never rejects a draw for it and returns the draw modulo the range, which is its low bits. Taking them directly
    // gives the same numbers without its floating-point remainder.
    if (maxExclusive <= TWO_31 && (maxExclusive & (maxExclusive - 1)) === 0 && Number.isInteger(maxExclusive))
      return this.#gen.next() & (maxExclusive - 1);
    return uniformInt(this.#gen, 0, maxExclusive - 1);
  }

  /** A float in [0, 1). */
  float(): number {
    return uniformInt(this.#gen, 0, 0x3fffffff) / 0x40000000;
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** Current generator state, to snapshot and restore a stream (rollback of a rejected batch). */
  clone(): Rng {
    const copy = new Rng(this.seed);
    copy.#gen = this.#gen.clone();
    return copy;
  }

  /** Make this stream continue from another stream's state. */
  restore(from: Rng): void {
    this.#gen = from.#gen.clone();
  }
}

/** FNV-1a over the label, mixed with a seed: stable stream derivation and deterministic name suffixes. */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  // final avalanche (murmur3 fmix32) so nearby labels give unrelated seeds
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
