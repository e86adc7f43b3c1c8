/**
 * Scheduler factory: one instance per virtual server, as the kernel allocates `sched_data` per service.
 */

import { InvalidArgumentError } from '../../../errors.js';
import { type Address, address, keyOf } from '../../packet.js';
import { DestinationHash, type ShHash, SourceHash } from './bucket-hash.js';
import { foldAddress } from './hash.js';
import { Lblc, Lblcr } from './lblc.js';
import { LeastConnection } from './least-conn.js';
import { MaglevHash } from './maglev.js';
import type { MaglevArena } from './maglev-arena.js';
import { RoundRobin } from './rr.js';
import type { Dest, Scheduler, SchedulerName, SchedulerOptions } from './types.js';
import { DestFlags, hostPort, SCHEDULER_NAMES } from './types.js';
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
}

/** Whether a name is one of the schedulers modelled here. */
export function isSchedulerName(name: string): name is SchedulerName {
  return (SCHEDULER_NAMES as readonly string[]).includes(name);
}

/** A fresh scheduler for one virtual server. */
export function createScheduler(name: SchedulerName, opts: CreateSchedulerOptions = {}): Scheduler {
  switch (name) {
    case 'rr':
      return new RoundRobin();
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
      });
  }
}

/**
 * A destination record as `ipvsadm -a ... -w weight` creates it: available, no connections. `destination`: the real
 * server as a keyed packet address, when the caller already has one (an endpoint's), else built here.
 */
export function newDest(addr: string, port: number, weight = 1, destination?: Address): Dest {
  const fold = foldAddress(addr);
  if (fold === undefined) throw new InvalidArgumentError(`not an IP address: ${addr}`);
  const target = destination ?? address(addr, port);
  return {
    addr,
    port,
    family: addr.includes(':') ? 'IPv6' : 'IPv4',
    fold,
    key: hostPort(addr, port),
    destination: target,
    destKey: keyOf(target),
    natRecord: null,
    natSnatIp: null,
    natService: null,
    natSnatKey: -1,
    weight,
    lastWeight: weight,
    activeConns: 0,
    inactConns: 0,
    persistConns: 0,
    flags: DestFlags.AVAILABLE,
    slot: -1,
    rrNext: undefined,
  };
}

/** Change a destination's weight as `__ip_vs_update_dest` does: last_weight keeps the latest non-zero weight. */
export function setDestWeight(dest: Dest, weight: number): void {
  if (weight !== 0) dest.lastWeight = weight;
  dest.weight = weight;
}
