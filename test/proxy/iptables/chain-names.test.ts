/** Chain names: the worked hash examples of proxy.md §1.1 (all appear in upstream test expectations). */
import { createHash } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { chainHash, endpointChainName, serviceChainNames } from '../../../src/proxy/iptables/chain-names.js';

const SERVICE_HASHES: [string, string][] = [
  ['ns1/svc1:p80', 'XPGD46QRK7WJZT7O'],
  ['ns2/svc2:p80', 'GNZBNJ2PO5MGZ6GT'],
  ['ns2/svc2:p8080', '2VJB64SDSIJUP5T6'],
  ['ns3/svc3:p80', 'X27LE4BHSL4DOUIK'],
  ['ns4/svc4:p80', '4SW47YFZTEDKD3PK'],
  ['ns4/svc4:p8082', 'EBDQOQU5SJFXRIL3'],
  ['ns5/svc5:p80', 'NUKIZ6OKUXPJNT4C'],
];

const ENDPOINT_HASHES: [string, string, string][] = [
  ['ns1/svc1:p80', '10.180.0.1:80', 'SXIVWICOYRO3J4NJ'],
  ['ns1/svc1:p80', '10.0.1.1:80', 'SNQ3ZNILQDEJNDQO'],
  ['ns1/svc1:p80', '10.0.0.0:80', 'DKGQUZGBKLTPAR56'],
  ['ns2/svc2:p80', '10.180.0.2:80', 'RS4RBKLTHTF2IUXJ'],
  ['ns2/svc2:p8080', '10.0.2.1:8080', 'UHEGFW77JX3KXTOV'],
  ['ns3/svc3:p80', '10.180.0.3:80', 'OYPFS5VJICHGATKP'],
  ['ns3/svc3:p80', '10.0.3.1:80', 'BSWRHOQ77KEXZLNL'],
  ['ns3/svc3:p80', '10.0.3.2:80', 'DKCFIS26GWF2WLWC'],
  ['ns3/svc3:p80', '10.0.3.3:80', 'JVVZVJ7BSEPPRNBS'],
  ['ns3/svc3:p8081', '203.0.113.4:8081', 'RUVVH7YV3PHQBDOS'],
  ['ns4/svc4:p80', '10.180.0.4:80', 'UKSFD7AGPMPPLUHC'],
  ['ns4/svc4:p80', '10.180.0.5:80', 'C6EBXVWJJZMIWKLZ'],
  ['ns4/svc4:p80', '10.0.4.1:80', 'AYCN5HPXMIRJNJXU'],
  ['ns4/svc4:p8082', '10.4.0.1:8082', 'SU5STNODRYEWJAUF'],
  ['ns5/svc5:p80', '10.180.0.3:80', 'I77PXRDZVX7PMWMN'],
];

for (const [spn, hash] of SERVICE_HASHES) {
  test(`${spn} tcp → ${hash}`, (t) => {
    const names = serviceChainNames(spn, 'TCP');
    t.deepEqual(names, {
      cluster: `KUBE-SVC-${hash}`,
      local: `KUBE-SVL-${hash}`,
      external: `KUBE-EXT-${hash}`,
      firewall: `KUBE-FW-${hash}`,
    });
  });
}

for (const [spn, ep, hash] of ENDPOINT_HASHES) {
  test(`${spn} tcp ${ep} → KUBE-SEP-${hash}`, (t) => {
    t.is(endpointChainName(spn, 'TCP', ep), `KUBE-SEP-${hash}`);
  });
}

test('the same endpoint under two Services gets two chains (the Service port is hashed too)', (t) => {
  t.not(
    endpointChainName('ns3/svc3:p80', 'TCP', '10.180.0.3:80'),
    endpointChainName('ns5/svc5:p80', 'TCP', '10.180.0.3:80'),
  );
});

test('protocol is part of the hash, lower-cased', (t) => {
  t.is(serviceChainNames('ns/dns:dns', 'UDP').cluster, `KUBE-SVC-${chainHash('ns/dns:dnsudp')}`);
  t.not(serviceChainNames('ns/dns:dns', 'UDP').cluster, serviceChainNames('ns/dns:dns', 'TCP').cluster);
});

test('names fit iptables: at most 28 characters, base32 alphabet', (t) => {
  for (const [spn] of SERVICE_HASHES) {
    const n = serviceChainNames(spn, 'SCTP');
    for (const name of Object.values(n)) {
      t.true(name.length <= 28);
      t.regex(name, /^KUBE-(SVC|SVL|EXT|FW)-[A-Z2-7]{16}$/);
    }
  }
});

/** RFC 4648 base32 one bit at a time, the plainest reading of the encoding, to check the piecewise one against. */
function referenceHash(input: string): string {
  const bytes = createHash('sha256').update(input).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  for (let group = 0; group < 16; group++) {
    let value = 0;
    for (let bit = group * 5; bit < group * 5 + 5; bit++)
      value = (value << 1) | ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1);
    out += alphabet[value];
  }
  return out;
}

test('property: the hash is base32 of the first 10 bytes of SHA-256 (UTF-8), for any input', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (input) => chainHash(input) === referenceHash(input)),
    { numRuns: 2000 },
  );
  t.pass();
});
