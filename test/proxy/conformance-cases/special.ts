/** Packets no Service handles, Services kube-proxy skips, dual-stack. */

import {
  type ConformanceCase,
  EXTERNAL,
  FROM_NODE,
  NODE_A,
  NODE_A_IP6,
  NODE_B,
  nodes,
  POD,
  pkt,
  tcp,
  verdictIs,
} from '../conformance-world.js';
import { service, slice } from '../fixtures.js';

export const specialCases: ConformanceCase[] = [
  {
    name: 'no Service > a packet matching no Service passes unchanged',
    run(t, h) {
      const rig = h.setup([...nodes()]);
      const p = tcp('10.244.1.5:40000', '8.8.8.8:443');
      const v = rig.send(p, POD);
      verdictIs(t, v, 'ACCEPT');
      t.is(v.endpoint, null);
      t.deepEqual(v.packet, p);
      t.is(v.snat, null);
      t.is(v.service, null);
    },
  },
  {
    name: 'ExternalName > gets no proxy rules',
    run(t, h) {
      const rig = h.setup([
        ...nodes(),
        service('default', 'ext', {
          type: 'ExternalName',
          externalName: 'example.com',
          clusterIP: '10.96.0.60',
          ports: [{ port: 80 }],
        }),
      ]);
      const v = rig.send(tcp('10.244.1.5:40000', '10.96.0.60:80'), POD);
      verdictIs(t, v, 'ACCEPT');
      t.is(v.endpoint, null);
      t.is(rig.table.size('IPv4'), 0);
    },
  },
  {
    name: 'headless > gets no proxy rules',
    run(t, h) {
      const rig = h.setup([
        ...nodes(),
        service('default', 'db', { clusterIP: 'None', ports: [{ port: 5432 }] }),
        slice('default', 'db', [{ ip: '10.244.1.10', node: NODE_A }], [{ port: 5432 }]),
      ]);
      t.is(rig.table.size('IPv4'), 0);
      verdictIs(t, rig.send(tcp('10.244.1.5:40000', '10.244.1.10:5432'), POD), 'ACCEPT');
    },
  },
  {
    name: 'dual-stack > IPv6 ClusterIP is DNATed to an IPv6 endpoint written in brackets',
    run(t, h) {
      const rig = h.setup([
        ...nodes(),
        service('default', 'ds', {
          clusterIP: '10.96.0.70',
          clusterIPs: ['10.96.0.70', 'fd00:96::70'],
          ipFamilies: ['IPv4', 'IPv6'],
          ipFamilyPolicy: 'RequireDualStack',
          ports: [{ port: 80 }],
        }),
        slice('default', 'ds', [{ ip: '10.244.2.10', node: NODE_B }], [{ port: 8080 }]),
        slice('default', 'ds', [{ ip: 'fd00:10:2::10', node: NODE_B }], [{ port: 8080 }]),
      ]);
      const v6 = rig.send(pkt('TCP', '[fd00:10:1::5]:40000', '[fd00:96::70]:80'), POD);
      verdictIs(t, v6, 'DNAT');
      t.is(v6.endpoint, '[fd00:10:2::10]:8080');
      t.deepEqual(v6.packet.dst, { ip: 'fd00:10:2::10', port: 8080 });
      const v4 = rig.send(tcp('10.244.1.5:40000', '10.96.0.70:80'), POD);
      t.is(v4.endpoint, '10.244.2.10:8080');
    },
  },
  {
    name: 'dual-stack > IPv6 masquerade uses the node IPv6 address',
    run(t, h) {
      const rig = h.setup([
        ...nodes(),
        service('default', 'ds', {
          type: 'NodePort',
          clusterIP: 'fd00:96::71',
          ipFamilies: ['IPv6'],
          ports: [{ port: 80, nodePort: 30071 }],
        }),
        slice('default', 'ds', [{ ip: 'fd00:10:2::10', node: NODE_B }], [{ port: 8080 }]),
      ]);
      const v = rig.send(pkt('TCP', '[2001:db8::9]:40000', `[${NODE_A_IP6}]:30071`), EXTERNAL);
      verdictIs(t, v, 'DNAT');
      t.is(v.snat, NODE_A_IP6);
      const n = rig.send(pkt('TCP', `[${NODE_A_IP6}]:40001`, '[fd00:96::71]:80'), FROM_NODE);
      t.is(n.snat, NODE_A_IP6);
    },
  },
];
