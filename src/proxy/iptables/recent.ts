/**
 * The kernel's `recent` match (net/netfilter/xt_recent.c) as kube-proxy uses it for ClientIP affinity: one list per
 * endpoint, named after the endpoint's KUBE-SEP chain.
 *
 * - `--set` (in the SEP chain, on a new connection DNATed to the endpoint) records the source address with the
 *   current time, refreshing an existing record.
 * - `--rcheck --seconds T --reap` (in the SVC/SVL chain) matches when the source was recorded at most T seconds ago
 *   (a stamp is skipped only when `time_after(now - T, stamp)`, so one exactly T seconds old still matches); it does
 *   not refresh the record, so stickiness lasts T seconds after the client's last *new* connection. With `--reap`, a
 *   check that finds the source's record also removes the list's least recently updated record if that one is
 *   older than T (recent_entry_reap: one record per check, whichever source it is).
 * - A list holds at most 100 addresses (module parameter ip_list_tot); adding one more evicts the least recently
 *   updated, so with more than 100 concurrent clients per endpoint some lose stickiness.
 *
 * Lists are per node (per network namespace) and shared by every chain that names them, so ClusterIP, NodePort and
 * LB traffic of one Service port share stickiness on a node. A list outlives rule changes while some rule names it;
 * the engine drops it with the last one (recent_mt_destroy), so a list named again starts empty.
 */

/** xt_recent's default ip_list_tot. */
export const RECENT_LIST_CAPACITY = 100;

export class RecentLists {
  readonly capacity: number;
  /** list name → source address → last `--set` time; Map order is update order (oldest first). */
  readonly #lists = new Map<string, Map<string, number>>();

  constructor(capacity = RECENT_LIST_CAPACITY) {
    this.capacity = capacity;
  }

  /** `--set`: record or refresh `source` in `list` at `now`. */
  set(list: string, source: string, now: number): void {
    let entries = this.#lists.get(list);
    if (!entries) {
      entries = new Map();
      this.#lists.set(list, entries);
    }
    entries.delete(source);
    entries.set(source, now);
    if (entries.size > this.capacity) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  }

  /**
   * `--rcheck --seconds T --reap`: recorded at most T seconds ago? A source without a record reaps nothing; one with a
   * record, matching or not, reaps the list's oldest record when it is stale.
   */
  check(list: string, source: string, seconds: number, now: number): boolean {
    const entries = this.#lists.get(list);
    if (!entries) return false;
    const stamp = entries.get(source);
    if (stamp === undefined) return false;
    const cutoff = now - seconds;
    // Map order is update order: the first record is the LRU list's head.
    const [oldest, oldestStamp] = entries.entries().next().value as [string, number];
    if (oldestStamp < cutoff) entries.delete(oldest);
    return stamp >= cutoff;
  }

  /** When `source` was last recorded in `list`, if it is. */
  lastSeen(list: string, source: string): number | undefined {
    return this.#lists.get(list)?.get(source);
  }

  /** Forget a list (its SEP chain was deleted). */
  drop(list: string): void {
    this.#lists.delete(list);
  }

  /** Names of lists with entries. */
  names(): string[] {
    return [...this.#lists.keys()];
  }
}
