import test from 'ava';
import { checkFixture, checkText, type FixtureCase, fixtureTable, MSG } from './helpers.js';

test('the brief example: a port out of range is located at its key and names object, field and value', async (t) => {
  const { lines, result } = await checkFixture('svc-port-range.yaml');
  t.deepEqual(lines, [
    'fixtures/bad/svc-port-range.yaml:12:7: Service default/web: spec.ports[1].port: must be between 1 and 65535, inclusive, got 70000 (document 1)',
  ]);
  t.is(result.issues[0]?.code, 'E_MANIFEST_INVALID');
  t.deepEqual(result.issues[0]?.position, {
    file: 'fixtures/bad/svc-port-range.yaml',
    document: 1,
    line: 12,
    column: 7,
  });
  t.is(result.issues[0]?.object, 'Service default/web');
  t.is(result.issues[0]?.field, 'spec.ports[1].port');
  t.deepEqual(result.objects, []);
});

const unsupported = (value: string, supported: string) =>
  `Unsupported value: "${value}": supported values: ${supported}`;
const types = '"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"';

const cases: FixtureCase[] = [
  ['svc-name.yaml', [`4:3: Service default/1web: metadata.name: ${MSG.dns1035Label}, got "1web" (document 1)`]],
  ['svc-type.yaml', [`6:3: Service default/web: spec.type: ${unsupported('Balanced', types)} (document 1)`]],
  [
    'svc-ports-required.yaml',
    [
      '5:1: Service default/web: spec.ports: Required value: a Service needs at least one port unless it is headless or ExternalName (document 1)',
    ],
  ],
  [
    'svc-port-names.yaml',
    [
      '9:7: Service default/web: spec.ports[1].name: Required value: each port needs a name when a Service has more than one (document 1)',
      `10:7: Service default/web: spec.ports[2].name: ${MSG.dns1123Label}, got "HTTP" (document 1)`,
      '12:7: Service default/web: spec.ports[3].name: Duplicate value: "http" (document 1)',
    ],
  ],
  [
    'svc-protocol.yaml',
    [`8:7: Service default/web: spec.ports[0].protocol: Unsupported value: "HTTP": ${MSG.protocols} (document 1)`],
  ],
  [
    'svc-target-port.yaml',
    [
      '9:7: Service default/web: spec.ports[0].targetPort: must contain at least one letter (a-z), got "8080" (a quoted number is read as a port name: write it without quotes) (document 1)',
      `12:7: Service default/web: spec.ports[1].targetPort: ${MSG.port}, got 70000 (document 1)`,
      '15:7: Service default/web: spec.ports[2].targetPort: must not contain consecutive hyphens, got "web--http" (document 1)',
    ],
  ],
  [
    'svc-node-port.yaml',
    [
      "9:7: Service default/web: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP' (document 1)",
    ],
  ],
  [
    'svc-node-port-syntax.yaml',
    [
      `10:7: Service default/web: spec.ports[0].nodePort: ${MSG.port}, got 70000 (document 1)`,
      '16:7: Service default/web: spec.ports[2].nodePort: Duplicate value: 30001 (also used by spec.ports[1]) (document 1)',
    ],
  ],
  [
    'svc-duplicate-port.yaml',
    [
      '12:7: Service default/web: spec.ports[2]: Duplicate value: "80/TCP" (same port and protocol as spec.ports[0]) (document 1)',
    ],
  ],
  ['svc-cluster-ip.yaml', [`6:3: Service default/web: spec.clusterIP: ${MSG.ip}, got "10.96.0.300" (document 1)`]],
  [
    'svc-cluster-ip-leading-zero.yaml',
    [
      `6:3: Service default/web: spec.clusterIP: ${MSG.ip}, got "010.96.0.1" (leading zeros are ambiguous (octal or decimal?): write each part in plain decimal) (document 1)`,
    ],
  ],
  [
    'svc-cluster-ips-first.yaml',
    ['7:3: Service default/web: spec.clusterIPs: first value must match `clusterIP`, got ["10.96.0.11"] (document 1)'],
  ],
  [
    'svc-cluster-ips-without-ip.yaml',
    [
      '6:3: Service default/web: spec.clusterIPs: must be empty when `clusterIP` is not specified, got ["10.96.0.11"] (document 1)',
    ],
  ],
  [
    'svc-cluster-ips-families.yaml',
    [
      '7:3: Service default/web: spec.clusterIPs: may specify no more than one IP for each IP family, got ["10.96.0.10","10.96.0.11"] (document 1)',
    ],
  ],
  [
    'svc-cluster-ips-too-many.yaml',
    [
      '7:3: Service default/web: spec.clusterIPs: may only hold up to 2 values, got ["10.96.0.10","fd00::10","10.96.0.12"] (document 1)',
    ],
  ],
  [
    'svc-ip-families.yaml',
    [
      `8:7: Service default/web: spec.ipFamilies[1]: ${unsupported('IPv5', '"IPv4", "IPv6"')} (document 1)`,
      '9:7: Service default/web: spec.ipFamilies[2]: Duplicate value: "IPv4" (document 1)',
      `10:3: Service default/web: spec.ipFamilyPolicy: ${unsupported('DualStack', '"PreferDualStack", "RequireDualStack", "SingleStack"')} (document 1)`,
    ],
  ],
  [
    'svc-single-stack-dual.yaml',
    [
      `6:3: Service default/web: spec.ipFamilyPolicy: must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified, got "SingleStack" (document 1)`,
    ],
  ],
  [
    'svc-family-mismatch.yaml',
    [
      '6:3: Service default/web: spec.clusterIP: expected an IPv6 value as indicated by `ipFamilies[0]`, got "10.96.0.5" (document 1)',
    ],
  ],
  [
    'svc-headless-nodeport.yaml',
    [
      `7:3: Service default/web: spec.clusterIP: may not be set to 'None' for NodePort services, got "None" (document 1)`,
    ],
  ],
  [
    'svc-external-name-missing.yaml',
    [
      '5:1: Service default/web: spec.externalName: Required value: ExternalName services need the DNS name they alias (document 1)',
    ],
  ],
  [
    'svc-external-name-invalid.yaml',
    [
      `7:3: Service default/web: spec.externalName: ${MSG.dns1123Subdomain}, got "DB.Example.com" (document 1)`,
      '8:3: Service default/web: spec.clusterIP: Forbidden: may not be set for ExternalName services (document 1)',
    ],
  ],
  [
    'svc-session-affinity.yaml',
    [`6:3: Service default/web: spec.sessionAffinity: ${unsupported('Sticky', '"ClientIP", "None"')} (document 1)`],
  ],
  [
    'svc-affinity-timeout.yaml',
    [
      '9:7: Service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be greater than 0 and less than 86400, got 86401 (document 1)',
    ],
  ],
  [
    'svc-etp-cluster-ip.yaml',
    [
      '6:3: Service default/web: spec.externalTrafficPolicy: may only be set for externally-accessible services, got "Local" (type NodePort or LoadBalancer, or ClusterIP with externalIPs) (document 1)',
    ],
  ],
  [
    'svc-traffic-policies.yaml',
    [
      `7:3: Service default/web: spec.externalTrafficPolicy: ${unsupported('Global', '"Cluster", "Local"')} (document 1)`,
      `8:3: Service default/web: spec.internalTrafficPolicy: ${unsupported('Node', '"Cluster", "Local"')} (document 1)`,
    ],
  ],
  [
    'svc-lb-fields.yaml',
    [
      "6:3: Service default/web: spec.loadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer' (document 1)",
      `7:7: Service default/web: spec.loadBalancerSourceRanges[0]: ${MSG.cidr}, got "10.0.0.0/33" (document 1)`,
      "8:3: Service default/web: spec.allocateLoadBalancerNodePorts: Forbidden: may only be used when `type` is 'LoadBalancer' (document 1)",
    ],
  ],
  [
    'svc-lb-kubelet-port.yaml',
    [
      '9:7: Service default/web: spec.ports[1]: may not expose port 10250 externally since it is used by kubelet, got 10250 (document 1)',
    ],
  ],
  [
    'svc-external-ips.yaml',
    [
      `8:7: Service default/web: spec.externalIPs[1]: ${MSG.ip}, got "203.0.113.300" (document 1)`,
      '9:7: Service default/web: spec.externalIPs[2]: may not be in the loopback range (127.0.0.0/8, ::1/128), got "127.0.0.1" (document 1)',
    ],
  ],
  ['svc-selector.yaml', [`7:5: Service default/web: spec.selector: ${MSG.labelValue}, got "-web" (document 1)`]],
];

