/** Traffic policies (eTP/iTP Local), no endpoints, terminating-endpoint fallback. */

import {
  CLIENT,
  type ConformanceCase,
  EXTERNAL,
  endpointIn,
  NODE_A,
  NODE_A_IP,
  NODE_B,
  nodes,
  POD,
  port,
  tcp,
  verdictIs,
} from '../conformance-world.js';
import type { EndpointSpec } from '../fixtures.js';
import { service, slice } from '../fixtures.js';

function svc(eps: EndpointSpec[], extra: Record<string, unknown> = {}) {
  return [
    ...nodes(),
    service('default', 'app', {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.30',
      ports: [{ port: 80, nodePort: 30090 }],
      ingress: ['198.51.100.30'],
      healthCheckNodePort: 32000,
      ...extra,
    }),
    slice('default', 'app', eps, [{ port: 8080 }]),
  ];
}

const LOCAL = { ip: '10.244.1.10', node: NODE_A };
const REMOTE = { ip: '10.244.2.10', node: NODE_B };

export const policyCases: ConformanceCase[] = [
  {
    name: 'eTP Local > node with a local endpoint: local endpoint only, client IP kept',
    run(t, h) {
      const rig = h.setup(svc([LOCAL, REMOTE], { externalTrafficPolicy: 'Local' }));
      for (let i = 0; i < 20; i++) {
        const v = rig.send(tcp(`${CLIENT}:${port(i)}`, `${NODE_A_IP}:30090`), EXTERNAL);
        verdictIs(t, v, 'DNAT');
        t.is(v.endpoint, '10.244.1.10:8080');
        t.is(v.snat, null, 'the client address is preserved');
        t.is(v.packet.src.ip, CLIENT);
      }
    },
  },
  {
    name: 'eTP Local > node without a local endpoint drops external traffic',
    run(t, h) {
      const rig = h.setup(svc([REMOTE], { externalTrafficPolicy: 'Local' }));
      const v = rig.send(tcp(`${CLIENT}:40000`, `${NODE_A_IP}:30090`), EXTERNAL);
      verdictIs(
        t,
        v,
        h.expected<'DROP' | 'DNAT'>('DROP', {
          ipvs: { reason: 'IPVS falls back to cluster endpoints when no local ones exist (PR #97081)', value: 'DNAT' },
        }),
      );
      verdictIs(t, rig.send(tcp(`${CLIENT}:40001`, '198.51.100.30:80'), EXTERNAL), v.verdict, 'LB IP as NodePort');
    },
  },
  {
    name: 'eTP Local > pod traffic to an external address short-circuits to all endpoints without SNAT',
    run(t, h) {
      const rig = h.setup(svc([REMOTE], { externalTrafficPolicy: 'Local' }));
      const v = rig.send(tcp('10.244.1.5:40000', '198.51.100.30:80'), POD);
      verdictIs(t, v, 'DNAT');
      t.is(v.endpoint, '10.244.2.10:8080');
      t.is(v.snat, null);
    },
  },
  {
    name: 'iTP Local > ClusterIP traffic goes to local endpoints only',
    run(t, h) {
      const rig = h.setup(svc([LOCAL, REMOTE], { internalTrafficPolicy: 'Local' }));
      for (let i = 0; i < 20; i++) {
        const v = rig.send(tcp(`10.244.1.5:${port(i)}`, '10.96.0.30:80'), POD);
        t.is(v.endpoint, '10.244.1.10:8080');
      }
    },
  },
  {
    name: 'iTP Local > no local endpoints: ClusterIP traffic is dropped, NodePort still served',
    run(t, h) {
      const rig = h.setup(svc([REMOTE], { internalTrafficPolicy: 'Local' }));
      verdictIs(
        t,
        rig.send(tcp('10.244.1.5:40000', '10.96.0.30:80'), POD),
        h.expected<'DROP' | 'DNAT'>('DROP', {
          ipvs: { reason: 'IPVS falls back to cluster endpoints when no local ones exist', value: 'DNAT' },
        }),
      );
      verdictIs(
        t,
        rig.send(tcp(`${CLIENT}:40000`, `${NODE_A_IP}:30090`), EXTERNAL),
        'DNAT',
        'iTP does not affect NodePorts',
      );
    },
  },
  {
    name: 'no endpoints > ClusterIP, NodePort and LB IP are rejected',
    run(t, h) {
      const rig = h.setup(svc([]));
      verdictIs(t, rig.send(tcp('10.244.1.5:40000', '10.96.0.30:80'), POD), 'REJECT');
      verdictIs(t, rig.send(tcp(`${CLIENT}:40000`, `${NODE_A_IP}:30090`), EXTERNAL), 'REJECT');
      verdictIs(t, rig.send(tcp(`${CLIENT}:40001`, '198.51.100.30:80'), EXTERNAL), 'REJECT');
    },
  },
  {
    name: 'terminating > serving terminating endpoints are used when none is ready',
    run(t, h) {
      const rig = h.setup(
        svc([
          { ...LOCAL, ready: false, serving: true, terminating: true },
          { ip: '10.244.2.11', node: NODE_B, ready: false, serving: false, terminating: true },
        ]),
      );
      const v = rig.send(tcp('10.244.1.5:40000', '10.96.0.30:80'), POD);
      verdictIs(t, v, 'DNAT');
      t.is(v.endpoint, '10.244.1.10:8080');
    },
  },
  {
    name: 'terminating > ready endpoints win over serving terminating ones',
    run(t, h) {
      const rig = h.setup(svc([{ ...LOCAL, ready: false, serving: true, terminating: true }, REMOTE]));
      for (let i = 0; i < 20; i++)
        endpointIn(t, rig.send(tcp(`10.244.1.5:${port(i)}`, '10.96.0.30:80'), POD), ['10.244.2.10:8080']);
    },
  },
  {
    name: 'terminating > only not-serving terminating endpoints count as no endpoints',
    run(t, h) {
      const rig = h.setup(svc([{ ...LOCAL, ready: false, serving: false, terminating: true }]));
      verdictIs(t, rig.send(tcp('10.244.1.5:40000', '10.96.0.30:80'), POD), 'REJECT');
    },
  },
];
