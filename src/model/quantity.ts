/**
 * Resource quantities ("500m", "2", "128Mi", "1G") as the API's resource.Quantity reads them.
 * CPU is counted in millicores, everything else in its base unit (bytes, pods).
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** The value of a quantity in base units, or undefined if it is not a valid quantity. */
export function parseQuantity(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) ? text : undefined;
  const m = QUANTITY.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (m[3] !== undefined) return n * 10 ** Number(m[3]);
  const suffix = m[2] ?? '';
  return n * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** CPU in millicores ("500m" → 500, "2" → 2000). */
export function milliCPU(text: string | number | undefined): number {
  if (text === undefined) return 0;
  return Math.round((parseQuantity(text) ?? 0) * 1000);
}

/** A quantity in base units (bytes for memory, a count for pods), 0 when absent. */
export function quantityValue(text: string | number | undefined): number {
  if (text === undefined) return 0;
  return parseQuantity(text) ?? 0;
}
