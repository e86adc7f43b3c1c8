/**
 * Where conntrack files its flows: every flow's row (conntrack-store.ts) under its original tuple and its reply tuple
 * in open-addressing tables (tags ORIGINAL and REPLY, so one probe sequence finds a packet's flow whichever way it
 * travels), plus the UDP indexes kube-proxy's cleanup filters by (original destination `ip:port`, and port alone).
 *
 * Two tables (banks), and a key's tuple decides which: the node bank holds the keys with one of the node's own
 * addresses at either end (`setNodeKeys`), the transit bank the rest. A lookup computes the bank from the packet's
 * addresses and probes that one, so both tags of a tuple still meet in one probe sequence. Why: the userspace proxier
 * makes four keys per connection and three of them are the node's (its REDIRECT's reply, and both of its own
 * connection to the endpoint); kept in one table with the client's, they doubled the table every established client
 * packet probes (4 MB instead of 1 MB at 200,000 connections), and established packets were 1.6× slower. A pod's
 * flows through iptables or IPVS DNAT stay in the transit bank; their masqueraded replies go to the node bank.
 *
 * A slot is one int32 word, 4 bytes: the key's row, its meta bits (protocol, tag) and six bits of the tuple's hash
 * (bits the home slot does not use). The tuple itself is not in the slot: a probe whose meta and hash bits match is
 * checked against the row's keys, which the row keeps for both its tuples next to its timers and flags (the lines a
 * packet of the flow reads anyway); one probe in 64 of another key's run reads a row for nothing. This table is the
 * one random read every packet of every flow makes, and its size decides whether that read stays in the processor's
 * cache: slots holding a 32-bit hash beside the row took twice the memory (and established packets were 1.24× slower
 * in a same-process comparison). For the same reason a table doubles only when it would be more than 13/16 full
 * (MAX_LOAD_SIXTEENTHS), not 3/4: 200,000 flows (400,000 keys) fit in 2 MB, where 3/4 doubled them to 4 MB. A probe
 * for a key not present (a new flow's lookup) then walks about 15 slots on average when the table is fullest, one or
 * two cache lines. Growth and backward-shift deletion re-hash a slot's key from its row.
 */
import {
  F_DST_KEY,
  F_REPLY_DST_KEY,
  F_REPLY_SRC_KEY,
  F_SRC_KEY,
  F_STRIDE,
  type FlowStore,
  I_FLAGS,
  I_PORTS,
  I_REPLY_PORTS,
  I_STRIDE,
} from './conntrack-store.js';
import { deleteSlot, doubled, type SlotHash } from './open-addressing.js';
import { hostPort, keyOf, type Packet } from './packet.js';
import { protoCode, tuplePorts } from './tuple-table.js';

const ORIGINAL = 0;
const REPLY = 1;
/**
 * A slot: protocol code (bits 0-1), tag (bit 2), hash bits (3-8), row (9-31); 0 = empty (protocol codes start at 1).
 * Six hash bits, not more rows: a lookup that misses (every new flow makes two or four) walks a probe run of about 15
 * keys when the table is fullest, and each key whose bits match costs a row read (a cache miss). 2^23 rows are far more
 * flows than kube-proxy lets a node's conntrack hold (--conntrack-max-per-core 32,768: 256 cores' worth).
 */
const ROW_SHIFT = 9;
const HASH_BITS = ROW_SHIFT - 3;
/** Rows a slot can name. */
const MAX_ROWS = 2 ** (32 - ROW_SHIFT);
const TAG_BIT = 1 << 2;
/** The slot bits a key must match exactly under its own tag: all but the row. */
const META_MASK = (1 << ROW_SHIFT) - 1;
/** The same, whichever its tag. */
const UNTAGGED_MASK = META_MASK & ~TAG_BIT;
/** The table doubles before it holds more keys than this share of its slots (see the file's comment). */
const MAX_LOAD_SIXTEENTHS = 13;

