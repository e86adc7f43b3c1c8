/** Probability strings as kube-proxy writes them (%0.10f) and as the kernel stores them (31-bit fixed point). */
import test from 'ava';
import fc from 'fast-check';
import {
  computeProbability,
  formatFixed,
  kernelThreshold,
  savedProbability,
} from '../../../src/proxy/iptables/probability.js';
import { holds } from '../../cni/helpers.js';

test('TestComputeProbability values', (t) => {
  const cases: [number, string][] = [
    [1, '1.0000000000'],
    [2, '0.5000000000'],
    [10, '0.1000000000'],
    [100, '0.0100000000'],
    [1000, '0.0010000000'],
    [10000, '0.0001000000'],
    [100000, '0.0000100000'],
    [100001, '0.0000099999'],
  ];
  for (const [n, want] of cases) t.is(computeProbability(n), want, `n=${n}`);
});

test('probabilities strictly increase as n decreases from 100000 to 2', (t) => {
  let prev = Number(computeProbability(100000));
  for (let n = 99999; n >= 2; n--) {
    const p = Number(computeProbability(n));
    if (!(p > prev)) t.fail(`p(${n}) = ${p} not above p(${n + 1}) = ${prev}`);
    prev = p;
  }
  t.pass();
});

test('what iptables-save prints back (proxy.md §1.3 table)', (t) => {
  const cases: [string, string][] = [
    ['0.5000000000', '0.50000000000'],
    ['0.3333333333', '0.33333333349'],
    ['0.2500000000', '0.25000000000'],
    ['0.2000000000', '0.20000000019'],
    ['0.1666666667', '0.16666666651'],
    ['0.1428571429', '0.14285714272'],
    ['0.1250000000', '0.12500000000'],
    ['0.1111111111', '0.11111111101'],
    ['0.1000000000', '0.10000000009'],
    ['0.33333', '0.33332999982'],
  ];
  for (const [written, saved] of cases) t.is(savedProbability(written), saved, written);
});

test("exact ties round half to even, as Go's strconv does (1/2048 = 0.00048828125)", (t) => {
  t.is(computeProbability(2048), '0.0004882812');
  t.is(formatFixed(0.125, 2), '0.12');
  t.is(formatFixed(0.375, 2), '0.38');
  t.is(formatFixed(2.5, 0), '2');
  t.is(formatFixed(9.9999999999999, 3), '10.000');
});

test('formatFixed agrees with toFixed away from exact ties', (t) => {
  holds(
    t,
    fc.property(fc.integer({ min: 1, max: 10_000_000 }), (n) => {
      const v = 1 / n;
      const exact = v.toFixed(40);
      const tie = /^\d+\.\d{10}50*$/.test(exact);
      return tie || formatFixed(v, 10) === v.toFixed(10);
    }),
  );
});

test('kernel thresholds are lround(p × 2^31)', (t) => {
  t.is(kernelThreshold('0.5000000000'), 2 ** 30);
  t.is(kernelThreshold('1.0000000000'), 2 ** 31);
  t.is(kernelThreshold('0.3333333333'), 715827883); // 715827882.6 rounds up: 0.33333333349 read back
});
