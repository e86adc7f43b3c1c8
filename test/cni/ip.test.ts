import test from 'ava';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { Netmask } from 'netmask';
import {
  canonicalIP,
  canonicalIPv4,
  dashedIP,
  formatIP,
  ipFamilyOf,
  parseCIDR,
  parseIP,
  parseReverseName,
  reverseName,
} from '../../src/cni/ip.js';
import { ErrorCodes, type KubeNetsimError } from '../../src/errors.js';
import { holds } from './helpers.js';

const validIPs: [string, string, 'IPv4' | 'IPv6'][] = [
  ['10.0.0.1', '10.0.0.1', 'IPv4'],
  ['0.0.0.0', '0.0.0.0', 'IPv4'],
  ['255.255.255.255', '255.255.255.255', 'IPv4'],
  ['10.0.10.100', '10.0.10.100', 'IPv4'],
  ['fd00::1', 'fd00::1', 'IPv6'],
  ['FD00:0:0::0001', 'fd00::1', 'IPv6'],
  ['::', '::', 'IPv6'],
  ['::1', '::1', 'IPv6'],
  ['2001:0db8:0000:0000:0000:0000:0567:89ab', '2001:db8::567:89ab', 'IPv6'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', 'IPv6'], // a lone zero group is not compressed
  ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8', 'IPv6'],
  ['0:1:0:0:1:0:0:0', '0:1:0:0:1::', 'IPv6'], // the longest zero run wins
  ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4', 'IPv6'], // on a tie, the first run
  ['fd00:10:244:1:0:0:0:20', 'fd00:10:244:1::20', 'IPv6'],
];

for (const [text, canonical, family] of validIPs) {
  test(`parseIP accepts ${text}`, (t) => {
    const parsed = parseIP(text);
    t.is(parsed?.text, canonical);
    t.is(parsed?.family, family);
    t.is(ipFamilyOf(text), family);
    t.is(canonicalIP(text), canonical);
  });
}

const invalidIPs = [
  '010.0.0.1', // leading zero: octal to libc, decimal to Go
  '10.01.0.1',
  '10.1', // classful short form
  '167772161', // one-part form
  '0x0a.0.0.1',
  '1.2.3.4.5',
  '256.0.0.1',
  '1.2.3.',
  ' 10.0.0.1',
  '10.0.0.1 ',
  '-1.2.3.4',
  '::ffff:1.2.3.4', // IPv4-mapped (KEP-4858 rejects these)
  'fe80::1%eth0', // zone
  '1::2::3',
  '12345::',
  '00001::',
  '1:2:3:4:5:6:7:8:9',
  ':::',
  ':',
  'g::1',
  '',
  'localhost',
];

for (const text of invalidIPs) {
  test(`parseIP rejects ${JSON.stringify(text)}`, (t) => {
    t.is(parseIP(text), undefined);
    t.is(ipFamilyOf(text), undefined);
  });
}

const cidrCases: [string, string | undefined, boolean, bigint][] = [
  ['10.96.0.0/12', '10.96.0.0/12', true, 2n ** 20n],
  ['10.96.0.5/12', '10.96.0.0/12', false, 2n ** 20n], // host bits: parses, flagged
  ['10.244.1.0/24', '10.244.1.0/24', true, 256n],
  ['0.0.0.0/0', '0.0.0.0/0', true, 2n ** 32n],
  ['10.0.0.1/32', '10.0.0.1/32', true, 1n],
  ['fd00:10:96::/108', 'fd00:10:96::/108', true, 2n ** 20n],
  ['FD00:10:244:1::/64', 'fd00:10:244:1::/64', true, 2n ** 64n],
  ['::/0', '::/0', true, 2n ** 128n],
  ['10.96.0.0/33', undefined, false, 0n],
  ['fd00::/129', undefined, false, 0n],
  ['10.96.0.0/012', undefined, false, 0n],
  ['10.96.0.0/', undefined, false, 0n],
  ['10.96.0.0', undefined, false, 0n],
  ['/12', undefined, false, 0n],
  ['010.96.0.0/12', undefined, false, 0n],
  ['10.0.0.0/8/8', undefined, false, 0n],
  ['10.0.0.0/ 8', undefined, false, 0n],
];

for (const [text, canonical, isCanonical, size] of cidrCases) {
  test(`parseCIDR ${text}`, (t) => {
    const cidr = parseCIDR(text);
    t.is(cidr?.text, canonical);
    if (cidr) {
      t.is(cidr.isCanonical, isCanonical);
      t.is(cidr.size, size);
    }
  });
}

test('Cidr contains, indexOf and nth agree in both families', (t) => {
  const v4 = parseCIDR('10.96.0.0/12')!;
  t.true(v4.contains('10.111.255.255'));
  t.false(v4.contains('10.112.0.0'));
  t.false(v4.contains('fd00::1'));
  t.false(v4.contains('010.96.0.1'));
  t.is(v4.indexOf('10.96.0.10'), 10n);
  t.is(v4.nth(10n), '10.96.0.10');
  t.is(v4.nth(v4.size - 1n), '10.111.255.255');
  const v6 = parseCIDR('fd00:10:96::/112')!;
  t.is(v6.nth(10n), 'fd00:10:96::a');
  t.is(v6.indexOf('fd00:10:96::ffff'), 65535n);
  t.is(v6.indexOf('10.96.0.1'), undefined);
  const err = t.throws(() => v6.nth(65536n)) as KubeNetsimError;
  t.is(err.code, ErrorCodes.OUT_OF_RANGE);
  t.true(parseCIDR('10.0.0.0/8')!.covers(parseCIDR('10.244.0.0/16')!));
  t.false(parseCIDR('10.244.0.0/16')!.covers(parseCIDR('10.0.0.0/8')!));
  t.true(parseCIDR('10.244.0.0/16')!.overlaps(parseCIDR('10.0.0.0/8')!));
  t.false(parseCIDR('10.244.0.0/16')!.overlaps(parseCIDR('10.245.0.0/16')!));
});

const reverseCases: [string, string][] = [
  ['10.96.0.10', '10.0.96.10.in-addr.arpa'],
  ['192.168.0.1', '1.0.168.192.in-addr.arpa'],
  ['2001:db8::567:89ab', 'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'],
  ['fd00:10:96::a', 'a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa'],
];

for (const [ip, name] of reverseCases) {
  test(`reverse name of ${ip}`, (t) => {
    t.is(reverseName(ip), name);
    t.is(parseReverseName(name), canonicalIP(ip));
    t.is(parseReverseName(`${name}.`), canonicalIP(ip));
    t.is(parseReverseName(name.toUpperCase()), canonicalIP(ip));
  });
}

const badReverseNames = [
  '96.10.in-addr.arpa', // partial: a zone cut, not an address
  '1.0.0.96.10.in-addr.arpa',
  '010.0.96.10.in-addr.arpa',
  '256.0.96.10.in-addr.arpa',
  'in-addr.arpa',
  '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.ip6.arpa', // 31 nibbles
  'a0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa', // a two-digit label
  'g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa',
  'example.com',
];

for (const name of badReverseNames) {
  test(`parseReverseName rejects ${name}`, (t) => {
    t.is(parseReverseName(name), undefined);
  });
}

test('reverseName rejects text that is not an address', (t) => {
  const err = t.throws(() => reverseName('010.0.0.1')) as KubeNetsimError;
  t.is(err.code, ErrorCodes.INVALID_ARGUMENT);
});

const dashedCases: [string, string][] = [
  ['10.244.1.40', '10-244-1-40'],
  ['fd00:10:244:1::20', 'fd00-10-244-1--20'],
  ['fd00::', 'fd00--0'], // a label cannot end in a dash (coredns/coredns#7430)
  ['2001:db8:3333:4444:5555:6666::', '2001-db8-3333-4444-5555-6666--0'],
  ['::1', '--1'],
  ['1:2:3:4:5:6:7:8', '1-2-3-4-5-6-7-8'],
  ['', ''],
];

for (const [ip, name] of dashedCases) {
  test(`dashedIP ${JSON.stringify(ip)} → ${name}`, (t) => {
    t.is(dashedIP(ip), name);
  });
}

const anyIPv4 = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((n) => BigInt(n));
// zero-heavy groups exercise the `::` choice
const anyIPv6 = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
    minLength: 8,
    maxLength: 8,
  })
  .map((groups) => ({ groups, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n) }));

