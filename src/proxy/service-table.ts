/**
 * The per-node service table: every Service port kube-proxy programs on one node, per IP family, with its endpoints
 * and their categorization for this node. It plays the part of kube-proxy's ServiceChangeTracker +
 * EndpointsChangeTracker + CategorizeEndpoints, fed by the store's watch events.
 *
 * Updates are incremental: a Service or EndpointSlice event recomputes that one Service's entries (cost O(its
 * endpoints)) and tells subscribers exactly which entries changed, so engines recompile one Service, not the node.
 * A Node event (zone label, addresses) recategorizes every entry, since locality and topology depend on it.
 *
 * Entry keys, unique within a family: `<ServicePortName>/<protocol>`, e.g. `ns1/svc1:p80/TCP` (upstream's
 * ServicePortName includes the protocol; its String() does not).
 */
import type { Store } from '../model/store.js';
import type { EndpointSlice, IPFamily, Node, Service } from '../model/types.js';
import { type EndpointInfo, mergeSlices, portKey, type SliceData, sliceData, sliceServiceKey } from './endpoints.js';
import { emptyNode, type NodeView, nodeView, withoutNodeObject } from './node-view.js';
import { type ServicePortInfo, servicePortsOf } from './service-port.js';
import { type CategorizedEndpoints, type CategorizeOptions, categorizeEndpoints } from './topology.js';

export { type NodeView, nodeView, ZONE_LABEL } from './node-view.js';

export const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** One Service port of one family, with its endpoints as this node sees them. Immutable; changes replace it. */
export interface ServicePortEntry {
  /** `<ServicePortName>/<protocol>`. */
  readonly key: string;
  /** `ns/name` of the Service. */
  readonly serviceKey: string;
  readonly info: ServicePortInfo;
  /** Every endpoint of the port in this family, sorted by `ip:port` string (kube-proxy's order). */
  readonly endpoints: readonly EndpointInfo[];
  readonly categorized: CategorizedEndpoints;
}

/** A change subscribers hear about. `previous`/`current` undefined = added/removed. */
export type TableChange =
  | {
      readonly kind: 'service-port';
      readonly family: IPFamily;
      readonly key: string;
      readonly previous: ServicePortEntry | undefined;
      readonly current: ServicePortEntry | undefined;
    }
  | { readonly kind: 'node'; readonly previous: NodeView; readonly current: NodeView };

export type TableListener = (changes: readonly TableChange[]) => void;

export interface ServiceTableOptions extends CategorizeOptions {
  /** Families to track (default both; a single-stack proxier tracks one). */
  readonly families?: readonly IPFamily[];
}

export class ServiceTable {
  readonly nodeName: string;
  readonly families: readonly IPFamily[];
  readonly #options: CategorizeOptions;
  #node: NodeView;
  readonly #services = new Map<string, Service>();
  readonly #slices = new Map<string, Map<string, SliceData>>();
  readonly #ports: Record<IPFamily, Map<string, ServicePortEntry>> = { IPv4: new Map(), IPv6: new Map() };
  readonly #keysByService: Record<IPFamily, Map<string, string[]>> = { IPv4: new Map(), IPv6: new Map() };
  /** Keys of the UDP entries: kube-proxy's conntrack cleanup visits them on every sync. */
  readonly #udpKeys: Record<IPFamily, Set<string>> = { IPv4: new Set(), IPv6: new Set() };
  readonly #listeners = new Set<TableListener>();
  #generation = 0;

  constructor(nodeName: string, options: ServiceTableOptions = {}) {
    this.nodeName = nodeName;
    this.families = options.families ?? FAMILIES;
    this.#options = { preferSameNode: options.preferSameNode ?? true };
    this.#node = emptyNode(nodeName);
  }

  /** A table filled from the store and kept current by its watch events. `detach()` on the result stops it. */
  static fromStore(store: Store, nodeName: string, options: ServiceTableOptions = {}): AttachedServiceTable {
    const table = new ServiceTable(nodeName, options);
    for (const node of store.each('Node')) if (node.metadata.name === nodeName) table.applyNode(node);
    for (const svc of store.each('Service')) table.applyService(svc);
    for (const slice of store.each('EndpointSlice')) table.applySlice(slice);
    const stops = [
      store.watch('Node', (e) => {
        if (e.object.metadata.name !== nodeName) return;
        if (e.type === 'DELETED') table.deleteNode();
        else table.applyNode(e.object);
      }),
      store.watch('Service', (e) =>
        e.type === 'DELETED' ? table.deleteService(e.object) : table.applyService(e.object),
      ),
      store.watch('EndpointSlice', (e) => {
        if (e.type === 'DELETED') table.deleteSlice(e.object);
        else {
          // A slice relabelled to another Service leaves its old Service.
          if (e.old && sliceServiceKey(e.old) !== sliceServiceKey(e.object)) table.deleteSlice(e.old);
          table.applySlice(e.object);
        }
      }),
    ];
    return Object.assign(table, {
      detach: () => {
        for (const stop of stops) stop();
      },
    });
  }

