/** ClusterIP cases: DNAT to an endpoint, masquerade rules (clusterCIDR, masqueradeAll), hairpin. */

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
  port,
  tcp,
  verdictIs,
} from '../conformance-world.js';
import { service, slice } from '../fixtures.js';

const EPS = ['10.244.1.10:8080', '10.244.2.10:8080'];

function web() {
  return [
    ...nodes(),
    service('default', 'web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80 }] }),
    slice(
      'default',
      'web',
      [
        { ip: '10.244.1.10', node: NODE_A },
        { ip: '10.244.2.10', node: NODE_B },
      ],
      [{ name: 'http', port: 8080 }],
    ),
  ];
}

export const clusterIPCases: ConformanceCase[] = [
  {
    name: 'ClusterIP > pod to ClusterIP is DNATed to an endpoint',
    run(t, h) {
      const rig = h.setup(web());
      const v = rig.send(tcp('10.244.1.5:40000', '10.96.0.10:80'), POD);
      verdictIs(t, v, 'DNAT');
      endpointIn(t, v, EPS);
      t.is(v.service, 'default/web:http');
      t.deepEqual(v.packet.dst, { ip: v.endpoint!.split(':')[0]!, port: 8080 });
      const snat = h.expected<string | null>(null, {
        userspace: { reason: 'the proxy opens a new connection from the node', value: NODE_A_IP },
      });
      t.is(v.snat, snat);
      if (snat === null)
        t.deepEqual(v.packet.src, { ip: '10.244.1.5', port: 40000 }, 'pod source kept (it is inside the cluster CIDR)');
      else t.is(v.packet.src.ip, snat, 'the endpoint sees the node');
      t.true(v.steps.length > 0, 'the decision explains itself');
    },
  },
  {
    name: 'ClusterIP > every endpoint gets new flows',
    run(t, h) {
      const rig = h.setup(web());
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++)
        seen.add(rig.send(tcp(`10.244.1.5:${port(i)}`, '10.96.0.10:80'), POD).endpoint ?? 'none');
      t.deepEqual([...seen].sort(), EPS);
    },
  },
  {
    name: 'ClusterIP > off-cluster source is masqueraded (clusterCIDR set)',
    run(t, h) {
      const rig = h.setup(web());
      const v = rig.send(tcp(`${CLIENT}:40000`, '10.96.0.10:80'), EXTERNAL);
      verdictIs(t, v, 'DNAT');
      t.is(v.snat, NODE_A_IP);
      t.is(v.packet.src.ip, NODE_A_IP);
    },
  },
  {
    name: 'ClusterIP > node-originated traffic is masqueraded',
    run(t, h) {
      const rig = h.setup(web());
      const v = rig.send(tcp(`${NODE_A_IP}:40000`, '10.96.0.10:80'), FROM_NODE);
      verdictIs(t, v, 'DNAT');
      t.is(v.snat, NODE_A_IP);
    },
  },
  {
    name: 'ClusterIP > no clusterCIDR: off-cluster source is not masqueraded',
    run(t, h) {
      const rig = h.setup(web(), { config: { clusterCIDR: '' } });
      const v = rig.send(tcp(`${CLIENT}:40000`, '10.96.0.10:80'), EXTERNAL);
      verdictIs(t, v, 'DNAT');
      t.is(
        v.snat,
        h.expected<string | null>(null, {
          userspace: { reason: 'the proxy opens a new connection from the node', value: NODE_A_IP },
        }),
      );
    },
  },
  {
    name: 'ClusterIP > masqueradeAll masquerades pod traffic',
    run(t, h) {
      const rig = h.setup(web(), { config: { masqueradeAll: true } });
      const v = rig.send(tcp('10.244.1.5:40000', '10.96.0.10:80'), POD);
      verdictIs(t, v, 'DNAT');
      t.is(v.snat, NODE_A_IP);
    },
  },
  {
    name: 'ClusterIP > hairpin: an endpoint reaching itself through its Service is masqueraded',
    run(t, h) {
      const objects = [
        ...nodes(),
        service('default', 'solo', { clusterIP: '10.96.0.11', ports: [{ port: 80 }] }),
        slice('default', 'solo', [{ ip: '10.244.1.10', node: NODE_A }], [{ port: 8080 }]),
      ];
      const rig = h.setup(objects);
      const v = rig.send(tcp('10.244.1.10:40000', '10.96.0.11:80'), { from: 'pod', pod: 'default/solo-0' });
      verdictIs(t, v, 'DNAT');
      t.is(v.endpoint, '10.244.1.10:8080');
      t.is(v.snat, NODE_A_IP, 'without SNAT the reply would bypass the NAT and be dropped');
    },
  },
  {
    name: 'ClusterIP > a port the Service does not have is not rewritten',
    run(t, h) {
      const rig = h.setup(web());
      const v = rig.send(tcp('10.244.1.5:40000', '10.96.0.10:81'), POD);
      t.is(v.endpoint, null);
      verdictIs(
        t,
        v,
        h.expected<'ACCEPT' | 'REJECT'>('ACCEPT', {
          ipvs: {
            reason: 'KUBE-IPVS-FILTER rejects new connections to an IPVS address on an unknown port',
            value: 'REJECT',
          },
        }),
      );
    },
  },
];
