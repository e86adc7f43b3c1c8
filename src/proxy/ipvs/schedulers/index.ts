/**
 * Scheduler factory: one instance per virtual server, as the kernel allocates `sched_data` per service.
 */

import { InvalidArgumentError } from '../../../errors.js';
import type { Address } from '../../packet.js';
import { DestinationHash, type ShHash, SourceHash } from './bucket-hash.js';
import { DestTable, makeDest } from './dest-table.js';
import { foldAddress } from './hash.js';
import { Lblc, Lblcr } from './lblc.js';
import { LeastConnection } from './least-conn.js';
import { MaglevHash, type TableCell } from './maglev.js';
import type { MaglevArena } from './maglev-arena.js';
import { type CursorCell, RoundRobin } from './rr.js';
import type { Dest, Scheduler, SchedulerName, SchedulerOptions } from './types.js';
import { SCHEDULER_NAMES } from './types.js';
import { WeightedRoundRobin } from './wrr.js';

export type { Dest, DestChange, SchedPacket, Scheduler, SchedulerName, SchedulerOptions } from './types.js';
export { connOverhead, DestFlags, SCHEDULER_NAMES, SvcFlags, usable } from './types.js';

/** Everything a scheduler may be configured with. */
export interface CreateSchedulerOptions extends SchedulerOptions {
  /** Simulated time the virtual server was created (lblc/lblcr GC timers start then). */
  createdAtMs?: number;
  /** lblc_expiration / lblcr_expiration sysctl, ms. */
  expirationMs?: number;
  /** sh bucket hash; default the current kernels' hash_32. */
  shHash?: ShHash;
  /** CONFIG_IP_VS_MH_TAB_INDEX (8..17); default 12, M = 4093. */
  mhTabIndex?: number;
  /** Where an engine's mh schedulers keep their tables (maglev-arena.ts); each keeps its own without one. */
  mhArena?: MaglevArena;
  /** Where an rr scheduler keeps its cursor (its virtual server's row: vs-table.ts); its own cell without one. */
  rrCursor?: CursorCell;
  /** Where an mh scheduler says where its table is (its virtual server's row: vs-table.ts). */
  mhCell?: TableCell;
}

/** Whether a name is one of the schedulers modelled here. */
export function isSchedulerName(name: string): name is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(name);
}

/** A fresh scheduler for one virtual server. */
export function createScheduler(name: SchedulerName, opts: CreateSchedulerOptions = {}): Scheduler {
  switch (name) {
    case 'rr':
      return new RoundRobin(opts.rrCursor);
    case 'wrr':
      return new WeightedRoundRobin();
    case 'lc':
    case 'wlc':
    case 'sed':
    case 'nq':
      return new LeastConnection(name);
    case 'lblc':
      return new Lblc(opts);
    case 'lblcr':
      return new Lblcr(opts);
    case 'sh':
      return new SourceHash(opts);
    case 'dh':
      return new DestinationHash();
    case 'mh':
      return new MaglevHash({
        ...opts,
        ...(opts.mhTabIndex !== undefined ? { tabIndex: opts.mhTabIndex } : {}),
        ...(opts.mhArena !== undefined ? { arena: opts.mhArena } : {}),
        ...(opts.mhCell !== undefined ? { cell: opts.mhCell } : {}),
      });
  }
}

/**
 * A destination record as `ipvsadm -a ... -w weight` creates it: available, no connections, numbered in `table` (the
 * engine's; a table of its own when none is given, for a scheduler used alone). `destination`: the real server as a
 * keyed packet address, and `key` its `ip:port` text, when the caller already has them (an endpoint's), else built
 * here.
 */
export function newDest(
  addr: string,
  port: number,
  weight = 1,
  destination?: Address,
  table: DestTable = new DestTable(1),
  key?: string,
): Dest {
  const fold = foldAddress(addr);
  if (fold === undefined) throw new InvalidArgumentError(`not an IP address: ${addr}`);
  return makeDest(table, addr, port, fold, weight, destination, key);
}

/** Change a destination's weight as `__ip_vs_update_dest` does: last_weight keeps the latest non-zero weight. */
export function setDestWeight(dest: Dest, weight: number): void {
  if (weight !== 0) dest.lastWeight = weight;
  dest.weight = weight;
}