  get node(): NodeView {
    return this.#node;
  }

  /** Increments on every change delivered to subscribers. */
  get generation(): number {
    return this.#generation;
  }

  /** The entries of one family, in insertion order. */
  ports(family: IPFamily): IterableIterator<ServicePortEntry> {
    return this.#ports[family].values();
  }

  /** Number of entries in a family. */
  size(family: IPFamily): number {
    return this.#ports[family].size;
  }

  /** The UDP entries of a family. */
  *udpPorts(family: IPFamily): IterableIterator<ServicePortEntry> {
    const ports = this.#ports[family];
    for (const key of this.#udpKeys[family]) yield ports.get(key)!;
  }

  get(family: IPFamily, key: string): ServicePortEntry | undefined {
    return this.#ports[family].get(key);
  }

  /** The entries of one Service (`ns/name`) in a family. */
  portsOfService(family: IPFamily, serviceKey: string): ServicePortEntry[] {
    const keys = this.#keysByService[family].get(serviceKey) ?? [];
    return keys.map((k) => this.#ports[family].get(k)!);
  }

  /** Hear about every later change. Returns the unsubscribe function. */
  subscribe(listener: TableListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  applyService(svc: Service): void {
    if (!proxiedHere(svc.metadata.labels)) {
      this.deleteService(svc);
      return;
    }
    const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
    this.#services.set(key, svc);
    this.#recompute(key);
  }

  deleteService(svc: Service): void {
    const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
    this.#services.delete(key);
    this.#recompute(key);
  }

  applySlice(slice: EndpointSlice): void {
    if (!proxiedHere(slice.metadata.labels)) {
      this.deleteSlice(slice);
      return;
    }
    const key = sliceServiceKey(slice);
    if (key === undefined) return;
    const data = sliceData(slice, this.nodeName);
    let slices = this.#slices.get(key);
    if (!data) {
      if (slices?.delete(slice.metadata.name)) this.#recompute(key);
      return;
    }
    if (!slices) {
      slices = new Map();
      this.#slices.set(key, slices);
    }
    slices.set(slice.metadata.name, data);
    this.#recompute(key);
  }

  deleteSlice(slice: EndpointSlice): void {
    const key = sliceServiceKey(slice);
    if (key === undefined) return;
    const slices = this.#slices.get(key);
    if (!slices?.delete(slice.metadata.name)) return;
    if (slices.size === 0) this.#slices.delete(key);
    this.#recompute(key);
  }

  applyNode(node: Node): void {
    this.#setNode(nodeView(node));
  }

  /**
   * The Node object is gone; kube-proxy runs on. Its node IPs were fixed when it started, so they stay (MASQUERADE
   * and the userspace proxy's dials keep their source); the labels go (OnNodeDelete clears nodeLabels), and with them
   * the zone topology hints are read by.
   */
  deleteNode(): void {
    this.#setNode(withoutNodeObject(this.#node));
  }

  #setNode(next: NodeView): void {
    const previous = this.#node;
    this.#node = next;
    const changes: TableChange[] = [{ kind: 'node', previous, current: next }];
    if (previous.zone !== next.zone) {
      for (const family of this.families) {
        for (const [key, entry] of this.#ports[family]) {
          const current = this.#entry(entry.serviceKey, entry.info, entry.endpoints);
          this.#ports[family].set(key, current);
          changes.push({ kind: 'service-port', family, key, previous: entry, current });
        }
      }
    }
    this.#emit(changes);
  }

  /**
   * EndpointsMap.LocalReadyEndpoints for one Service and family: the distinct IPs of local ready endpoints over every
   * port its slices list, including ports the Service does not declare (the endpoints map is built from slices alone).
   */
  localReadyEndpointIPs(family: IPFamily, serviceKey: string): Set<string> {
    const ips = new Set<string>();
    const slices = this.#slices.get(serviceKey);
    if (!slices) return ips;
    for (const endpoints of mergeSlices(familySlices(slices, family)).values())
      for (const ep of endpoints) if (ep.isLocal && ep.ready) ips.add(ep.ip);
    return ips;
  }

  /** Rebuild one Service's entries in every family from its Service object and slices; report what changed. */
  #recompute(serviceKey: string): void {
    const svc = this.#services.get(serviceKey);
    const slices = this.#slices.get(serviceKey);
    const changes: TableChange[] = [];
    for (const family of this.families) {
      const infos = svc ? servicePortsOf(svc, family) : [];
      const merged = infos.length && slices ? mergeSlices(familySlices(slices, family)) : undefined;
      const oldKeys = this.#keysByService[family].get(serviceKey) ?? [];
      const newKeys: string[] = [];
      const table = this.#ports[family];
      for (const info of infos) {
        const key = `${info.name}/${info.protocol}`;
        newKeys.push(key);
        const endpoints = merged?.get(portKey(info.portName, info.protocol)) ?? [];
        const previous = table.get(key);
        if (previous && sameInfo(previous.info, info) && sameEndpoints(previous.endpoints, endpoints)) continue;
        const current = this.#entry(serviceKey, info, endpoints);
        table.set(key, current);
        if (info.protocol === 'UDP') this.#udpKeys[family].add(key);
        changes.push({ kind: 'service-port', family, key, previous, current });
      }
      for (const key of oldKeys) {
        if (newKeys.includes(key)) continue;
        const previous = table.get(key);
        table.delete(key);
        this.#udpKeys[family].delete(key);
        changes.push({ kind: 'service-port', family, key, previous, current: undefined });
      }
      if (newKeys.length) this.#keysByService[family].set(serviceKey, newKeys);
      else this.#keysByService[family].delete(serviceKey);
    }
    if (changes.length) this.#emit(changes);
  }

  #entry(serviceKey: string, info: ServicePortInfo, endpoints: readonly EndpointInfo[]): ServicePortEntry {
    const categorized = categorizeEndpoints(endpoints, info, this.#node, this.#options);
    return Object.freeze({ key: `${info.name}/${info.protocol}`, serviceKey, info, endpoints, categorized });
  }

  #emit(changes: readonly TableChange[]): void {
    this.#generation++;
    for (const listener of this.#listeners) listener(changes);
  }
}

/** A ServiceTable following a store. */
export type AttachedServiceTable = ServiceTable & { detach(): void };

function* familySlices(slices: Map<string, SliceData>, family: IPFamily): IterableIterator<SliceData> {
  for (const s of slices.values()) if (s.family === family) yield s;
}

function sameInfo(a: ServicePortInfo, b: ServicePortInfo): boolean {
  for (const k of Object.keys(a) as (keyof ServicePortInfo)[]) {
    const x = a[k];
    const y = b[k];
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length || x.some((v, i) => v !== y[i])) return false;
    } else if (x !== y) return false;
  }
  return true;
}

