import test from 'ava';
import { checkText, type FixtureCase, fixtureTable, MSG } from './helpers.js';

const unsupported = (value: string, supported: string) =>
  `Unsupported value: "${value}": supported values: ${supported}`;

const cases: FixtureCase[] = [
  [
    'eps-address-type.yaml',
    [`5:1: EndpointSlice default/web-abc: addressType: ${unsupported('IP', '"FQDN", "IPv4", "IPv6"')} (document 1)`],
  ],
  [
    'eps-addresses.yaml',
    [
      '12:5: EndpointSlice default/web-abc: endpoints[1].addresses: Required value: must contain at least 1 address (document 1)',
      '13:17: EndpointSlice default/web-abc: endpoints[2].addresses[0]: must be a valid IPv4 address, got "fd00::5" (document 1)',
      '13:28: EndpointSlice default/web-abc: endpoints[2].addresses[1]: may not be in the loopback range (127.0.0.0/8, ::1/128), got "127.0.0.1" (document 1)',
      '14:5: EndpointSlice default/web-abc: endpoints[2].hostname: must not contain dots, got "web.0" (document 1)',
    ],
  ],
  [
    'eps-ports.yaml',
    [
      '9:5: EndpointSlice default/web-abc: ports[1].name: Duplicate value: "" (document 1)',
      `11:5: EndpointSlice default/web-abc: ports[2].name: ${MSG.dns1123Label}, got "Metrics" (document 1)`,
      `13:5: EndpointSlice default/web-abc: ports[2].protocol: Unsupported value: "ICMP": ${MSG.protocols} (document 1)`,
    ],
  ],
  [
    'eps-conditions.yaml',
    [
      '9:7: EndpointSlice default/web-abc: endpoints[0].conditions.ready: must be a boolean, got "true" (kubectl fails too: "cannot unmarshal string into" a bool field; remove the quotes) (document 1)',
    ],
  ],
  [
    'eps-hints.yaml',
    [
      '11:11: EndpointSlice default/web-abc: endpoints[0].hints.forZones[1].name: Duplicate value: "zone-a" (document 1)',
      `12:11: EndpointSlice default/web-abc: endpoints[0].hints.forZones[2].name: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'), got "zone a" (document 1)`,
      `14:11: EndpointSlice default/web-abc: endpoints[0].hints.forNodes[0].name: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), got "Node_1" (document 1)`,
    ],
  ],
  [
    'node-pod-cidrs.yaml',
    [
      '6:3: Node worker-1: spec.podCIDRs: may specify no more than one CIDR for each IP family, got ["10.244.1.0/24","10.244.2.0/24","10.244.3.0/33"] (document 1)',
      `9:7: Node worker-1: spec.podCIDRs[2]: ${MSG.cidr}, got "10.244.3.0/33" (document 1)`,
    ],
  ],
  [
    'node-taints.yaml',
    [
      '10:7: Node worker-1: spec.taints[1]: Duplicate value: taints must be unique by key and effect pair (document 1)',
      `14:7: Node worker-1: spec.taints[2].effect: ${unsupported('Sometimes', '"NoExecute", "NoSchedule", "PreferNoSchedule"')} (document 1)`,
    ],
  ],
  [
    'node-status.yaml',
    [
      `8:7: Node worker-1: status.addresses[0].address: ${MSG.ip}, got "172.18.0.300" (document 1)`,
      `9:7: Node worker-1: status.addresses[1].type: ${unsupported('PublicIP', '"ExternalDNS", "ExternalIP", "Hostname", "InternalDNS", "InternalIP"')} (document 1)`,
      '12:5: Node worker-1: status.allocatable.cpu: must be a valid quantity, got "eight" (e.g. 500m, 2, 128Mi, 1G) (document 1)',
    ],
  ],
  ['ns-name.yaml', ['4:3: Namespace team.a: metadata.name: must not contain dots, got "team.a" (document 1)']],
  [
    'ns-phase.yaml',
    [`6:3: Namespace team-a: status.phase: ${unsupported('Deleted', '"Active", "Terminating"')} (document 1)`],
  ],
  [
    'netpol-ports.yaml',
    [
      '10:11: NetworkPolicy default/web: spec.ingress[0].ports[0].endPort: must be greater than or equal to `port`, got 8000 (document 1)',
      '12:11: NetworkPolicy default/web: spec.ingress[0].ports[1].endPort: may not be specified when `port` is non-numeric, got 9000 (document 1)',
      '13:11: NetworkPolicy default/web: spec.ingress[0].ports[2].endPort: may not be specified when `port` is not specified, got 9000 (document 1)',
      `14:11: NetworkPolicy default/web: spec.ingress[0].ports[3].protocol: Unsupported value: "ICMP": ${MSG.protocols} (document 1)`,
    ],
  ],
  [
    'netpol-ip-block.yaml',
    [
      '12:17: NetworkPolicy default/web: spec.egress[0].to[0].ipBlock.except[0]: must be a strict subset of `cidr`, got "10.1.0.0/24" (cidr is 10.0.0.0/16) (document 1)',
      '13:17: NetworkPolicy default/web: spec.egress[0].to[0].ipBlock.except[1]: must be a strict subset of `cidr`, got "10.0.0.0/16" (cidr is 10.0.0.0/16) (document 1)',
      `15:13: NetworkPolicy default/web: spec.egress[0].to[1].ipBlock.cidr: ${MSG.cidr}, got "10.0.0.0/40" (document 1)`,
    ],
  ],
  [
    'netpol-peers.yaml',
    [
      '11:11: NetworkPolicy default/web: spec.ingress[0].from[0]: Required value: must specify a peer (document 1)',
      '12:11: NetworkPolicy default/web: spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer (document 1)',
    ],
  ],
  [
    'netpol-policy-types.yaml',
    [
      `9:7: NetworkPolicy default/web: spec.policyTypes[1]: ${unsupported('Outbound', '"Egress", "Ingress"')} (document 1)`,
    ],
  ],
];

