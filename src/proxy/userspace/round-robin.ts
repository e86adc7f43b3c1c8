/**
 * The userspace proxier's load balancer (pkg/proxy/userspace/roundrobin.go, LoadBalancerRR, release ≤ 1.25).
 *
 * Per Service port: an endpoint list, a round-robin index, and ClientIP affinity (client IP → endpoint, last used).
 * - An endpoint update that changes the list *as a multiset* (both sides compared sorted) drops affinity records of
 *   vanished endpoints, replaces the list with a shuffled copy of the sorted new list, and resets the index to 0. An
 *   update with the same endpoints changes nothing: no reshuffle.
 * - An update leaving the port with no endpoints resets it: empty list, index 0, affinity map cleared.
 * - NextEndpoint: with affinity and no reset request, a record younger than the TTL (whole seconds, truncated) is
 *   refreshed and reused; otherwise `endpoints[index]`, index advances modulo the length, and the record is written.
 * - The TTL is fixed when the port's state is first created: 0 means the API default 10800 s; later Service updates
 *   change the affinity type but not the TTL (upstream's newServiceInternal).
 *
 * Shuffling uses the engine's seeded Rng (upstream used math/rand), so runs replay exactly.
 */
import type { Rng } from '../../util/rng.js';
import type { Address } from '../packet.js';
import { EndpointArena } from './endpoint-arena.js';

/** The API default for ClientIP affinity (v1.DefaultClientIPServiceAffinitySeconds). */
export const DEFAULT_AFFINITY_SECONDS = 10800;

interface AffinityRecord {
  endpoint: string;
  /** Simulated seconds. */
  lastUsed: number;
}

/** One Service port's balancer state. */
export interface BalancerState {
  /** Its row in the balancer's cells (`BalancerCells`): where its index, list and affinity flag also are. */
  readonly id: number;
  /** The shuffled endpoint list (`ip:port`). */
  endpoints: string[];
  /**
   * Where `endpoints` is in the engine's arena (endpoint-arena.ts), index for index, and its length: a connection's
   * dial reads the endpoint there (its text, keyed address, key and port) and not from the list.
   */
  base: number;
  length: number;
  readonly arena: EndpointArena;
  /** `endpoints [a, b] (shuffled)`, for traces. */
  listText: string;
  index: number;
  affinity: 'None' | 'ClientIP';
  ttlSeconds: number;
  /** `NO_AFFINITY` until the first record is written (a Map per Service port, mostly empty, was a tenth of the engine). */
  affinityMap: Map<string, AffinityRecord>;
}

/**
 * `nextEndpointOf` for the balancer numbered `id` (its `BalancerState` is `s`, undefined: none, id -1), reading the
 * common case (no affinity, some endpoints) from the cells alone: a connection then reaches no balancer object (one
 * among 10,000 on a big node, a cache miss and a page walk). Anything else is `nextEndpointOf`'s.
 */
export function nextEndpointById(
  lb: LoadBalancerRR,
  id: number,
  s: BalancerState | undefined,
  clientIP: string,
  sessionAffinityReset: boolean,
  now: number,
): NextResult {
  const cells = lb.cells.i32;
  const at = id * CELL_STRIDE;
  if (id < 0 || cells[at + CELL_STICKY] !== 0 || cells[at + CELL_LENGTH] === 0)
    return nextEndpointOf(s, clientIP, sessionAffinityReset, now);
  const index = cells[at + CELL_INDEX]!;
  cells[at + CELL_INDEX] = (index + 1) % cells[at + CELL_LENGTH]!;
  return chosenAt(lb.arena, cells[at + CELL_BASE]!, index, 'round-robin');
}

/** The affinity records of a port that has none yet: shared, never written to (nextEndpointOf replaces it first). */
const NO_AFFINITY = new Map<string, AffinityRecord>();

/** How NextEndpoint decided, for traces. */
export type NextResult =
  | {
      readonly ok: true;
      readonly endpoint: string;
      readonly address: Address;
      /** `address`'s key (`addressKey` of its IP) and port, read from the arena, not the address. */
      readonly key: number;
      readonly port: number;
      readonly how: 'affinity' | 'round-robin';
      readonly index: number;
    }
  | { readonly ok: false; readonly error: 'missing service entry' | 'missing endpoints' };