export class FlowIndex {
  readonly #store: FlowStore;
  /** Keys whose tuple has one of the node's own addresses (`nodeKeys`) at either end. */
  readonly #nodeBank = new Bank();
  /** The rest: flows the node forwards (or DNATs) between other addresses. */
  readonly #transitBank = new Bank();
  /** `addressKey`s of the node's own addresses. */
  #nodeKeys: readonly number[] = [];
  /** The bank the last `#probe` searched: a slot it returns is that bank's. */
  #probed: Bank = this.#transitBank;
  readonly #udpByDst = new Map<string, Set<number>>();
  readonly #udpByDstPort = new Map<number, Set<number>>();
  /** Direction of the last `find` hit. */
  #direction: 'original' | 'reply' = 'original';
  /** The last packet `find` keyed, and its address keys: `insert` of that packet (after a miss) reuses them. */
  #lastPacket: Packet | null = null;
  #lastSrc = 0;
  #lastDst = 0;
  #lastDstPort = 0;

  constructor(store: FlowStore) {
    this.#store = store;
  }

  /** Slots in each bank (keys: two per flow, its original and reply tuples). */
  get capacity(): { readonly node: number; readonly transit: number } {
    return { node: this.#nodeBank.mask + 1, transit: this.#transitBank.mask + 1 };
  }

  /**
   * Which keys go in the node bank: those with one of these addresses (`addressKey`s of the node's own) at either end.
   * Every filed key is moved to its bank under the new set.
   */
  setNodeKeys(keys: readonly number[]): void {
    if (keys.length === this.#nodeKeys.length && keys.every((k, i) => k === this.#nodeKeys[i])) return;
    const words = [...this.#nodeBank.words(), ...this.#transitBank.words()];
    this.#nodeKeys = [...keys];
    this.#nodeBank.reset();
    this.#transitBank.reset();
    const { f64, i32 } = this.#store;
    for (const w of words) {
      const f = (w >>> ROW_SHIFT) * F_STRIDE;
      const i = (w >>> ROW_SHIFT) * I_STRIDE;
      const reply = (w & TAG_BIT) !== 0;
      const s = f64[f + (reply ? F_REPLY_SRC_KEY : F_SRC_KEY)]!;
      const d = f64[f + (reply ? F_REPLY_DST_KEY : F_DST_KEY)]!;
      const ports = i32[i + (reply ? I_REPLY_PORTS : I_PORTS)]!;
      this.#bankOf(s, d).place(w, hash(w & 3, s, d, ports), this.#rowHash);
    }
  }

  /** Which way the packet of the last `find` hit travels. */
  get direction(): 'original' | 'reply' {
    return this.#direction;
  }

  /**
   * The row of the flow a packet belongs to, or -1; its original tuple wins when a tuple is both one flow's original
   * and another's reply.
   */
  find(p: Packet): number {
    return this.findKeyed(p, keyOf(p.src), keyOf(p.dst), p.dst.port);
  }

  /**
   * `find` with the packet's address keys and destination port given (`d`, `dstPort`: `keyOf(p.dst)`, `p.dst.port`),
   * for a caller that keeps them apart from the address: reading the address object is then left to whoever needs it.
   * The userspace proxier's dial reads its endpoint's numbers from the balancer's arrays, not the endpoint's object.
   */
  findKeyed(p: Packet, s: number, d: number, dstPort: number): number {
    this.#lastPacket = p;
    this.#lastSrc = s;
    this.#lastDst = d;
    this.#lastDstPort = dstPort;
    const slot = this.#probe(protoCode(p.proto), s, d, tuplePorts(p.src.port, dstPort), ORIGINAL, true);
    if (slot < 0) return -1;
    const w = this.#probed.slots[slot]!;
    this.#direction = (w & TAG_BIT) === 0 ? 'original' : 'reply';
    return w >>> ROW_SHIFT;
  }

  /** `addressKey` of the source / destination of the last packet `find` looked up. */
  get lastSrcKey(): number {
    return this.#lastSrc;
  }

  get lastDstKey(): number {
    return this.#lastDst;
  }

  /** `addressKey` of a packet's source: from the last `find` when it was that packet. */
  srcKeyOf(p: Packet): number {
    return this.#lastPacket === p ? this.#lastSrc : keyOf(p.src);
  }

  /** `addressKey` of a packet's destination: from the last `find` when it was that packet. */
  dstKeyOf(p: Packet): number {
    return this.#lastPacket === p ? this.#lastDst : keyOf(p.dst);
  }

  /** A packet's destination port: from the last `find` when it was that packet. */
  dstPortOf(p: Packet): number {
    return this.#lastPacket === p ? this.#lastDstPort : p.dst.port;
  }

  /**
   * File a new row under both its tuples (as the row holds them), replacing whatever held them. Returns the row whose
   * original tuple this was (the caller tracked the same tuple twice), now filed under neither tuple, or -1.
   */
  insert(row: number): number {
    if (row >= MAX_ROWS) throw new RangeError(`conntrack holds at most ${MAX_ROWS} flows`);
    const store = this.#store;
    const f = row * F_STRIDE;
    const i = row * I_STRIDE;
    const code = store.i32[i + I_FLAGS]! & 3;
    const { f64, i32 } = store;
    const displaced = this.#put(code, f64[f + F_SRC_KEY]!, f64[f + F_DST_KEY]!, i32[i + I_PORTS]!, ORIGINAL, row);
    if (displaced >= 0) this.#unfile(displaced, true);
    this.#put(code, f64[f + F_REPLY_SRC_KEY]!, f64[f + F_REPLY_DST_KEY]!, i32[i + I_REPLY_PORTS]!, REPLY, row);
    if (code === 2) {
      const dst = store.dst[row]!;
      addTo(this.#udpByDst, hostPort(dst.ip, dst.port), row);
      addTo(this.#udpByDstPort, dst.port, row);
    }
    return displaced;
  }

  /** Unfile a row; false (and nothing done) when its original tuple holds another row or none. */
  remove(row: number): boolean {
    const { f64, i32 } = this.#store;
    const f = row * F_STRIDE;
    const i = row * I_STRIDE;
    const code = i32[i + I_FLAGS]! & 3;
    const slot = this.#probe(code, f64[f + F_SRC_KEY]!, f64[f + F_DST_KEY]!, i32[i + I_PORTS]!, ORIGINAL, false);
    if (slot < 0 || this.#probed.slots[slot]! >>> ROW_SHIFT !== row) return false;
    this.#probed.delete(slot, this.#rowHash);
    this.#unfile(row, false);
    return true;
  }

  /**
   * The rest of unfiling a row whose original key is gone: its reply key (even if a later flow took it over, as the
   * two-table version did; a displaced row's only if still its own) and its UDP index entries.
   */
  #unfile(row: number, displaced: boolean): void {
    const { f64, i32 } = this.#store;
    const f = row * F_STRIDE;
    const i = row * I_STRIDE;
    const code = i32[i + I_FLAGS]! & 3;
    const reply = this.#probe(
      code,
      f64[f + F_REPLY_SRC_KEY]!,
      f64[f + F_REPLY_DST_KEY]!,
      i32[i + I_REPLY_PORTS]!,
      REPLY,
      false,
    );
    const bank = this.#probed;
    if (reply >= 0 && (!displaced || bank.slots[reply]! >>> ROW_SHIFT === row)) bank.delete(reply, this.#rowHash);
    if (code === 2) {
      const dst = this.#store.dst[row]!;
      removeFrom(this.#udpByDst, hostPort(dst.ip, dst.port), row);
      removeFrom(this.#udpByDstPort, dst.port, row);
    }
  }

  /**
   * The row of the flow whose reply or original tuple is `replySrc → replyDst:port`, or -1: the flow a new flow's
   * reply tuple would clash with (conntrack.ts `trackNat`).
   */
  holderOf(p: Packet, replySrcKey: number, replySrcPort: number, replyDstKey: number, port: number): number {
    const slot = this.#probe(protoCode(p.proto), replySrcKey, replyDstKey, tuplePorts(replySrcPort, port), REPLY, true);
    return slot < 0 ? -1 : this.#probed.slots[slot]! >>> ROW_SHIFT;
  }

  /** Every filed row, in slot order (the node bank's, then the others'). */
  *rows(): IterableIterator<number> {
    for (const w of this.#nodeBank.words()) if ((w & TAG_BIT) === 0) yield w >>> ROW_SHIFT;
    for (const w of this.#transitBank.words()) if ((w & TAG_BIT) === 0) yield w >>> ROW_SHIFT;
  }

  udpTo(ip: string, port: number): readonly number[] {
    return [...(this.#udpByDst.get(hostPort(ip, port)) ?? [])];
  }

  udpToPort(port: number): readonly number[] {
    return [...(this.#udpByDstPort.get(port) ?? [])];
  }

  clear(): void {
    this.#nodeBank.clear();
    this.#transitBank.clear();
    this.#udpByDst.clear();
    this.#udpByDstPort.clear();
    this.#lastPacket = null;
  }

  /**
   * The slot of a tuple under `tag`, or -1. `anyTag`: the tag is a preference: a slot with it wins, else the first
   * slot of the same tuple under the other tag (one probe sequence finds both).
   */
  #probe(code: number, s: number, d: number, ports: number, tag: number, anyTag: boolean): number {
    const bank = this.#bankOf(s, d);
    this.#probed = bank;
    const slots = bank.slots;
    const mask = bank.mask;
    const h = hash(code, s, d, ports);
    const meta = slotMeta(code, tag, h);
    const untagged = meta & UNTAGGED_MASK;
    let k = h & mask;
    let other = -1;
    for (;;) {
      const w = slots[k]!;
      if (w === 0) return other;
      if ((w & UNTAGGED_MASK) === untagged) {
        const exact = (w & META_MASK) === meta;
        if ((exact || (anyTag && other < 0)) && this.#holds(w, s, d, ports)) {
          if (exact) return k;
          other = k;
        }
      }
      k = (k + 1) & mask;
    }
  }

  /**
   * Whether the row in slot word `w` has the tuple (s, d, ports) under the slot's tag, given that the slot's protocol
   * and hash bits matched.
   */
  #holds(w: number, s: number, d: number, ports: number): boolean {
    const { f64, i32 } = this.#store;
    const row = w >>> ROW_SHIFT;
    const f = row * F_STRIDE;
    const i = row * I_STRIDE;
    if ((w & TAG_BIT) === 0) return f64[f + F_SRC_KEY] === s && f64[f + F_DST_KEY] === d && i32[i + I_PORTS] === ports;
    return f64[f + F_REPLY_SRC_KEY] === s && f64[f + F_REPLY_DST_KEY] === d && i32[i + I_REPLY_PORTS] === ports;
  }

  /**
   * File a key; returns the row it held before (replaced), or -1 when it is new. One pass: linear probing ends at the
   * first empty slot, which is where a key not found goes.
   */
  #put(code: number, s: number, d: number, ports: number, tag: number, row: number): number {
    const bank = this.#bankOf(s, d);
    if ((bank.used + 1) * 16 > (bank.mask + 1) * MAX_LOAD_SIXTEENTHS) bank.grow(this.#rowHash);
    const slots = bank.slots;
    const mask = bank.mask;
    const h = hash(code, s, d, ports);
    const meta = slotMeta(code, tag, h);
    const word = meta | (row << ROW_SHIFT);
    let k = h & mask;
    for (;;) {
      const w = slots[k]!;
      if (w === 0) {
        slots[k] = word;
        bank.used++;
        return -1;
      }
      if ((w & META_MASK) === meta && this.#holds(w, s, d, ports)) {
        slots[k] = word;
        return w >>> ROW_SHIFT;
      }
      k = (k + 1) & mask;
    }
  }

  /** The bank a key with addresses `s` and `d` is filed in. */
  #bankOf(s: number, d: number): Bank {
    const keys = this.#nodeKeys;
    for (let k = 0; k < keys.length; k++) if (s === keys[k] || d === keys[k]) return this.#nodeBank;
    return this.#transitBank;
  }

  /** The hash of the key in slot `at`, from the tuple its row keeps under the slot's tag. */
  readonly #rowHash = (slots: Int32Array, at: number): number => {
    const w = slots[at]!;
    const { f64, i32 } = this.#store;
    const f = (w >>> ROW_SHIFT) * F_STRIDE;
    const i = (w >>> ROW_SHIFT) * I_STRIDE;
    return (w & TAG_BIT) === 0
      ? hash(w & 3, f64[f + F_SRC_KEY]!, f64[f + F_DST_KEY]!, i32[i + I_PORTS]!)
      : hash(w & 3, f64[f + F_REPLY_SRC_KEY]!, f64[f + F_REPLY_DST_KEY]!, i32[i + I_REPLY_PORTS]!);
  };
}

/**
 * One open-addressing table of slot words (see the file's comment). The index keeps two: a packet's tuple decides
 * which one holds it, so a lookup probes one.
 */
class Bank {
  mask = 1023;
  /** One word per slot: meta | row << ROW_SHIFT. */
  slots = new Int32Array(1024);
  used = 0;

  /** The words of the filed keys, in slot order. */
  *words(): IterableIterator<number> {
    const slots = this.slots;
    for (let k = 0; k <= this.mask; k++) if (slots[k] !== 0) yield slots[k]!;
  }

  /** File a word known not to be here (re-filing): at the first empty slot from its home. */
  place(word: number, h: number, rowHash: SlotHash): void {
    if ((this.used + 1) * 16 > (this.mask + 1) * MAX_LOAD_SIXTEENTHS) this.grow(rowHash);
    let k = h & this.mask;
    while (this.slots[k] !== 0) k = (k + 1) & this.mask;
    this.slots[k] = word;
    this.used++;
  }

  delete(slot: number, rowHash: SlotHash): void {
    deleteSlot(this.slots, 1, this.mask, slot, rowHash);
    this.used--;
  }

  grow(rowHash: SlotHash): void {
    this.slots = doubled(this.slots, 1, rowHash);
    this.mask = this.mask * 2 + 1;
  }

  clear(): void {
    this.slots.fill(0);
    this.used = 0;
  }

  /** Back to the initial size, empty. */
  reset(): void {
    this.mask = 1023;
    this.slots = new Int32Array(1024);
    this.used = 0;
  }
}

/** A key's slot bits below the row: its protocol, its tag, and the top six bits of its hash (the home uses the low). */
function slotMeta(code: number, tag: number, h: number): number {
  return code | (tag << 2) | ((h >>> (32 - HASH_BITS)) << 3);
}

/**
 * The tuple's 32-bit hash (protocol code, both address keys, both ports); the tag is not hashed. Exported for tests,
 * which look for two tuples with the same hash to show that a probe checks the row, not just the hash.
 */
export function hash(code: number, s: number, d: number, ports: number): number {
  // Interned keys (≥ 2^32) fold their high bit in, so an id never hashes like the IPv4 address of its low bits.
  const sHigh = s >= 0x1_0000_0000 ? 0x5bd1e995 : 0;
  const dHigh = d >= 0x1_0000_0000 ? 0x1b873593 : 0;
  let h = Math.imul(code ^ sHigh ^ (s | 0), 0x9e3779b1);
  h = Math.imul(((h << 13) | (h >>> 19)) ^ dHigh ^ (d | 0), 0x9e3779b1);
  h = Math.imul(((h << 13) | (h >>> 19)) ^ ports, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h | 0;
}

function addTo<K>(index: Map<K, Set<number>>, key: K, row: number): void {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(row);
}

function removeFrom<K>(index: Map<K, Set<number>>, key: K, row: number): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(row);
  if (set.size === 0) index.delete(key);
}
