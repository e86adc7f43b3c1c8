/**
 * The one interface every kube-proxy mode implements (iptables, ipvs, userspace), and the shapes of its answers.
 *
 * An engine belongs to one node. It is built over that node's ServiceTable (it subscribes to the table's changes and
 * recompiles only what changed), a ProxyConfig and a seeded Rng; it owns its conntrack table. It is pure over those:
 * no sockets, no wall clock, no Math.random. Time is the `now` argument (seconds on a simulated clock), which must
 * not go backwards between calls.
 *
 * A worked example (iptables, pod 10.244.1.5 → ClusterIP 10.96.0.10:53/UDP, two endpoints):
 *
 *   send({ proto: 'UDP', src: { ip: '10.244.1.5', port: 40000 }, dst: { ip: '10.96.0.10', port: 53 } },
 *        { from: 'pod', pod: 'default/client' }, 100)
 *   → { verdict: 'DNAT', endpoint: '10.244.2.7:53', service: 'kube-system/kube-dns:dns',
 *       packet: { proto: 'UDP', src: { ip: '10.244.1.5', port: 40000 }, dst: { ip: '10.244.2.7', port: 53 } },
 *       snat: null, conntrack: 'new', cost: 4,
 *       steps: [ { where: 'nat/PREROUTING', rule: '-A PREROUTING -m comment --comment "kubernetes service portals"
 *                  -j KUBE-SERVICES', decision: 'jump KUBE-SERVICES' },
 *                { where: 'nat/KUBE-SERVICES', rule: '-A KUBE-SERVICES … -d 10.96.0.10 --dport 53 -j KUBE-SVC-…',
 *                  decision: 'jump KUBE-SVC-…', skipped: 0 },
 *                { where: 'nat/KUBE-SVC-…', rule: '… -m statistic --mode random --probability 0.5000000000 …',
 *                  decision: 'matched (p=0.5000000000): jump KUBE-SEP-…', probability: 0.5 }, … ] }
 *
 *   reply({ proto: 'UDP', src: { ip: '10.244.2.7', port: 53 }, dst: { ip: '10.244.1.5', port: 40000 } }, 100.01)
 *   → { verdict: 'ACCEPT', conntrack: 'reply', packet: { src: 10.96.0.10:53, dst: 10.244.1.5:40000 }, … }
 */
import type { IPFamily } from '../model/types.js';
import type { Rng } from '../util/rng.js';
import type { Conntrack, ConntrackTimeouts } from './conntrack.js';
import { DEFAULT_CONNTRACK_TIMEOUTS } from './conntrack.js';
import type { Origin, Packet } from './packet.js';
import type { ServiceTable } from './service-table.js';

/** What happened to the packet. */
export type VerdictKind =
  /** Rewritten to an endpoint (a new flow chose it, or conntrack remembered it). */
  | 'DNAT'
  /** Passed on without a Service rewrite: no Service matched, or a reply un-NATed by conntrack. */
  | 'ACCEPT'
  /**
   * Refused: a Service with no endpoints. iptables and IPVS answer ICMP port-unreachable (TCP clients see "connection
   * refused"); the userspace proxy accepts a TCP connection and closes it at once (the client sees end of file).
   */
  | 'REJECT'
  /** Silently dropped: no local endpoints under a Local policy, a source-range firewall, an INVALID packet… */
  | 'DROP';

/**
 * One step of a decision: a rule a real packet traverses (iptables), a virtual server or scheduler decision (ipvs), a
 * proxy-socket decision (userspace), or a conntrack hit. Steps list what decided, in order; rules a packet skipped
 * over inside a long chain are counted in `skipped`, not listed.
 */
