/**
 * kube-scheduler's default profile, deterministic and incremental.
 *
 * Filter, in the default plugin order, stopping at the first plugin that rejects a node (as the framework does):
 * NodeUnschedulable, TaintToleration (NoSchedule/NoExecute, including the taints node conditions imply),
 * NodeAffinity (nodeSelector), NodePorts (host ports), NodeResourcesFit (pod count, cpu, memory).
 * Score, with the default weights: TaintToleration ×3 (PreferNoSchedule), NodeResourcesFit ×1 (LeastAllocated over
 * cpu and memory, equal weights, on non-zero requests), PodTopologySpread ×2 (the system default constraints:
 * hostname maxSkew 3 and zone maxSkew 5, ScheduleAnyway), NodeResourcesBalancedAllocation ×1. NodeAffinity,
 * InterPodAffinity and ImageLocality would score every node alike for the pods we model, so they are left out.
 *
 * Like upstream, the search stops after `numFeasibleNodesToFind` feasible nodes and the next search starts where
 * this one stopped; nodes are visited round-robin across zones (nodeTree). Ties between the best nodes are broken at
 * random, uniformly, with the injected Rng (upstream: reservoir sampling over math/rand).
 *
 * Two ways to the same answer: the scan below (filter and score node by node, the reference), and, for the common
 * case in large clusters, segment trees per request class that find the same node, tie-break included, in
 * O(zones × log nodes) (scheduler-fast.ts; a property test holds them equal).
 *
 * Simplification, PodTopologySpread: upstream counts pods matching the AND of the selectors of every Service,
 * ReplicaSet and StatefulSet that selects the pod. Pods of one ReplicaSet or StatefulSet match exactly that AND
 * (the owner's selector carries pod-template-hash), so we count pods by a spread key, by default the pod's
 * controller owner; a pod without one is not spread. Zone counts cover every node of a zone, without upstream's
 * nodeAffinity inclusion policy.
 */
import type { Journal } from '../model/journal.js';
import type { Node, Pod } from '../model/types.js';
import type { Rng } from '../util/rng.js';
import { FastPath, type FastPathOptions } from './scheduler-fast.js';
import { FIT, filterNode, numFeasibleNodesToFind, ownerSpreadKey, UNRESOLVABLE } from './scheduler-filter.js';
import { F, NodeState, NodeTable, NodeTree, STRIDE } from './scheduler-nodes.js';
import { Feasible, fitError, type GroupCounts, type PodInfo, resourceScore, Scorer } from './scheduler-score.js';
import { SpreadCounts } from './scheduler-spread.js';
import {
  isPodTerminal,
  type PodRequests,
  podHostPorts,
  podRequests,
  TAINT_UNSCHEDULABLE,
  tolerationsTolerate,
} from './scheduling-rules.js';

export { numFeasibleNodesToFind, ownerSpreadKey } from './scheduler-filter.js';
export { isEligibleForDaemonSet } from './scheduling-rules.js';

export type ScheduleResult = { nodeName: string } | { unschedulable: string };

export interface SchedulerOptions {
  /** Breaks ties between equally scored nodes. */
  rng: Rng;
  /** percentageOfNodesToScore; 0 (default) is upstream's adaptive 50 - nodes/125, at least 5. */
  percentageOfNodesToScore?: number;
  /** The group a pod is spread with; default: its controller owner. */
  spreadKey?: (pod: Pod) => string | undefined;
  /**
   * 'current' (default, Kubernetes 1.34+): `node(s) had untolerated taint(s)`. 'detailed' (up to 1.33):
   * `node(s) had untolerated taint {key: value}`.
   */
  taintMessage?: 'current' | 'detailed';
  /** The exact segment-tree shortcut for large clusters (see scheduler-fast.ts); false scans every time. */
  fastPath?: FastPathOptions | false;
}

/** What a bound pod holds on its node. `req` is shared by pods of one template (podRequests caches it). */
interface Binding {
  node: NodeState | undefined;
  req: PodRequests;
  ports: string[] | undefined;
  group: string | undefined;
}

