/**
 * What both proxy benches share: CPU-time measurement, number formatting, the synthetic address plan, and the
 * machine-floor probe.
 */

import { canonicalIPv4 } from '../../src/cni/ip.js';
import type { EndpointSlice, Service } from '../../src/model/types.js';
import type { ProxyEngine } from '../../src/proxy/engine.js';
import { keyedPacket, type Origin, type Packet, reversed } from '../../src/proxy/packet.js';
import { ServiceTable } from '../../src/proxy/service-table.js';
import { Rng } from '../../src/util/rng.js';

/** Milliseconds from a nanosecond difference. */
export const ms = (ns: bigint): number => Number(ns) / 1e6;

/** CPU time of this process in ns: rates are "on one core" even when other processes share the machine. */
export function now(): bigint {
  const u = process.cpuUsage();
  return BigInt(u.user + u.system) * 1000n;
}

/**
 * Wall-clock ns. CPU time (`now`) also counts V8's helper threads (concurrent GC marking, background JIT), which run
 * on the other core unless V8 runs `--single-threaded` (as `npm run bench` runs these benches); builds report both,
 * so a reader sees the main thread's elapsed time and the work of every thread.
 */
export function wallNow(): bigint {
  return process.hrtime.bigint();
}

/** Whether V8 runs on one thread (`--single-threaded`): then CPU time is one core's work, helper threads' included. */
export const ONE_THREAD = process.execArgv.includes('--single-threaded');

/** How CPU-time figures are labelled: one thread, or every thread of the process. */
export const CPU_LABEL = ONE_THREAD ? 'CPU, V8 single-threaded' : 'CPU, all threads';

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The ClusterIP of Service i. */
export function clusterIP(i: number): string {
  return `10.96.${(i >> 8) & 255}.${i & 255}`;
}

/** The address of endpoint j of Service i, with `perService` endpoints each. */
export function endpointIP(i: number, j: number, perService: number): string {
  const n = i * perService + j;
  return `10.${64 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255}`;
}

/** The node the benches' engines run on. */
export const BENCH_NODE = 'node-a';

