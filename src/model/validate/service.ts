/**
 * Service validation, after defaulting, as pkg/apis/core/validation ValidateService does it: type, ports, selector,
 * session affinity, LoadBalancer-only fields and traffic policies. ClusterIPs and IP families are in service-ips.ts.
 * Range checks that need cluster state (nodePort inside the configured range, clusterIP inside the service CIDR)
 * belong to the allocator, not here.
 */
import type { FieldPath } from '../source.js';
import type { Service, ServicePort } from '../types.js';
import { checkCIDR } from './ip-fields.js';
import { dns1123Label, dns1123Subdomain, portName, portNumber, qualifiedName } from './names.js';
import type { Reporter } from './reporter.js';
import { validateLabels } from './selector.js';
import { validateServiceIPs } from './service-ips.js';

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];
export const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const AFFINITIES = ['None', 'ClientIP'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const TRAFFIC_DISTRIBUTIONS = ['PreferClose', 'PreferSameZone', 'PreferSameNode'];
const MAX_AFFINITY_SECONDS = 86400;

/** A Service whose clusterIPs, nodePorts and external IPs can be reached from outside (apiservice.ExternallyAccessible). */
export function externallyAccessible(spec: Service['spec']): boolean {
  return (
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0)
  );
}

/** `port` or `targetPort` of a Service port: a number 1..65535 or an IANA_SVC_NAME (ValidatePortNumOrName). */
export function checkPortNumOrName(path: FieldPath, value: number | string, report: Reporter): void {
  if (typeof value === 'number') report.invalidEach(path, value, portNumber(value));
  else {
    // "8080" in quotes is a port *name* to the API; say so, since it is almost always meant as a number.
    const hint = /^[0-9]+$/.test(value) ? 'a quoted number is read as a port name: write it without quotes' : '';
    report.invalidEach(path, value, portName(value), { hint });
  }
}

function validatePort(port: ServicePort, at: FieldPath, needName: boolean, names: Set<string>, report: Reporter): void {
  if (port.name === undefined || port.name === '') {
    if (needName) report.required([...at, 'name'], 'each port needs a name when a Service has more than one');
  } else {
    report.invalidEach([...at, 'name'], port.name, dns1123Label(port.name));
    if (names.has(port.name)) report.duplicate([...at, 'name'], port.name);
    names.add(port.name);
  }
  const portProblems = port.port === undefined ? undefined : portNumber(port.port);
  if (port.port === undefined) report.required([...at, 'port']);
  else report.invalidEach([...at, 'port'], port.port, portProblems ?? []);
  if (!PROTOCOLS.includes(port.protocol)) report.notSupported([...at, 'protocol'], port.protocol, PROTOCOLS);
  // targetPort defaults to port: do not report the same bad number twice.
  const defaultedFromBadPort = port.targetPort === port.port && (portProblems?.length ?? 0) > 0;
  if (port.targetPort !== undefined && !defaultedFromBadPort) {
    checkPortNumOrName([...at, 'targetPort'], port.targetPort, report);
  }
  if (port.nodePort !== undefined && port.nodePort !== 0) {
    report.invalidEach([...at, 'nodePort'], port.nodePort, portNumber(port.nodePort));
  }
  if (port.appProtocol !== undefined) {
    report.invalidEach([...at, 'appProtocol'], port.appProtocol, qualifiedName(port.appProtocol));
  }
}

function validatePorts(svc: Service, report: Reporter): void {
  const { spec } = svc;
  const ports = spec.ports ?? [];
  const names = new Set<string>();
  const seenPorts = new Map<string, number>();
  const seenNodePorts = new Map<string, number>();
  ports.forEach((port, i) => {
    const at: FieldPath = ['spec', 'ports', i];
    validatePort(port, at, ports.length > 1, names, report);
    if (spec.type === 'ClusterIP' && port.nodePort !== undefined && port.nodePort !== 0) {
      report.forbidden([...at, 'nodePort'], "may not be used when `type` is 'ClusterIP'");
    }
    const key = `${port.port}/${port.protocol}`;
    const first = seenPorts.get(key);
    if (first !== undefined) report.duplicate(at, key, `same port and protocol as spec.ports[${first}]`);
    else seenPorts.set(key, i);
    if (port.nodePort !== undefined && port.nodePort !== 0) {
      const nodeKey = `${port.nodePort}/${port.protocol}`;
      const firstNode = seenNodePorts.get(nodeKey);
      if (firstNode !== undefined) {
        report.duplicate([...at, 'nodePort'], port.nodePort, `also used by spec.ports[${firstNode}]`);
      } else seenNodePorts.set(nodeKey, i);
    }
  });
}

