/** What both proxy benches share: CPU-time measurement, number formatting and the synthetic address plan. */

/** Milliseconds from a nanosecond difference. */
export const ms = (ns: bigint): number => Number(ns) / 1e6;

/** CPU time of this process in ns: rates are "on one core" even when other processes share the machine. */
export function now(): bigint {
  const u = process.cpuUsage();
  return BigInt(u.user + u.system) * 1000n;
}

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