/** The taint a cordoned node carries, for the pod's toleration check. */
const UNSCHEDULABLE_TAINT = { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' } as const;

export class Scheduler {
  readonly #rng: Rng;
  readonly #percentage: number;
  readonly #spreadKey: (pod: Pod) => string | undefined;
  readonly #detailedTaints: boolean;
  readonly #table = new NodeTable();
  /** Slot → node (removed nodes included: bindings may still point at them). */
  readonly #states: NodeState[] = [];
  readonly #nodes = new Map<string, NodeState>();
  /**
   * Removed nodes keep their state, so a node removed and added again (an update done as remove + add) keeps what
   * its pods request.
   */
  readonly #detached = new Map<string, NodeState>();
  readonly #tree = new NodeTree();
  /** Namespace → pod name → binding (nested rather than keyed by `ns/name`: no key string per pod). */
  readonly #bound = new Map<string, Map<string, Binding>>();
  readonly #spread = new SpreadCounts();
  readonly #scorer = new Scorer();
  readonly #reasons = new Map<string, number>();
  #pass = 0;
  #nextStart = 0;
  #snapshotJournal: Journal | undefined;
  /** The visiting order as slots, rebuilt when the node tree changes. */
  #listSeen: NodeState[] | undefined;
  #order = new Int32Array(0);
  /** Slot → position in the visiting order, -1 for nodes not in it. */
  #posOf = new Int32Array(0);
  readonly #fast: FastPath | undefined;
  readonly #feasible = new Feasible();
  /** Request tuple → request class (see PodInfo.requestClass). */
  readonly #requestClasses = new Map<string, number>();
  /** The class of a (cached, shared) requests object, to skip building the tuple key per pod. */
  readonly #classOf = new WeakMap<PodRequests, number>();
  /** Whether any node has PreferNoSchedule taints; when none, TaintToleration scores every node alike. */
  #anySoftTaints = false;

  /** Takes the options, or just the tie-break Rng for the defaults. */
  constructor(options: SchedulerOptions | Rng) {
    if (!('rng' in options)) options = { rng: options };
    this.#rng = options.rng;
    this.#percentage = options.percentageOfNodesToScore ?? 0;
    this.#spreadKey = options.spreadKey ?? ownerSpreadKey;
    this.#detailedTaints = options.taintMessage === 'detailed';
    this.#fast = options.fastPath === false ? undefined : new FastPath(options.fastPath);
  }

  get nodeCount(): number {
    return this.#nodes.size;
  }

  /** What the pods bound to a node request (for tests and explanations). */
  nodeUsage(name: string): { cpu: number; memory: number; pods: number } | undefined {
    const n = this.#nodes.get(name);
    if (!n) return undefined;
    const d = this.#table.data;
    const base = n.slot * STRIDE;
    return { cpu: d[base + F.reqCpu]!, memory: d[base + F.reqMemory]!, pods: d[base + F.pods]! };
  }

  addNode(node: Node, journal: Journal): void {
    const name = node.metadata.name;
    if (this.#nodes.has(name)) {
      this.updateNode(node, journal);
      return;
    }
    const detached = this.#detached.get(name);
    let state = detached;
    const saved = detached?.saved();
    if (detached) {
      this.#detached.delete(name);
      this.#spread.moveZone(detached, -1);
      detached.set(node);
      this.#spread.moveZone(detached, +1);
    } else {
      state = new NodeState(node, this.#table);
      this.#states[state.slot] = state;
    }
    const added = state!;
    this.#nodes.set(name, added);
    this.#tree.add(added);
    journal.record(() => {
      this.#tree.remove(added);
      this.#nodes.delete(name);
      if (detached) {
        this.#spread.moveZone(detached, -1);
        detached.restore(saved!);
        this.#spread.moveZone(detached, +1);
        this.#detached.set(name, detached);
      }
    });
  }

  updateNode(node: Node, journal: Journal): void {
    const state = this.#nodes.get(node.metadata.name);
    if (!state) {
      this.addNode(node, journal);
      return;
    }
    const saved = state.saved();
    const undoTree = this.#tree.remove(state, saved.zoneKey);
    this.#spread.moveZone(state, -1);
    state.set(node);
    this.#spread.moveZone(state, +1);
    this.#tree.add(state);
    journal.record(() => {
      this.#tree.remove(state);
      this.#spread.moveZone(state, -1);
      state.restore(saved);
      this.#spread.moveZone(state, +1);
      undoTree();
    });
  }

  removeNode(node: Node | string, journal: Journal): void {
    const name = typeof node === 'string' ? node : node.metadata.name;
    const state = this.#nodes.get(name);
    if (!state) return;
    const undoTree = this.#tree.remove(state);
    this.#nodes.delete(name);
    this.#detached.set(name, state);
    journal.record(() => {
      this.#detached.delete(name);
      this.#nodes.set(name, state);
      undoTree();
    });
  }

  /** Count a pod on a node: its requests, host ports and spread group. Terminal pods take nothing. */
  bind(pod: Pod, nodeName: string, journal: Journal): void {
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name;
    if (this.#bound.get(namespace)?.has(name)) this.unbind(pod, journal);
    if (isPodTerminal(pod)) return;
    const b: Binding = {
      node: this.#nodes.get(nodeName) ?? this.#detached.get(nodeName),
      req: podRequests(pod.spec),
      ports: podHostPorts(pod.spec),
      // Terminating pods still hold resources but no longer count for spreading (countPodsMatchSelector).
      group: pod.metadata.deletionTimestamp ? undefined : this.#spreadKey(pod),
    };
    this.#hold(namespace, name, b);
    journal.recordCall(Scheduler.#undoBind, this, pod, b);
  }

  unbind(pod: Pod, journal: Journal): void {
    const namespace = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name;
    const b = this.#bound.get(namespace)?.get(name);
    if (!b) return;
    this.#drop(namespace, name, b);
    journal.record(() => this.#hold(namespace, name, b));
  }

  #hold(namespace: string, name: string, b: Binding): void {
    this.#apply(b, 1);
    let names = this.#bound.get(namespace);
    if (!names) {
      names = new Map();
      this.#bound.set(namespace, names);
    }
    names.set(name, b);
  }

  #drop(namespace: string, name: string, b: Binding): void {
    this.#apply(b, -1);
    const names = this.#bound.get(namespace);
    if (!names) return;
    names.delete(name);
    if (names.size === 0) this.#bound.delete(namespace);
  }

  /** Undo a bind; shared by every bind (Journal.recordCall), so a bulk load makes no closure per pod. */
  static #undoBind(self: Scheduler, pod: Pod, b: Binding): void {
    self.#drop(pod.metadata.namespace ?? 'default', pod.metadata.name, b);
  }

  /** Follow a pod write: unbind what was, bind what is (when it has a node). */
  podChanged(old: Pod | undefined, pod: Pod | undefined, journal: Journal): void {
    if (old) this.unbind(old, journal);
    if (pod?.spec.nodeName) this.bind(pod, pod.spec.nodeName, journal);
  }

  /** Pick a node for a pod, or say why none fits, in kube-scheduler's words. */
  schedule(pod: Pod, journal?: Journal): ScheduleResult {
    const order = this.#visitingOrder();
    const n = order.length;
    if (n === 0) return { unschedulable: 'no nodes available to schedule pods' };
    this.#snapshot(journal);
    const p = this.#podInfo(pod);
    const want = numFeasibleNodesToFind(n, this.#percentage);
    const pass = ++this.#pass;
    const group: GroupCounts | undefined = p.group === undefined ? undefined : this.#spread.of(p.group);
    const fast = this.#fast?.schedule(
      {
        d: this.#table.data,
        order,
        posOf: this.#posOf,
        states: this.#states,
        p,
        want,
        start: this.#nextStart % n,
        pass,
        group,
        scorer: this.#scorer,
        rng: this.#rng,
      },
      this.#anySoftTaints,
    );
    if (fast) {
      this.#nextStart = (this.#nextStart + fast.checked) % n;
      return { nodeName: this.#states[fast.slot]!.name };
    }
    const f = this.#feasible;
    f.begin(pass);
    const { slots, zones, totals, zoneCount } = f;
    const reasons = this.#reasons;
    reasons.clear();
    const d = this.#table.data;
    const simple = !p.nodeSelector && !p.ports;
    let m = 0;
    let notHelpful = 0;
    let checked = 0;
    let at = this.#nextStart % n;
    while (checked < n) {
      const slot = order[at]!;
      if (++at === n) at = 0;
      checked++;
      const base = slot * STRIDE;
      // Fast path for the common case: an untainted, schedulable node and a pod without selector or host ports
      // only needs the resource checks; anything else (and every failure) goes through the full filter.
      const fits =
        simple &&
        d[base + F.plain] === 1 &&
        d[base + F.pods]! < d[base + F.allowedPods]! &&
        (p.cpu <= 0 || p.cpu <= d[base + F.allocCpu]! - d[base + F.reqCpu]!) &&
        (p.memory <= 0 || p.memory <= d[base + F.allocMemory]! - d[base + F.reqMemory]!);
      const verdict = fits ? FIT : filterNode(this.#states[slot]!, d, base, p, reasons, this.#detailedTaints);
      if (verdict === FIT) {
        // Start the node's score while its record is in cache: the resource part, cached across pods.
        d[base + F.feasiblePass] = pass;
        d[base + F.feasiblePos] = m;
        slots[m] = slot;
        const zoneId = d[base + F.zoneId]!;
        zones[m] = zoneId;
        zoneCount[zoneId]!++;
        totals[m] = resourceScore(d, base, p);
        if (++m >= want) break;
      } else if (verdict === UNRESOLVABLE) notHelpful++;
    }
    this.#nextStart = (this.#nextStart + checked) % n;
    if (m === 0) return { unschedulable: fitError(n, reasons, notHelpful) };
    if (m === 1) return { nodeName: this.#states[slots[0]!]!.name };
    const slot = this.#scorer.select(d, this.#states, f, m, p, this.#anySoftTaints, group, this.#rng);
    return { nodeName: this.#states[slot]!.name };
  }

  #visitingOrder(): Int32Array {
    const list = this.#tree.list();
    if (list !== this.#listSeen) {
      this.#listSeen = list;
      this.#order = Int32Array.from(list, (node) => node.slot);
      this.#posOf = new Int32Array(this.#states.length).fill(-1);
      this.#order.forEach((slot, pos) => {
        this.#posOf[slot] = pos;
      });
      this.#feasible.ensure(list.length);
      this.#anySoftTaints = list.some((node) => node.softTaints.length > 0);
      this.#fast?.reset(this.#order, this.#states, this.#table.data);
    }
    return this.#order;
  }

  #podInfo(pod: Pod): PodInfo {
    const req = podRequests(pod.spec);
    const tolerations = pod.spec.tolerations;
    return {
      cpu: req.cpu,
      memory: req.memory,
      nonZeroCpu: req.nonZeroCpu,
      nonZeroMemory: req.nonZeroMemory,
      tolerations,
      toleratesUnschedulable: tolerationsTolerate(tolerations, UNSCHEDULABLE_TAINT),
      nodeSelector:
        pod.spec.nodeSelector && Object.keys(pod.spec.nodeSelector).length ? pod.spec.nodeSelector : undefined,
      ports: podHostPorts(pod.spec),
      group: this.#spreadKey(pod),
      requestClass: this.#requestClass(req),
    };
  }

  #requestClass(req: PodRequests): number {
    const known = this.#classOf.get(req);
    if (known !== undefined) return known;
    const key = `${req.cpu}/${req.memory}/${req.nonZeroCpu}/${req.nonZeroMemory}`;
    let id = this.#requestClasses.get(key);
    if (id === undefined) {
      id = this.#requestClasses.size + 1;
      this.#requestClasses.set(key, id);
    }
    this.#classOf.set(req, id);
    return id;
  }

  #apply(b: Binding, sign: 1 | -1): void {
    const node = b.node;
    if (!node) return;
    const d = this.#table.data;
    const base = node.slot * STRIDE;
    const req = b.req;
    d[base + F.reqCpu]! += sign * req.cpu;
    d[base + F.reqMemory]! += sign * req.memory;
    d[base + F.nonZeroCpu]! += sign * req.nonZeroCpu;
    d[base + F.nonZeroMemory]! += sign * req.nonZeroMemory;
    d[base + F.pods]! += sign;
    d[base + F.version]!++;
    this.#fast?.refresh(d, this.#posOf[node.slot] ?? -1);
    if (b.ports) {
      node.hostPorts ??= new Map();
      for (const port of b.ports) node.hostPorts.set(port, (node.hostPorts.get(port) ?? 0) + sign);
    }
    if (b.group !== undefined) {
      this.#spread.add(node, b.group, sign);
    }
  }

  /** Once per batch: remember the tie-break stream and start index so a rejected batch restores them. */
  #snapshot(journal: Journal | undefined): void {
    if (!journal || journal === this.#snapshotJournal) return;
    this.#snapshotJournal = journal;
    const rng = this.#rng.clone();
    const start = this.#nextStart;
    journal.record(() => {
      this.#rng.restore(rng);
      this.#nextStart = start;
      this.#snapshotJournal = undefined;
    });
  }
}
