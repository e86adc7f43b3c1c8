/** Conntrack: replies un-NATed, established flows pinned, stale UDP entries flushed. */

import {
  CLIENT,
  type ConformanceCase,
  EXTERNAL,
  NODE_A,
  NODE_A_IP,
  NODE_B,
  nodes,
  POD,
  port,
  tcp,
  udp,
  verdictIs,
} from '../conformance-world.js';
import { put, service, slice } from '../fixtures.js';

function app(protocol: 'TCP' | 'UDP', ips: string[]) {
  return [
    service('default', 'app', {
      type: 'NodePort',
      clusterIP: '10.96.0.50',
      ports: [{ port: 53, protocol, nodePort: 30053 }],
    }),
    slice(
      'default',
      'app',
      ips.map((ip) => ({ ip, node: ip.startsWith('10.244.1.') ? NODE_A : NODE_B })),
      [{ port: 5353, protocol }],
    ),
  ];
}

export const conntrackCases: ConformanceCase[] = [
  {
    name: 'conntrack > replies are un-DNATed and un-SNATed',
    run(t, h) {
      const rig = h.setup([...nodes(), ...app('TCP', ['10.244.2.10'])]);
      const out = rig.send(tcp(`${CLIENT}:40000`, `${NODE_A_IP}:30053`), EXTERNAL, 1);
      verdictIs(t, out, 'DNAT');
      t.is(out.snat, NODE_A_IP);
      // The endpoint answers the address it saw.
      const back = rig.reply({ proto: 'TCP', src: out.packet.dst, dst: out.packet.src }, 1.001);
      t.is(back.conntrack, 'reply');
      t.deepEqual(back.packet.src, { ip: NODE_A_IP, port: 30053 });
      t.deepEqual(back.packet.dst, { ip: CLIENT, port: 40000 });
      t.is(back.endpoint, '10.244.2.10:5353');
    },
  },
  {
    name: 'conntrack > later packets of a flow follow it without re-balancing',
    run(t, h) {
      const rig = h.setup([...nodes(), ...app('TCP', ['10.244.1.10', '10.244.2.10', '10.244.2.11'])]);
      const p = tcp('10.244.1.5:40000', '10.96.0.50:53');
      const first = rig.send(p, POD, 0);
      for (let i = 1; i < 50; i++) {
        const v = rig.send(p, POD, i);
        t.is(v.endpoint, first.endpoint);
        t.is(v.conntrack, 'established');
        t.deepEqual(v.packet, first.packet);
      }
    },
  },
  {
    name: 'conntrack > a TCP flow stays on its endpoint when endpoints change',
    run(t, h) {
      const rig = h.setup([...nodes(), ...app('TCP', ['10.244.1.10', '10.244.2.10'])]);
      const p = tcp('10.244.1.5:40000', '10.96.0.50:53');
      const first = rig.send(p, POD, 0);
      const others = ['10.244.1.10', '10.244.2.10'].filter((ip) => `${ip}:5353` !== first.endpoint);
      put(rig.store, ...app('TCP', [...others, '10.244.2.12']));
      const later = rig.send(p, POD, 5);
      t.is(later.endpoint, first.endpoint, 'the nat table never sees an established flow again');
      const fresh = rig.send(tcp('10.244.1.5:40001', '10.96.0.50:53'), POD, 5);
      t.not(fresh.endpoint, first.endpoint, 'new flows use the new endpoints');
    },
  },
  {
    name: 'conntrack > UDP flows to a removed endpoint are flushed',
    run(t, h) {
      const rig = h.setup([...nodes(), ...app('UDP', ['10.244.1.10', '10.244.2.10'])]);
      let gone: string | null = null;
      let i = 0;
      let p = udp(`10.244.1.5:${port(i)}`, '10.96.0.50:53');
      // Find a flow on 10.244.2.10, then remove that endpoint.
      for (; i < 50; i++) {
        p = udp(`10.244.1.5:${port(i)}`, '10.96.0.50:53');
        if (rig.send(p, POD, 0).endpoint === '10.244.2.10:5353') {
          gone = '10.244.2.10:5353';
          break;
        }
      }
      t.is(gone, '10.244.2.10:5353');
      put(rig.store, ...app('UDP', ['10.244.1.10']));
      const v = rig.send(p, POD, 1);
      t.is(v.conntrack, 'new', 'the stale entry was deleted, so the packet is a new flow');
      t.is(v.endpoint, '10.244.1.10:5353');
    },
  },
  {
    name: 'conntrack > UDP flow expires after the UDP timeout',
    run(t, h) {
      const rig = h.setup([...nodes(), ...app('UDP', ['10.244.1.10'])], { config: { conntrack: { udp: 30 } } });
      const p = udp('10.244.1.5:40000', '10.96.0.50:53');
      t.is(rig.send(p, POD, 0).conntrack, 'new');
      t.is(rig.send(p, POD, 29).conntrack, 'established');
      t.is(rig.send(p, POD, 29 + 31).conntrack, 'new', 'unanswered for 31 s: the entry timed out');
    },
  },
];
