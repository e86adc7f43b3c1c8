/**
 * Values by (protocol, destination address, destination port): where a new flow's first lookup goes (which
 * Service rule or virtual server owns this destination). Keyed numerically in a TupleTable (the address by
 * `addressKey`, which conntrack has already computed for the packet), so the lookup is a probe in one typed array
 * instead of a string-keyed Map's bucket, key string and value.
 */
import type { Protocol } from '../model/types.js';
import { addressKey, protoCode, TupleTable, tupleMeta, tuplePorts } from './tuple-table.js';

export class DestIndex<V> {
  readonly #table = new TupleTable<V>(64);

  /** The value for a destination whose address is already keyed (`addressKey`). */
  getKey(proto: Protocol, ipKey: number, port: number): V | undefined {
    const table = this.#table;
    const slot = table.find(tupleMeta(protoCode(proto), ipKey, 0, 0), ipKey, 0, tuplePorts(0, port), false);
    return slot < 0 ? undefined : table.valueAt(slot);
  }

  get(proto: Protocol, ip: string, port: number): V | undefined {
    return this.getKey(proto, addressKey(ip), port);
  }

  set(proto: Protocol, ip: string, port: number, value: V): void {
    const k = addressKey(ip);
    this.#table.setKey(tupleMeta(protoCode(proto), k, 0, 0), k, 0, tuplePorts(0, port), value);
  }

  delete(proto: Protocol, ip: string, port: number): boolean {
    const k = addressKey(ip);
    return this.#table.deleteKey(tupleMeta(protoCode(proto), k, 0, 0), k, 0, tuplePorts(0, port));
  }

  clear(): void {
    this.#table.clear();
  }
}
