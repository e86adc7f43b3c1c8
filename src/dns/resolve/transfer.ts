/**
 * Zone transfer (AXFR/IXFR) of the cluster zone, as CoreDNS's kubernetes plugin streams it to the `transfer` plugin
 * (plugin/kubernetes/transfer.go): SOA, the NS records each followed by its glue, then every Service in an existing
 * namespace, then the SOA again. Per Service:
 * - ClusterIP/NodePort/LoadBalancer: A/AAAA at the service name for each ClusterIP; per port an SRV at the service
 *   name (weight 100, for peer-finder), and for a named port one at `_port._proto` too.
 * - headless: per slice and ready address, an A/AAAA at the service name and at the endpoint name; per named port an
 *   SRV at `_port._proto` targeting the endpoint, weight floor(100 / addresses in the slice).
 * - ExternalName: the CNAME (none for an IP-like externalName).
 * Names built from objects use the zone as configured. The reverse zones are not transferable (CoreDNS answers them
 * ErrNotAuthoritative). Who may transfer is the server's decision, not this function's.
 *
 * Two departures, both where CoreDNS's output is a bug: the no-ports sentinel (-1) produces no SRV (CoreDNS would
 * emit port 65535), and Services are listed in (namespace, name) order instead of informer order.
 */
import { parseIP } from '../../cni/ip.js';
import { endpointName, type ServiceRecord } from '../zone/projections.js';
import type { ZoneIndex } from '../zone/zone-index.js';
import { soaRecord } from './answers.js';
import { nameServers } from './records.js';
import { absolute } from './request.js';
import type { Rr } from './types.js';

export interface TransferOptions {
  /** The zone asked for (any case, trailing dot optional); default the cluster domain. */
  zone?: string;
  /** IXFR: the client's serial. When it is not older than ours (and not 0), only the SOA is sent. */
  serial?: number;
}

/** The records of a transfer, first and last the SOA; `undefined` when `zone` is not the cluster zone. */
export function zoneTransfer(zone: ZoneIndex, options: TransferOptions = {}): Rr[] | undefined {
  const apex = `${zone.clusterDomain}.`;
  if (options.zone !== undefined && absolute(options.zone).toLowerCase() !== apex) return undefined;
  const soa = soaRecord(zone, apex);
  if (options.serial !== undefined && options.serial !== 0 && options.serial >= zone.serial) return [soa];
  const ttl = zone.options.ttl;
  const out: Rr[] = [soa];

  const servers = nameServers(zone, apex);
  if (servers.length === 0) out.push({ name: apex, ttl, type: 'NS', target: `ns.dns.${apex}` });
  const seen = new Set<string>();
  for (const ns of servers) {
    if (!seen.has(ns.name)) {
      seen.add(ns.name);
      out.push({ name: apex, ttl, type: 'NS', target: ns.name });
    }
    out.push({ name: ns.name, ttl, type: ns.v6 ? 'AAAA' : 'A', address: ns.address });
  }

  const services = [...zone.services()].filter((s) => zone.namespaceExists(s.namespace));
  services.sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
  for (const svc of services) transferService(zone, svc, apex, ttl, out);
  out.push(soa);
  return out;
}

function transferService(zone: ZoneIndex, svc: ServiceRecord, apex: string, ttl: number, out: Rr[]): void {
  const base = `${svc.name}.${svc.namespace}.svc.${apex}`;
  if (svc.kind === 'external-name') {
    if (svc.externalName !== '' && !parseIP(svc.externalName)) {
      out.push({ name: base, ttl, type: 'CNAME', target: absolute(svc.externalName) });
    }
    return;
  }
  // A ClusterIP service whose address is not allocated yet falls to the endpoint branch, as in CoreDNS.
  if (svc.kind === 'cluster-ip' && svc.clusterIPs.length > 0) {
    for (const ip of svc.clusterIPs) out.push(address(base, ip, ttl));
    for (const port of svc.ports) {
      if (port.port === -1) continue;
      out.push({ name: base, ttl, type: 'SRV', priority: 0, weight: 100, port: port.port, target: base });
      if (port.name === '') continue; // unnamed ports have no _port._proto name (spec 2.3.2)
      const owner = `_${port.name.toLowerCase()}._${port.protocol.toLowerCase()}.${base}`;
      out.push({ name: owner, ttl, type: 'SRV', priority: 0, weight: 100, port: port.port, target: base });
    }
    return;
  }
  const slices = [...zone.slicesOf(svc.name, svc.namespace)].sort((a, b) => cmp(a.key, b.key));
  for (const slice of slices) {
    const weight = Math.floor((100 / (100 * slice.ips.length)) * 100);
    slice.ips.forEach((ip, i) => {
      const target = `${endpointName(slice, i)}.${base}`;
      out.push(address(base, ip, ttl), address(target, ip, ttl));
      for (const port of slice.ports) {
        if (port.name === '' || port.port === -1) continue;
        const owner = `_${port.name.toLowerCase()}._${port.protocol.toLowerCase()}.${base}`;
        out.push({ name: owner, ttl, type: 'SRV', priority: 0, weight, port: port.port, target });
      }
    });
  }
}

function address(name: string, ip: string, ttl: number): Rr {
  return ip.includes(':') ? { name, ttl, type: 'AAAA', address: ip } : { name, ttl, type: 'A', address: ip };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
