/**
 * Test helpers for the IPVS schedulers: a virtual server built from labelled destinations in list order, and a
 * driver that schedules connections and (optionally) keeps them open so connection counts grow like the kernel's.
 */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import {
  type CreateSchedulerOptions,
  createScheduler,
  type Dest,
  newDest,
  type SchedPacket,
  type Scheduler,
  type SchedulerName,
} from '../../../src/proxy/ipvs/schedulers/index.js';

/** Run a property and fail the test with fast-check's report when it fails. */
export function holds<T>(t: ExecutionContext, property: fc.IProperty<T>, params: fc.Parameters<T> = {}): void {
  const details = fc.check(property, params);
  t.false(details.failed, fc.defaultReportMessage(details) ?? '');
}

/** Labels A, B, C… map to 10.0.0.1:80, 10.0.0.2:80, … */
export function addrOf(label: string): string {
  return `10.0.0.${label.charCodeAt(0) - 64}`;
}

export interface TestService {
  dests: Dest[];
  sched: Scheduler;
  label(d: Dest | undefined): string;
  byLabel(label: string): Dest;
}

/**
 * A virtual server whose destination list is exactly `spec` (head first), with the scheduler bound afterwards
 * (the kernel's init_service on an existing list).
 */
export function service(
  name: SchedulerName,
  spec: readonly (readonly [label: string, weight: number])[],
  opts: CreateSchedulerOptions = {},
): TestService {
  const dests = spec.map(([l, w]) => newDest(addrOf(l), 80, w));
  const labels = new Map(dests.map((d, i) => [d, spec[i]![0]]));
  const sched = createScheduler(name, opts);
  sched.bind?.(dests);
  return {
    dests,
    sched,
    label: (d) => (d ? labels.get(d)! : '-'),
    byLabel: (l) => dests[spec.findIndex(([x]) => x === l)]!,
  };
}

export const PKT: SchedPacket = {
  srcIP: '192.168.1.10',
  srcPort: 40000,
  dstIP: '10.96.0.10',
  dstPort: 80,
  proto: 'TCP',
};

/** Schedule `n` connections; with `keepActive` each chosen destination's active count grows by one. */
export function sequence(svc: TestService, n: number, keepActive: boolean, pkt: SchedPacket = PKT): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = svc.sched.schedule(svc.dests, pkt, 0);
    if (d && keepActive) d.activeConns++;
    out.push(svc.label(d));
  }
  return out;
}

/** Deterministic pseudo-random client tuples (a small LCG, so the key set is fixed across runs). */
export function clientKeys(count: number, seed = 1): { srcIP: string; srcPort: number }[] {
  let x = seed >>> 0;
  const next = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
  const keys: { srcIP: string; srcPort: number }[] = [];
  for (let i = 0; i < count; i++) {
    const ip = next();
    keys.push({
      srcIP: `${(ip >>> 24) & 0xff}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`,
      srcPort: 1024 + (next() % 60000),
    });
  }
  return keys;
}
