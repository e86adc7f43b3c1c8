/** parseResolvConf with kubelet's reading rules, formatResolvConf with the runtime's layout, the default node file. */
import test from 'ava';
import fc from 'fast-check';
import {
  defaultNodeResolvConf,
  formatResolvConf,
  parseResolvConf,
  type ResolvConf,
} from '../../../src/dns/client/index.js';
import { ErrorCodes, KubeNetsimError } from '../../../src/errors.js';
import { holds } from '../../cni/helpers.js';

const PARSE_CASES: [string, string, ResolvConf][] = [
  [
    'a typical file',
    'nameserver 10.0.0.2\nnameserver 10.0.0.3\nsearch corp.example lab.example\noptions ndots:2 edns0\n',
    {
      nameservers: ['10.0.0.2', '10.0.0.3'],
      searches: ['corp.example', 'lab.example'],
      options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
    },
  ],
  [
    'comments, blank lines, CRLF and indentation',
    '# generated\r\n\r\n   nameserver 10.0.0.2  \r\n\t# nameserver 10.0.0.9\r\n',
    { nameservers: ['10.0.0.2'], searches: [], options: [] },
  ],
  [
    'the last search line and the last options line win; nameservers accumulate',
    'search a.example\nnameserver 1.1.1.1\nsearch b.example c.example\noptions ndots:3\noptions timeout:1\nnameserver 1.0.0.1\n',
    {
      nameservers: ['1.1.1.1', '1.0.0.1'],
      searches: ['b.example', 'c.example'],
      options: [{ name: 'timeout', value: '1' }],
    },
  ],
  [
    'trailing dots are trimmed except on a lone root',
    'search corp.example. . lab.example\n',
    { nameservers: [], searches: ['corp.example', '.', 'lab.example'], options: [] },
  ],
  [
    'domain, sortlist and unknown keywords are ignored, as kubelet ignores them',
    'domain corp.example\nsortlist 10.0.0.0/8\nlookup file bind\nnameserver 10.0.0.2\n',
    { nameservers: ['10.0.0.2'], searches: [], options: [] },
  ],
  [
    'more than 3 nameservers are all read (the limit applies per pod)',
    'nameserver 1.1.1.1\nnameserver 1.1.1.2\nnameserver 1.1.1.3\nnameserver 1.1.1.4\n',
    { nameservers: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4'], searches: [], options: [] },
  ],
  ['an empty file', '', { nameservers: [], searches: [], options: [] }],
  [
    'an option with a colon in its value splits at the first colon',
    'options weird:a:b\n',
    { nameservers: [], searches: [], options: [{ name: 'weird', value: 'a:b' }] },
  ],
];

for (const [title, text, expected] of PARSE_CASES) {
  test(`parse: ${title}`, (t) => {
    t.deepEqual(parseResolvConf(text), expected);
  });
}

test('parse: a nameserver line without an address is an error', (t) => {
  const err = t.throws(() => parseResolvConf('search a.example\nnameserver\n'), { instanceOf: KubeNetsimError });
  t.is(err?.code, ErrorCodes.INVALID_ARGUMENT);
  t.regex(err?.message ?? '', /line 2/);
});

test('format: search, then one nameserver line each, then options; empty parts omitted', (t) => {
  t.is(
    formatResolvConf({
      nameservers: ['10.96.0.10', 'fd00::a'],
      searches: ['app.svc.cluster.local', 'svc.cluster.local'],
      options: [{ name: 'ndots', value: '5' }, { name: 'edns0' }],
    }),
    'search app.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver fd00::a\noptions ndots:5 edns0\n',
  );
  t.is(formatResolvConf({ nameservers: ['10.96.0.10'], searches: [], options: [] }), 'nameserver 10.96.0.10\n');
  t.is(formatResolvConf({ nameservers: [], searches: [], options: [] }), '');
});

test('the default node file is a kind node: gateway of the node network, ndots:0, no search', (t) => {
  const expected = { nameservers: ['172.18.0.1'], searches: [], options: [{ name: 'ndots', value: '0' }] };
  t.deepEqual(defaultNodeResolvConf(), expected);
  t.deepEqual(defaultNodeResolvConf(['172.18.0.0/16', 'fc00:f853:ccd:e793::/64']), expected);
  t.deepEqual(defaultNodeResolvConf(['fc00::/64', '10.10.0.0/16']).nameservers, ['10.10.0.1']);
  t.is(formatResolvConf(defaultNodeResolvConf()), 'nameserver 172.18.0.1\noptions ndots:0\n');
});

const token = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}[a-z0-9]$/);

test('property: parse(format(rc)) gives rc back', (t) => {
  holds(
    t,
    fc.property(
      fc.array(fc.ipV4(), { maxLength: 4 }),
      fc.array(token, { maxLength: 6 }),
      fc.array(fc.record({ name: token, value: fc.option(token, { nil: undefined }) }), { maxLength: 4 }),
      (nameservers, searches, rawOptions) => {
        // The options line holds each name once after a kubelet merge, and values never empty.
        const options = [...new Map(rawOptions.map((o) => [o.name, o])).values()].map((o) =>
          o.value === undefined ? { name: o.name } : { name: o.name, value: o.value },
        );
        const rc = { nameservers, searches, options };
        const back = parseResolvConf(formatResolvConf(rc));
        return JSON.stringify(back) === JSON.stringify(rc);
      },
    ),
  );
});
