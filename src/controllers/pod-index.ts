/**
 * Pods by namespace and by label, and Services by the labels they select, so that "which pods does this Service
 * select" and "which Services select this pod" cost the size of the answer, not the size of the cluster.
 *
 * Pods: one posting list per namespace and label `key=value`; a selector walks its smallest posting list and checks
 * the rest of the selector on each candidate.
 * Services: each Service with a non-empty selector is filed under one of its `key=value` pairs (its anchor: the pair
 * whose list is shortest when the Service arrives). A pod can only be selected by Services anchored on one of its own
 * labels, so `servicesSelecting(pod)` looks at those lists only. (Iterating every Service of the namespace per pod
 * would be 150,000 × 8,200 matches at our target scale.)
 *
 * Every change records its undo step in the batch's journal. An empty Service selector selects nothing here: the
 * API stores `selector: {}` as no selector, and the EndpointSlice controller skips selector-less Services.
 */
import { type Journal, noJournal } from '../model/journal.js';
import { matchesMap } from '../model/labels.js';
import type { Pod, Service } from '../model/types.js';
import { getOrCreate } from './maps.js';

interface NamespacePods {
  readonly byName: Map<string, Pod>;
  /** `key\0value` → names of the pods carrying that label. */
  readonly byLabel: Map<string, Set<string>>;
}

interface NamespaceServices {
  readonly byName: Map<string, Service>;
  /** `key\0value` → names of the Services anchored on that pair. */
  readonly byAnchor: Map<string, Set<string>>;
  readonly anchorOf: Map<string, string>;
}

const pair = (key: string, value: string): string => `${key}\0${value}`;
const nsOf = (obj: { metadata: { namespace?: string } }): string => obj.metadata.namespace ?? 'default';

/**
 * The `key\0value` pairs of a labels object. Pods made from one template share its labels object, so a bulk load
 * builds the pairs once per template instead of once per pod (and per removal). Stored objects do not change.
 */
const labelPairs = new WeakMap<Record<string, string>, string[]>();
const NO_PAIRS: readonly string[] = [];

function pairsOf(pod: Pod): readonly string[] {
  const labels = pod.metadata.labels;
  if (!labels) return NO_PAIRS;
  let pairs = labelPairs.get(labels);
  if (!pairs) {
    pairs = Object.entries(labels).map(([k, v]) => pair(k, v));
    labelPairs.set(labels, pairs);
  }
  return pairs;
}

export class PodIndex {
  readonly #pods = new Map<string, NamespacePods>();
  readonly #services = new Map<string, NamespaceServices>();

  /** The indexed pod of that name, if any. */
  get(namespace: string, name: string): Pod | undefined {
    return this.#pods.get(namespace)?.byName.get(name);
  }

