/**
 * `sh` and `dh` (ip_vs_sh.c, ip_vs_dh.c): a static 256-bucket table (`CONFIG_IP_VS_{SH,DH}_TAB_BITS` = 8) indexed
 * by a hash of the source (sh) or destination (dh) address.
 *
 * Filling walks the destination list cyclically from the head:
 * - sh gives each destination `weight` consecutive buckets per cycle; a weight-0 destination still takes one bucket
 *   (the "advance once the count reaches the weight" test passes at once), and lookups landing there fail;
 * - dh gives each destination one bucket per cycle; weights only matter as 0 = unavailable.
 * The table is rebuilt on every destination add/delete (and weight update for sh). The rebuild is done lazily on the
 * next lookup: the kernel rebuilds once per change, but no packet can observe the intermediate tables of one sync.
 *
 * Lookup:
 * - sh: bucket = `hash_32(srcPort + srcIP, 8)` on current kernels (older: `(srcIP · 2654435761) & 255`, which only
 *   depends on the last IPv4 octet). The port is 0 unless the sh-port flag is set; kube-proxy sets no flag for sh.
 *   Without sh-fallback an unavailable bucket means "no destination"; with it, successive hashes with offsets
 *   1..255 are probed.
 * - dh: bucket = `(dstIP · 2654435761) & 255`. With kube-proxy's one-address-per-virtual-server layout every
 *   connection of a virtual server lands in the same bucket, so one endpoint gets all the traffic.
 */
import { dstFoldOf, goldenMulMask, hash32, srcFoldOf } from './hash.js';
import type { Dest, DestChange, SchedPacket, Scheduler, SchedulerOptions } from './types.js';
import { DestFlags, SvcFlags } from './types.js';

export const BUCKET_TAB_SIZE = 256;
const MASK = BUCKET_TAB_SIZE - 1;

/** Which sh hash to use: `hash_32` (current kernels) or the older multiplicative one. */
export type ShHash = 'hash32' | 'multiplicative';

function unavailable(d: Dest): boolean {
  return d.weight <= 0 || (d.flags & DestFlags.OVERLOAD) !== 0;
}

/** Source hashing. */
export class SourceHash implements Scheduler {
  readonly name = 'sh' as const;
  readonly #flags: number;
  readonly #hash: ShHash;
  #table: (Dest | undefined)[] = new Array(BUCKET_TAB_SIZE).fill(undefined);
  #dirty = true;

  constructor(opts: SchedulerOptions & { shHash?: ShHash } = {}) {
    this.#flags = opts.flags ?? 0;
    this.#hash = opts.shHash ?? 'hash32';
  }

  destsChanged(_dests: readonly Dest[], _change: DestChange): void {
    this.#dirty = true;
  }

  /** The bucket table (rebuilt if stale), for traces and tests. */
  table(dests: readonly Dest[]): readonly (Dest | undefined)[] {
    if (this.#dirty) this.#rebuild(dests);
    return this.#table;
  }

  /** The bucket a source address (and port, when sh-port is set) hashes to, with a fallback probe offset. */
  bucket(pkt: Pick<SchedPacket, 'srcIP' | 'srcPort' | 'srcKey'>, offset = 0): number {
    const port = this.#flags & SvcFlags.SCHED2 ? pkt.srcPort : 0;
    const key = (srcFoldOf(pkt) + port) >>> 0;
    if (this.#hash === 'hash32') return (offset + hash32(key, 8)) & MASK;
    return (offset + goldenMulMask(key, 0xffffffff)) & MASK;
  }

  schedule(dests: readonly Dest[], pkt: SchedPacket, _nowMs: number, trace?: string[]): Dest | undefined {
    const table = this.table(dests);
    const ihash = this.bucket(pkt);
    let dest = table[ihash];
    trace?.push(`sh: ${pkt.srcIP} hashes to bucket ${ihash} -> ${dest ? dest.key : 'empty'}`);
    if (!dest) return undefined;
    if (!unavailable(dest)) return dest;
    if ((this.#flags & SvcFlags.SCHED1) === 0) {
      trace?.push(`sh: ${dest.key} is unavailable (weight ${dest.weight}) and sh-fallback is off: no destination`);
      return undefined;
    }
    for (let offset = 0; offset < BUCKET_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % BUCKET_TAB_SIZE;
      const h = this.bucket(pkt, roffset);
      dest = table[h];
      if (!dest) break;
      if (!unavailable(dest)) {
        trace?.push(`sh: fallback probe offset ${roffset} -> bucket ${h} -> ${dest.key}`);
        return dest;
      }
    }
    trace?.push('sh: fallback found no available destination');
    return undefined;
  }

  #rebuild(dests: readonly Dest[]): void {
    fillWeighted(this.#table, dests, true);
    this.#dirty = false;
  }
}

/** Destination hashing. */
export class DestinationHash implements Scheduler {
  readonly name = 'dh' as const;
  #table: (Dest | undefined)[] = new Array(BUCKET_TAB_SIZE).fill(undefined);
  #dirty = true;

  destsChanged(_dests: readonly Dest[], change: DestChange): void {
    // ip_vs_dh registers no upd_dest hook: weight changes leave the table alone.
    if (change.kind !== 'upd') this.#dirty = true;
  }

  table(dests: readonly Dest[]): readonly (Dest | undefined)[] {
    if (this.#dirty) {
      fillWeighted(this.#table, dests, false);
      this.#dirty = false;
    }
    return this.#table;
  }

  bucket(pkt: Pick<SchedPacket, 'dstIP' | 'dstKey'>): number {
    return goldenMulMask(dstFoldOf(pkt), MASK);
  }

  schedule(dests: readonly Dest[], pkt: SchedPacket, _nowMs: number, trace?: string[]): Dest | undefined {
    const h = this.bucket(pkt);
    const dest = this.table(dests)[h];
    trace?.push(`dh: ${pkt.dstIP} hashes to bucket ${h} -> ${dest ? dest.key : 'empty'}`);
    if (!dest || (dest.flags & DestFlags.AVAILABLE) === 0 || unavailable(dest)) {
      if (dest) trace?.push(`dh: ${dest.key} is unavailable (weight ${dest.weight}): no destination`);
      return undefined;
    }
    return dest;
  }
}

// Fill the buckets walking the list cyclically; with `weighted`, a destination keeps taking buckets until its count
// reaches its weight (at least one bucket, even at weight 0).
function fillWeighted(table: (Dest | undefined)[], dests: readonly Dest[], weighted: boolean): void {
  if (dests.length === 0) {
    table.fill(undefined);
    return;
  }
  let p = 0;
  let count = 0;
  for (let i = 0; i < BUCKET_TAB_SIZE; i++) {
    if (p === dests.length) p = 0;
    const d = dests[p]!;
    table[i] = d;
    if (!weighted || ++count >= d.weight) {
      p++;
      count = 0;
    }
  }
}