function sameEndpoints(a: readonly EndpointInfo[], b: readonly EndpointInfo[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.address !== y.address ||
      x.ready !== y.ready ||
      x.serving !== y.serving ||
      x.terminating !== y.terminating ||
      x.nodeName !== y.nodeName ||
      x.zone !== y.zone ||
      x.target !== y.target ||
      !sameSet(x.zoneHints, y.zoneHints) ||
      !sameSet(x.nodeHints, y.nodeHints)
    )
      return false;
  }
  return true;
}

function sameSet(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.size !== b.size) return false;
  for (const v of a) if (!b.has(v)) return false;
  return true;
}

/** The label that hands a Service to another proxy (kube-proxy's informers skip it: cmd/kube-proxy/app/server.go). */
export const LABEL_SERVICE_PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
const LABEL_HEADLESS = 'service.kubernetes.io/headless';

/**
 * Whether kube-proxy sees an object: its Service and EndpointSlice informers select
 * `!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless`, so an object with either label (any
 * value) is invisible to it, and one that gains a label leaves as if deleted.
 */
function proxiedHere(labels: Readonly<Record<string, string>> | undefined): boolean {
  return ignoredBecause(labels) === undefined;
}

/** The label that makes kube-proxy ignore an object (see `proxiedHere`), or undefined when it sees the object. */
export function ignoredBecause(labels: Readonly<Record<string, string>> | undefined): string | undefined {
  if (labels === undefined) return undefined;
  return [LABEL_SERVICE_PROXY_NAME, LABEL_HEADLESS].find((label) => Object.hasOwn(labels, label));
}
