/**
 * The two moves every open-addressed table here shares (tuple-index.ts, conntrack-index.ts, iptables/entry-index.ts):
 * slots of `words` int32 words side by side in one Int32Array, word 0 nonzero exactly when the slot is used, linear
 * probing from a key's home slot (its 32-bit hash & mask). `hashOf(slots, at)` gives the hash of the key whose words
 * start at `at`: each table keeps its own key layout (the hash recomputed from the key words, or from the row a slot points at).
 */
export type SlotHash = (slots: Int32Array, at: number) => number;

/**
 * Empty `slot` by backward-shift deletion: each later entry of the probe run moves up into the hole unless its home
 * lies cyclically in (hole, j], so runs stay intact without tombstones.
 */
export function deleteSlot(slots: Int32Array, words: number, mask: number, slot: number, hashOf: SlotHash): void {
  let hole = slot;
  let j = slot;
  for (;;) {
    j = (j + 1) & mask;
    const at = j * words;
    if (slots[at] === 0) break;
    const home = hashOf(slots, at) & mask;
    const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
    if (inRange) continue;
    slots.copyWithin(hole * words, at, at + words);
    hole = j;
  }
  slots.fill(0, hole * words, hole * words + words);
}

/** The table's slots in an array of twice as many, every entry re-probed from its home under the new mask. */
export function doubled(old: Int32Array, words: number, hashOf: SlotHash): Int32Array<ArrayBuffer> {
  const oldCount = old.length / words;
  const mask = oldCount * 2 - 1;
  const slots = new Int32Array(old.length * 2);
  for (let from = 0; from < old.length; from += words) {
    if (old[from] === 0) continue;
    let i = hashOf(old, from) & mask;
    while (slots[i * words] !== 0) i = (i + 1) & mask;
    slots.set(old.subarray(from, from + words), i * words);
  }
  return slots;
}