export class LoadBalancerRR {
  readonly #services = new Map<string, BalancerState>();
  readonly #rng: Rng;
  readonly #arena = new EndpointArena();
  /** Every balancer's index, list and affinity flag by `id`, where a connection reads them (`nextEndpointById`). */
  readonly cells = new BalancerCells();

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  /** The arena every balancer's endpoint list is in. */
  get arena(): EndpointArena {
    return this.#arena;
  }

  state(svcPort: string): BalancerState | undefined {
    return this.#services.get(svcPort);
  }

  /** NewService: create the state if missing (TTL fixed now), else only update the affinity type. */
  newService(svcPort: string, affinity: 'None' | 'ClientIP' | '', ttlSeconds: number): BalancerState {
    let s = this.#services.get(svcPort);
    if (!s) {
      s = new Balancer(
        this.cells,
        this.#arena,
        affinity === '' ? 'None' : affinity,
        ttlSeconds === 0 ? DEFAULT_AFFINITY_SECONDS : ttlSeconds,
      );
      this.#services.set(svcPort, s);
    } else if (affinity !== '') s.affinity = affinity;
    return s;
  }

  deleteService(svcPort: string): void {
    const s = this.#services.get(svcPort);
    if (s === undefined) return;
    this.#arena.release(s.base, s.length);
    // A holder of the state (none should be left) then finds no endpoints, not the run's next list.
    s.length = 0;
    this.#services.delete(svcPort);
  }

  /** OnEndpointsUpdate for one port. Returns whether the list was replaced (and so reshuffled). */
  setEndpoints(svcPort: string, endpoints: readonly string[]): boolean {
    if (endpoints.length === 0) {
      const s = this.#services.get(svcPort);
      if (s) {
        this.#arena.release(s.base, s.length);
        s.endpoints = [];
        s.base = 0;
        s.length = 0;
        s.listText = listText([]);
        s.index = 0;
        s.affinityMap.clear();
      }
      return false;
    }
    const sorted = [...endpoints].sort();
    const s = this.#services.get(svcPort);
    if (s && sameMultiset(s.endpoints, sorted)) return false;
    const state = s ?? this.newService(svcPort, '', 0);
    const keep = new Set(sorted);
    for (const [ip, rec] of state.affinityMap) if (!keep.has(rec.endpoint)) state.affinityMap.delete(ip);
    state.endpoints = this.#rng.shuffle(sorted);
    state.base = this.#arena.store(state.endpoints, state);
    state.length = state.endpoints.length;
    state.listText = listText(state.endpoints);
    state.index = 0;
    return true;
  }

