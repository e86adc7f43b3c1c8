/**
 * `trace --script FILE`: a timed scenario on one engine. FILE is a YAML list of steps (or several YAML documents,
 * each a step or a list), or JSON lines of steps:
 *
 *   { src, dst, proto }              a packet (optionally `reply: true`: from the endpoint side; `close: true`);
 *                                    `dst` may be NAME:PORT, resolved then through cluster DNS as the sender would
 *   { advance: SECONDS }             the simulated clock moves on (affinity timeouts, conntrack expiry)
 *   { apply: MANIFEST | [MANIFEST] } a change to the cluster, as kubectl apply
 *   { delete: KIND/NS/NAME }         a delete, as kubectl delete (`force: true` removes a pod at once)
 *
 * It yields one result per packet, in order.
 */
import { readFileSync } from 'node:fs';
import type { Cluster } from '../../cluster/cluster.js';
import { originOf } from '../../cluster/packet-origin.js';
import { BatchRejectedError, InputUnreadableError, InvalidArgumentError, KubeNetsimError } from '../../errors.js';
import { parseManifestText, type RawDocument } from '../../model/load/index.js';
import { attachSource, type FieldPath, IN_CODE, type SourceRef, sourceOf } from '../../model/source.js';
import type { Kind } from '../../model/types.js';
import type { ProxyEngine, Step, Verdict } from '../../proxy/engine.js';
import { isLoopback } from '../../proxy/ip-match.js';
import { INVALID_DROP_RULE } from '../../proxy/iptables/fixed-rules.js';
import { type Address, familyOf, formatAddress, type Packet } from '../../proxy/packet.js';
import { systemReason } from '../../util/system-error.js';
import { parseEndpointArg, parseProto, resolveDestination, splitName } from './proxy-common.js';

export type ScriptStep =
  | { src: string; dst: string; proto?: string; reply?: boolean; close?: boolean }
  | { advance: number }
  | { apply: unknown }
  | { delete: string; force?: boolean };

/** The keys each kind of step may have (a typo is an error, not a silently ignored field). */
const STEP_KEYS: readonly (readonly string[])[] = [
  ['src', 'dst', 'proto', 'reply', 'close'],
  ['advance'],
  ['apply'],
  ['delete', 'force'],
];

export function readScript(file: string): ScriptStep[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputUnreadableError(`--script ${file}: cannot read input: ${systemReason(err)}`);
  }
  // JSON lines when the first line is a JSON object; a YAML flow mapping (`{advance: 1}`) is not one.
  const first = text.split('\n').find((l) => l.trim() !== '');
  const steps = first !== undefined && isJsonObject(first) ? jsonLineSteps(text, file) : yamlSteps(text, file);
  steps.forEach((step, i) => {
    checkStep(file, i, step);
  });
  return steps as ScriptStep[];
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * The steps of a JSON-lines script, one object a line (blank lines skipped, counted); an `apply` step's manifest
 * errors name its line.
 */
function jsonLineSteps(text: string, file: string): unknown[] {
  const steps: unknown[] = [];
  for (const [i, l] of text.split('\n').entries()) {
    if (l.trim() === '') continue;
    let step: unknown;
    try {
      step = JSON.parse(l) as unknown;
    } catch {
      throw new InvalidArgumentError(`${file}:${i + 1}: not a JSON object`);
    }
    const line: SourceRef = { file, document: 0, locate: () => ({ file, document: 0, line: i + 1, column: 1 }) };
    if (step !== null && typeof step === 'object') attachSource(step, line);
    steps.push(step);
  }
  return steps;
}

/**
 * The steps of a YAML script: a list, or several documents (`---`), each a step or a list of steps. Read as manifests
 * are (parseManifestText), so each step keeps where it was written: an `apply` step's manifest errors name the
 * script's line and the field path, as a manifest file's do.
 */
function yamlSteps(text: string, file: string): unknown[] {
  const { documents, issues } = parseManifestText(text, file);
  const issue = issues[0];
  if (issue) {
    const { line, column } = issue.position;
    throw new InvalidArgumentError(`${file}:${line}:${column}: not YAML: ${issue.detail}`);
  }
  if (documents.length === 0) throw new InvalidArgumentError(`${file}: expected a list of steps`);
  return documents.flatMap(({ value, source }) => {
    if (!Array.isArray(value)) return [value];
    value.forEach((step, k) => {
      if (step !== null && typeof step === 'object') attachSource(step, within(source, [k]));
    });
    return value;
  });
}

