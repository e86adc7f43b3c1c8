/**
 * An IPVS engine over a small cluster: node-a (172.18.0.2, pods 10.244.1.0/24) and node-b (172.18.0.3, pods
 * 10.244.2.0/24); the engine runs on node-a.
 */
import type { Store } from '../../../src/model/store.js';
import { type ProxyConfigInput, proxyConfig } from '../../../src/proxy/engine.js';
import { createIpvsEngine, type IpvsEngine, type IpvsEngineOptions } from '../../../src/proxy/ipvs/engine.js';
import type { Origin, Packet } from '../../../src/proxy/packet.js';
import { Rng } from '../../../src/util/rng.js';
import { node, storeWith, tableFor } from '../fixtures.js';

export const NODE_A = '172.18.0.2';
export const NODE_B = '172.18.0.3';
export const POD: Origin = { from: 'pod', pod: 'default/client' };
export const HOST: Origin = { from: 'node' };
export const EXTERNAL: Origin = { from: 'external' };

export function nodes() {
  return [
    node('node-a', [NODE_A], { podCIDRs: ['10.244.1.0/24'] }),
    node('node-b', [NODE_B], { podCIDRs: ['10.244.2.0/24'] }),
  ];
}

export function engineOn(
  store: Store,
  config: ProxyConfigInput = {},
  opts: IpvsEngineOptions = { addOrder: 'sorted' },
  nodeName = 'node-a',
  explain = true,
): IpvsEngine {
  return createIpvsEngine(
    {
      table: tableFor(store, nodeName),
      config: proxyConfig({ mode: 'ipvs', clusterCIDR: '10.244.0.0/16', ...config }),
      rng: new Rng(7),
      explain,
    },
    opts,
  );
}

export function storeOf(...objects: Parameters<typeof storeWith>): Store {
  return storeWith(...nodes(), ...objects);
}

export function tcp(srcIP: string, srcPort: number, dstIP: string, dstPort: number): Packet {
  return { proto: 'TCP', src: { ip: srcIP, port: srcPort }, dst: { ip: dstIP, port: dstPort } };
}

export function udp(srcIP: string, srcPort: number, dstIP: string, dstPort: number): Packet {
  return { proto: 'UDP', src: { ip: srcIP, port: srcPort }, dst: { ip: dstIP, port: dstPort } };
}

/** The reply an endpoint sends for a DNATed packet. */
export function replyTo(p: Packet): Packet {
  return { proto: p.proto, src: p.dst, dst: p.src };
}
