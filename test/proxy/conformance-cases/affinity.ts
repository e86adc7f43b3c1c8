/** ClientIP session affinity and its timeout. */

import { type ConformanceCase, NODE_A, NODE_B, nodes, POD, port, tcp, verdictIs } from '../conformance-world.js';
import { service, slice } from '../fixtures.js';

function sticky(timeoutSeconds: number) {
  return [
    ...nodes(),
    service('default', 'sticky', {
      clusterIP: '10.96.0.40',
      ports: [{ port: 80 }],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds } },
    }),
    slice(
      'default',
      'sticky',
      [
        { ip: '10.244.1.10', node: NODE_A },
        { ip: '10.244.1.11', node: NODE_A },
        { ip: '10.244.2.10', node: NODE_B },
        { ip: '10.244.2.11', node: NODE_B },
      ],
      [{ port: 8080 }],
    ),
  ];
}

export const affinityCases: ConformanceCase[] = [
  {
    name: 'affinity > new connections from one client stick to one endpoint',
    run(t, h) {
      const rig = h.setup(sticky(10800));
      const first = rig.send(tcp(`10.244.1.5:${port(0)}`, '10.96.0.40:80'), POD, 0);
      verdictIs(t, first, 'DNAT');
      for (let i = 1; i < 30; i++) {
        const v = rig.send(tcp(`10.244.1.5:${port(i)}`, '10.96.0.40:80'), POD, i * 60);
        t.is(v.endpoint, first.endpoint);
      }
      const others = new Set<string | null>();
      for (let i = 0; i < 40; i++)
        others.add(rig.send(tcp(`10.244.1.${100 + i}:40000`, '10.96.0.40:80'), POD, 1).endpoint);
      t.true(others.size > 1, 'different clients still spread');
    },
  },
  {
    name: 'affinity > stickiness ends after timeoutSeconds without new connections',
    run(t, h) {
      const rig = h.setup(sticky(30));
      const chosen = new Set<string | null>();
      // Each round: two connections 10 s apart (sticky), closed at once; the next round starts 190 s after the last
      // new connection: past the 30 s timeout, and past the 120 s a closed TCP flow lingers (TIME_WAIT; IPVS keeps
      // a persistence template while it still controls a connection). So a round may pick anew; over many rounds it
      // must, at least once.
      for (let round = 0; round < 40; round++) {
        const p1 = tcp(`10.244.1.5:${port(round)}`, '10.96.0.40:80');
        const v = rig.send(p1, POD, round * 200);
        rig.engine.close(p1, round * 200);
        chosen.add(v.endpoint);
        const p2 = tcp(`10.244.1.5:${port(round + 1000)}`, '10.96.0.40:80');
        const again = rig.send(p2, POD, round * 200 + 10);
        rig.engine.close(p2, round * 200 + 10);
        t.is(again.endpoint, v.endpoint, 'within the timeout the client sticks');
      }
      t.true(chosen.size > 1, `after timeouts the client was re-balanced (saw ${[...chosen].join(', ')})`);
    },
  },
];