export interface Step {
  /** Where: `nat/KUBE-SERVICES`, `filter/KUBE-EXTERNAL-SERVICES`, `conntrack`, `ipvs`, `userspace`… */
  readonly where: string;
  /** The rule or object, in the form the mode prints it (`-A CHAIN …` for iptables, `TCP 10.96.0.1:80 rr` for ipvs). */
  readonly rule: string;
  /** What it decided: `jump KUBE-SVC-…`, `no match`, `DNAT to 10.244.1.5:80`, `rr → 10.244.1.5:80`, … */
  readonly decision: string;
  /** For a random match: the probability the rule matches with. */
  readonly probability?: number;
  /** Rules examined without matching in this chain before this one (linear-scan cost made visible). */
  readonly skipped?: number;
}

/** The answer to `send` / `reply`. */
export interface Verdict {
  readonly verdict: VerdictKind;
  /** The endpoint (`ip:port`, `[v6]:port`) the flow goes to, or null. */
  readonly endpoint: string | null;
  /** The packet after every rewrite (DNAT, then SNAT on the way out; for replies, un-SNAT and un-DNAT). */
  readonly packet: Packet;
  /** The source address MASQUERADE gave the packet (the node's own address of that family), or null. */
  readonly snat: string | null;
  /** The Service port (`ns/name:port`) whose rules handled the packet, or null. */
  readonly service: string | null;
  /** new: a new flow was decided; established: conntrack's mapping applied; reply: un-NATed; none: not tracked. */
  readonly conntrack: 'new' | 'established' | 'reply' | 'none';
  /** Why, step by step. */
  readonly steps: readonly Step[];
  /** Rules evaluated (iptables) or table lookups made (ipvs, userspace): the mode's per-packet cost figure. */
  readonly cost: number;
}

/**
 * A verdict as a plain object with every field read: what a verdict class whose fields are getters (steps built on
 * first read, a view of a conntrack entry) returns from `toJSON`.
 */
export function plainVerdict(v: Verdict): Verdict {
  const { verdict, endpoint, packet, snat, service, conntrack, steps, cost } = v;
  return { verdict, endpoint, packet, snat, service, conntrack, steps, cost };
}

/** A verdict's fields but its steps. */
export type VerdictFields = Omit<Verdict, 'steps'>;

/**
 * A verdict whose results are its own fields (spreading, `Object.keys` and `structuredClone` see them) and whose
 * `steps` a subclass builds when first read: the trace of a bulk run nobody reads costs nothing. The getter lives on
 * the class (a literal with a getter is far slower to create); `toJSON` includes `steps`.
 */
export abstract class StepsOnReadVerdict implements Verdict {
  readonly verdict: VerdictKind;
  readonly endpoint: string | null;
  readonly packet: Packet;
  readonly snat: string | null;
  readonly service: string | null;
  readonly conntrack: Verdict['conntrack'];
  readonly cost: number;

  constructor(fields: VerdictFields) {
    this.verdict = fields.verdict;
    this.endpoint = fields.endpoint;
    this.packet = fields.packet;
    this.snat = fields.snat;
    this.service = fields.service;
    this.conntrack = fields.conntrack;
    this.cost = fields.cost;
  }

  abstract get steps(): readonly Step[];

  toJSON(): Verdict {
    return plainVerdict(this);
  }
}

/** One kube-proxy mode running on one node. */
export interface ProxyEngine {
  /** `iptables`, `ipvs`, `userspace`. */
  readonly mode: string;
  readonly nodeName: string;
  /** The kube-proxy configuration it was made with. */
  readonly config: ProxyConfig;
  /** The engine's connection tracking (per-endpoint counts, entries, expiry). */
  readonly conntrack: Conntrack;
  /**
   * A packet arriving at this node from `origin` at time `now`. The first packet of a flow walks the mode's rules
   * and, unless refused, is tracked; later packets of the flow follow the tracked mapping.
   */
  send(packet: Packet, origin: Origin, now: number): Verdict;
  /** A packet from the endpoint side of a tracked flow (its source is the endpoint): un-DNAT and un-SNAT it. */
  reply(packet: Packet, now: number): Verdict;
  /** The flow `packet` belongs to (either direction) is closed; returns whether one was tracked. */
  close(packet: Packet, now: number): boolean;
  /**
   * The rules as people read them on a node: `iptables-save` (nat + filter) for iptables; `ipvsadm -Ln` for ipvs.
   * Without a family: what the mode's tool lists by default (ipvsadm: every family; iptables-save: IPv4).
   */
  rules(family?: IPFamily): string;
  /**
   * Move the engine's clock to `now` with no packet (a script's closing `advance`): the periodic work due by then
   * runs, so what `rules` shows next (IPVS connection counts) is of that time. Engines whose rules do not depend on
   * time leave it out.
   */
  sync?(now: number): void;
  /** Stop following the service table. */
  dispose(): void;
}

