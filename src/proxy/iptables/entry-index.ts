/**
 * nat KUBE-SERVICES by destination (protocol, address, port): for each destination, its first rule in chain order
 * (the one a packet matches), with that rule's jump packed into the slot beside the key.
 *
 * Why: on a node with 10,000 Services each new flow looks up a destination no recent flow used. With the rule as an
 * object behind the slot, the lookup missed the cache three times: the slot, the values array, the rule object.
 * Here the slot holds what the walk needs (where the Service's program lies in the arena, the target chain's range,
 * the rule's position in KUBE-SERVICES), 32 bytes aligned to a cache line's half, so the common walk misses once.
 * The rule object stays reachable through the slot (`refAt`) for traces, refusals and the position's slow path.
 *
 * Open addressing with linear probing and backward-shift deletion (open-addressing.ts), eight words per slot:
 * key (port | protocol << 16 | interned << 18 | USED), address (low 32 bits of `addressKey`), rule id, base, start,
 * end, position, position stamp.
 */
import { deleteSlot, doubled } from '../open-addressing.js';
import type { EntryRef } from './ruleset-layout.js';

const WORDS = 8;
const W_KEY = 0;
const W_IP = 1;
const W_REF = 2;
const W_BASE = 3;
const W_START = 4;
const W_END = 5;
const W_POS = 6;
const W_STAMP = 7;
/** Set in every used slot's key word, so a used key is never 0 (port 0 of protocol 0 included). */
const USED = 1 << 19;
/** Keys at or above this are interned address ids (tuple-table.ts `addressKey`). */
const INTERNED = 0x1_0000_0000;

/** The key word of a destination. */
function keyWord(protoCode: number, ipKey: number, port: number): number {
  return (port & 0xffff) | (protoCode << 16) | (ipKey >= INTERNED ? 1 << 18 : 0) | USED;
}

function hash(key: number, ip: number): number {
  let h = Math.imul(key ^ ip, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The hash of the destination in the slot at `at`. */
function slotHash(slots: Int32Array, at: number): number {
  return hash(slots[at + W_KEY]!, slots[at + W_IP]!);
}

export class EntryIndex {
  #mask = 63;
  #slots = new Int32Array(64 * WORDS);
  #size = 0;
  /** Rule objects by id (the slot's W_REF); freed ids are reused. */
  #refs: (EntryRef | undefined)[] = [];
  #freeIds: number[] = [];

  get size(): number {
    return this.#size;
  }

  /** The slot of a destination (`addressKey` ipKey), or -1. */
  find(protoCode: number, ipKey: number, port: number): number {
    const slots = this.#slots;
    const mask = this.#mask;
    const key = keyWord(protoCode, ipKey, port);
    const ip = ipKey | 0;
    let i = hash(key, ip) & mask;
    for (;;) {
      const at = i * WORDS;
      const k = slots[at + W_KEY]!;
      if (k === 0) return -1;
      if (k === key && slots[at + W_IP] === ip) return i;
      i = (i + 1) & mask;
    }
  }

  /** Where the slot's Service program lies in the arena (program-arena.ts), in rules. */
  baseAt(slot: number): number {
    return this.#slots[slot * WORDS + W_BASE]!;
  }

  /** The jump target chain's rules in its program: [start, end). */
  startAt(slot: number): number {
    return this.#slots[slot * WORDS + W_START]!;
  }

  endAt(slot: number): number {
    return this.#slots[slot * WORDS + W_END]!;
  }

  /** The rule's position in KUBE-SERVICES if it was computed for layout `stamp`, else -1. */
  positionAt(slot: number, stamp: number): number {
    const at = slot * WORDS;
    return this.#slots[at + W_STAMP] === stamp ? this.#slots[at + W_POS]! : -1;
  }

  /** Remember the rule's position for layout `stamp`. */
  setPosition(slot: number, position: number, stamp: number): void {
    const at = slot * WORDS;
    this.#slots[at + W_POS] = position;
    this.#slots[at + W_STAMP] = stamp;
  }

  /** The rule object in a slot. */
  refAt(slot: number): EntryRef {
    return this.#refs[this.#slots[slot * WORDS + W_REF]!]!;
  }

  /** The first rule for a destination, or undefined. */
  get(protoCode: number, ipKey: number, port: number): EntryRef | undefined {
    const slot = this.find(protoCode, ipKey, port);
    return slot < 0 ? undefined : this.refAt(slot);
  }

  /** File `ref` as the destination's first rule (replacing the one there); its position is not known yet. */
  set(protoCode: number, ipKey: number, port: number, ref: EntryRef): void {
    let slot = this.find(protoCode, ipKey, port);
    if (slot < 0) {
      if ((this.#size + 1) * 2 > this.#mask + 1) this.#grow();
      slot = this.#emptySlotFor(keyWord(protoCode, ipKey, port), ipKey | 0);
      const at = slot * WORDS;
      this.#slots[at + W_KEY] = keyWord(protoCode, ipKey, port);
      this.#slots[at + W_IP] = ipKey | 0;
      this.#slots[at + W_REF] = this.#newId();
      this.#size++;
    }
    const at = slot * WORDS;
    this.#refs[this.#slots[at + W_REF]!] = ref;
    this.#slots[at + W_BASE] = ref.base;
    this.#slots[at + W_START] = ref.start;
    this.#slots[at + W_END] = ref.end;
    this.#slots[at + W_POS] = 0;
    this.#slots[at + W_STAMP] = -1;
  }

  /** Remove a destination; returns whether it was filed. */
  delete(protoCode: number, ipKey: number, port: number): boolean {
    const slot = this.find(protoCode, ipKey, port);
    if (slot < 0) return false;
    const id = this.#slots[slot * WORDS + W_REF]!;
    this.#refs[id] = undefined;
    this.#freeIds.push(id);
    deleteSlot(this.#slots, WORDS, this.#mask, slot, slotHash);
    this.#size--;
    return true;
  }

  clear(): void {
    this.#slots.fill(0);
    this.#size = 0;
    this.#refs = [];
    this.#freeIds = [];
  }

  #newId(): number {
    return this.#freeIds.length > 0 ? this.#freeIds.pop()! : this.#refs.length;
  }

  #emptySlotFor(key: number, ip: number): number {
    let i = hash(key, ip) & this.#mask;
    while (this.#slots[i * WORDS + W_KEY] !== 0) i = (i + 1) & this.#mask;
    return i;
  }

  #grow(): void {
    this.#slots = doubled(this.#slots, WORDS, slotHash);
    this.#mask = this.#mask * 2 + 1;
  }
}
