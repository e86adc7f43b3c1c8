/**
 * What kube-proxy keeps of one Service port for one IP family: upstream's BaseServicePortInfo (pkg/proxy/serviceport.go,
 * newBaseServiceInfo) and the ServiceChangeTracker's filters (ShouldSkipService, GetClusterIPByFamily).
 *
 * Every address list is filtered to the family, as upstream does for dual-stack Services: a v4 proxier never sees a
 * v6 externalIP, LB ingress IP or source range. LB ingress IPs with `ipMode: Proxy` are dropped (traffic must go
 * through the load balancer, which rewrites the destination itself).
 */
import { parseCIDR, parseIP } from '../cni/ip.js';
import type { IPFamily, Protocol, Service, ServicePort, ServiceType } from '../model/types.js';
import { familyOf } from './packet.js';

/** The API server's default for sessionAffinityConfig.clientIP.timeoutSeconds (3 h). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;

/** One Service port as the proxy of one family sees it. Immutable; a Service change builds new ones. */
export interface ServicePortInfo {
  /** ServicePortName.String(): `ns/name:portName`, or `ns/name` when the port has no name. */
  readonly name: string;
  readonly namespace: string;
  readonly service: string;
  readonly portName: string;
  readonly protocol: Protocol;
  readonly family: IPFamily;
  readonly type: ServiceType;
  /** The ClusterIP of this family (canonical text). */
  readonly clusterIP: string;
  /** This family's ClusterIP is `spec.clusterIP` (the Service's primary family). */
  readonly primary: boolean;
  readonly port: number;
  /** 0 when the port has no NodePort (as upstream: `NodePort() != 0` is the test). */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** LB ingress IPs of this family whose ipMode is VIP (or unset). */
  readonly loadBalancerVIPs: readonly string[];
  /** Every LB ingress IP of this family, whatever its ipMode (proxiers older than ipMode read them all). */
  readonly loadBalancerIPs: readonly string[];
  /**
   * `spec.externalIPs` and the LB ingress IPs of both families, in their order (canonical text): the userspace
   * proxier read them unfiltered (userspace/service-ports.ts).
   */
  readonly allExternalIPs: readonly string[];
  readonly allLoadBalancerIPs: readonly string[];
  /** Source ranges of this family, canonical `net/prefix`, in spec order (whitespace trimmed). */
  readonly loadBalancerSourceRanges: readonly string[];
  /** ClientIP affinity timeout in seconds, or null without affinity. */
  readonly affinityTimeoutSeconds: number | null;
  /** eTP=Local on an externally accessible Service (apiservice.ExternalPolicyLocal). */
  readonly externalPolicyLocal: boolean;
  /** iTP=Local. */
  readonly internalPolicyLocal: boolean;
  /** Non-zero only for LoadBalancer Services with eTP=Local (apiservice.NeedsHealthCheck). */
  readonly healthCheckNodePort: number;
  /** Has a NodePort, an LB VIP or an externalIP (BaseServicePortInfo.ExternallyAccessible). */
  readonly externallyAccessible: boolean;
  /** `!internalPolicyLocal || externallyAccessible`: eTP=Local short-circuits need cluster endpoints too. */
  readonly usesClusterEndpoints: boolean;
  /** `internalPolicyLocal || (externalPolicyLocal && externallyAccessible)`. */
  readonly usesLocalEndpoints: boolean;
}

/**
 * Why kube-proxy programs nothing for a Service (ShouldSkipService), or null when it programs it: headless
 * (`clusterIP: None`), no ClusterIP at all, or ExternalName (served by DNS alone).
 */
export function skipReason(svc: Service): string | null {
  if (svc.spec.type === 'ExternalName') return 'ExternalName Services are resolved by DNS; kube-proxy adds no rules';
  if (svc.spec.clusterIP === 'None') return 'headless Service (clusterIP: None) has no virtual IP';
  if (!svc.spec.clusterIP) return 'Service has no ClusterIP';
  return null;
}

/** The ClusterIP of a family (GetClusterIPByFamily), or undefined when the Service has none of that family. */
export function clusterIPOf(svc: Service, family: IPFamily): string | undefined {
  const ips = svc.spec.clusterIPs?.length ? svc.spec.clusterIPs : svc.spec.clusterIP ? [svc.spec.clusterIP] : [];
  for (const ip of ips) {
    const parsed = parseIP(ip);
    if (parsed?.family === family) return parsed.text;
  }
  return undefined;
}

