/**
 * Where conntrack files its entries: every flow under its original tuple and its reply tuple in one TupleTable
 * (tags ORIGINAL and REPLY, so one probe sequence finds a packet's flow whichever way it travels), plus the UDP
 * indexes kube-proxy's cleanup filters by (original destination `ip:port`, and port alone).
 */
import type { ConntrackEntry } from './conntrack-types.js';
import { type Address, hostPort, type Packet } from './packet.js';
import { addressKey, keyOf, protoCode, TupleTable, tupleMeta, tuplePorts } from './tuple-table.js';

const ORIGINAL = 0;
const REPLY = 1;

export class FlowIndex {
  readonly #table = new TupleTable<ConntrackEntry>();
  /** Entries (= ORIGINAL keys) in the table. */
  #size = 0;
  readonly #udpByDst = new Map<string, Set<ConntrackEntry>>();
  readonly #udpByDstPort = new Map<number, Set<ConntrackEntry>>();
  /** Direction of the last `find` hit. */
  #direction: 'original' | 'reply' = 'original';
  /** The last packet `find` keyed, and its address keys: `insert` of that packet (after a miss) reuses them. */
  #lastPacket: Packet | null = null;
  #lastSrc = 0;
  #lastDst = 0;

  get size(): number {
    return this.#size;
  }

  /** Which way the packet of the last `find` hit travels. */
  get direction(): 'original' | 'reply' {
    return this.#direction;
  }

  /**
   * The flow a packet belongs to, its original tuple winning when a tuple is both one flow's original and another's
   * reply (as separate original and reply tables resolved it).
   */
  find(p: Packet): ConntrackEntry | undefined {
    const s = keyOf(p.src);
    const d = keyOf(p.dst);
    this.#lastPacket = p;
    this.#lastSrc = s;
    this.#lastDst = d;
    const table = this.#table;
    const slot = table.find(
      tupleMeta(protoCode(p.proto), s, d, ORIGINAL),
      s,
      d,
      tuplePorts(p.src.port, p.dst.port),
      true,
    );
    if (slot < 0) return undefined;
    this.#direction = table.tagAt(slot) === ORIGINAL ? 'original' : 'reply';
    return table.valueAt(slot);
  }

  /** `addressKey` of the source / destination of the last packet `find` looked up. */
  get lastSrcKey(): number {
    return this.#lastSrc;
  }

  get lastDstKey(): number {
    return this.#lastDst;
  }

  /** File a new entry, created for its first packet `p`, under both tuples (replacing whatever held them). */
  insert(p: Packet, entry: ConntrackEntry): void {
    const code = protoCode(p.proto);
    const known = this.#lastPacket === p;
    const s = known ? this.#lastSrc : keyOf(p.src);
    const d = known ? this.#lastDst : keyOf(p.dst);
    const table = this.#table;
    if (table.setKey(tupleMeta(code, s, d, ORIGINAL), s, d, tuplePorts(p.src.port, p.dst.port), entry)) this.#size++;
    const rSrc = entry.replySrc;
    const rDst = entry.replyDst;
    const rs = rSrc === p.dst ? d : keyOf(rSrc);
    const rd = rDst === p.src ? s : keyOf(rDst);
    table.setKey(tupleMeta(code, rs, rd, REPLY), rs, rd, tuplePorts(rSrc.port, rDst.port), entry);
    if (p.proto === 'UDP') {
      addTo(this.#udpByDst, hostPort(p.dst.ip, p.dst.port), entry);
      addTo(this.#udpByDstPort, p.dst.port, entry);
    }
  }

  /** Unfile an entry; false (and nothing done) when its original tuple holds another entry or none. */
  remove(entry: ConntrackEntry): boolean {
    const code = protoCode(entry.proto);
    const table = this.#table;
    const oSrc = entry.originalSrc;
    const oDst = entry.originalDst;
    const os = keyOf(oSrc);
    const od = keyOf(oDst);
    const meta = tupleMeta(code, os, od, ORIGINAL);
    const ports = tuplePorts(oSrc.port, oDst.port);
    const slot = table.find(meta, os, od, ports, false);
    if (slot < 0 || table.valueAt(slot) !== entry) return false;
    table.deleteKey(meta, os, od, ports);
    this.#size--;
    entry.live = false;
    // The reply key goes even if a later flow took it over (the behaviour of the two-table version).
    const rSrc = entry.replySrc;
    const rDst = entry.replyDst;
    const rs = keyOf(rSrc);
    const rd = keyOf(rDst);
    table.deleteKey(tupleMeta(code, rs, rd, REPLY), rs, rd, tuplePorts(rSrc.port, rDst.port));
    if (entry.proto === 'UDP') {
      removeFrom(this.#udpByDst, hostPort(oDst.ip, oDst.port), entry);
      removeFrom(this.#udpByDstPort, oDst.port, entry);
    }
    return true;
  }

  /** Whether some flow's reply or original tuple is `replySrc → ip:port` (a MASQUERADE port clash). */
  taken(p: Packet, replySrc: Address, ip: string, port: number): boolean {
    const s = keyOf(replySrc);
    const d = addressKey(ip);
    const meta = tupleMeta(protoCode(p.proto), s, d, REPLY);
    return this.#table.find(meta, s, d, tuplePorts(replySrc.port, port), true) >= 0;
  }

  /** Every entry, in slot order. */
  entries(): IterableIterator<ConntrackEntry> {
    return this.#table.values(ORIGINAL);
  }

  udpTo(ip: string, port: number): readonly ConntrackEntry[] {
    return [...(this.#udpByDst.get(hostPort(ip, port)) ?? [])];
  }

  udpToPort(port: number): readonly ConntrackEntry[] {
    return [...(this.#udpByDstPort.get(port) ?? [])];
  }

  clear(): void {
    this.#table.clear((entry) => {
      entry.live = false;
    });
    this.#size = 0;
    this.#udpByDst.clear();
    this.#udpByDstPort.clear();
    this.#lastPacket = null;
  }
}

function addTo<K>(index: Map<K, Set<ConntrackEntry>>, key: K, entry: ConntrackEntry): void {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  set.add(entry);
}

function removeFrom<K>(index: Map<K, Set<ConntrackEntry>>, key: K, entry: ConntrackEntry): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(entry);
  if (set.size === 0) index.delete(key);
}
