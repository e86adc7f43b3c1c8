/**
 * The hash functions IPVS schedulers use: hsiphash against the kernel's own test vectors, hash_32, the legacy
 * multiplicative bucket hash, and address folding.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  dstFoldOf,
  foldAddress,
  goldenMulMask,
  hash32,
  hsiphashBytes,
  hsiphashU32,
  parseIPv4Fast,
  srcFoldOf,
} from '../../../src/proxy/ipvs/schedulers/hash.js';
import { addressKey } from '../../../src/proxy/tuple-table.js';
import { holds } from './helpers.js';

// lib/siphash_kunit.c: key 00..0f, message bytes 00..len-1 (64-bit build, where hsiphash is SipHash-1-3).
const KERNEL_KEY = [0x07060504, 0x03020100, 0x0f0e0d0c, 0x0b0a0908] as const;
const KERNEL_VECTORS = [
  0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67, 0xc59f22a7, 0x9bb11140, 0x8d299a8e,
  0x6c063de4, 0x92ff097f, 0xf94dc352, 0x57b4d9a2, 0x1229ffa7, 0xc0f95d34, 0x2a519956, 0x7d908b66, 0x63dbd80c,
];

test('hsiphash matches the kernel self-test vectors', (t) => {
  KERNEL_VECTORS.forEach((expected, len) => {
    const msg = Uint8Array.from({ length: len }, (_, i) => i);
    t.is(hsiphashBytes(msg, KERNEL_KEY), expected, `length ${len}`);
  });
  t.is(hsiphashU32(0x03020100, KERNEL_KEY), 0x88d38328);
});

test('hsiphashU32 equals hashing the little-endian bytes', (t) => {
  holds(
    t,
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (v) => {
      const bytes = Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
      return hsiphashU32(v, KERNEL_KEY) === hsiphashBytes(bytes, KERNEL_KEY);
    }),
    { seed: 7 },
  );
});

test('hash_32 and the legacy multiplicative hash', (t) => {
  t.is(hash32(1, 8), 0x61);
  t.is(hash32(0xffffffff, 32), Math.imul(0xffffffff, 0x61c88647) >>> 0);
  // 2654435761 ≡ 177 (mod 256): the legacy bucket depends only on the last IPv4 octet.
  t.is(goldenMulMask(parseIPv4Fast('10.1.2.3')!, 255), goldenMulMask(parseIPv4Fast('192.168.77.3')!, 255));
  t.is(goldenMulMask(3, 255), (3 * 177) % 256);
});

test('address folding: IPv4 in host order, IPv6 XOR of its words', (t) => {
  t.is(foldAddress('10.96.0.1'), 0x0a600001);
  t.is(foldAddress('fd00::1'), (0xfd000000 ^ 0 ^ 0 ^ 1) >>> 0);
  t.is(foldAddress('not-an-ip'), undefined);
  t.is(parseIPv4Fast('1.2.3'), undefined);
  t.is(parseIPv4Fast('1.2.3.256'), undefined);
});

// The engine hands schedulers the packet's address keys so they hash without reading text; a key must fold exactly
// as the text does, for canonical IPv4 (the key is the value), IPv4 with leading zeros and IPv6 (interned keys).
test('a packet folds the same from its address keys as from its text', (t) => {
  const address = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.tuple(fc.nat(255), fc.nat(99)).map(([a, b]) => `010.${a}.0${b}.7`),
  );
  holds(
    t,
    fc.property(address, address, (src, dst) => {
      const keyed = { srcIP: src, dstIP: dst, srcKey: addressKey(src), dstKey: addressKey(dst) };
      return (
        srcFoldOf(keyed) === foldAddress(src) &&
        dstFoldOf(keyed) === foldAddress(dst) &&
        srcFoldOf({ srcIP: src }) === foldAddress(src)
      );
    }),
  );
});
