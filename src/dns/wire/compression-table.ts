/**
 * The name-compression table behind writer.ts: which name suffixes are already in the message, and where.
 *
 * Open addressing over (suffix hash → offset of the suffix's first label in the output). A slot is live when its
 * generation is the current one, so `reset` is O(1) per message. A hit is confirmed against the octets already in
 * the output, so a hash collision can never produce a wrong pointer. Suffixes are hashed from their text, which for
 * names without escapes is exactly their octets; the match is case-sensitive, like miekg/dns's map keyed by text.
 *
 * Entries are also kept in insertion order: a rollback (an RRset that did not fit) removes the newest first, which
 * never breaks the probe chain of an older entry, and growth re-inserts them in the same order.
 */

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/**
 * Hash every suffix of `name[0, end)` whose labels start at `starts[0..labels)`, right to left, into `out[i]` for
 * the suffix starting at label i. Each hash depends only on the suffix text.
 */
export function hashSuffixes(name: string, starts: Int32Array, labels: number, end: number, out: Int32Array): void {
  let h = FNV_OFFSET;
  for (let i = labels - 1; i >= 0; i--) {
    const from = starts[i]!;
    const to = i + 1 < labels ? starts[i + 1]! - 1 : end;
    let lh = to - from;
    for (let j = from; j < to; j++) lh = Math.imul(lh ^ name.charCodeAt(j), FNV_PRIME);
    h = Math.imul(h ^ lh, FNV_PRIME) ^ (h >>> 13);
    out[i] = h;
  }
}

export class CompressionTable {
  private hashes = new Int32Array(1024);
  private offsets = new Int32Array(1024);
  private gens = new Int32Array(1024);
  private gen = 1;
  private logHash: number[] = [];
  private logOffset: number[] = [];
  private count = 0;

  /** Number of live entries (a checkpoint for `truncate`). */
  get size(): number {
    return this.count;
  }

  reset(): void {
    this.count = 0;
    if (++this.gen === 0x7fffffff) {
      this.gens.fill(0);
      this.gen = 1;
    }
  }

  /** Offset of an earlier copy of the suffix `name[start, end)` in `buf`, or -1. */
  find(buf: Uint8Array, hash: number, name: string, start: number, end: number): number {
    const mask = this.hashes.length - 1;
    for (let slot = hash & mask; this.gens[slot] === this.gen; slot = (slot + 1) & mask) {
      if (this.hashes[slot] === hash && matches(buf, this.offsets[slot]!, name, start, end)) return this.offsets[slot]!;
    }
    return -1;
  }

  /**
   * Whether any entry has this hash. Enough to decide not to insert a suffix from a field that is never compressed
   * (SRV target): a false positive only forgoes a pointer target, it can never produce a wrong pointer.
   */
  hasHash(hash: number): boolean {
    const mask = this.hashes.length - 1;
    for (let slot = hash & mask; this.gens[slot] === this.gen; slot = (slot + 1) & mask) {
      if (this.hashes[slot] === hash) return true;
    }
    return false;
  }

  insert(hash: number, offset: number): void {
    if ((this.count + 1) * 2 > this.hashes.length) this.grow();
    this.place(hash, offset);
    this.logHash[this.count] = hash;
    this.logOffset[this.count++] = offset;
  }

  /** Forget the newest entries until `size` are left. */
  truncate(size: number): void {
    const mask = this.hashes.length - 1;
    for (let i = this.count - 1; i >= size; i--) {
      const hash = this.logHash[i]!;
      const offset = this.logOffset[i]!;
      for (let slot = hash & mask; this.gens[slot] === this.gen; slot = (slot + 1) & mask) {
        if (this.offsets[slot] === offset && this.hashes[slot] === hash) {
          this.gens[slot] = 0;
          break;
        }
      }
    }
    this.count = Math.min(this.count, size);
  }

  private place(hash: number, offset: number): void {
    const mask = this.hashes.length - 1;
    let slot = hash & mask;
    while (this.gens[slot] === this.gen) slot = (slot + 1) & mask;
    this.hashes[slot] = hash;
    this.offsets[slot] = offset;
    this.gens[slot] = this.gen;
  }

  private grow(): void {
    const size = this.hashes.length * 2;
    this.hashes = new Int32Array(size);
    this.offsets = new Int32Array(size);
    this.gens = new Int32Array(size);
    this.gen = 1;
    for (let i = 0; i < this.count; i++) this.place(this.logHash[i]!, this.logOffset[i]!);
  }
}

/** Whether the name written at `at` in `buf` (pointers followed) spells exactly `name[start, end)`. */
function matches(buf: Uint8Array, at: number, name: string, start: number, end: number): boolean {
  let p = at;
  let i = start;
  for (;;) {
    let len = buf[p]!;
    while (len >= 0xc0) {
      p = ((len & 0x3f) << 8) | buf[p + 1]!;
      len = buf[p]!;
    }
    const stop = i + len;
    if (len === 0 || stop > end || (stop < end && name.charCodeAt(stop) !== 46)) return false;
    for (let j = 0; j < len; j++) if (buf[p + 1 + j] !== name.charCodeAt(i + j)) return false;
    p += 1 + len;
    if (stop === end) {
      let next = buf[p]!;
      while (next >= 0xc0) {
        p = ((next & 0x3f) << 8) | buf[p + 1]!;
        next = buf[p]!;
      }
      return next === 0;
    }
    i = stop + 1;
  }
}