  /** Pods of a namespace, in the order they were added. */
  podsIn(namespace: string): IterableIterator<Pod> {
    return (this.#pods.get(namespace)?.byName ?? new Map<string, Pod>()).values();
  }

  get size(): number {
    let n = 0;
    for (const ns of this.#pods.values()) n += ns.byName.size;
    return n;
  }

  /** Index a pod (replacing an indexed pod of the same name). */
  add(pod: Pod, journal: Journal): void {
    const name = pod.metadata.name;
    const ns = this.#nsPods(nsOf(pod));
    const previous = ns.byName.get(name);
    if (previous === pod) return;
    if (previous) this.remove(previous, journal);
    ns.byName.set(name, pod);
    for (const key of pairsOf(pod)) {
      const set = ns.byLabel.get(key);
      if (set) set.add(name);
      else ns.byLabel.set(key, new Set([name]));
    }
    journal.recordCall(PodIndex.#undoAdd, this, ns, pod);
  }

  /** Undo an add; shared by every add (Journal.recordCall), so indexing a pod makes no closure. */
  static #undoAdd(self: PodIndex, ns: NamespacePods, pod: Pod): void {
    self.#drop(ns, pod);
  }

  /** Drop a pod (by name; the object given may be an older or newer version of the indexed one). */
  remove(pod: Pod, journal: Journal): void {
    const ns = this.#pods.get(nsOf(pod));
    const indexed = ns?.byName.get(pod.metadata.name);
    if (!ns || !indexed) return;
    this.#drop(ns, indexed);
    journal.record(() => this.add(indexed, noJournal));
  }

  /** Follow a pod write. */
  update(old: Pod | undefined, pod: Pod | undefined, journal: Journal): void {
    if (old && (!pod || old.metadata.name !== pod.metadata.name || nsOf(old) !== nsOf(pod))) this.remove(old, journal);
    if (pod) this.add(pod, journal);
  }

  /** Pods of the namespace matching a map selector; an empty selector matches every pod of the namespace. */
  select(namespace: string, selector: Record<string, string>): Pod[] {
    const ns = this.#pods.get(namespace);
    if (!ns) return [];
    let smallest: Set<string> | undefined;
    for (const [k, v] of Object.entries(selector)) {
      const set = ns.byLabel.get(pair(k, v));
      if (!set) return [];
      if (!smallest || set.size < smallest.size) smallest = set;
    }
    const out: Pod[] = [];
    if (!smallest) {
      out.push(...ns.byName.values());
      return out;
    }
    for (const name of smallest) {
      const pod = ns.byName.get(name)!;
      if (matchesMap(pod.metadata.labels, selector)) out.push(pod);
    }
    return out;
  }

  /** Index a Service by its selector (replacing an indexed Service of the same name). */
  addService(service: Service, journal: Journal): void {
    const name = service.metadata.name;
    const ns = this.#nsServices(nsOf(service));
    const previous = ns.byName.get(name);
    if (previous === service) return;
    if (previous) this.removeService(previous, journal);
    const selector = service.spec.selector ?? {};
    let anchor: string | undefined;
    let anchorSize = Number.POSITIVE_INFINITY;
    for (const k of Object.keys(selector).sort()) {
      const key = pair(k, selector[k]!);
      const size = ns.byAnchor.get(key)?.size ?? 0;
      if (size < anchorSize) {
        anchor = key;
        anchorSize = size;
      }
    }
    ns.byName.set(name, service);
    if (anchor !== undefined) {
      const set = ns.byAnchor.get(anchor);
      if (set) set.add(name);
      else ns.byAnchor.set(anchor, new Set([name]));
      ns.anchorOf.set(name, anchor);
    }
    journal.record(() => this.#dropService(ns, name));
  }

  removeService(service: Service, journal: Journal): void {
    const ns = this.#services.get(nsOf(service));
    const indexed = ns?.byName.get(service.metadata.name);
    if (!ns || !indexed) return;
    this.#dropService(ns, indexed.metadata.name);
    journal.record(() => this.addService(indexed, noJournal));
  }

  /** The indexed Services whose selector matches the pod's labels. */
  servicesSelecting(pod: Pod): Service[] {
    const ns = this.#services.get(nsOf(pod));
    const labels = pod.metadata.labels;
    if (!ns || !labels) return [];
    const out: Service[] = [];
    for (const [k, v] of Object.entries(labels)) {
      const names = ns.byAnchor.get(pair(k, v));
      if (!names) continue;
      for (const name of names) {
        const svc = ns.byName.get(name)!;
        if (matchesMap(labels, svc.spec.selector!)) out.push(svc);
      }
    }
    return out;
  }

  #drop(ns: NamespacePods, pod: Pod): void {
    const name = pod.metadata.name;
    if (ns.byName.get(name) !== pod) return;
    ns.byName.delete(name);
    for (const key of pairsOf(pod)) {
      const set = ns.byLabel.get(key);
      if (!set) continue;
      set.delete(name);
      if (set.size === 0) ns.byLabel.delete(key);
    }
  }

  #dropService(ns: NamespaceServices, name: string): void {
    ns.byName.delete(name);
    const anchor = ns.anchorOf.get(name);
    if (anchor === undefined) return;
    ns.anchorOf.delete(name);
    const set = ns.byAnchor.get(anchor);
    set?.delete(name);
    if (set?.size === 0) ns.byAnchor.delete(anchor);
  }

  #nsPods(namespace: string): NamespacePods {
    return getOrCreate(this.#pods, namespace, () => ({ byName: new Map(), byLabel: new Map() }));
  }

  #nsServices(namespace: string): NamespaceServices {
    return getOrCreate(this.#services, namespace, () => ({
      byName: new Map(),
      byAnchor: new Map(),
      anchorOf: new Map(),
    }));
  }
}
