/**
 * How each libc reads ndots from the options line (stub-config.ts): glibc reads every option in order (the last ndots
 * wins; a non-numeric value is atoi's 0); musl takes the first `ndots:` on the line, only if a digit follows, and
 * skips an options line over 254 characters whole.
 */
import test from 'ava';
import { stubSettings } from '../../../src/dns/client/stub-config.js';
import type { Flavor, ResolvConf } from '../../../src/dns/client/types.js';

const opt = (name: string, value?: string) => (value === undefined ? { name } : { name, value });

const CASES: readonly [title: string, options: ResolvConf['options'], glibc: number, musl: number][] = [
  ['none: the default 1', [], 1, 1],
  ['one ndots:5', [opt('ndots', '5')], 5, 5],
  ['ndots:5 then ndots:2: glibc the last, musl the first', [opt('ndots', '5'), opt('ndots', '2')], 2, 5],
  ['a non-numeric first value: glibc 0 then 3, musl ignores the line', [opt('ndots', 'x'), opt('ndots', '3')], 3, 1],
  ['non-numeric alone: glibc 0, musl keeps 1', [opt('ndots', 'x')], 0, 1],
  ['capped at 15', [opt('ndots', '40')], 15, 15],
  ['an options line over 254 characters: musl skips it', [opt('ndots', '3'), opt('x'.repeat(250))], 3, 1],
];

for (const [title, options, glibc, musl] of CASES) {
  test(`ndots, ${title}`, (t) => {
    const rc: ResolvConf = { nameservers: ['10.96.0.10'], searches: [], options };
    const read = (flavor: Flavor) => stubSettings(rc, flavor).ndots;
    t.deepEqual({ glibc: read('glibc'), musl: read('musl') }, { glibc, musl });
  });
}

test('musl says why it ignored a long options line', (t) => {
  const rc: ResolvConf = {
    nameservers: ['10.96.0.10'],
    searches: [],
    options: [opt('ndots', '3'), opt('y'.repeat(260))],
  };
  t.true(stubSettings(rc, 'musl').notes.some((n) => n.startsWith('musl ignores the options line')));
  t.false(stubSettings(rc, 'glibc').notes.some((n) => n.startsWith('musl ignores')));
});