/** `ns/name:port` (ServicePortName.String()); the port part only when the port is named. */
export function servicePortName(namespace: string, service: string, portName: string): string {
  return portName ? `${namespace}/${service}:${portName}` : `${namespace}/${service}`;
}

/** ServicePortInfo for each port of a Service in one family; empty when the Service is skipped or lacks the family. */
export function servicePortsOf(svc: Service, family: IPFamily): ServicePortInfo[] {
  if (skipReason(svc) !== null) return [];
  const clusterIP = clusterIPOf(svc, family);
  if (clusterIP === undefined) return [];
  const spec = svc.spec;
  const namespace = svc.metadata.namespace ?? 'default';
  const externallyAccessibleSvc =
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && !!spec.externalIPs?.length);
  const externalPolicyLocal = externallyAccessibleSvc && spec.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  const healthCheckNodePort = spec.type === 'LoadBalancer' && externalPolicyLocal ? (spec.healthCheckNodePort ?? 0) : 0;
  const affinityTimeoutSeconds =
    spec.sessionAffinity === 'ClientIP'
      ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS)
      : null;
  const allExternalIPs = ofFamily(spec.externalIPs ?? [], null);
  const externalIPs = allExternalIPs.filter((ip) => familyOf(ip) === family);
  const ingress = (svc.status?.loadBalancer?.ingress ?? []).filter((i) => i.ip);
  const allLoadBalancerIPs = ofFamily(
    ingress.map((i) => i.ip!),
    null,
  );
  const loadBalancerVIPs = ofFamily(
    ingress.filter((i) => i.ipMode !== 'Proxy').map((i) => i.ip!),
    family,
  );
  const loadBalancerIPs = allLoadBalancerIPs.filter((ip) => familyOf(ip) === family);
  const primary = parseIP(spec.clusterIP ?? '')?.text === clusterIP;
  let loadBalancerSourceRanges: string[] = [];
  let allowsAll = false;
  for (const raw of spec.loadBalancerSourceRanges ?? []) {
    const cidr = parseCIDR(raw.trim());
    if (cidr?.family !== family) continue;
    loadBalancerSourceRanges.push(cidr.text);
    if (cidr.prefix === 0) allowsAll = true;
  }
  // A zero-masked range (0.0.0.0/0, ::/0) allows every source, as no ranges do: kube-proxy then writes no firewall
  // for the family (newBaseServiceInfo, since kubernetes#132722, 2025).
  if (allowsAll) loadBalancerSourceRanges = [];
  return (spec.ports ?? []).map((port: ServicePort) => {
    const nodePort = port.nodePort ?? 0;
    const externallyAccessible = nodePort !== 0 || loadBalancerVIPs.length > 0 || externalIPs.length > 0;
    const portName = port.name ?? '';
    return Object.freeze({
      name: servicePortName(namespace, svc.metadata.name, portName),
      namespace,
      service: svc.metadata.name,
      portName,
      protocol: port.protocol,
      family,
      type: spec.type,
      clusterIP,
      primary,
      port: port.port,
      nodePort,
      externalIPs,
      loadBalancerVIPs,
      loadBalancerIPs,
      allExternalIPs,
      allLoadBalancerIPs,
      loadBalancerSourceRanges,
      affinityTimeoutSeconds,
      externalPolicyLocal,
      internalPolicyLocal,
      healthCheckNodePort,
      externallyAccessible,
      usesClusterEndpoints: !internalPolicyLocal || externallyAccessible,
      usesLocalEndpoints: internalPolicyLocal || (externalPolicyLocal && externallyAccessible),
    });
  });
}

/** Canonical text of the addresses of one family (null: of both), in their order; unparsable text is dropped. */
function ofFamily(ips: readonly string[], family: IPFamily | null): string[] {
  const out: string[] = [];
  for (const ip of ips) {
    const parsed = parseIP(ip);
    if (parsed && (family === null || parsed.family === family)) out.push(parsed.text);
  }
  return out;
}
