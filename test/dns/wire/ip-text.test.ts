import test from 'ava';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { formatIPv4, formatIPv6, writeIPv4, writeIPv6 } from '../../../src/dns/wire/ip-text.js';

const v4 = (text: string): string | null => {
  const b = new Uint8Array(4);
  return writeIPv4(text, b, 0) ? formatIPv4(b, 0) : null;
};
const v6 = (text: string): string | null => {
  const b = new Uint8Array(16);
  return writeIPv6(text, b, 0) ? formatIPv6(b, 0) : null;
};

const v4Cases: [string, string | null][] = [
  ['10.96.0.10', '10.96.0.10'],
  ['0.0.0.0', '0.0.0.0'],
  ['255.255.255.255', '255.255.255.255'],
  ['256.0.0.1', null],
  ['010.0.0.1', null],
  ['10.1', null],
  ['10.0.0.1.', null],
  ['1.2.3.4.5', null],
  ['a.b.c.d', null],
  ['', null],
];
for (const [text, want] of v4Cases) test(`IPv4 ${JSON.stringify(text)}`, (t) => t.is(v4(text), want));

const v6Cases: [string, string | null][] = [
  ['::', '::'],
  ['::1', '::1'],
  ['FD00:10:96::A', 'fd00:10:96::a'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'],
  ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ['1:2:3:4:5:6:7:0', '1:2:3:4:5:6:7:0'],
  ['::ffff:10.0.0.1', '::ffff:a00:1'],
  // RFC 4291 §2.5.5.1 IPv4-compatible: zeros then the four octets (ipaddr.js reads it as IPv4-mapped ::ffff:…).
  ['::1.2.3.4', '::102:304'],
  ['1:2:3:4:5:6:7:8:9', null],
  ['1::2::3', null],
  ['12345::', null],
  ['1:2', null],
  [':1::', null],
  ['fe80::1%eth0', null],
];
for (const [text, want] of v6Cases) test(`IPv6 ${JSON.stringify(text)}`, (t) => t.is(v6(text), want));

test('IPv6 text agrees with ipaddr.js on random addresses', (t) => {
  // ipaddr.js turns `::a.b.c.d` into ::ffff:a.b.c.d; that form has its own table case above.
  const comparable = fc.ipV6().filter((text) => !/^::\d+\.\d+\.\d+\.\d+$/.test(text));
  fc.assert(
    fc.property(comparable, (text) => {
      const b = new Uint8Array(16);
      t.true(writeIPv6(text, b, 0), text);
      t.deepEqual([...b], ipaddr.IPv6.parse(text).toByteArray());
      // ipaddr.js prints IPv4-mapped addresses with a dotted quad; RFC 5952 §5 allows either, we print hex.
      const theirs = ipaddr.IPv6.parse(text).toRFC5952String();
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(theirs);
      if (mapped === null) t.is(formatIPv6(b, 0), theirs);
      else t.true(formatIPv6(b, 0).startsWith('::ffff:'));
    }),
    { numRuns: 3000 },
  );
});
