/**
 * The hash functions IPVS schedulers use, bit-exact:
 *
 * - `hsiphash` as the kernel builds it on 64-bit machines: SipHash-1-3 with a 64-bit state and a 32-bit result
 *   (lib/siphash.c: "on 64-bit, we make HalfSipHash1-3 actually be SipHash1-3"). ip_vs_mh hashes one u32, so the
 *   message is that u32 in little-endian byte order, and the final block is `(4 << 56) | value`.
 * - `hash_32(val, bits)`: `(val * 0x61C88647) >> (32 - bits)` (include/linux/hash.h), used by sh, lblc, lblcr.
 * - the older multiplicative hash `(val * 2654435761) & mask` used by dh (and sh before its switch to hash_32).
 *
 * 64-bit arithmetic is done on pairs of 32-bit halves held in module-level scratch variables so one hash does not
 * allocate; BigInt would be two orders of magnitude slower on the scheduling hot path.
 */
import { parseIP } from '../../../cni/ip.js';
import { isIPv4Key } from '../../tuple-table.js';
import type { SchedPacket } from './types.js';

// SipHash state v0..v3 as (high, low) int32 halves: v0h v0l v1h v1l v2h v2l v3h v3l. A typed array keeps them
// unboxed; module-level `let`s would live in a context and box every write as a heap number.
const V = new Int32Array(8);

