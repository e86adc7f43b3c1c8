/**
 * An engine's real servers as numbers: the fields a new connection reads of the destination it is scheduled to (its
 * weight and flags, port, number in its virtual server, address key, the next one in its list, where its NAT
 * records are) in a typed row indexed by `Dest.id`, its `ip:port` text in an array, and the NAT records in a log.
 *
 * Why: at 10,000 Services the 100,000 destination objects lie across a heap of well over 100 MB, so reading one is a
 * cache miss and a page walk (about 250 ns on this machine when it is busy). These arrays take a few MB, and a random
 * read in them costs a fraction of that. A `Destination` keeps its weight, flags and slot here and nowhere else (its
 * accessors read and write the table), so the schedulers that take objects and the new-flow path that takes numbers
 * see the same values.
 *
 * Numbers are never reused: a deleted destination stays in its virtual server's trash (virtual-server.ts) and may come
 * back, and one whose virtual server went may still be held by a persistence template. Each takes 48 bytes here: its
 * row and four references.
 */

import type { IPFamily } from '../../../model/types.js';
import { type NatBook, type NatRecord, natRecord } from '../../conntrack-store.js';
import { type Address, address, keyOf } from '../../packet.js';
import type { Dest } from './types.js';
import { DestFlags, hostPort } from './types.js';

/**
 * A destination's row: 32 bytes, one cache line's half, read through two views: its address key as a double (it may
 * exceed 32 bits), then int32 words.
 */
const ROW_BYTES = 32;
const F_STRIDE = ROW_BYTES / 8;
const I_STRIDE = ROW_BYTES / 4;
const I_WEIGHT = 2;
const I_FLAGS = 3;
const I_PORT = 4;
const I_SLOT = 5;
/** The destination after this one in its virtual server's list, the last one's being the first (vs-table.ts). */
const I_NEXT = 6;
/** Where its connections' NAT records are in the log (`recordPair`), -1 until made. */
const I_RECORDS = 7;

export class DestTable implements NatBook {
  #f64: Float64Array;
  #i32: Int32Array;
  readonly #objects: Dest[] = [];
  /** Each destination's `ip:port` (`[ip]:port`), the endpoint text its connections report. */
  readonly #hostPorts: string[] = [];
  /**
   * The NAT records of connections, in pairs (without SNAT, then with), appended and never replaced: a connection is
   * filed in conntrack with its pair's place (a handle) and this table as its book, so a new connection reads the
   * destination's row and no record (a cache miss on a node with 100,000 destinations). A destination's row says
   * where its current pair is; the flows to it share that pair until its Service or the node's address changes, and a
   * flow keeps the pair it was filed with. (Destinations, never reused either, grow the table at the same pace.)
   */
  readonly #log: NatRecord[] = [];
  /** The node address each family's masqueraded records were made with, and its key: the pairs' SNAT source. */
  readonly #masqIp: Record<IPFamily, string | null> = { IPv4: null, IPv6: null };
  readonly #masqKey: Record<IPFamily, number> = { IPv4: -1, IPv6: -1 };

  constructor(capacity = 64) {
    const rows = new ArrayBuffer(capacity * ROW_BYTES);
    this.#f64 = new Float64Array(rows);
    this.#i32 = new Int32Array(rows);
  }

  get size(): number {
    return this.#objects.length;
  }