fixtureTable(test, cases);

test('LoadBalancer status: ingress IPs are IPs, ipMode needs an ip and defaults to VIP, and only LoadBalancers have one', (t) => {
  const { lines, result } = checkText(
    `apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
status:
  loadBalancer:
    ingress:
      - ip: 172.18.255.300
      - hostname: lb.example.com
        ipMode: Proxy
      - ip: 172.18.255.201
        ipMode: Tunnel
---
apiVersion: v1
kind: Service
metadata: {name: plain}
spec:
  ports: [{port: 80}]
status:
  loadBalancer:
    ingress: [{ip: 172.18.255.202}]
---
apiVersion: v1
kind: Service
metadata: {name: ok}
spec:
  type: LoadBalancer
  ports: [{port: 80}]
status:
  loadBalancer:
    ingress: [{ip: 172.18.255.203}]
`,
    'lb.yaml',
  );
  t.deepEqual(lines, [
    `lb.yaml:10:9: Service default/lb: status.loadBalancer.ingress[0].ip: ${MSG.ip}, got "172.18.255.300" (document 1)`,
    'lb.yaml:12:9: Service default/lb: status.loadBalancer.ingress[1].ipMode: Forbidden: may not be specified when `ip` is not set (document 1)',
    'lb.yaml:14:9: Service default/lb: status.loadBalancer.ingress[2].ipMode: Unsupported value: "Tunnel": supported values: "Proxy", "VIP" (document 1)',
    "lb.yaml:23:5: Service default/plain: status.loadBalancer.ingress: Forbidden: may only be used when `spec.type` is 'LoadBalancer' (document 2)",
  ]);
  const ok = result.objects[0];
  t.deepEqual(ok?.kind === 'Service' ? ok.status.loadBalancer.ingress : undefined, [
    { ip: '172.18.255.203', ipMode: 'VIP' },
  ]);
});

test('healthCheckNodePort only for LoadBalancer with externalTrafficPolicy Local; loadBalancerClass only for LoadBalancers', (t) => {
  const { lines } = checkText(
    `apiVersion: v1
kind: Service
metadata: {name: np}
spec:
  type: NodePort
  healthCheckNodePort: 32000
  loadBalancerClass: example.com/lb
  ports: [{port: 80}]
`,
    'hc.yaml',
  );
  t.deepEqual(lines, [
    "hc.yaml:6:3: Service default/np: spec.healthCheckNodePort: may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local', got 32000 (document 1)",
    "hc.yaml:7:3: Service default/np: spec.loadBalancerClass: Forbidden: may only be used when `type` is 'LoadBalancer' (document 1)",
  ]);
});