/** A source reference for the value at `prefix` inside the one `parent` refers to. */
function within(parent: SourceRef, prefix: FieldPath): SourceRef {
  return { file: parent.file, document: parent.document, locate: (path) => parent.locate([...prefix, ...path]) };
}

/** An `apply` step's manifests as documents that know where in the script they were written. */
function applied(step: { apply: unknown }): RawDocument[] {
  const ref = sourceOf(step);
  const at = (value: unknown, path: FieldPath): RawDocument => {
    const source = ref ? within(ref, path) : IN_CODE;
    if (ref && value !== null && typeof value === 'object') attachSource(value, source);
    return { value, source };
  };
  return Array.isArray(step.apply) ? step.apply.map((m, j) => at(m, ['apply', j])) : [at(step.apply, ['apply'])];
}

function checkStep(file: string, i: number, step: unknown): void {
  const where = `${file}: step ${i + 1}`;
  if (step === null || typeof step !== 'object' || Array.isArray(step))
    throw new InvalidArgumentError(
      `${where}: expected a mapping (a packet, advance, apply or delete), got ${JSON.stringify(step)}`,
    );
  const keys = Object.keys(step);
  const shape = STEP_KEYS.find((allowed) => keys.includes(allowed[0]!));
  if (!shape)
    throw new InvalidArgumentError(`${where}: not a packet, advance, apply or delete: ${JSON.stringify(step)}`);
  const unknown = keys.filter((k) => !shape.includes(k));
  if (unknown.length)
    throw new InvalidArgumentError(`${where}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  const s = step as Record<string, unknown>;
  if (shape[0] === 'src') {
    if (typeof s.src !== 'string' || typeof s.dst !== 'string')
      throw new InvalidArgumentError(`${where}: a packet needs src and dst as text (IP:PORT; dst may be NAME:PORT)`);
    for (const flag of ['reply', 'close'] as const)
      if (s[flag] !== undefined && typeof s[flag] !== 'boolean')
        throw new InvalidArgumentError(`${where}: ${flag} is true or false`);
  }
  if (shape[0] === 'advance' && (typeof s.advance !== 'number' || !Number.isFinite(s.advance) || s.advance < 0))
    throw new InvalidArgumentError(`${where}: advance takes a finite number of seconds ≥ 0`);
  if (shape[0] === 'delete' && typeof s.delete !== 'string')
    throw new InvalidArgumentError(`${where}: delete takes KIND/NS/NAME (or KIND/NAME)`);
}

const KINDS: Record<string, Kind> = {
  pod: 'Pod',
  service: 'Service',
  svc: 'Service',
  endpointslice: 'EndpointSlice',
  endpoints: 'Endpoints',
  ep: 'Endpoints',
  node: 'Node',
  deployment: 'Deployment',
  replicaset: 'ReplicaSet',
  statefulset: 'StatefulSet',
  daemonset: 'DaemonSet',
  namespace: 'Namespace',
};

export interface ScriptResult {
  step: number;
  time: number;
  verdict: Verdict;
  /** For `close: true` steps: whether a tracked flow was closed. */
  closed?: boolean;
  /** A packet whose `dst` was a name: the lookups that resolved it (before the verdict's steps). */
  dns?: Step[];
}

/**
 * Run the steps; each packet enters where its source says (cluster/packet-origin.ts). `file`: where they were read
 * from, which an error then names before the step (as a step the file could not be read as does).
 */
export async function runScript(
  cluster: Cluster,
  engine: ProxyEngine,
  steps: ScriptStep[],
  file?: string,
): Promise<ScriptResult[]> {
  const send = (p: Packet, now: number) => engine.send(p, originOf(cluster.store, engine.nodeName, p.src.ip), now);
  let now = 0;
  const results: ScriptResult[] = [];
  // Each client packet sent, by its tuple as written: the packet as it left (rewritten). A reply step written with a
  // client's own tuple is that flow's answer, from where its packet went (`replyFor`).
  const sent = new Map<string, Packet>();
  // Any error of a step (a bad address, a rejected manifest, an unknown object) names the step.
  for (const [i, step] of steps.entries()) {
    await atStep(file, i, async () => {
      if ('advance' in step) {
        now += step.advance;
        if (!Number.isFinite(now)) throw new InvalidArgumentError(`the clock would pass ${Number.MAX_VALUE} s`);
      } else if ('apply' in step) {
        cluster.applyDocuments(applied(step));
        synced(engine, now);
      } else if ('delete' in step) {
        const parts = String(step.delete).split('/');
        const k = KINDS[parts[0]?.toLowerCase() ?? ''];
        const clusterScoped = k === 'Node' || k === 'Namespace';
        // kubectl's KIND/NAME is in the default namespace; KIND/NS/NAME names it.
        const ref =
          k && clusterScoped && parts.length === 2 && parts[1]
            ? { kind: k, name: parts[1] }
            : k && !clusterScoped && parts.length === 2 && parts[1]
              ? { kind: k, namespace: 'default', name: parts[1] }
              : k && !clusterScoped && parts.length === 3 && parts[1] && parts[2]
                ? { kind: k, namespace: parts[1], name: parts[2] }
                : null;
        if (!ref) throw new InvalidArgumentError(`delete takes KIND/NS/NAME, got "${step.delete}"`);
        deleteOne(cluster, ref, step.force ?? false);
        synced(engine, now);
      } else if ('src' in step && 'dst' in step) {
        // Ports left out: the client's 40000 and the Service's 80 (a reply's endpoint port has no default: 0).
        const src = parseEndpointArg(step.src, step.reply ? 0 : 40000, 'src');
        const named = await namedDestination(cluster, engine, step, src);
        const p = {
          proto: parseProto(step.proto, 'proto'),
          src,
          dst: named?.address ?? parseEndpointArg(step.dst, step.reply ? 40000 : 80, 'dst', !step.reply),
        };
        if (familyOf(p.src.ip) !== familyOf(p.dst.ip))
          throw new InvalidArgumentError(`a packet has one IP family: ${step.src} -> ${step.dst}`);
        const dns = named ? { dns: named.steps } : {};
        // A reply may be written with the client's own tuple: the packet it stands for (replyFor).
        const q = step.reply ? replyFor(step, p, named !== null, sent) : p;
        if (step.close) {
          const tracked = engine.conntrack.lookup(q, now) !== undefined;
          const pass = () => (step.reply ? engine.reply(q, now) : send(q, now));
          let verdict: Verdict;
          if (tracked) {
            // The closing packet (FIN) passes through the flow's mapping (a FIN never reopens a closed tuple).
            verdict = engine.conntrack.closing(pass);
          } else if (q.proto === 'TCP') {
            verdict = untrackedFin(cluster, engine, q);
          } else {
            // UDP has no close, and an SCTP SHUTDOWN with no entry starts one: an ordinary packet.
            verdict = pass();
          }
          if (!step.reply) sent.set(tupleKey(p), verdict.packet);
          results.push({
            step: i + 1,
            time: now,
            verdict,
            closed: verdict.conntrack !== 'none' && engine.close(q, now),
            ...dns,
          });
        } else if (step.reply) {
          results.push({ step: i + 1, time: now, verdict: engine.reply(q, now), ...dns });
        } else {
          const verdict = send(p, now);
          sent.set(tupleKey(p), verdict.packet);
          results.push({ step: i + 1, time: now, verdict, ...dns });
        }
      } else {
        throw new InvalidArgumentError(`not a packet, advance, apply or delete: ${JSON.stringify(step)}`);
      }
    });
  }
  return results;
}

/**
 * A packet step's `dst` given as NAME:PORT, resolved as `trace --dst` resolves it: through cluster DNS, with the
 * sender's search path, in the sender's family, at the step's moment (an earlier apply or delete counts). Null when
 * `dst` is an address. A name that resolves to no address (an ExternalName outside the cluster, NXDOMAIN) is an error.
 */
async function namedDestination(
  cluster: Cluster,
  engine: ProxyEngine,
  step: { dst: string },
  src: Address,
): Promise<{ address: Address; steps: Step[] } | null> {
  const named = splitName(step.dst, 'dst');
  if (!named) return null;
  const origin = originOf(cluster.store, engine.nodeName, src.ip);
  const resolved = await resolveDestination(cluster, origin, named.name, familyOf(src.ip));
  if (resolved.ip === null)
    throw new InvalidArgumentError(`dst ${step.dst}: ${resolved.steps.at(-1)?.decision ?? 'no address'}`);
  return { address: { ip: resolved.ip, port: named.port }, steps: resolved.steps };
}

function tupleKey(p: Packet): string {
  return `${p.proto}|${formatAddress(p.src)}|${formatAddress(p.dst)}`;
}

/**
 * The packet a `reply: true` step stands for. Written from the answering side (the endpoint to the client, as the
 * endpoint sees it), it is that packet. Written with a client's own tuple (client to Service, ports as a sent step
 * reads them), it is the answer to that client's last packet: from where that packet went, back to where it came
 * from. The second form needs no knowledge of a mode's rewrites (the userspace proxy's own ports, an SNAT source).
 */
function replyFor(step: { src: string; dst: string }, asWritten: Packet, named: boolean, sent: Map<string, Packet>) {
  const asClient = {
    proto: asWritten.proto,
    src: parseEndpointArg(step.src, 40000, 'src'),
    dst: named ? asWritten.dst : parseEndpointArg(step.dst, 80, 'dst', true),
  };
  const left = sent.get(tupleKey(asClient));
  if (left !== undefined) return { proto: left.proto, src: left.dst, dst: left.src };
  // A name is a Service the client sends to: only the client form makes sense, and it needs a packet to answer.
  if (named) throw new InvalidArgumentError(`a reply to ${step.src} -> ${step.dst}, which sent no packet before`);
  return asWritten;
}

/**
 * The object a `delete` step names, deleted. Its refusal is one line about that object (`Service shop/nope: not
 * found`): the step names it, so the batch's listing, which places each problem in a file, has nothing to place.
 */
function deleteOne(cluster: Cluster, ref: Parameters<Cluster['delete']>[0][number], force: boolean): void {
  try {
    cluster.delete([ref], { force });
  } catch (err) {
    const issue = err instanceof BatchRejectedError && err.issues.length === 1 ? err.issues[0]! : undefined;
    if (issue === undefined) throw err;
    throw new KubeNetsimError(issue.code, `${issue.object}: ${issue.detail}`);
  }
}

/**
 * A FIN of no tracked connection: INVALID to conntrack. kube-proxy's iptables mode drops INVALID packets in
 * KUBE-FORWARD unless nf_conntrack_tcp_be_liberal is set (`tcpBeLiberal`; being liberal relaxes window checks, so such a
 * FIN is still INVALID, but no rule drops it), so a forwarded one is dropped; one the node sends or receives itself,
 * or any in IPVS or userspace mode (which write no such rule), passes unchanged.
 */
function untrackedFin(cluster: Cluster, engine: ProxyEngine, packet: Packet): Verdict {
  const origin = originOf(cluster.store, engine.nodeName, packet.src.ip);
  const nodeAddresses = cluster.get('Node', engine.nodeName)?.status.addresses.map((a) => a.address) ?? [];
  const local = nodeAddresses.includes(packet.dst.ip) || isLoopback(packet.dst.ip);
  const forwarded = engine.mode === 'iptables' && !engine.config.tcpBeLiberal && origin.from !== 'node' && !local;
  const step = forwarded
    ? {
        where: 'filter/KUBE-FORWARD',
        rule: INVALID_DROP_RULE,
        decision: 'a FIN of no tracked connection is INVALID: dropped',
      }
    : {
        where: 'conntrack',
        rule: 'no entry for this tuple',
        decision: 'a FIN of no tracked connection is INVALID; no rule on its path drops it: passes unchanged',
      };
  return {
    verdict: forwarded ? 'DROP' : 'ACCEPT',
    endpoint: null,
    packet,
    snat: null,
    service: null,
    conntrack: 'none',
    steps: [step],
    cost: 0,
  };
}

/**
 * kube-proxy syncs on the change's event, not when the next packet comes: an engine that applies changes at a time
 * (IPVS: graceful termination starts, real servers are deleted) does so now, so what follows does not depend on
 * whether a packet came between the change and the next clock step.
 */
function synced(engine: ProxyEngine, now: number): void {
  engine.sync?.(now);
}

/** The script's clock at its end: the sum of its advance steps. */
export function scriptEndTime(steps: readonly ScriptStep[]): number {
  let now = 0;
  for (const step of steps) if ('advance' in step) now += step.advance;
  return now;
}

/** Step `i`'s work: its error says which step. */
async function atStep(file: string | undefined, i: number, change: () => Promise<void>): Promise<void> {
  try {
    await change();
  } catch (err) {
    if (err instanceof KubeNetsimError) err.message = `${file ? `${file}: ` : ''}step ${i + 1}: ${err.message}`;
    throw err;
  }
}