  /** NextEndpoint for a connection from `clientIP` at `now` (seconds). */
  nextEndpoint(svcPort: string, clientIP: string, sessionAffinityReset: boolean, now: number): NextResult {
    return nextEndpointOf(this.#services.get(svcPort), clientIP, sessionAffinityReset, now);
  }

  /** CleanupStaleStickySessions: drop records whose age (whole seconds) reached the TTL. */
  cleanupStaleStickySessions(now: number): void {
    for (const s of this.#services.values()) {
      for (const [ip, rec] of s.affinityMap)
        if (Math.trunc(now - rec.lastUsed) >= s.ttlSeconds) s.affinityMap.delete(ip);
    }
  }
}

/**
 * NextEndpoint on a port's state as `state(svcPort)` returned it (undefined: the port has none): what a caller that
 * keeps the state at hand calls, so a connection does not look its Service port up by name.
 */
export function nextEndpointOf(
  s: BalancerState | undefined,
  clientIP: string,
  sessionAffinityReset: boolean,
  now: number,
): NextResult {
  if (!s) return { ok: false, error: 'missing service entry' };
  const length = s.length;
  if (length === 0) return { ok: false, error: 'missing endpoints' };
  const sticky = s.affinity === 'ClientIP';
  if (sticky && !sessionAffinityReset) {
    const rec = s.affinityMap.get(clientIP);
    if (rec && Math.trunc(now - rec.lastUsed) < s.ttlSeconds) {
      rec.lastUsed = now;
      return chosen(s, s.endpoints.indexOf(rec.endpoint), 'affinity');
    }
  }
  const index = s.index;
  s.index = (index + 1) % length;
  const result = chosen(s, index, 'round-robin');
  const endpoint = result.endpoint;
  if (sticky) {
    const rec = s.affinityMap.get(clientIP);
    if (rec) {
      rec.endpoint = endpoint;
      rec.lastUsed = now;
    } else {
      if (s.affinityMap === NO_AFFINITY) s.affinityMap = new Map();
      s.affinityMap.set(clientIP, { endpoint, lastUsed: now });
    }
  }
  return result;
}

/** The endpoint at `index` of a port's list, as NextEndpoint hands it out. */
function chosen(s: BalancerState, index: number, how: 'affinity' | 'round-robin'): Extract<NextResult, { ok: true }> {
  return chosenAt(s.arena, s.base, index, how);
}

/** The endpoint at `index` of the list whose first slot in `arena` is `base`. */
function chosenAt(
  arena: EndpointArena,
  base: number,
  index: number,
  how: 'affinity' | 'round-robin',
): Extract<NextResult, { ok: true }> {
  const slot = base + index;
  return {
    ok: true,
    endpoint: arena.text(slot),
    address: arena.address(slot),
    key: arena.key(slot),
    port: arena.port(slot),
    how,
    index,
  };
}

function listText(endpoints: readonly string[]): string {
  return `endpoints [${endpoints.join(', ')}] (shuffled)`;
}

function sameMultiset(current: readonly string[], sortedNew: readonly string[]): boolean {
  if (current.length !== sortedNew.length) return false;
  const a = [...current].sort();
  return a.every((v, i) => v === sortedNew[i]);
}

/** A balancer's cells: its round-robin index, its list's first arena slot and length, and 1 with ClientIP affinity. */
const CELL_INDEX = 0;
const CELL_BASE = 1;
const CELL_LENGTH = 2;
const CELL_STICKY = 3;
const CELL_STRIDE = 4;

/** Four int32 cells per balancer ever made (ids are not reused: an old state may still be held, see deleteService). */
export class BalancerCells {
  i32 = new Int32Array(64 * CELL_STRIDE);
  #used = 0;

  /** A new balancer's id, its cells zero. */
  take(): number {
    const id = this.#used++;
    if (this.#used * CELL_STRIDE > this.i32.length) {
      const grown = new Int32Array(this.i32.length * 2);
      grown.set(this.i32);
      this.i32 = grown;
    }
    return id;
  }
}

/** A BalancerState whose index, list place and affinity flag live in the cells, the rest in the object. */
class Balancer implements BalancerState {
  readonly id: number;
  readonly #cells: BalancerCells;
  endpoints: string[] = [];
  listText = listText([]);
  #affinity: 'None' | 'ClientIP' = 'None';
  affinityMap = NO_AFFINITY;

  constructor(
    cells: BalancerCells,
    readonly arena: EndpointArena,
    affinity: 'None' | 'ClientIP',
    readonly ttlSeconds: number,
  ) {
    this.#cells = cells;
    this.id = cells.take();
    this.affinity = affinity;
  }

  get index(): number {
    return this.#cells.i32[this.id * CELL_STRIDE + CELL_INDEX]!;
  }

  set index(index: number) {
    this.#cells.i32[this.id * CELL_STRIDE + CELL_INDEX] = index;
  }

  get base(): number {
    return this.#cells.i32[this.id * CELL_STRIDE + CELL_BASE]!;
  }

  set base(base: number) {
    this.#cells.i32[this.id * CELL_STRIDE + CELL_BASE] = base;
  }

  get length(): number {
    return this.#cells.i32[this.id * CELL_STRIDE + CELL_LENGTH]!;
  }

  set length(length: number) {
    this.#cells.i32[this.id * CELL_STRIDE + CELL_LENGTH] = length;
  }

  get affinity(): 'None' | 'ClientIP' {
    return this.#affinity;
  }

  set affinity(affinity: 'None' | 'ClientIP') {
    this.#affinity = affinity;
    this.#cells.i32[this.id * CELL_STRIDE + CELL_STICKY] = affinity === 'ClientIP' ? 1 : 0;
  }
}