function validateAffinity(svc: Service, report: Reporter): void {
  const { spec } = svc;
  if (!AFFINITIES.includes(spec.sessionAffinity)) {
    report.notSupported(['spec', 'sessionAffinity'], spec.sessionAffinity, AFFINITIES);
    return;
  }
  if (spec.sessionAffinity === 'None') {
    if (spec.sessionAffinityConfig !== undefined) {
      report.forbidden(['spec', 'sessionAffinityConfig'], 'must not be set when session affinity is None');
    }
    return;
  }
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  const at: FieldPath = ['spec', 'sessionAffinityConfig', 'clientIP', 'timeoutSeconds'];
  if (timeout === undefined) report.required(at, 'when session affinity type is ClientIP');
  else if (timeout <= 0 || timeout > MAX_AFFINITY_SECONDS) {
    report.invalid(at, timeout, `must be greater than 0 and less than ${MAX_AFFINITY_SECONDS}`);
  }
}

const KUBELET_PORT = 10250;

function validateLoadBalancerFields(svc: Service, report: Reporter): void {
  const { spec } = svc;
  const isLB = spec.type === 'LoadBalancer';
  const lbOnly = "may only be used when `type` is 'LoadBalancer'";
  if (spec.loadBalancerSourceRanges !== undefined && spec.loadBalancerSourceRanges.length > 0) {
    if (!isLB) report.forbidden(['spec', 'loadBalancerSourceRanges'], lbOnly);
    // Historical accident kept by the API server: these values may be space-padded.
    spec.loadBalancerSourceRanges.forEach((range, i) => {
      checkCIDR(['spec', 'loadBalancerSourceRanges', i], range.trim(), report);
    });
  }
  if (isLB) {
    // kubelet's port: upstream refuses to expose it through a cloud load balancer (ValidateService).
    (spec.ports ?? []).forEach((port, i) => {
      if (port.port === KUBELET_PORT)
        report.invalid(
          ['spec', 'ports', i],
          port.port,
          `may not expose port ${KUBELET_PORT} externally since it is used by kubelet`,
        );
    });
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && !isLB) {
    report.forbidden(['spec', 'allocateLoadBalancerNodePorts'], lbOnly);
  }
  if (spec.loadBalancerClass !== undefined) {
    if (!isLB) report.forbidden(['spec', 'loadBalancerClass'], lbOnly);
    else
      report.invalidEach(['spec', 'loadBalancerClass'], spec.loadBalancerClass, qualifiedName(spec.loadBalancerClass));
  }
}

function validateTrafficPolicies(svc: Service, report: Reporter): void {
  const { spec } = svc;
  const etp = spec.externalTrafficPolicy;
  if (etp !== undefined) {
    if (!externallyAccessible(spec)) {
      report.invalid(['spec', 'externalTrafficPolicy'], etp, 'may only be set for externally-accessible services', {
        hint: 'type NodePort or LoadBalancer, or ClusterIP with externalIPs',
      });
    } else if (!TRAFFIC_POLICIES.includes(etp)) {
      report.notSupported(['spec', 'externalTrafficPolicy'], etp, TRAFFIC_POLICIES);
    }
  }
  const hc = spec.healthCheckNodePort;
  if (hc !== undefined && hc !== 0) {
    if (!(spec.type === 'LoadBalancer' && etp === 'Local')) {
      report.invalid(
        ['spec', 'healthCheckNodePort'],
        hc,
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      );
    } else report.invalidEach(['spec', 'healthCheckNodePort'], hc, portNumber(hc));
  }
  const itp = spec.internalTrafficPolicy;
  if (itp !== undefined && !TRAFFIC_POLICIES.includes(itp)) {
    report.notSupported(['spec', 'internalTrafficPolicy'], itp, TRAFFIC_POLICIES);
  }
  const td = spec.trafficDistribution;
  if (td !== undefined && !TRAFFIC_DISTRIBUTIONS.includes(td)) {
    report.notSupported(['spec', 'trafficDistribution'], td, TRAFFIC_DISTRIBUTIONS);
  }
}

function validateExternalName(svc: Service, report: Reporter): void {
  const { spec } = svc;
  // The value is a CNAME target and may end with a dot to mark it fully qualified.
  const cname = (spec.externalName ?? '').replace(/\.$/, '');
  if (cname === '') report.required(['spec', 'externalName'], 'ExternalName services need the DNS name they alias');
  else report.invalidEach(['spec', 'externalName'], spec.externalName, dns1123Subdomain(cname));
}

/** Validate a defaulted Service. */
export function validateService(svc: Service, report: Reporter): void {
  const { spec } = svc;
  if (!SERVICE_TYPES.includes(spec.type)) {
    report.notSupported(['spec', 'type'], spec.type, SERVICE_TYPES);
    return;
  }
  const ips = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  const headless = ips.length === 1 && ips[0] === 'None';
  if ((spec.ports ?? []).length === 0 && !headless && spec.type !== 'ExternalName') {
    report.required(['spec', 'ports'], 'a Service needs at least one port unless it is headless or ExternalName');
  }
  if (spec.type === 'ExternalName') validateExternalName(svc, report);
  validatePorts(svc, report);
  validateLabels(spec.selector, ['spec', 'selector'], report);
  validateAffinity(svc, report);
  validateServiceIPs(svc, report);
  validateLoadBalancerFields(svc, report);
  validateTrafficPolicies(svc, report);
}