  /** Number a new destination (its constructor calls this). */
  add(dest: Dest, weight: number, port: number, destKey: number, hostPortText: string): number {
    const id = this.#objects.length;
    if ((id + 1) * F_STRIDE > this.#f64.length) this.#grow();
    this.#objects.push(dest);
    this.#hostPorts.push(hostPortText);
    const at = id * I_STRIDE;
    this.#f64[id * F_STRIDE] = destKey;
    this.#i32[at + I_WEIGHT] = weight;
    this.#i32[at + I_FLAGS] = DestFlags.AVAILABLE;
    this.#i32[at + I_PORT] = port;
    this.#i32[at + I_SLOT] = -1;
    this.#i32[at + I_NEXT] = id;
    this.#i32[at + I_RECORDS] = -1;
    return id;
  }

  #grow(): void {
    const rows = new ArrayBuffer(this.#f64.byteLength * 2);
    const f64 = new Float64Array(rows);
    f64.set(this.#f64);
    this.#f64 = f64;
    this.#i32 = new Int32Array(rows);
  }

  object(id: number): Dest {
    return this.#objects[id]!;
  }

  weight(id: number): number {
    return this.#i32[id * I_STRIDE + I_WEIGHT]!;
  }

  setWeight(id: number, weight: number): void {
    this.#i32[id * I_STRIDE + I_WEIGHT] = weight;
  }

  flags(id: number): number {
    return this.#i32[id * I_STRIDE + I_FLAGS]!;
  }

  setFlags(id: number, flags: number): void {
    this.#i32[id * I_STRIDE + I_FLAGS] = flags;
  }

  /** types.ts `usable`, by number: weight > 0 and not overloaded. */
  usable(id: number): boolean {
    const at = id * I_STRIDE;
    const i32 = this.#i32;
    return i32[at + I_WEIGHT]! > 0 && (i32[at + I_FLAGS]! & DestFlags.OVERLOAD) === 0;
  }

  port(id: number): number {
    return this.#i32[id * I_STRIDE + I_PORT]!;
  }

  slot(id: number): number {
    return this.#i32[id * I_STRIDE + I_SLOT]!;
  }

  setSlot(id: number, slot: number): void {
    this.#i32[id * I_STRIDE + I_SLOT] = slot;
  }

  next(id: number): number {
    return this.#i32[id * I_STRIDE + I_NEXT]!;
  }

  setNext(id: number, next: number): void {
    this.#i32[id * I_STRIDE + I_NEXT] = next;
  }

  destKey(id: number): number {
    return this.#f64[id * F_STRIDE]!;
  }

  hostPort(id: number): string {
    return this.#hostPorts[id]!;
  }

  /** Where the NAT records of connections to `id` are in the log (the plain one; + 1: masqueraded), or -1. */
  recordPair(id: number): number {
    return this.#i32[id * I_STRIDE + I_RECORDS]!;
  }

  /**
   * Make the NAT records of connections to `id` for `service`, plain and masqueraded (to the node's address of the
   * destination's family, as `useMasqIp` last set it), and make them its pair. Returns the pair's place.
   */
  keepRecordPair(id: number, service: string): number {
    const dest = this.#objects[id]!;
    const at = this.#log.length;
    const text = this.#hostPorts[id]!;
    this.#log.push(
      natRecord(dest.destination, null, service, text),
      natRecord(dest.destination, this.#masqIp[dest.family], service, text),
    );
    this.#i32[id * I_STRIDE + I_RECORDS] = at;
    return at;
  }

  record(handle: number): NatRecord {
    return this.#log[handle]!;
  }

  /**
   * The node's address of `family` that masqueraded connections leave with now. When it is not the one the pairs were
   * made with, every destination's pair is forgotten (flows keep theirs): a node's address rarely changes.
   */
  useMasqIp(family: IPFamily, ip: string | null): void {
    if (ip === this.#masqIp[family]) return;
    this.#masqIp[family] = ip;
    this.#masqKey[family] = ip === null ? -1 : keyOf({ ip });
    for (let id = 0; id < this.#objects.length; id++) this.#i32[id * I_STRIDE + I_RECORDS] = -1;
  }

  /** `keyOf` the address `useMasqIp` last set for `family`. */
  masqKey(family: IPFamily): number {
    return this.#masqKey[family];
  }

  /** Its Service changed (and maybe its name): connections to `id` get a new pair from now on. */
  forgetRecords(id: number): void {
    this.#i32[id * I_STRIDE + I_RECORDS] = -1;
  }
}

/**
 * A real server whose weight, flags and slot live in a DestTable, and whose port, address key and `ip:port` text are
 * read from there too: 100,000 of these at 10,000 Services, and every field is 800 KB that each collection promoting
 * a new engine's objects copies.
 */
class Destination implements Dest {
  readonly id: number;
  readonly #table: DestTable;
  lastWeight: number;
  activeConns = 0;
  inactConns = 0;
  persistConns = 0;

  constructor(
    table: DestTable,
    readonly addr: string,
    port: number,
    readonly fold: number,
    weight: number,
    readonly destination: Address,
    key: string,
  ) {
    this.#table = table;
    this.lastWeight = weight;
    this.id = table.add(this, weight, port, keyOf(destination), key);
  }

  get family(): 'IPv4' | 'IPv6' {
    return this.addr.includes(':') ? 'IPv6' : 'IPv4';
  }

  get port(): number {
    return this.#table.port(this.id);
  }

  get key(): string {
    return this.#table.hostPort(this.id);
  }

  get destKey(): number {
    return this.#table.destKey(this.id);
  }

  get weight(): number {
    return this.#table.weight(this.id);
  }

  set weight(weight: number) {
    this.#table.setWeight(this.id, weight);
  }

  get flags(): number {
    return this.#table.flags(this.id);
  }

  set flags(flags: number) {
    this.#table.setFlags(this.id, flags);
  }

  get slot(): number {
    return this.#table.slot(this.id);
  }

  set slot(slot: number) {
    this.#table.setSlot(this.id, slot);
  }
}

/**
 * A destination record as `ipvsadm -a ... -w weight` creates it: available, no connections, numbered in `table` (a
 * table of its own when none is given: a scheduler used alone). `destination`: the real server as a keyed packet
 * address, and `key` its `ip:port` text, when the caller already has them (an endpoint's), else built here.
 */
export function makeDest(
  table: DestTable,
  addr: string,
  port: number,
  fold: number,
  weight: number,
  destination?: Address,
  key: string = hostPort(addr, port),
): Dest {
  return new Destination(table, addr, port, fold, weight, destination ?? address(addr, port), key);
}
