/**
 * `trace --script FILE`: a timed scenario on one engine. FILE is a YAML list or JSON lines of steps:
 *
 *   { src, dst, proto }              a packet (optionally `reply: true`: from the endpoint side; `close: true`)
 *   { advance: SECONDS }             the simulated clock moves on (affinity timeouts, conntrack expiry)
 *   { apply: MANIFEST | [MANIFEST] } a change to the cluster, as kubectl apply
 *   { delete: KIND/NS/NAME }         a delete, as kubectl delete (`force: true` removes a pod at once)
 *
 * It yields one result per packet, in order.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { Cluster } from '../../cluster/cluster.js';
import { InvalidArgumentError } from '../../errors.js';
import type { Kind } from '../../model/types.js';
import type { ProxyEngine, Verdict } from '../../proxy/engine.js';
import { parseEndpointArg, parseProto } from './proxy-common.js';

export type ScriptStep =
  | { src: string; dst: string; proto?: string; reply?: boolean; close?: boolean }
  | { advance: number }
  | { apply: unknown }
  | { delete: string; force?: boolean };

export function readScript(file: string): ScriptStep[] {
  const text = readFileSync(file, 'utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    return trimmed
      .split('\n')
      .filter((l) => l.trim())
      .map((l, i) => {
        try {
          return JSON.parse(l) as ScriptStep;
        } catch {
          throw new InvalidArgumentError(`${file}:${i + 1}: not a JSON object`);
        }
      });
  }
  const steps = parse(text) as unknown;
  if (!Array.isArray(steps)) throw new InvalidArgumentError(`${file}: expected a list of steps`);
  return steps as ScriptStep[];
}

const KINDS: Record<string, Kind> = {
  pod: 'Pod',
  service: 'Service',
  svc: 'Service',
  endpointslice: 'EndpointSlice',
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
  verdict: Verdict | { closed: boolean };
}

/** Run the steps; `origin` decides where each packet enters (see proxy-common.ts). */
export function runScript(
  cluster: Cluster,
  engine: ProxyEngine,
  steps: ScriptStep[],
  send: (engine: ProxyEngine, src: string, dst: string, proto: string | undefined, now: number) => Verdict,
): ScriptResult[] {
  let now = 0;
  const results: ScriptResult[] = [];
  steps.forEach((step, i) => {
    if ('advance' in step) {
      if (typeof step.advance !== 'number' || step.advance < 0)
        throw new InvalidArgumentError(`step ${i + 1}: advance takes seconds`);
      now += step.advance;
    } else if ('apply' in step) {
      cluster.apply(Array.isArray(step.apply) ? step.apply : [step.apply]);
    } else if ('delete' in step) {
      const [kind, a, b] = String(step.delete).split('/');
      const k = KINDS[kind?.toLowerCase() ?? ''];
      if (!k || !a) throw new InvalidArgumentError(`step ${i + 1}: delete takes KIND/NS/NAME, got "${step.delete}"`);
      cluster.delete([b ? { kind: k, namespace: a, name: b } : { kind: k, name: a }], { force: step.force ?? false });
    } else if ('src' in step && 'dst' in step) {
      if (step.reply) {
        const proto = parseProto(step.proto);
        const src = parseEndpointArg(step.src, 0, 'src');
        const dst = parseEndpointArg(step.dst, 0, 'dst');
        results.push({ step: i + 1, time: now, verdict: engine.reply({ proto, src, dst }, now) });
      } else if (step.close) {
        const p = {
          proto: parseProto(step.proto),
          src: parseEndpointArg(step.src, 0, 'src'),
          dst: parseEndpointArg(step.dst, 0, 'dst'),
        };
        results.push({ step: i + 1, time: now, verdict: { closed: engine.close(p, now) } });
      } else {
        results.push({ step: i + 1, time: now, verdict: send(engine, step.src, step.dst, step.proto, now) });
      }
    } else {
      throw new InvalidArgumentError(`step ${i + 1}: not a packet, advance, apply or delete: ${JSON.stringify(step)}`);
    }
  });
  return results;
}
