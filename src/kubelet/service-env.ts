/**
 * The Service environment variables kubelet injects into a container (pkg/kubelet/kubelet_pods.go
 * getServiceEnvVarMap + pkg/kubelet/envvars FromServices): for every Service with a ClusterIP in the pod's namespace
 * (when enableServiceLinks is true), plus the `kubernetes` Service of the default namespace (always),
 * `<SVC>_SERVICE_HOST`, `<SVC>_SERVICE_PORT`, one `<SVC>_SERVICE_PORT_<NAME>` per named port, and the Docker-link
 * family `<SVC>_PORT`, `<SVC>_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}`.
 */
import type { Pod, Service } from '../model/types.js';

/** Services whose env vars kubelet injects even with enableServiceLinks: false. */
const MASTER_SERVICES = new Set(['kubernetes']);

/** `my-svc` → `MY_SVC`, as kubelet's makeEnvVariableName does (dashes only; names are DNS-1035 labels). */
function envName(name: string): string {
  return name.replaceAll('-', '_').toUpperCase();
}

/** A Service has a ClusterIP set: not headless, not ExternalName. */
export function hasClusterIP(svc: Service): boolean {
  return svc.spec.clusterIP !== undefined && svc.spec.clusterIP !== '' && svc.spec.clusterIP !== 'None';
}

function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The variables of one Service, in kubelet's order. */
export function serviceEnv(svc: Service): [string, string][] {
  const ip = svc.spec.clusterIP!;
  const ports = svc.spec.ports ?? [];
  const prefix = envName(svc.metadata.name);
  const out: [string, string][] = [[`${prefix}_SERVICE_HOST`, ip]];
  if (ports.length === 0) return out;
  out.push([`${prefix}_SERVICE_PORT`, String(ports[0]!.port)]);
  for (const p of ports) {
    if (p.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
  }
  ports.forEach((p, i) => {
    const proto = p.protocol.toLowerCase();
    const url = `${proto}://${joinHostPort(ip, p.port)}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const portPrefix = `${prefix}_PORT_${p.port}_${p.protocol.toUpperCase()}`;
    out.push([portPrefix, url], [`${portPrefix}_PROTO`, proto], [`${portPrefix}_PORT`, String(p.port)]);
    out.push([`${portPrefix}_ADDR`, ip]);
  });
  return out;
}

/**
 * The Service variables for a pod, sorted by name (kubelet builds a map, so the container sees no particular order).
 * `services` is every Service in the cluster.
 */
export function podServiceEnv(pod: Pod, services: Iterable<Service>): [string, string][] {
  const ns = pod.metadata.namespace ?? 'default';
  const links = pod.spec.enableServiceLinks !== false;
  const chosen = new Map<string, Service>();
  for (const svc of services) {
    if (!hasClusterIP(svc)) continue;
    const name = svc.metadata.name;
    if (svc.metadata.namespace === 'default' && MASTER_SERVICES.has(name)) {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (svc.metadata.namespace === ns && links) {
      chosen.set(name, svc);
    }
  }
  const vars = new Map<string, string>();
  for (const svc of chosen.values()) for (const [k, v] of serviceEnv(svc)) vars.set(k, v);
  return [...vars].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
