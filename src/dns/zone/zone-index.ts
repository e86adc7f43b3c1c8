/**
 * The zone index: what cluster DNS knows about the cluster, kept in step with the store by its watch events, as
 * CoreDNS's dnsController keeps informer caches (plugin/kubernetes/controller.go).
 *
 * It holds slim projections (./projections.ts) keyed for the lookups a query makes:
 * - Services by `name.namespace`; ClusterIP → Services (PTR); the kube-dns Service (apex NS).
 * - EndpointSlices (ready addresses only) by Service, and endpoint IP → slices (PTR).
 * - Namespaces that exist (CoreDNS answers nothing in a namespace it cannot see).
 * - With `pods: verified` only: pod IP → pods, from `status.podIP`.
 *
 * Each event updates only the entries it touches. `generation` increases on every change an answer could see, and
 * `serial` (the SOA serial, as CoreDNS computes it) becomes the unix time of that change, unless it is a Namespace's
 * (CoreDNS's namespace informer moves no serial); events that change nothing visible (a pod's unrelated status, a
 * label DNS ignores) move neither.
 *
 * Construct it outside a store transaction: it reads the committed state, then follows events.
 */

import type { WatchEvent, WatchSource } from '../../model/store.js';
import type { EndpointSlice, Namespace, Pod, Service } from '../../model/types.js';
import type { DnsOptions } from '../config.js';
import { MultiMap } from './multi-map.js';
import {
  type ServiceRecord,
  type SliceRecord,
  sameService,
  sameSlice,
  serviceKey,
  toServiceRecord,
  toSliceRecord,
  verifiedPodIP,
} from './projections.js';

export interface ZoneIndexInit {
  /** The cluster domain (`cluster.local`); any case, with or without the trailing dot. */
  clusterDomain: string;
  options: DnsOptions;
  /** Milliseconds since the epoch, like Date.now (the default); the SOA serial is derived from it. */
  now?: () => number;
  /** Whether the index counts as synced from the start (default true); see `setSynced`. */
  synced?: boolean;
}

const NO_SLICES: ReadonlyMap<string, SliceRecord> = new Map();

export class ZoneIndex {
  /** Lower case, no trailing dot. */
  readonly clusterDomain: string;
  readonly options: Readonly<DnsOptions>;
  readonly #now: () => number;
  #generation = 0;
  #serial: number;
  #synced: boolean;
  readonly #unwatch: (() => void)[] = [];

  readonly #services = new Map<string, ServiceRecord>();
  readonly #byClusterIP = new MultiMap<string, ServiceRecord>();
  readonly #dnsServices = new Map<string, ServiceRecord>();
  readonly #slices = new Map<string, SliceRecord>();
  readonly #slicesByService = new Map<string, Map<string, SliceRecord>>();
  readonly #byEndpointIP = new MultiMap<string, SliceRecord>();
  readonly #namespaces = new Set<string>();
  /** pods verified only: pod key (`ns/name`) → IP, and IP → pod keys. */
  readonly #podIPs = new Map<string, string>();
  readonly #podsByIP = new MultiMap<string, string>();

