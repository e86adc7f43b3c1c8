/** The UDP conntrack cleanup runs once per family and reads only that family's flows (upstream ListEntries(family)). */
import test from 'ava';
import { proxyConfig } from '../../src/proxy/engine.js';
import { createIptablesEngine } from '../../src/proxy/iptables/engine.js';
import { createIpvsEngine } from '../../src/proxy/ipvs/engine.js';
import type { Origin } from '../../src/proxy/packet.js';
import { Rng } from '../../src/util/rng.js';
import { node, put, service, slice, storeWith, tableFor } from './fixtures.js';

const EXTERNAL: Origin = { from: 'external' };
const UDP_DNS = { name: 'dns', port: 5353, protocol: 'UDP' as const };

for (const [mode, factory] of [
  ['iptables', createIptablesEngine],
  ['ipvs', createIpvsEngine],
] as const) {
  test(`${mode}: a dual-stack UDP NodePort keeps both families' flows across an unrelated sync`, (t) => {
    const store = storeWith(
      node('node-a', ['172.18.0.2', 'fc00::2'], { podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'] }),
      service('default', 'dns', {
        type: 'NodePort',
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10', 'fd00:10:96::a'],
        ipFamilies: ['IPv4', 'IPv6'],
        ipFamilyPolicy: 'RequireDualStack',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }],
      }),
      slice('default', 'dns', [{ ip: '10.244.2.6', node: 'node-b' }], [UDP_DNS]),
      slice('default', 'dns', [{ ip: 'fd00:10:244:2::6', node: 'node-b' }], [UDP_DNS]),
    );
    const engine = factory({
      table: tableFor(store, 'node-a'),
      config: proxyConfig({ mode, clusterCIDR: '10.244.0.0/16' }),
      rng: new Rng(1),
    });
    const v4 = { proto: 'UDP' as const, src: { ip: '192.0.2.9', port: 4000 }, dst: { ip: '172.18.0.2', port: 30053 } };
    const v6 = { proto: 'UDP' as const, src: { ip: '2001:db8::9', port: 4000 }, dst: { ip: 'fc00::2', port: 30053 } };
    t.is(engine.send(v4, EXTERNAL, 0).conntrack, 'new');
    t.is(engine.send(v6, EXTERNAL, 0).conntrack, 'new');
    put(
      store,
      service('default', 'other', { clusterIP: '10.96.0.99', ports: [{ name: 'x', port: 9, protocol: 'UDP' }] }),
    );
    t.is(engine.send(v4, EXTERNAL, 1).conntrack, 'established');
    t.is(engine.send(v6, EXTERNAL, 1).conntrack, 'established');
  });
}
