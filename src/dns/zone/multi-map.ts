/**
 * A map from a key to one or more values, storing a lone value without an array around it. Reverse indexes (IP →
 * Service, IP → EndpointSlice, IP → pod) almost always hold one value per key; at 150,000 endpoints the saved arrays
 * are a large share of the index's memory.
 */
export class MultiMap<K, V> {
  readonly #map = new Map<K, V | V[]>();

  get size(): number {
    return this.#map.size;
  }

  /** The values of `key`, in insertion order (an empty array when there are none). */
  get(key: K): readonly V[] {
    const entry = this.#map.get(key);
    if (entry === undefined) return [];
    return Array.isArray(entry) ? entry : [entry];
  }

  add(key: K, value: V): void {
    const entry = this.#map.get(key);
    if (entry === undefined) this.#map.set(key, value);
    else if (Array.isArray(entry)) entry.push(value);
    else this.#map.set(key, [entry, value]);
  }

  /** Remove one occurrence of `value` (compared with ===) from `key`. */
  delete(key: K, value: V): void {
    const entry = this.#map.get(key);
    if (entry === undefined) return;
    if (!Array.isArray(entry)) {
      if (entry === value) this.#map.delete(key);
      return;
    }
    const i = entry.indexOf(value);
    if (i >= 0) entry.splice(i, 1);
    if (entry.length === 1) this.#map.set(key, entry[0]!);
    else if (entry.length === 0) this.#map.delete(key);
  }

  keys(): IterableIterator<K> {
    return this.#map.keys();
  }
}
