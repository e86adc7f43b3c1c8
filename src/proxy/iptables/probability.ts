/**
 * The random cascade's probabilities, as kube-proxy writes them and as the kernel applies them.
 *
 * kube-proxy writes rule i of n (0-based) with probability 1/(n−i), formatted `%0.10f` (Go rounds the exact binary
 * value half-to-even; JavaScript's toFixed rounds ties up, so we round ourselves). The last rule has no statistic
 * match. iptables (libxt_statistic) stores `lround(p × 2^31)`, and xt_statistic matches when
 * `(get_random_u32() & 0x7FFFFFFF) < stored`: drawing a 31-bit integer against that threshold reproduces the kernel,
 * quantisation included. `iptables-save` on a node prints `stored / 2^31` with 11 decimals (0.3333333333 → 0.33333333349).
 */

const cache: string[] = [];

/** `%0.10f` of 1/n, exactly as Go prints it. Memoised, as kube-proxy's precomputedProbabilities. */
export function computeProbability(n: number): string {
  let s = cache[n];
  if (s === undefined) {
    s = formatFixed(1 / n, 10);
    if (n < 100_000) cache[n] = s;
  }
  return s;
}

/**
 * A non-negative double formatted with `digits` decimals, rounding the exact binary value half to even (Go's
 * strconv 'f' with a precision). toFixed(100) gives the exact expansion for any value ≥ 2^-48.
 */
export function formatFixed(value: number, digits: number): string {
  const exact = value.toFixed(Math.min(100, digits + 60));
  const dot = exact.indexOf('.');
  let intPart = exact.slice(0, dot);
  let frac = exact.slice(dot + 1, dot + 1 + digits);
  const rest = exact.slice(dot + 1 + digits);
  const first = rest.charCodeAt(0) - 48;
  const tail = rest.slice(1);
  let roundUp = first > 5 || (first === 5 && /[1-9]/.test(tail));
  if (first === 5 && !/[1-9]/.test(tail)) {
    const last = (frac.length ? frac.charCodeAt(frac.length - 1) : intPart.charCodeAt(intPart.length - 1)) - 48;
    roundUp = last % 2 === 1;
  }
  if (roundUp) {
    const digitsAll = (intPart + frac).split('').map(Number);
    let i = digitsAll.length - 1;
    while (i >= 0) {
      if (digitsAll[i]! < 9) {
        digitsAll[i]!++;
        break;
      }
      digitsAll[i] = 0;
      i--;
    }
    let joined = digitsAll.join('');
    if (i < 0) joined = `1${joined}`;
    intPart = joined.slice(0, joined.length - frac.length);
    frac = joined.slice(joined.length - frac.length);
  }
  return digits > 0 ? `${intPart}.${frac}` : intPart;
}

/** The kernel's 31-bit threshold for a probability string (libxt_statistic: lround(p × 2^31)). */
export function kernelThreshold(probability: string): number {
  return Math.round(Number(probability) * 0x80000000);
}

const saved = new Map<string, string>();

/** What `iptables-save` prints back for a probability kube-proxy wrote (`%.11f` of threshold / 2^31). */
export function savedProbability(probability: string): string {
  let s = saved.get(probability);
  if (s === undefined) {
    s = formatFixed(kernelThreshold(probability) / 0x80000000, 11);
    if (saved.size < 100_000) saved.set(probability, s);
  }
  return s;
}
