import test from 'ava';
import fc from 'fast-check';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { Rng } from '../../src/util/rng.js';

// Rng.int takes a shortcut for power-of-two ranges; the stream must stay the one pure-rand's uniformInt gives, or
// every seeded output (iptables cascades, allocations) would change with it.
test('int(n) draws what uniformInt draws, for powers of two and other ranges alike', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffffffff }),
      fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 31 }).map((k) => 2 ** k),
          fc.integer({ min: 2, max: 2 ** 32 }),
        ),
        {
          minLength: 1,
          maxLength: 40,
        },
      ),
      (seed, ranges) => {
        const rng = new Rng(seed);
        const reference = xoroshiro128plus(seed >>> 0);
        for (const n of ranges) t.is(rng.int(n), n <= 1 ? 0 : uniformInt(reference, 0, n - 1));
      },
    ),
  );
});

test('int(2^31) covers the high bit of the 31 (the statistic match compares against thresholds up to 2^31)', (t) => {
  const rng = new Rng(5);
  let high = 0;
  for (let i = 0; i < 1000; i++) if (rng.int(0x80000000) >= 0x40000000) high++;
  t.true(high > 400 && high < 600, `${high} of 1000 draws in the upper half`);
});
