/**
 * Reconciling the IPVS table with the service table, as kube-proxy's syncProxyRules does per Service port:
 * syncService (create, update or delete virtual servers) and syncEndpoint (add new real servers, hand removed ones
 * to graceful termination, bring back a quiesced one as a fresh real server). The engine's sync then runs kube-proxy's
 * UDP conntrack cleanup over every Service port (conntrack-cleanup.ts).
 */
import type { IPFamily } from '../../model/types.js';
import type { EndpointInfo } from '../endpoints.js';
import type { ServicePortInfo } from '../service-port.js';
import type { IpvsState } from './state.js';
import { LiveVirtualServer } from './virtual-server.js';
import { nodePortIPs, virtualServersOf } from './virtual-servers.js';

/** Bring the virtual servers of one service-table entry (`family`, `key`) in line with the table. */
export function syncEntry(st: IpvsState, family: IPFamily, key: string, now: number): void {
  const k = `${family}|${key}`;
  const entry = st.table.get(family, key);
  const before = st.specsByEntry.get(k) ?? [];
  const after = entry ? virtualServersOf(entry, st.table.node, st.scheduler, st.config.nodePortAddresses) : [];
  for (const s of before) st.ipsets.apply(s, -1);
  for (const s of after) st.ipsets.apply(s, +1);
  st.ipsets.applyHealthCheck(st.healthCheck.get(k) ?? 0, family, -1);
  const hc = entry ? healthCheckPortOf(st, entry.info) : 0;
  st.ipsets.applyHealthCheck(hc, family, +1);
  if (hc) st.healthCheck.set(k, hc);
  else st.healthCheck.delete(k);
  if (after.length) st.specsByEntry.set(k, after);
  else st.specsByEntry.delete(k);

  const keep = new Set(after.map((s) => s.key));
  for (const s of before) {
    if (keep.has(s.key)) continue;
    const vs = st.vs.get(s.key);
    if (!vs || vs.spec.entryKey !== s.entryKey) continue;
    // cleanLegacyService: the virtual server goes with all its real servers at once.
    st.graceful.forget(vs);
    vs.clear();
    st.vs.delete(s.key);
    st.byDestination.delete(s.proto, s.addr, s.port);
  }
  for (const spec of after) {
    let vs = st.vs.get(spec.key);
    if (!vs) {
      const opts = { ...st.opts, createdAtMs: now * 1000 };
      vs = new LiveVirtualServer(spec, st.scheduler, opts, st, st.nodest);
      st.vs.set(spec.key, vs);
      st.byDestination.set(spec.proto, spec.addr, spec.port, vs.id);
    } else vs.spec = spec;
    syncRealServers(st, vs, now);
  }
}

/**
 * The health-check node port kube-proxy puts in KUBE-HEALTH-CHECK-NODE-PORT for a Service port, or 0. syncProxyRules
 * handles a Service's NodePort before its health-check port, and a Service with a NodePort but no node address to
 * serve it on (none inside `--nodeport-addresses`) ends that Service's turn there (`continue`): its health-check port
 * is then not in the set either (KUBE-IPVS-FILTER's RETURN for it does not match).
 */
function healthCheckPortOf(st: IpvsState, info: ServicePortInfo): number {
  if (info.healthCheckNodePort === 0) return 0;
  if (info.nodePort !== 0 && nodePortIPs(st.table.node, info.family, st.config.nodePortAddresses).length === 0)
    return 0;
  return info.healthCheckNodePort;
}

/** syncEndpoint for one virtual server. */
function syncRealServers(st: IpvsState, vs: LiveVirtualServer, now: number): void {
  const want = new Map<string, EndpointInfo>();
  for (const ep of vs.spec.endpoints) want.set(ep.address, ep);
  const toAdd: EndpointInfo[] = [];
  for (const ep of vs.spec.endpoints) {
    const cur = vs.dest(ep.address);
    if (cur) {
      vs.refreshEndpoint(cur, ep);
      if (!st.graceful.inList(vs, cur)) continue;
    }
    toAdd.push(ep);
  }
  // Go iterates the new-endpoint set in random order; the kernel puts each new real server at the list head. A
  // quiesced one is deleted (MoveRSOutofGracefulDeleteList) and added back in its turn, not all of them first: each
  // deletion moves rr's cursor to the deleted one's predecessor, which depends on the adds made before it.
  if ((st.opts.addOrder ?? 'random') === 'random') st.rng.shuffle(toAdd);
  for (const ep of toAdd) {
    const quiesced = vs.dest(ep.address);
    if (quiesced) st.graceful.moveOut(vs, quiesced);
    vs.addDest(ep);
  }
  for (const d of [...vs.dests]) {
    if (want.has(d.key) || st.graceful.inList(vs, d)) continue;
    st.graceful.remove(vs, d, now);
  }
}
