import test from 'ava';
import fc from 'fast-check';
import {
  fnv32a,
  generateName,
  MAX_GENERATED_NAME_LENGTH,
  NAME_ALPHABET,
  podTemplateHash,
  randomSuffix,
  replicaSetName,
  safeEncodeString,
  stableStringify,
  statefulSetPodName,
  uniqueGeneratedName,
} from '../../src/controllers/names.js';
import { Rng } from '../../src/util/rng.js';
import { template } from './helpers.js';

test('the alphabet is utilrand.String alphabet: no vowels, no 0/1/3', (t) => {
  t.is(NAME_ALPHABET, 'bcdfghjklmnpqrstvwxz2456789');
  t.is(NAME_ALPHABET.length, 27);
});

const fnvCases: [string, number][] = [
  ['', 0x811c9dc5],
  ['a', 0xe40c292c],
  ['foobar', 0xbf9cf968],
];
for (const [input, expected] of fnvCases) {
  test(`fnv32a(${JSON.stringify(input)}) is the FNV-1a reference value`, (t) => {
    t.is(fnv32a(input), expected);
  });
}

test('safeEncodeString maps each character by code point modulo 27', (t) => {
  // '0' is 48: 48 % 27 = 21 → '4'; '9' is 57: 57 % 27 = 3 → 'f'
  t.is(safeEncodeString('09'), '4f');
});

test('stableStringify ignores key order and undefined members', (t) => {
  t.is(stableStringify({ b: 1, a: { d: [1, 'x'], c: undefined } }), stableStringify({ a: { d: [1, 'x'] }, b: 1 }));
});

test('podTemplateHash is deterministic, follows the template and the collision count', (t) => {
  const a = podTemplateHash(template({ app: 'web' }));
  t.is(a, podTemplateHash(template({ app: 'web' })));
  t.not(a, podTemplateHash(template({ app: 'api' })));
  t.not(a, podTemplateHash(template({ app: 'web' }), 1));
  t.not(podTemplateHash(template({ app: 'web' }), 1), podTemplateHash(template({ app: 'web' }), 2));
  t.regex(a, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
});

test('random suffixes come from the seed', (t) => {
  const a = new Rng(7);
  const b = new Rng(7);
  const first = [randomSuffix(a), randomSuffix(a)];
  t.deepEqual(first, [randomSuffix(b), randomSuffix(b)]);
  t.not(first[0], randomSuffix(new Rng(8)));
});

test('property: suffixes are 5 alphabet characters', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (seed) => {
      const s = randomSuffix(new Rng(seed));
      return s.length === 5 && [...s].every((c) => NAME_ALPHABET.includes(c));
    }),
  );
  t.pass();
});

test('generateName keeps at most 58 characters of the prefix, as the API server does', (t) => {
  const long = `${'x'.repeat(70)}-`;
  const name = generateName(long, new Rng(1));
  t.is(name.length, 63);
  t.true(name.startsWith('x'.repeat(MAX_GENERATED_NAME_LENGTH)));
  t.regex(generateName('web-', new Rng(1)), /^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
});

test('uniqueGeneratedName draws again while a name is taken', (t) => {
  const taken = new Set([generateName('web-', new Rng(3))]);
  const name = uniqueGeneratedName('web-', new Rng(3), (n) => taken.has(n));
  t.false(taken.has(name));
  t.true(name.startsWith('web-'));
});

test('workload child names', (t) => {
  t.is(replicaSetName('web', '5d4f8b9c7'), 'web-5d4f8b9c7');
  t.is(statefulSetPodName('db', 2), 'db-2');
});