/** kube-proxy's configuration, as far as the data planes read it. */
export interface ProxyConfig {
  readonly mode: 'iptables' | 'ipvs' | 'userspace';
  /** IPVS scheduler (`--ipvs-scheduler`); empty means `rr`. */
  readonly scheduler: string;
  /**
   * `--cluster-cidr`: the pod CIDRs, comma-separated for dual-stack. Empty means no local-traffic detector: ClusterIP
   * traffic is never masqueraded (unless masqueradeAll) and eTP=Local has no pod short-circuit.
   */
  readonly clusterCIDR: string;
  /** `--masquerade-all`: SNAT every packet sent to a ClusterIP. */
  readonly masqueradeAll: boolean;
  /** `--nodeport-addresses`: CIDRs (or `primary`) limiting which node addresses accept NodePorts. Empty: all local. */
  readonly nodePortAddresses: readonly string[];
  /** `--iptables-localhost-nodeports` (default true): NodePorts answer on 127.0.0.1 (IPv4 only). */
  readonly localhostNodePorts: boolean;
  /** `--iptables-masquerade-bit` (default 14 → mark 0x4000). */
  readonly masqueradeBit: number;
  /** Whether MASQUERADE gets `--random-fully` (off by default here, as the issue asks). */
  readonly randomFully: boolean;
  /**
   * `conntrack.tcpBeLiberal`: kube-proxy sets nf_conntrack_tcp_be_liberal to 1 before it makes its proxier, which
   * then reads the sysctl and writes no KUBE-FORWARD rule dropping INVALID packets (default false).
   */
  readonly tcpBeLiberal: boolean;
  /** Conntrack timeouts in seconds. */
  readonly conntrack: Readonly<ConntrackTimeouts>;
}

/** A ProxyConfig's fields, all optional (conntrack timeouts individually). */
export type ProxyConfigInput = Partial<Omit<ProxyConfig, 'conntrack'>> & { conntrack?: Partial<ConntrackTimeouts> };

/** kube-proxy's defaults, with the given fields overriding them. */
export function proxyConfig(input: ProxyConfigInput = {}): ProxyConfig {
  return Object.freeze({
    mode: input.mode ?? 'iptables',
    scheduler: input.scheduler ?? '',
    clusterCIDR: input.clusterCIDR ?? '',
    masqueradeAll: input.masqueradeAll ?? false,
    nodePortAddresses: input.nodePortAddresses ?? [],
    localhostNodePorts: input.localhostNodePorts ?? true,
    masqueradeBit: input.masqueradeBit ?? 14,
    randomFully: input.randomFully ?? false,
    tcpBeLiberal: input.tcpBeLiberal ?? false,
    conntrack: Object.freeze({ ...DEFAULT_CONNTRACK_TIMEOUTS, ...(input.conntrack ?? {}) }),
  });
}

/** What an engine is built from. */
export interface EngineInit {
  readonly table: ServiceTable;
  readonly config: ProxyConfig;
  /** The engine's own random stream (fork one per node: `rng.fork('proxy/<node>')`). */
  readonly rng: Rng;
  /**
   * Record each verdict's `steps` (default true). False is for bulk runs (`trace --count`, benchmarks): verdicts then
   * carry an empty `steps`, and everything else (verdict, endpoint, packet, cost, the random draws) is unchanged.
   */
  readonly explain?: boolean;
}

/** Builds an engine; each mode exports one. */
export type EngineFactory = (init: EngineInit) => ProxyEngine;
