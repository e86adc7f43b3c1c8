/**
 * Selectors as kubectl prints them (SELECTOR and NODE SELECTOR columns): labels.Set.String sorts a map's keys;
 * LabelSelectorAsSelector's selector sorts its requirements by key and prints `in`/`notin` values sorted.
 */
import test from 'ava';
import { formatSelector } from '../../src/model/labels.js';
import type { LabelSelector } from '../../src/model/types.js';

const cases: readonly [string, LabelSelector | Record<string, string> | undefined, string][] = [
  ['a map, keys out of order', { tier: 'web', app: 'x' }, 'app=x,tier=web'],
  [
    'matchLabels and expressions, sorted together by key',
    {
      matchLabels: { tier: 'web', app: 'x' },
      matchExpressions: [
        { key: 'env', operator: 'In', values: ['prod', 'dev'] },
        { key: 'ab', operator: 'Exists' },
      ],
    },
    'ab,app=x,env in (dev,prod),tier=web',
  ],
  [
    'notin and DoesNotExist',
    {
      matchExpressions: [
        { key: 'zone', operator: 'NotIn', values: ['b', 'a'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    },
    '!canary,zone notin (a,b)',
  ],
  ['no selector', undefined, '<none>'],
  ['an empty map', {}, '<none>'],
];

for (const [name, selector, expected] of cases) {
  test(`formatSelector: ${name}`, (t) => {
    t.is(formatSelector(selector), expected);
  });
}