// SipRounds on V, written out by hand: helpers returning (h, l) pairs would allocate.
function sipRounds(n: number): void {
  let v0h = V[0]!;
  let v0l = V[1]!;
  let v1h = V[2]!;
  let v1l = V[3]!;
  let v2h = V[4]!;
  let v2l = V[5]!;
  let v3h = V[6]!;
  let v3l = V[7]!;
  for (let r = 0; r < n; r++) {
    let lo: number;
    let th: number;
    // A 64-bit add on halves: the low words wrap as int32 (`| 0`) and the carry is an unsigned compare, so no value
    // leaves int32 (a sum kept exact above 2^32 made V8 compute in doubles: the hash took 90 ns, not 15).
    // v0 += v1; v1 = rotl(v1, 13) ^ v0; v0 = rotl(v0, 32)
    lo = (v0l + v1l) | 0;
    v0h = (v0h + v1h + (lo >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
    v0l = lo;
    th = (v1h << 13) | (v1l >>> 19);
    v1l = ((v1l << 13) | (v1h >>> 19)) ^ v0l;
    v1h = th ^ v0h;
    th = v0h;
    v0h = v0l;
    v0l = th;
    // v2 += v3; v3 = rotl(v3, 16) ^ v2
    lo = (v2l + v3l) | 0;
    v2h = (v2h + v3h + (lo >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
    v2l = lo;
    th = (v3h << 16) | (v3l >>> 16);
    v3l = ((v3l << 16) | (v3h >>> 16)) ^ v2l;
    v3h = th ^ v2h;
    // v0 += v3; v3 = rotl(v3, 21) ^ v0
    lo = (v0l + v3l) | 0;
    v0h = (v0h + v3h + (lo >>> 0 < v0l >>> 0 ? 1 : 0)) | 0;
    v0l = lo;
    th = (v3h << 21) | (v3l >>> 11);
    v3l = ((v3l << 21) | (v3h >>> 11)) ^ v0l;
    v3h = th ^ v0h;
    // v2 += v1; v1 = rotl(v1, 17) ^ v2; v2 = rotl(v2, 32)
    lo = (v2l + v1l) | 0;
    v2h = (v2h + v1h + (lo >>> 0 < v2l >>> 0 ? 1 : 0)) | 0;
    v2l = lo;
    th = (v1h << 17) | (v1l >>> 15);
    v1l = ((v1l << 17) | (v1h >>> 15)) ^ v2l;
    v1h = th ^ v2h;
    th = v2h;
    v2h = v2l;
    v2l = th;
  }
  V[0] = v0h;
  V[1] = v0l;
  V[2] = v1h;
  V[3] = v1l;
  V[4] = v2h;
  V[5] = v2l;
  V[6] = v3h;
  V[7] = v3l;
}

/** A 128-bit hsiphash key as four 32-bit words: k0 high, k0 low, k1 high, k1 low. */
export type HsipKey = readonly [number, number, number, number];

function preamble(key: HsipKey): void {
  // "somepseudorandomlygeneratedbytes"
  V[0] = 0x736f6d65 ^ key[0];
  V[1] = 0x70736575 ^ key[1];
  V[2] = 0x646f7261 ^ key[2];
  V[3] = 0x6e646f6d ^ key[3];
  V[4] = 0x6c796765 ^ key[0];
  V[5] = 0x6e657261 ^ key[1];
  V[6] = 0x74656462 ^ key[2];
  V[7] = 0x79746573 ^ key[3];
}

function finish(bh: number, bl: number): number {
  V[6]! ^= bh;
  V[7]! ^= bl;
  sipRounds(1);
  V[0]! ^= bh;
  V[1]! ^= bl;
  V[5]! ^= 0xff;
  sipRounds(3);
  // The u64 result is truncated to u32 by the return type: only the low halves matter.
  return (V[1]! ^ V[3]! ^ V[5]! ^ V[7]!) >>> 0;
}

/** hsiphash of one u32 (the kernel's `hsiphash(&v, sizeof(v), key)` on a little-endian 64-bit machine). */
export function hsiphashU32(value: number, key: HsipKey): number {
  preamble(key);
  return finish(0x04000000, value | 0);
}

/** hsiphash of arbitrary bytes; the general form, used to check the implementation against the kernel's vectors. */
export function hsiphashBytes(data: Uint8Array, key: HsipKey): number {
  const len = data.length;
  preamble(key);
  const whole = len - (len % 8);
  for (let i = 0; i < whole; i += 8) {
    const ml = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    const mh = data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24);
    V[6]! ^= mh;
    V[7]! ^= ml;
    sipRounds(1);
    V[0]! ^= mh;
    V[1]! ^= ml;
  }
  let bl = 0;
  let bh = (len & 0xff) << 24;
  for (let i = whole; i < len; i++) {
    const shift = (i - whole) * 8;
    if (shift < 32) bl |= data[i]! << shift;
    else bh |= data[i]! << (shift - 32);
  }
  return finish(bh, bl);
}

/** A key whose two u64 words are given as unsigned numbers below 2^32 (ip_vs_mh's keys are such constants). */
export function smallKey(k0: number, k1: number): HsipKey {
  return [0, k0 >>> 0, 0, k1 >>> 0];
}

/** `hash_32(val, bits)` from include/linux/hash.h. */
export function hash32(value: number, bits: number): number {
  return Math.imul(value >>> 0, 0x61c88647) >>> (32 - bits);
}

/** The older IPVS bucket hash `(val * 2654435761) & mask`; only the low bits of the product survive the mask. */
export function goldenMulMask(value: number, mask: number): number {
  return Math.imul(value >>> 0, 2654435761 | 0) & mask;
}

/**
 * Fold an address to 32 bits as the IPVS hash functions do: an IPv4 address in host order; for IPv6 the XOR of its
 * four 32-bit words. `undefined` when the text is not an address.
 */
export function foldAddress(addr: string): number | undefined {
  const v4 = parseIPv4Fast(addr);
  if (v4 !== undefined) return v4;
  const parsed = parseIP(addr);
  if (parsed === undefined) return undefined;
  if (parsed.family === 'IPv4') return Number(parsed.value);
  let fold = 0;
  for (let shift = 0n; shift < 128n; shift += 32n) fold ^= Number((parsed.value >> shift) & 0xffffffffn);
  return fold >>> 0;
}

/** A packet's source folded as `foldAddress` folds it: its IPv4 key when it has one (no text read), else its text. */
export function srcFoldOf(pkt: Pick<SchedPacket, 'srcIP' | 'srcKey'>): number {
  return foldOfKey(pkt.srcKey, pkt.srcIP);
}

/** The same for the destination (dh, lblc and lblcr hash it). */
export function dstFoldOf(pkt: Pick<SchedPacket, 'dstIP' | 'dstKey'>): number {
  return foldOfKey(pkt.dstKey, pkt.dstIP);
}

/** An address folded as `foldAddress` folds it: its IPv4 key when it has one (no text read), else its text. */
export function foldOfKey(key: number | undefined, text: string): number {
  return key !== undefined && isIPv4Key(key) ? key : (foldAddress(text) ?? 0);
}

/** Dotted-quad to u32 without allocating; `undefined` for anything that is not four decimal octets. */
export function parseIPv4Fast(addr: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < addr.length; i++) {
    const c = addr.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  return (value * 256 + octet) >>> 0;
}
