/**
 * The proxy conformance suite: one set of named behavioural cases every kube-proxy mode runs (Hono's pattern,
 * style.md practice 3). A mode that does not do what a case checks says so with an explicit, reasoned skip; a case
 * where modes really differ takes per-mode expectations with the reason (`h.expected(default, { ipvs: … })`).
 *
 *   runProxyConformance({
 *     name: 'ipvs',
 *     newEngine: createIpvsEngine,
 *     skip: [{ reason: 'IPVS does not support localhost NodePorts', tests: ['NodePort > answers on 127.0.0.1'] }],
 *   });
 *
 * Every case builds its own small cluster with the helpers in conformance-world.ts; the engine under test always
 * runs on node `node-a`.
 */
import test, { type ExecutionContext } from 'ava';
import type { EngineFactory, ProxyConfigInput } from '../../src/proxy/engine.js';
import { affinityCases } from './conformance-cases/affinity.js';
import { clusterIPCases } from './conformance-cases/cluster-ip.js';
import { conntrackCases } from './conformance-cases/conntrack.js';
import { externalCases } from './conformance-cases/external.js';
import { policyCases } from './conformance-cases/policy.js';
import { specialCases } from './conformance-cases/special.js';
import { type ConformanceCase, makeHarness } from './conformance-world.js';

export type { ConformanceCase, Harness, Rig } from './conformance-world.js';

export interface Skip {
  /** Why the mode does not do this (it becomes part of the skipped test's title). */
  readonly reason: string;
  /** Case names, e.g. `NodePort > answers on 127.0.0.1`. */
  readonly tests: readonly string[];
}

export interface ProxyConformanceOptions {
  /** Mode name for test titles (`iptables`, `ipvs rr`, …). */
  readonly name: string;
  readonly newEngine: EngineFactory;
  /** Config every case starts from (cases add their own fields on top). */
  readonly config?: ProxyConfigInput;
  readonly skip?: readonly Skip[];
}

/** Every case, in suite order. */
export const CASES: readonly ConformanceCase[] = [
  ...clusterIPCases,
  ...externalCases,
  ...policyCases,
  ...affinityCases,
  ...conntrackCases,
  ...specialCases,
];

export function runProxyConformance(options: ProxyConformanceOptions): void {
  const names = new Set(CASES.map((c) => c.name));
  const skipped = new Map<string, string>();
  for (const s of options.skip ?? []) {
    if (!s.reason.trim()) throw new Error(`${options.name}: a skip needs a reason`);
    for (const name of s.tests) {
      // No silent gaps: a skip naming no case is a mistake (a renamed case, a typo).
      if (!names.has(name)) throw new Error(`${options.name}: skip names unknown case "${name}"`);
      skipped.set(name, s.reason);
    }
  }
  for (const c of CASES) {
    const title = `${options.name} › ${c.name}`;
    const reason = skipped.get(c.name);
    if (reason !== undefined) {
      test.skip(`${title} (skipped: ${reason})`, () => {});
      continue;
    }
    test(title, (t: ExecutionContext) => c.run(t, makeHarness(t, options.newEngine, options.config ?? {})));
  }
}
