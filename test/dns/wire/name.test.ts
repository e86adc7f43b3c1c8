import test from 'ava';
import fc from 'fast-check';
import {
  canonicalName,
  fqdn,
  isSubdomain,
  isValidName,
  nameFromWire,
  namesEqual,
  nameToWire,
  parseName,
  toLowerName,
} from '../../../src/dns/wire/name.js';
import { ErrorCodes } from '../../../src/errors.js';
import { longNameArb } from './arbitraries.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const valid: { name: string; wire: string; why: string }[] = [
  { name: '.', wire: '00', why: 'the root' },
  { name: 'a', wire: '016100', why: 'no trailing dot means absolute' },
  { name: 'a.', wire: '016100', why: 'trailing dot' },
  { name: '_http._tcp.Svc.', wire: '055f68747470045f7463700353766300', why: 'underscores, case kept' },
  { name: 'a\\.b.c', wire: '03612e62016300', why: 'escaped dot stays in the label' },
  { name: 'a\\\\b', wire: '03615c6200', why: 'escaped backslash' },
  { name: '\\000\\255', wire: '0200ff00', why: '\\DDD escapes' },
  { name: `${'a'.repeat(63)}.`, wire: `3f${'61'.repeat(63)}00`, why: '63-octet label' },
  { name: '*.x', wire: '012a017800', why: 'a star is an ordinary label' },
];

for (const { name, wire, why } of valid) {
  test(`valid name ${JSON.stringify(name)}: ${why}`, (t) => {
    t.true(isValidName(name));
    t.is(hex(nameToWire(name)), wire);
  });
}

test('a 253-character name is 255 octets on the wire; one more character is too long', (t) => {
  const name = `${'a.'.repeat(126)}b`;
  t.is(name.length, 253);
  t.is(nameToWire(name).length, 255);
  t.is(nameToWire(`${name}.`).length, 255);
  t.false(isValidName(`a${name}`));
});

const invalid: { name: string; why: string }[] = [
  { name: '', why: 'empty string' },
  { name: '..', why: 'empty label' },
  { name: '.a', why: 'leading empty label' },
  { name: 'a..b', why: 'empty label inside' },
  { name: `${'a'.repeat(64)}.`, why: '64-octet label' },
  { name: `${'a.'.repeat(127)}b`, why: '255 characters' },
  { name: 'a b', why: 'unescaped space' },
  { name: 'caf\u00e9', why: 'non-ASCII (IDNs travel as punycode)' },
  { name: 'a\\', why: 'dangling backslash' },
  { name: 'a\\25', why: 'short \\DDD' },
  { name: 'a\\256', why: '\\DDD above 255' },
  { name: `${'\\097'.repeat(64)}`, why: '64 escaped octets' },
];

for (const { name, why } of invalid) {
  test(`invalid name ${JSON.stringify(name.slice(0, 40))}: ${why}`, (t) => {
    t.false(isValidName(name));
    const err = t.throws(() => parseName(name));
    t.is((err as { code?: string } | undefined)?.code, ErrorCodes.DNS_NAME_INVALID);
  });
}

test('nameFromWire prints the presentation form miekg/dns prints', (t) => {
  t.is(nameFromWire(Uint8Array.from([0])), '.');
  t.is(nameFromWire(nameToWire('Web.Default.')), 'Web.Default.');
  t.is(nameFromWire(Uint8Array.from([3, 0x61, 0x2e, 0x20, 1, 0x7f, 0])), 'a\\.\\ .\\127.');
  t.is(nameFromWire(Uint8Array.from([2, 0x40, 0x22, 0])), '\\@\\".');
  const err = t.throws(() => nameFromWire(Uint8Array.from([0xc0, 0x0c])));
  t.is((err as { code?: string } | undefined)?.code, ErrorCodes.DNS_MALFORMED);
  t.throws(() => nameFromWire(Uint8Array.from([3, 0x61])));
});

test('text → wire → text is the identity on valid names (case kept)', (t) => {
  fc.assert(
    fc.property(longNameArb, (name) => {
      t.is(nameFromWire(nameToWire(name)), name);
    }),
    { numRuns: 1000 },
  );
});

test('case-insensitive helpers fold ASCII only', (t) => {
  t.true(namesEqual('Web.Default.SVC.', 'web.default.svc'));
  t.false(namesEqual('web.default.', 'web.defaulx.'));
  t.false(namesEqual('\u00c9.', '\u00e9.'));
  t.is(toLowerName('Web.\u00c9X.'), 'web.\u00c9x.');
  t.is(canonicalName('Web.Default'), 'web.default.');
  t.is(canonicalName('.'), '.');
  t.is(fqdn('a\\.'), 'a\\..');
  t.is(fqdn('a\\\\.'), 'a\\\\.');
  t.true(isSubdomain('Pod.NS.svc.Cluster.local.', 'cluster.LOCAL'));
  t.true(isSubdomain('cluster.local', 'cluster.local.'));
  t.false(isSubdomain('xcluster.local.', 'cluster.local.'));
  t.true(isSubdomain('anything.', '.'));
});