fixtureTable(test, cases);

test('an EndpointSlice may hold at most 1000 endpoints (the API limit; 100 is the per-endpoint address limit)', (t) => {
  const endpoints = Array.from({ length: 1001 }, (_, i) => `  - addresses: ["10.244.${i >> 8}.${i & 255}"]`);
  const text = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: big
addressType: IPv4
endpoints:
${endpoints.join('\n')}
`;
  t.deepEqual(checkText(text, 'big.yaml').lines, [
    'big.yaml:6:1: EndpointSlice default/big: endpoints: Too many: 1001: must have at most 1000 items (document 1)',
  ]);
  const ok = text.replace(/\n {2}- addresses: \["10\.244\.3\.232"\]\n$/, '\n');
  t.deepEqual(checkText(ok, 'big.yaml').lines, []);
});

test('FQDN EndpointSlices take domain names, and IPv6 slices IPv6 addresses', (t) => {
  const { lines } = checkText(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext
addressType: FQDN
endpoints:
  - addresses: [db.example.com, localhost]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: v6
addressType: IPv6
endpoints:
  - addresses: ["fd00:10:244::5", "10.0.0.1"]
`);
  t.deepEqual(lines, [
    'inline.yaml:7:33: EndpointSlice default/ext: endpoints[0].addresses[1]: should be a domain with at least two segments separated by dots, got "localhost" (document 1)',
    'inline.yaml:15:35: EndpointSlice default/v6: endpoints[0].addresses[1]: must be a valid IPv6 address, got "10.0.0.1" (document 2)',
  ]);
});

test('an ipBlock CIDR with host bits is accepted with a warning, as the API server accepts it', (t) => {
  const { lines, result } = checkText(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
spec:
  podSelector: {}
  egress:
    - to:
        - ipBlock:
            cidr: 10.0.0.1/16
`);
  t.deepEqual(lines, []);
  t.deepEqual(result.warnings, [
    'inline.yaml:10:13: NetworkPolicy default/web: spec.egress[0].to[0].ipBlock.cidr: CIDR value "10.0.0.1/16" has host bits set: it is read as 10.0.0.0/16 (document 1)',
  ]);
});

test('a NetworkPolicy without podSelector is accepted: the field is optional and means every pod', (t) => {
  const { lines, result } = checkText(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all
spec:
  policyTypes: [Ingress]
`);
  t.deepEqual(lines, []);
  t.deepEqual(result.warnings, []);
});

test('an EndpointSlice may list up to 20,000 ports (discovery maxPorts since 1.21), not 100', (t) => {
  const slice = (n: number) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: many}
addressType: IPv4
endpoints: [{addresses: [10.244.0.5]}]
ports: [${Array.from({ length: n }, (_, i) => `{name: p${i}, port: ${10000 + i}}`).join(', ')}]
`;
  t.deepEqual(checkText(slice(120), 'many.yaml').lines, []);
  t.deepEqual(checkText(slice(20001), 'many.yaml').lines, [
    'many.yaml:6:1: EndpointSlice default/many: ports: Too many: 20001: must have at most 20000 items (document 1)',
  ]);
});