/** Service i: ClusterIP on port 80 (every tenth a NodePort), target port 8080. */
export function benchService(i: number): Service {
  const nodePort = i % 10 === 0 ? { nodePort: 30000 + i / 10 } : {};
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc${i}`, namespace: `ns${i % 100}` },
    spec: {
      type: i % 10 === 0 ? 'NodePort' : 'ClusterIP',
      clusterIP: clusterIP(i),
      clusterIPs: [clusterIP(i)],
      sessionAffinity: 'None',
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, ...nodePort }],
    },
    status: { loadBalancer: {} },
  };
}

/**
 * Service i's EndpointSlice with `perService` ready endpoints, a third of them on the bench node; `shift` > 0
 * replaces the first endpoint's address (one endpoint change).
 */
export function benchSlice(i: number, perService: number, shift = 0): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `svc${i}-abc`, namespace: `ns${i % 100}`, labels: { 'kubernetes.io/service-name': `svc${i}` } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: perService }, (_, j) => ({
      addresses: [j === 0 && shift ? `10.127.${shift >> 8}.${shift & 255}` : endpointIP(i, j, perService)],
      conditions: { ready: true },
      nodeName: j % 3 === 0 ? BENCH_NODE : 'node-b',
    })),
    ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
  };
}

/** The bench node's service table holding `services` Services × `perService` endpoints. */
export function benchTable(services: number, perService: number): ServiceTable {
  const table = new ServiceTable(BENCH_NODE, { families: ['IPv4'] });
  table.applyNode({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: BENCH_NODE },
    spec: {},
    status: { addresses: [{ type: 'InternalIP', address: '192.168.0.2' }], allocatable: {}, conditions: [] },
  });
  for (let i = 0; i < services; i++) {
    table.applyService(benchService(i));
    table.applySlice(benchSlice(i, perService));
  }
  return table;
}

/**
 * The same packets with keyed addresses (packet.ts `address()`): each address's numeric key computed once, as a
 * traffic generator builds a flow's tuple once, so no engine reads address text per packet.
 */
export function keyedPackets(packets: readonly Packet[]): Packet[] {
  return packets.map(keyedPacket);
}

/**
 * New-flow decisions/s (rounds 1-5 of 6 over `packets`, round 0 warms up; conntrack is flushed between rounds, untimed,
 * so memory stays bounded), then established packets/s replaying the last round's flows, each answered and
 * acknowledged first, 10 times; the rules traversed (`cost`) by all 6 rounds of first packets; and how many
 * established packets went to an endpoint (each verdict is read, so its work cannot be skipped; every one should
 * have).
 */
export function measureRates(
  engine: ProxyEngine,
  packets: readonly Packet[],
  origin: Origin,
): { newFlows: number; established: number; cost: number; toEndpoint: number; sent: number } {
  let cost = 0;
  let newNs = 0n;
  let decided = 0;
  for (let round = 0; round < 6; round++) {
    engine.conntrack.flush();
    const start = now();
    for (const p of packets) cost += engine.send(p, origin, round).cost;
    const took = now() - start;
    if (round > 0) {
      newNs += took;
      decided += packets.length;
    }
  }
  // Each flow is answered and acknowledged once (untimed), so the packets timed below are those of established
  // connections: an unanswered flow's packets are SYN retransmits, which the kernel does not even refresh.
  for (const p of packets) {
    engine.reply(reversed(engine.send(p, origin, 6).packet), 6);
    engine.send(p, origin, 6);
  }
  let estNs = 0n;
  let est = 0;
  let toEndpoint = 0;
  for (let round = 0; round < 10; round++) {
    const start = now();
    for (const p of packets) if (engine.send(p, origin, 10 + round).endpoint !== null) toEndpoint++;
    estNs += now() - start;
    est += packets.length;
  }
  return {
    newFlows: decided / (Number(newNs) / 1e9),
    established: est / (Number(estNs) / 1e9),
    cost,
    toEndpoint,
    sent: est,
  };
}

/**
 * One endpoint change, `count` times (`apply(c)` makes change c): the median and the slowest, in CPU ms. The median
 * is the figure for "one change": a mean over a few hundred sub-millisecond changes is dominated by whichever one a
 * garbage collection happened to land in; the slowest is printed beside it so such a pause is not hidden. Change 0
 * runs untimed first: the benches ask for a full collection before it, and a full collection flushes the bytecode
 * of functions not run lately, so the first change after it pays for compiling the change path again (75 ms seen).
 */
export function measureChanges(count: number, apply: (c: number) => void): { median: number; max: number } {
  apply(0);
  const times: number[] = [];
  for (let c = 1; c <= count; c++) {
    const start = now();
    apply(c);
    times.push(ms(now() - start));
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1]!, max: times[times.length - 1]! };
}

/**
 * What this machine charges for the two things no established-flow lookup can skip, measured here so the rates below
 * can be read against them: reading a packet's two addresses (text → number, `canonicalIPv4`), and one dependent
 * random read in a table as large as the conntrack table of a 200,000-flow round (16 MB). Their sum bounds the
 * established-flow rate of any design that takes packets as text and keeps flows in one hash table.
 */
export function machineFloor(packets: readonly Packet[]): { parseNs: number; missNs: number } {
  let sink = 0;
  let parseNs = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    const start = now();
    for (const p of packets) sink += canonicalIPv4(p.src.ip) + canonicalIPv4(p.dst.ip);
    parseNs = Math.min(parseNs, Number(now() - start) / packets.length);
  }
  if (sink === 0.5) console.log('');
  return { parseNs, missNs: dependentReadNs() };
}

/** A random cyclic permutation of 16 MB of int32 words, made once: each read's index comes from the previous read. */
let cycle: Int32Array | null = null;

/**
 * One dependent random read in 16 MB, in ns, measured now. The machine's memory latency moves by 2× from minute to
 * minute (other tenants), so the benches print it beside each row: rows measured minutes apart are compared by it.
 */
export function dependentReadNs(): number {
  if (cycle === null) {
    const words = (16 << 20) >> 2;
    cycle = new Int32Array(words);
    const order = Array.from({ length: words }, (_, i) => i);
    new Rng(99).shuffle(order);
    for (let i = 0; i < words; i++) cycle[order[i]!] = order[(i + 1) % words]!;
  }
  const next = cycle;
  const reads = 2_000_000;
  let at = 0;
  const start = now();
  for (let i = 0; i < reads; i++) at = next[at]!;
  const ns = Number(now() - start) / reads;
  if (at === -1) console.log('');
  return ns;
}

/** Print `machineFloor` and the established-flow ceiling it implies. */
export function printMachineFloor(packets: readonly Packet[]): void {
  const { parseNs, missNs } = machineFloor(packets);
  console.log(
    `machine floor: two addresses parsed ${parseNs.toFixed(0)} ns/packet, one 16 MB dependent read ${missNs.toFixed(0)} ns`,
  );
  console.log(
    `  → at most ${fmt(1e9 / (parseNs + missNs))} established packets/s for a text-packet, one-hash-table design (before any other work)\n`,
  );
}

/** How many Services the cache-resident diagnostic rows send to. */
export const HOT_SERVICES = 100;

/**
 * The same flows (same sources), each sent to one of the first `hot` Services instead of any of them. Not the
 * target workload: a diagnostic that keeps the rules of the Services in use in the CPU cache, so the gap between
 * this row and the uniform one is what cache misses on the rules cost, and the rest is the engine's own work.
 */
export function toHotServices(packets: readonly Packet[], hot: number): Packet[] {
  const rng = new Rng(11);
  return keyedPackets(packets.map((p) => ({ ...p, dst: { ip: clusterIP(rng.int(hot)), port: p.dst.port } })));
}