test('IPv6 formatting matches RFC 5952 (ipaddr.js as oracle) and parses back', (t) => {
  holds(
    t,
    fc.property(anyIPv6, ({ groups, value }) => {
      const text = formatIP(value, 'IPv6');
      const oracle = new ipaddr.IPv6(groups).toRFC5952String();
      return text === oracle && parseIP(text)?.value === value && parseIP(text)?.text === text;
    }),
    { numRuns: 3000 },
  );
});

test('IPv4: exactly the canonical dotted quads parse, each to its value', (t) => {
  // The oracle, written another way: four parts, each 0 or 1-3 digits without a leading zero, none above 255.
  const canonical = (text: string) =>
    text.split('.').length === 4 &&
    text.split('.').every((part) => /^(?:0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
  const quadPart = fc.constantFrom('0', '00', '01', '7', '10', '199', '250', '255', '256', '1234', '');
  const quadLike = fc.array(quadPart, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('.'));
  holds(
    t,
    fc.property(fc.oneof(quadLike, fc.string({ maxLength: 16 })), (text) => {
      const value = canonicalIPv4(text);
      if (!canonical(text)) return value === -1 && parseIP(text)?.family !== 'IPv4';
      const expected = text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
      return value === expected && parseIP(text)?.value === BigInt(expected) && parseIP(text)?.text === text;
    }),
    { numRuns: 5000 },
  );
});

test('IPv4 text, value and reverse names round-trip', (t) => {
  holds(
    t,
    fc.property(anyIPv4, (value) => {
      const text = formatIP(value, 'IPv4');
      return parseIP(text)?.value === value && parseReverseName(reverseName(text)) === text;
    }),
    { numRuns: 2000 },
  );
});

test('IPv6 reverse names round-trip; an IPv4-mapped one reads as its IPv4 address', (t) => {
  holds(
    t,
    fc.property(anyIPv6, ({ value }) => {
      const text = formatIP(value, 'IPv6');
      const mapped = value >> 32n === 0xffffn;
      return parseReverseName(reverseName(text)) === (mapped ? formatIP(value & 0xffffffffn, 'IPv4') : text);
    }),
    { numRuns: 2000 },
  );
});

test('IPv4 CIDR arithmetic agrees with netmask', (t) => {
  // netmask special-cases /31 and /32 for first/last, so keep to /1../30
  holds(
    t,
    fc.property(anyIPv4, fc.integer({ min: 1, max: 30 }), anyIPv4, (address, prefix, probe) => {
      const cidr = parseCIDR(`${formatIP(address, 'IPv4')}/${prefix}`)!;
      const oracle = new Netmask(cidr.text);
      const probeText = formatIP(probe, 'IPv4');
      return (
        oracle.base === formatIP(cidr.base, 'IPv4') &&
        BigInt(oracle.size) === cidr.size &&
        oracle.first === cidr.nth(1n) &&
        oracle.last === cidr.nth(cidr.size - 2n) &&
        oracle.broadcast === formatIP(cidr.last, 'IPv4') &&
        oracle.contains(probeText) === cidr.contains(probeText)
      );
    }),
    { numRuns: 2000 },
  );
});

test('nth and indexOf are inverse within a CIDR', (t) => {
  holds(
    t,
    fc.property(
      anyIPv6,
      fc.integer({ min: 64, max: 128 }),
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      (ip, prefix, n) => {
        const cidr = parseCIDR(`${formatIP(ip.value, 'IPv6')}/${prefix}`)!;
        const index = n % cidr.size;
        return cidr.indexOf(cidr.nth(index)) === index;
      },
    ),
    { numRuns: 1000 },
  );
});