  constructor(store: WatchSource, init: ZoneIndexInit) {
    this.clusterDomain = init.clusterDomain.toLowerCase().replace(/\.$/, '');
    this.options = Object.freeze({ ...init.options });
    this.#now = init.now ?? Date.now;
    this.#synced = init.synced ?? true;

    const follow = <K extends 'Namespace' | 'Service' | 'EndpointSlice' | 'Pod'>(
      kind: K,
      apply: (event: WatchEvent<never>) => void,
    ) => {
      this.#unwatch.push(store.watch(kind, apply as never));
      for (const object of store.each(kind)) apply({ type: 'ADDED', object } as WatchEvent<never>);
    };
    follow('Namespace', (e: WatchEvent<Namespace>) => this.#onNamespace(e));
    follow('Service', (e: WatchEvent<Service>) => this.#onService(e));
    if (!this.options.noEndpoints) follow('EndpointSlice', (e: WatchEvent<EndpointSlice>) => this.#onSlice(e));
    if (this.options.pods === 'verified') follow('Pod', (e: WatchEvent<Pod>) => this.#onPod(e));
    // Loading the initial state is one change: generation 0 is "empty", the serial is "now".
    this.#generation = 1;
    this.#serial = this.#unixNow();
  }

  /** Increases on every change an answer could see (including `setSynced`); caches key encoded answers on it. */
  get generation(): number {
    return this.#generation;
  }

  /** The SOA serial: unix seconds of the last DNS-visible change (CoreDNS `Modified()`), as an unsigned 32-bit. */
  get serial(): number {
    return this.#serial;
  }

  /** False while the emulated informers have not synced: the resolver then answers SERVFAIL instead of NXDOMAIN. */
  get hasSynced(): boolean {
    return this.#synced;
  }

  /** Mark the caches synced or not (startup before the first list, or a lost API connection; dns.md §15.1). */
  setSynced(synced: boolean): void {
    if (this.#synced === synced) return;
    this.#synced = synced;
    this.#generation++;
  }

  /** Stop following the store. */
  dispose(): void {
    for (const stop of this.#unwatch.splice(0)) stop();
  }

  namespaceExists(namespace: string): boolean {
    return this.#namespaces.has(namespace);
  }

  service(name: string, namespace: string): ServiceRecord | undefined {
    return this.#services.get(serviceKey(name, namespace));
  }

  /** Every Service, in no particular order. */
  services(): IterableIterator<ServiceRecord> {
    return this.#services.values();
  }

  /** The EndpointSlices labelled with this Service (whether or not the Service exists). */
  slicesOf(name: string, namespace: string): Iterable<SliceRecord> {
    return (this.#slicesByService.get(serviceKey(name, namespace)) ?? NO_SLICES).values();
  }

  /** Ready addresses over all of a Service's slices (`ignoreEmptyService`). */
  readyEndpointCount(name: string, namespace: string): number {
    let n = 0;
    for (const slice of this.slicesOf(name, namespace)) n += slice.ips.length;
    return n;
  }

  /** Services with this ClusterIP (canonical text), ordered by key so answers do not depend on event order. */
  servicesByClusterIP(ip: string): ServiceRecord[] {
    return [...this.#byClusterIP.get(ip)].sort(byServiceKey);
  }

  /** Slices with a ready endpoint at this IP (canonical text), ordered by key. */
  slicesByEndpointIP(ip: string): SliceRecord[] {
    return [...this.#byEndpointIP.get(ip)].sort((a, b) => compare(a.key, b.key));
  }

  /** pods verified: whether a listed pod in `namespace` has exactly this `status.podIP` text. */
  hasPod(ip: string, namespace: string): boolean {
    return this.#podsByIP.get(ip).some((key) => key.slice(0, key.indexOf('/')) === namespace);
  }

  /** pods verified: every listed pod as `[namespace, status.podIP]`. Empty in the other modes. */
  *pods(): IterableIterator<[namespace: string, ip: string]> {
    for (const [key, ip] of this.#podIPs) yield [key.slice(0, key.indexOf('/')), ip];
  }

  /** The kube-dns Service (smallest name when several select `k8s-app: kube-dns`). */
  dnsService(): ServiceRecord | undefined {
    let best: ServiceRecord | undefined;
    for (const svc of this.#dnsServices.values()) if (!best || byServiceKey(svc, best) < 0) best = svc;
    return best;
  }

  /** Sizes of the indexes, for reports and memory checks. */
  stats(): { services: number; slices: number; endpointIPs: number; namespaces: number; pods: number } {
    return {
      services: this.#services.size,
      slices: this.#slices.size,
      endpointIPs: this.#byEndpointIP.size,
      namespaces: this.#namespaces.size,
      pods: this.#podIPs.size,
    };
  }

  // ---------------------------------------------------------------- event handlers

  // Answers change (a name in a namespace that appears or goes), the serial does not: CoreDNS's namespace informer has
  // no event handlers, so only Service, endpoint and pod events move `Modified()`.
  #onNamespace(event: WatchEvent<Namespace>): void {
    const name = event.object.metadata.name;
    if (event.type === 'DELETED') {
      if (this.#namespaces.delete(name)) this.#generation++;
    } else if (!this.#namespaces.has(name)) {
      this.#namespaces.add(name);
      this.#generation++;
    }
  }

  #onService(event: WatchEvent<Service>): void {
    const svc = event.object;
    const key = serviceKey(svc.metadata.name, svc.metadata.namespace ?? 'default');
    const old = this.#services.get(key);
    const next = event.type === 'DELETED' ? undefined : toServiceRecord(svc);
    if (old && next && sameService(old, next)) return;
    if (!old && !next) return;
    if (old) {
      this.#services.delete(key);
      for (const ip of old.clusterIPs) this.#byClusterIP.delete(ip, old);
      this.#dnsServices.delete(key);
    }
    if (next) {
      this.#services.set(key, next);
      for (const ip of next.clusterIPs) this.#byClusterIP.add(ip, next);
      if (next.kubeDns) this.#dnsServices.set(key, next);
    }
    this.#changed();
  }

  #onSlice(event: WatchEvent<EndpointSlice>): void {
    const meta = event.object.metadata;
    const key = `${meta.namespace ?? 'default'}/${meta.name}`;
    const old = this.#slices.get(key);
    const next = event.type === 'DELETED' ? undefined : toSliceRecord(event.object, this.options.endpointPodNames);
    if (old && next && sameSlice(old, next)) return;
    if (!old && !next) return;
    if (old) {
      this.#slices.delete(key);
      const owner = serviceKey(old.service, old.namespace);
      const siblings = this.#slicesByService.get(owner);
      siblings?.delete(key);
      if (siblings?.size === 0) this.#slicesByService.delete(owner);
      for (const ip of new Set(old.ips)) this.#byEndpointIP.delete(ip, old);
    }
    if (next) {
      this.#slices.set(key, next);
      const owner = serviceKey(next.service, next.namespace);
      let siblings = this.#slicesByService.get(owner);
      if (!siblings) {
        siblings = new Map();
        this.#slicesByService.set(owner, siblings);
      }
      siblings.set(key, next);
      for (const ip of new Set(next.ips)) this.#byEndpointIP.add(ip, next);
    }
    this.#changed();
  }

  #onPod(event: WatchEvent<Pod>): void {
    const meta = event.object.metadata;
    const key = `${meta.namespace ?? 'default'}/${meta.name}`;
    const old = this.#podIPs.get(key);
    const next = event.type === 'DELETED' ? undefined : verifiedPodIP(event.object);
    if (old === next) return;
    if (old !== undefined) {
      this.#podIPs.delete(key);
      this.#podsByIP.delete(old, key);
    }
    if (next !== undefined) {
      this.#podIPs.set(key, next);
      this.#podsByIP.add(next, key);
    }
    this.#changed();
  }

  #changed(): void {
    this.#generation++;
    this.#serial = this.#unixNow();
  }

  #unixNow(): number {
    return Math.floor(this.#now() / 1000) >>> 0;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byServiceKey(a: ServiceRecord, b: ServiceRecord): number {
  return compare(a.namespace, b.namespace) || compare(a.name, b.name);
}
