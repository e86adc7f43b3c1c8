/** Address text helpers. */
import test from 'ava';
import fc from 'fast-check';
import { describePacket, familyOf, hostPort, parseHostPort, reversed } from '../../src/proxy/packet.js';
import { holds } from '../cni/helpers.js';

test('hostPort brackets IPv6 only', (t) => {
  t.is(hostPort('10.0.0.1', 80), '10.0.0.1:80');
  t.is(hostPort('fd00::1', 80), '[fd00::1]:80');
});

test('parseHostPort accepts what hostPort writes and rejects the rest', (t) => {
  t.deepEqual(parseHostPort('[fd00::1]:443'), { ip: 'fd00::1', port: 443 });
  t.deepEqual(parseHostPort('10.0.0.1:0'), { ip: '10.0.0.1', port: 0 });
  for (const bad of ['10.0.0.1', 'fd00::1:80', '[fd00::1]', '10.0.0.1:65536', '10.0.0.1:080', ':80', '[fd00::1]:x'])
    t.is(parseHostPort(bad), undefined, bad);
});

test('round trip (property)', (t) => {
  holds(
    t,
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 }), (ip, port) => {
      const back = parseHostPort(hostPort(ip, port));
      return back !== undefined && back.ip === ip && back.port === port;
    }),
  );
});

test('familyOf, reversed, describePacket', (t) => {
  t.is(familyOf('fd00::1'), 'IPv6');
  t.is(familyOf('10.0.0.1'), 'IPv4');
  const p = { proto: 'UDP' as const, src: { ip: '10.0.0.1', port: 5 }, dst: { ip: 'fd00::1', port: 53 } };
  t.deepEqual(reversed(p), { proto: 'UDP', src: p.dst, dst: p.src });
  t.is(describePacket(p), 'UDP 10.0.0.1:5 -> [fd00::1]:53');
});
