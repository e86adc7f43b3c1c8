/**
 * The world of the reply-tuple tests (conntrack-clash, conntrack-exhausted): Services a (10.96.0.10:80) and
 * b (10.96.0.11:81) whose one endpoint is the same pod port, so one client port sent to both makes two flows with
 * one reply tuple; and an engine over it for each mode that DNATs in conntrack.
 */
import type { ProxyEngine } from '../../src/proxy/engine.js';
import { proxyConfig } from '../../src/proxy/engine.js';
import { IptablesEngine } from '../../src/proxy/iptables/engine.js';
import { Rng } from '../../src/util/rng.js';
import { node, service, slice, storeWith, tableFor } from './fixtures.js';
import { engineOn as ipvsEngineOn } from './ipvs/engine-helpers.js';

/** The pod port both Services send to. */
export const SHARED_ENDPOINT = { ip: '10.244.1.5', port: 8080 };

function world() {
  return storeWith(
    node('node-a', ['172.18.0.2'], { podCIDRs: ['10.244.1.0/24'] }),
    service('ns', 'a', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
    service('ns', 'b', { clusterIP: '10.96.0.11', ports: [{ port: 81 }] }),
    slice('ns', 'a', [SHARED_ENDPOINT.ip], [{ port: SHARED_ENDPOINT.port }]),
    slice('ns', 'b', [SHARED_ENDPOINT.ip], [{ port: SHARED_ENDPOINT.port }]),
  );
}

export const sharedEndpointEngines: { name: string; make: () => ProxyEngine }[] = [
  {
    name: 'iptables',
    make: () =>
      new IptablesEngine({
        table: tableFor(world(), 'node-a', { families: ['IPv4'] }),
        config: proxyConfig({ clusterCIDR: '10.244.0.0/16' }),
        rng: new Rng(1),
      }),
  },
  { name: 'ipvs', make: () => ipvsEngineOn(world()) },
];
