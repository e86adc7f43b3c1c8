/**
 * EndpointSlice port order: upstream sorts a slice's ports by the FNV-128a hash of spew's `%#v` of each
 * discovery/v1 EndpointPort (k8s.io/endpointslice NewPortMapKey, apimachinery dump.ForHash). The texts and hashes
 * below were printed by Go itself (go-spew 1.1.1 with dump.ForHash's settings, hash/fnv New128a).
 */
import test from 'ava';
import { inSliceOrder, portHash, spewText } from '../../src/controllers/port-order.js';
import type { EndpointPort } from '../../src/model/types.js';

const fromGo: readonly [EndpointPort, string, string][] = [
  [
    { name: '', port: 8080, protocol: 'TCP' },
    '(v1.EndpointPort){Name:(*string) Protocol:(*v1.Protocol)TCP Port:(*int32)8080 AppProtocol:(*string)<nil>}',
    '3b28a02dcead55ad0b93f0014e194ac7',
  ],
  [
    { name: 'grpc', port: 9000, protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
    '(v1.EndpointPort){Name:(*string)grpc Protocol:(*v1.Protocol)TCP Port:(*int32)9000 AppProtocol:(*string)kubernetes.io/h2c}',
    'f557ab49c7015e27952d3ede5a980035',
  ],
  [
    { name: 'dns', port: 53, protocol: 'UDP' },
    '(v1.EndpointPort){Name:(*string)dns Protocol:(*v1.Protocol)UDP Port:(*int32)53 AppProtocol:(*string)<nil>}',
    '1caf216365b57b5d2659d4ba9f662580',
  ],
  [
    { name: 'metrics', port: 9153, protocol: 'SCTP' },
    '(v1.EndpointPort){Name:(*string)metrics Protocol:(*v1.Protocol)SCTP Port:(*int32)9153 AppProtocol:(*string)<nil>}',
    '69f6a487e6ce067262acc1e0c3d0e375',
  ],
];

for (const [port, text, hash] of fromGo) {
  test(`spew text and FNV-128a of ${port.name || '(unnamed)'}:${port.port}/${port.protocol}, as Go prints them`, (t) => {
    t.is(spewText(port), text);
    t.is(portHash(port), hash);
  });
}

const p = (name: string, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): EndpointPort => ({ name, port, protocol });
const orders: readonly [string, EndpointPort[], string[]][] = [
  // kube-dns on current clusters reads 53,53,9153 (on MD5-era clusters it read 9153,53,53).
  ['kube-dns', [p('dns', 53, 'UDP'), p('dns-tcp', 53), p('metrics', 9153)], ['dns', 'dns-tcp', 'metrics']],
  ['metrics listed first', [p('metrics', 9000), p('http', 8080)], ['http', 'metrics']],
  ['https listed first', [p('https', 8443), p('http', 8080)], ['http', 'https']],
  ['one port', [p('web', 80)], ['web']],
];

for (const [name, ports, expected] of orders) {
  test(`slice port order: ${name}`, (t) => {
    t.deepEqual(
      inSliceOrder(ports).map((port) => port.name),
      expected,
    );
  });
}
