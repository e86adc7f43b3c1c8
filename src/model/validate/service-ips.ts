/**
 * The address fields of a Service: clusterIP/clusterIPs, ipFamilies, ipFamilyPolicy, externalIPs and the
 * LoadBalancer status (ValidateServiceClusterIPsRelatedFields and friends, plus the policy checks the registry
 * makes at allocation that need no cluster state). Whether a family is available in this cluster is admission's.
 */
import type { FieldPath } from '../source.js';
import type { Service } from '../types.js';
import { checkIP, checkNonSpecialIP } from './ip-fields.js';
import { dns1123Subdomain } from './names.js';
import { parseIP } from './net.js';
import type { Reporter } from './reporter.js';

const FAMILIES = ['IPv4', 'IPv6'];
const FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];
const IP_MODES = ['VIP', 'Proxy'];

function validateExternalNameIPs(svc: Service, report: Reporter): void {
  const { spec } = svc;
  const msg = 'may not be set for ExternalName services';
  if (spec.clusterIP) report.forbidden(['spec', 'clusterIP'], msg);
  if ((spec.clusterIPs ?? []).length > 0) report.forbidden(['spec', 'clusterIPs'], msg);
  if ((spec.ipFamilies ?? []).length > 0) report.forbidden(['spec', 'ipFamilies'], msg);
  if (spec.ipFamilyPolicy !== undefined) report.forbidden(['spec', 'ipFamilyPolicy'], msg);
}

function validateClusterIPs(svc: Service, report: Reporter): void {
  const { spec } = svc;
  // The API server copies a lone `clusterIP` into `clusterIPs` before validating; we validate the same list, but
  // report against the field the user wrote.
  const ips = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  const ipPath = (i: number): FieldPath => (spec.clusterIPs ? ['spec', 'clusterIPs', i] : ['spec', 'clusterIP']);
  const families = spec.ipFamilies ?? [];
  const headless = ips.length === 1 && ips[0] === 'None';

  if (spec.clusterIP && spec.clusterIPs && spec.clusterIPs.length > 0 && spec.clusterIPs[0] !== spec.clusterIP) {
    report.invalid(['spec', 'clusterIPs'], spec.clusterIPs, 'first value must match `clusterIP`');
  } else if (!spec.clusterIP && (spec.clusterIPs ?? []).length > 0) {
    report.invalid(['spec', 'clusterIPs'], spec.clusterIPs, 'must be empty when `clusterIP` is not specified');
  }
  if (headless && spec.type !== 'ClusterIP') {
    report.invalid(ipPath(0), 'None', `may not be set to 'None' for ${spec.type} services`);
  }

  families.forEach((family, i) => {
    if (!FAMILIES.includes(family)) report.notSupported(['spec', 'ipFamilies', i], family, FAMILIES);
    else if (families.indexOf(family) < i) report.duplicate(['spec', 'ipFamilies', i], family);
  });
  if (spec.ipFamilyPolicy !== undefined && !FAMILY_POLICIES.includes(spec.ipFamilyPolicy)) {
    report.notSupported(['spec', 'ipFamilyPolicy'], spec.ipFamilyPolicy, FAMILY_POLICIES);
  }

  let invalid = false;
  const parsed = ips.map((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        invalid = true;
        report.invalid(['spec', 'clusterIPs'], ips, "'None' must be the first and only value");
      }
      return undefined;
    }
    const ok = parseIP(ip);
    if (!ok) {
      invalid = true;
      checkIP(ipPath(i), ip, report);
    }
    return ok;
  });
  if (ips.length > 2) report.invalid(['spec', 'clusterIPs'], ips, 'may only hold up to 2 values');
  // Bad addresses would skew the checks below (bad index, family of an invalid IP): stop, as Kubernetes does.
  if (invalid) return;
  if (ips.length === 2 && parsed[0]?.family === parsed[1]?.family) {
    report.invalid(['spec', 'clusterIPs'], ips, 'may specify no more than one IP for each IP family');
  }
  if (!headless) {
    parsed.forEach((ip, i) => {
      const family = families[i];
      if (ip && family && FAMILIES.includes(family) && ip.family !== family) {
        report.invalid(ipPath(i), ips[i], `expected an ${family} value as indicated by \`ipFamilies[${i}]\``);
      }
    });
  }
  if (spec.ipFamilyPolicy === 'SingleStack') {
    const dual = "must be 'RequireDualStack' or 'PreferDualStack'";
    if (families.length === 2) {
      report.invalid(['spec', 'ipFamilyPolicy'], 'SingleStack', `${dual} when multiple IP families are specified`);
    }
    if (ips.length === 2) {
      report.invalid(['spec', 'ipFamilyPolicy'], 'SingleStack', `${dual} when multiple cluster IPs are specified`);
    }
  }
}

function validateExternalIPs(svc: Service, report: Reporter): void {
  (svc.spec.externalIPs ?? []).forEach((value, i) => {
    const ip = checkIP(['spec', 'externalIPs', i], value, report);
    if (ip) checkNonSpecialIP(['spec', 'externalIPs', i], value, ip, report);
  });
}

function validateLoadBalancerStatus(svc: Service, report: Reporter): void {
  const ingress = svc.status?.loadBalancer?.ingress ?? [];
  const path: FieldPath = ['status', 'loadBalancer', 'ingress'];
  if (ingress.length > 0 && svc.spec.type !== 'LoadBalancer') {
    report.forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'");
    return;
  }
  ingress.forEach((entry, i) => {
    const at: FieldPath = [...path, i];
    if (entry.ip) checkIP([...at, 'ip'], entry.ip, report);
    if (entry.ipMode !== undefined) {
      if (!entry.ip) report.forbidden([...at, 'ipMode'], 'may not be specified when `ip` is not set');
      else if (!IP_MODES.includes(entry.ipMode)) report.notSupported([...at, 'ipMode'], entry.ipMode, IP_MODES);
    }
    if (entry.hostname) {
      report.invalidEach([...at, 'hostname'], entry.hostname, dns1123Subdomain(entry.hostname));
      if (parseIP(entry.hostname))
        report.invalid([...at, 'hostname'], entry.hostname, 'must be a DNS name, not an IP address');
    }
  });
}

export function validateServiceIPs(svc: Service, report: Reporter): void {
  if (svc.spec.type === 'ExternalName') validateExternalNameIPs(svc, report);
  else validateClusterIPs(svc, report);
  validateExternalIPs(svc, report);
  validateLoadBalancerStatus(svc, report);
}
