/**
 * PodTopologySpread's counts, kept as pods bind and unbind: per spread group, the bound, non-terminating pods on
 * each node that has any, and per zone.
 */
import type { NodeState } from './scheduler-nodes.js';
import type { GroupCounts } from './scheduler-score.js';

export class SpreadCounts {
  /** Spread group → zone id → pods. */
  readonly #zones = new Map<string, Map<number, number>>();
  /** Spread group → node → pods (only nodes that have some). */
  readonly #nodes = new Map<string, Map<NodeState, number>>();

  /** The counts of one group, as the scorer reads them. */
  of(group: string): GroupCounts {
    return { zones: this.#zones.get(group), nodes: this.#nodes.get(group) };
  }

  /** A pod of `group` bound to (+1) or unbound from (-1) a node. */
  add(node: NodeState, group: string, sign: 1 | -1): void {
    bump(node.spread, group, sign);
    let nodes = this.#nodes.get(group);
    if (!nodes) {
      nodes = new Map();
      this.#nodes.set(group, nodes);
    }
    bump(nodes, node, sign);
    const zoneId = node.zoneId;
    if (zoneId !== 0) bump(this.#zonesOf(group), zoneId, sign);
  }

  /** Around a change of the node's zone: take its pods' counts out of its zone (-1) or put them in (+1). */
  moveZone(node: NodeState, sign: 1 | -1): void {
    const zoneId = node.zoneId;
    if (zoneId === 0) return;
    for (const [group, count] of node.spread) bump(this.#zonesOf(group), zoneId, sign * count);
  }

  #zonesOf(group: string): Map<number, number> {
    let zones = this.#zones.get(group);
    if (!zones) {
      zones = new Map();
      this.#zones.set(group, zones);
    }
    return zones;
  }
}

/** Add to a count, dropping it at zero so maps hold only what is there. */
function bump<K>(map: Map<K, number>, key: K, by: number): void {
  const v = (map.get(key) ?? 0) + by;
  if (v === 0) map.delete(key);
  else map.set(key, v);
}
