/** External entry points: NodePort, LoadBalancer (source ranges, ipMode Proxy), externalIPs. */

import {
  CLIENT,
  type ConformanceCase,
  EXTERNAL,
  endpointIn,
  FROM_NODE,
  NODE_A,
  NODE_A_IP,
  NODE_B,
  nodes,
  POD,
  tcp,
  verdictIs,
} from '../conformance-world.js';
import { service, slice } from '../fixtures.js';

const EPS = ['10.244.1.10:8080', '10.244.2.10:8080'];

function lb(extra: Record<string, unknown> = {}) {
  return [
    ...nodes(),
    service('default', 'lb', {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.20',
      ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      ingress: ['198.51.100.10'],
      externalIPs: ['198.51.100.20'],
      ...extra,
    }),
    slice(
      'default',
      'lb',
      [
        { ip: '10.244.1.10', node: NODE_A },
        { ip: '10.244.2.10', node: NODE_B },
      ],
      [{ name: 'http', port: 8080 }],
    ),
  ];
}

export const externalCases: ConformanceCase[] = [
  {
    name: 'NodePort > external client to node address is DNATed and masqueraded',
    run(t, h) {
      const rig = h.setup(lb());
      const v = rig.send(tcp(`${CLIENT}:40000`, `${NODE_A_IP}:30080`), EXTERNAL);
      verdictIs(t, v, 'DNAT');
      endpointIn(t, v, EPS);
      t.is(v.snat, NODE_A_IP, 'eTP=Cluster: the endpoint may be on another node');
      t.is(v.packet.src.ip, NODE_A_IP);
    },
  },
  {
    name: 'NodePort > answers on 127.0.0.1 (localhost NodePorts)',
    run(t, h) {
      const rig = h.setup(lb());
      const v = rig.send(tcp('127.0.0.1:40000', '127.0.0.1:30080'), FROM_NODE);
      verdictIs(t, v, 'DNAT');
      t.is(v.snat, NODE_A_IP);
    },
  },
  {
    name: 'NodePort > nodePortAddresses limits the addresses that answer',
    run(t, h) {
      const rig = h.setup(lb(), { config: { nodePortAddresses: ['192.168.1.0/24'] } });
      const v = rig.send(tcp(`${CLIENT}:40000`, `${NODE_A_IP}:30080`), EXTERNAL);
      t.is(v.endpoint, null, 'the node address is outside nodePortAddresses');
      t.not(v.verdict, 'DNAT');
    },
  },
  {
    name: 'NodePort > nodePortAddresses of the other family only: every address of this family answers',
    run(t, h) {
      // NewNodePortAddresses keeps only CIDRs of the proxier's family; none left means the zero CIDR.
      const rig = h.setup(lb(), { config: { nodePortAddresses: ['fd00:1::/64'] } });
      verdictIs(t, rig.send(tcp(`${CLIENT}:40000`, `${NODE_A_IP}:30080`), EXTERNAL), 'DNAT');
    },
  },
  {
    name: 'LoadBalancer > client inside loadBalancerSourceRanges reaches an endpoint',
    run(t, h) {
      const rig = h.setup(lb({ loadBalancerSourceRanges: ['203.0.113.0/25'] }));
      const v = rig.send(tcp(`${CLIENT}:40000`, '198.51.100.10:80'), EXTERNAL);
      verdictIs(t, v, 'DNAT');
      endpointIn(t, v, EPS);
      t.is(v.snat, NODE_A_IP);
    },
  },
  {
    name: 'LoadBalancer > client outside loadBalancerSourceRanges is dropped',
    run(t, h) {
      const rig = h.setup(lb({ loadBalancerSourceRanges: ['203.0.113.0/25'] }));
      verdictIs(t, rig.send(tcp('203.0.113.130:40000', '198.51.100.10:80'), EXTERNAL), 'DROP');
      verdictIs(t, rig.send(tcp('10.244.1.5:40000', '198.51.100.10:80'), POD), 'DROP', 'pods are not in the ranges');
    },
  },
  {
    name: 'LoadBalancer > a zero-masked range among loadBalancerSourceRanges lets every client in',
    run(t, h) {
      // newBaseServiceInfo (kubernetes#132722): 0.0.0.0/0 means "allow any", as no ranges do; the other range is moot.
      const rig = h.setup(lb({ loadBalancerSourceRanges: ['203.0.113.0/25', '0.0.0.0/0'] }));
      verdictIs(t, rig.send(tcp('203.0.113.130:40000', '198.51.100.10:80'), EXTERNAL), 'DNAT');
      verdictIs(t, rig.send(tcp('10.244.1.5:40000', '198.51.100.10:80'), POD), 'DNAT');
    },
  },
  {
    name: 'LoadBalancer > NodePort is not subject to loadBalancerSourceRanges',
    run(t, h) {
      const rig = h.setup(lb({ loadBalancerSourceRanges: ['203.0.113.0/25'] }));
      verdictIs(t, rig.send(tcp('203.0.113.130:40000', `${NODE_A_IP}:30080`), EXTERNAL), 'DNAT');
    },
  },
  {
    name: 'LoadBalancer > ingress with ipMode Proxy gets no rule',
    run(t, h) {
      const rig = h.setup(lb({ ingress: [{ ip: '198.51.100.10', ipMode: 'Proxy' }] }));
      const v = rig.send(tcp(`${CLIENT}:40000`, '198.51.100.10:80'), EXTERNAL);
      t.is(v.endpoint, null);
      verdictIs(t, v, 'ACCEPT');
    },
  },
  {
    name: 'externalIPs > external client to an externalIP is DNATed and masqueraded',
    run(t, h) {
      const rig = h.setup(lb());
      const v = rig.send(tcp(`${CLIENT}:40000`, '198.51.100.20:80'), EXTERNAL);
      verdictIs(t, v, 'DNAT');
      endpointIn(t, v, EPS);
      t.is(v.snat, NODE_A_IP);
    },
  },
];
