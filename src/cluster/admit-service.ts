/**
 * Service admission, as kube-apiserver's Service REST storage does it on create and update: IP families and policy
 * resolved against the cluster's service CIDRs, ClusterIPs allocated or checked, NodePorts and the health-check port
 * allocated or checked, and (our stand-in for a cloud controller) LoadBalancer ingress IPs from the configured pools.
 * Everything a manifest pins is honoured and validated, so fixtures can know their addresses.
 */
import type { Ipam } from '../cni/ipam.js';
import { RangeExhaustedError } from '../errors.js';
import { wasWritten } from '../model/source.js';
import type { IPFamily, Service, ServicePort } from '../model/types.js';
import type { AdmissionEnv } from './admission-context.js';

const familyOfIP = (ip: string): IPFamily => (ip.includes(':') ? 'IPv6' : 'IPv4');

export interface ServiceAdmission extends AdmissionEnv {
  readonly ipam: Ipam;
}

/** Admit a new or changed Service; returns the object to store, or undefined when it was rejected. */
export function admitService(env: ServiceAdmission, svc: Service, old: Service | undefined): Service | undefined {
  const before = env.issues.issues.length;
  const spec = { ...svc.spec };
  const out: Service = { ...svc, spec, status: { loadBalancer: { ...svc.status.loadBalancer } } };

  if (spec.type === 'ExternalName') {
    delete spec.clusterIP;
    delete spec.clusterIPs;
    delete spec.ipFamilies;
    delete spec.ipFamilyPolicy;
    if (old) releaseService(env, old);
    return out;
  }

  resolveFamilies(env, svc, spec, old);
  if (old) checkFamilyChange(env, svc, spec, old);
  if (env.issues.issues.length > before) return undefined;
  allocateClusterIPs(env, svc, spec, old);
  allocateNodePorts(env, svc, spec, old);
  allocateLoadBalancer(env, svc, out, old);
  return env.issues.issues.length > before ? undefined : out;
}

/** Release everything a Service holds (on delete, or when an update drops it). */
export function releaseService(env: ServiceAdmission, svc: Service): void {
  for (const ip of svc.spec.clusterIPs ?? []) if (ip !== 'None') env.ipam.releaseClusterIP(ip, env.journal);
  for (const p of svc.spec.ports ?? []) if (p.nodePort) env.ipam.releaseNodePort(p.nodePort, env.journal);
  if (svc.spec.healthCheckNodePort) env.ipam.releaseNodePort(svc.spec.healthCheckNodePort, env.journal);
  for (const ing of svc.status.loadBalancer.ingress ?? [])
    if (ing.ip) env.ipam.releaseLoadBalancerIP(ing.ip, env.journal);
}

/**
 * ipFamilies and ipFamilyPolicy as the apiserver settles them: from the ClusterIPs given, the families asked for,
 * the policy, and what the cluster's service CIDRs can serve.
 */
function resolveFamilies(env: ServiceAdmission, svc: Service, spec: Service['spec'], old: Service | undefined): void {
  const clusterFamilies = env.ipam.serviceFamilies();
  const dualStackCluster = clusterFamilies.length > 1;
  const headless = spec.clusterIP === 'None';
  const givenIPs = (spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : [])).filter((ip) => ip && ip !== 'None');

  if (old && !spec.ipFamilies && old.spec.ipFamilies && sameClusterIPIntent(spec, old)) {
    spec.ipFamilies = [...old.spec.ipFamilies];
  }
  // A headless Service without selector has no addresses of its own, so the cluster's families do not bind it
  // (initIPFamilyFields in registry/core/service/storage/alloc.go): RequireDualStack by default, the cluster's first
  // family first, the other family added for any policy but SingleStack, even on a single-stack cluster. (The older
  // REST storage added it for PreferDualStack only on a dual-stack cluster.)
  if (headless && Object.keys(spec.selector ?? {}).length === 0) {
    const policy = spec.ipFamilyPolicy ?? 'RequireDualStack';
    let families: IPFamily[] = spec.ipFamilies?.length ? [...spec.ipFamilies] : [clusterFamilies[0]!];
    if (families.length < 2 && policy !== 'SingleStack') families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
    if (policy === 'SingleStack') families = families.slice(0, 1);
    spec.ipFamilies = families;
    spec.ipFamilyPolicy = policy;
    return;
  }
  const policy = spec.ipFamilyPolicy ?? 'SingleStack';
  if (policy === 'RequireDualStack' && !dualStackCluster) {
    env.issues.reject(
      svc,
      ['spec', 'ipFamilyPolicy'],
      `this cluster is not configured for dual-stack services, got "${policy}"`,
    );
    return;
  }
  let families: IPFamily[] = spec.ipFamilies ? [...spec.ipFamilies] : givenIPs.map(familyOfIP);
  families.forEach((family, i) => {
    if (!clusterFamilies.includes(family)) {
      const path =
        wasWritten(svc, ['spec', 'ipFamilies']) || !givenIPs.length
          ? ['spec', 'ipFamilies', i]
          : ['spec', 'clusterIPs', i];
      env.issues.reject(
        svc,
        path,
        `${family} is not configured on this cluster (service CIDRs: ${env.config.serviceCIDRs.join(', ')})`,
      );
    }
  });
  if (families.length === 0) families = [clusterFamilies[0]!];
  if (policy !== 'SingleStack' && dualStackCluster && families.length === 1) {
    families.push(clusterFamilies.find((f) => f !== families[0])!);
  }
  if (policy === 'SingleStack') families = families.slice(0, 1);
  spec.ipFamilies = families;
  spec.ipFamilyPolicy = policy;
}

/**
 * An update may add a secondary family or release it, never change the primary one, nor reorder the two
 * (validateUpgradeDowngradeIPFamilies). Headless Services may, and so may a change to or from ExternalName or
 * headless. Without this, a PreferDualStack Service asked for [IPv6, IPv4] got an IPv6 primary ClusterIP, and a
 * single-family proxy stopped serving it.
 */
function checkFamilyChange(env: ServiceAdmission, svc: Service, spec: Service['spec'], old: Service): void {
  if (old.spec.type === 'ExternalName') return;
  const oldHeadless = old.spec.clusterIPs?.length === 1 && old.spec.clusterIPs[0] === 'None';
  const newHeadless = spec.clusterIP === 'None' || (spec.clusterIPs?.length === 1 && spec.clusterIPs[0] === 'None');
  if (oldHeadless || newHeadless) return;
  const was = old.spec.ipFamilies ?? [];
  const now = spec.ipFamilies ?? [];
  if (was.length === 0 || now.length === 0) return;
  const changed = was.length === now.length ? was.some((family, i) => family !== now[i]) : was[0] !== now[0];
  // (Upstream also asks SingleStack of an update that releases the secondary family; resolveFamilies releases it
  // for SingleStack only, so that cannot happen here.)
  if (changed) {
    env.issues.reject(
      svc,
      ['spec', 'ipFamilies', 0],
      `may not change once set, was ${JSON.stringify(was)}, got ${JSON.stringify(now)}`,
    );
  }
}

function sameClusterIPIntent(spec: Service['spec'], old: Service): boolean {
  return !spec.clusterIP || spec.clusterIP === old.spec.clusterIP;
}

function allocateClusterIPs(
  env: ServiceAdmission,
  svc: Service,
  spec: Service['spec'],
  old: Service | undefined,
): void {
  if (spec.clusterIP === 'None') {
    spec.clusterIPs = ['None'];
    return;
  }
  const oldIPs = old?.spec.clusterIPs?.filter((ip) => ip !== 'None') ?? [];
  const given = spec.clusterIPs ?? (spec.clusterIP ? [spec.clusterIP] : []);
  // Point at what the user wrote: `clusterIPs[i]` if they listed them, else `clusterIP` (defaulting fills both).
  const listedIPs = wasWritten(svc, ['spec', 'clusterIPs']);
  const usePathOf = (i: number) => (listedIPs || i > 0 ? ['spec', 'clusterIPs', i] : ['spec', 'clusterIP']);
  const result: string[] = [];
  spec.ipFamilies!.forEach((family, i) => {
    const pinned = given[i];
    const kept = oldIPs.find((ip) => familyOfIP(ip) === family);
    if (kept && (pinned === undefined || pinned === kept)) {
      result.push(kept);
      return;
    }
    if (kept && pinned !== undefined) {
      env.issues.reject(svc, usePathOf(i), `may not change once set, was "${kept}", got "${pinned}"`);
      return;
    }
    const ip = env.issues.attempt(svc, usePathOf(i), () => env.ipam.allocateClusterIP(family, pinned, env.journal));
    if (ip) result.push(ip);
  });
  // An update that drops a family (PreferDualStack → SingleStack) releases the dropped address.
  for (const ip of oldIPs) if (!result.includes(ip)) env.ipam.releaseClusterIP(ip, env.journal);
  spec.clusterIPs = result;
  spec.clusterIP = result[0];
}

function needsNodePorts(spec: Service['spec']): boolean {
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

/**
 * NodePorts as the API server's initNodePorts assigns them: ports with the same number share one NodePort (53/TCP and
 * 53/UDP), a NodePort the user pinned is reserved even where none would be allocated (a LoadBalancer with
 * allocateLoadBalancerNodePorts false), and an update keeps the NodePort a port already had.
 */
function allocateNodePorts(env: ServiceAdmission, svc: Service, spec: Service['spec'], old: Service | undefined): void {
  const oldPorts = old?.spec.ports ?? [];
  const kept = new Set<number>();
  /** Port number → the NodePort this Service gave it. */
  const byNumber = new Map<number, number>();
  const oldNodePorts = new Set(oldPorts.flatMap((p) => (p.nodePort ? [p.nodePort] : [])));
  const previousOf = (port: ServicePort) =>
    oldPorts.find((p) => p.port === port.port && p.protocol === port.protocol)?.nodePort;
  /** A NodePort for port i: one this Service already holds is kept (updateNodePorts), any other is allocated. */
  const take = (i: number, requested: number | undefined): number | undefined => {
    if (requested !== undefined && oldNodePorts.has(requested)) {
      kept.add(requested);
      return requested;
    }
    return env.issues.attempt(svc, ['spec', 'ports', i, 'nodePort'], () =>
      env.ipam.allocateNodePort(requested, env.journal),
    );
  };
  if (spec.ports) {
    const ports = spec.ports;
    spec.ports = ports.map((port, i): ServicePort => {
      if (!needsNodePorts(spec)) {
        if (port.nodePort === undefined) {
          const { nodePort: _dropped, ...rest } = port;
          return rest;
        }
        if (byNumber.get(port.port) !== port.nodePort && take(i, port.nodePort) !== undefined)
          byNumber.set(port.port, port.nodePort);
        return port;
      }
      const previous = previousOf(port);
      if (previous !== undefined && (port.nodePort === undefined || port.nodePort === previous)) {
        kept.add(previous);
        byNumber.set(port.port, previous);
        return { ...port, nodePort: previous };
      }
      const shared = byNumber.get(port.port);
      if (shared !== undefined && (port.nodePort === undefined || port.nodePort === shared))
        return { ...port, nodePort: shared };
      // The first port of a number takes a NodePort pinned on a later port of the same number, or one that port had
      // before this update (findRequestedNodePort, after patchAllocatedValues copied the old values in).
      const later = (p: ServicePort) => p.nodePort ?? previousOf(p);
      const requested =
        port.nodePort ??
        (shared === undefined
          ? ports
              .slice(i + 1)
              .map((p) => (p.port === port.port ? later(p) : undefined))
              .find((n) => n !== undefined)
          : undefined);
      const nodePort = take(i, requested);
      if (nodePort === undefined) return port;
      if (shared === undefined) byNumber.set(port.port, nodePort);
      return { ...port, nodePort };
    });
  }
  for (const p of oldPorts) if (p.nodePort && !kept.has(p.nodePort)) env.ipam.releaseNodePort(p.nodePort, env.journal);

  const needsHealthCheck = spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
  const oldHc = old?.spec.healthCheckNodePort;
  if (!needsHealthCheck) {
    if (oldHc) env.ipam.releaseNodePort(oldHc, env.journal);
    delete spec.healthCheckNodePort;
    return;
  }
  if (oldHc && (spec.healthCheckNodePort === undefined || spec.healthCheckNodePort === oldHc)) {
    spec.healthCheckNodePort = oldHc;
    return;
  }
  if (oldHc) env.ipam.releaseNodePort(oldHc, env.journal);
  spec.healthCheckNodePort = env.issues.attempt(svc, ['spec', 'healthCheckNodePort'], () =>
    env.ipam.allocateNodePort(spec.healthCheckNodePort, env.journal),
  );
}

/**
 * LoadBalancer ingress: what the manifest pins (status.loadBalancer.ingress, or the older spec.loadBalancerIP) is kept;
 * otherwise one address per IP family from the pools, as a MetalLB-style controller would assign.
 */
function allocateLoadBalancer(env: ServiceAdmission, svc: Service, out: Service, old: Service | undefined): void {
  const spec = out.spec;
  const oldIngress = old?.status.loadBalancer.ingress ?? [];
  if (spec.type !== 'LoadBalancer') {
    for (const ing of oldIngress) if (ing.ip) env.ipam.releaseLoadBalancerIP(ing.ip, env.journal);
    out.status = { loadBalancer: {} };
    return;
  }
  const pinned = svc.status.loadBalancer.ingress?.filter((i) => i.ip || i.hostname);
  if (pinned?.length) {
    pinned.forEach((ing, i) => {
      if (ing.ip && !oldIngress.some((o) => o.ip === ing.ip)) {
        env.issues.attempt(svc, ['status', 'loadBalancer', 'ingress', i, 'ip'], () =>
          env.ipam.allocateLoadBalancerIP(familyOfIP(ing.ip!), ing.ip, env.journal),
        );
      }
    });
    out.status = { loadBalancer: { ingress: pinned.map((i) => ({ ...i, ipMode: i.ipMode ?? 'VIP' })) } };
    return;
  }
  if (oldIngress.length) {
    out.status = { loadBalancer: { ingress: oldIngress } };
    return;
  }
  const ingress: { ip: string; ipMode: 'VIP' }[] = [];
  if (spec.loadBalancerIP) {
    const ip = env.issues.attempt(svc, ['spec', 'loadBalancerIP'], () =>
      env.ipam.allocateLoadBalancerIP(familyOfIP(spec.loadBalancerIP!), spec.loadBalancerIP, env.journal),
    );
    if (ip) ingress.push({ ip, ipMode: 'VIP' });
  } else {
    // Nothing in the API server hands out these addresses: with no pool of a family, or a full one, the Service is
    // created all the same and waits, EXTERNAL-IP <pending>, as it would for a cloud controller.
    for (const family of spec.ipFamilies ?? []) {
      try {
        ingress.push({ ip: env.ipam.allocateLoadBalancerIP(family, undefined, env.journal), ipMode: 'VIP' });
      } catch (err) {
        if (!(err instanceof RangeExhaustedError)) throw err;
      }
    }
  }
  if (ingress.length === 0)
    env.issues.warn(
      `${svc.metadata.namespace}/${svc.metadata.name}: no free LoadBalancer IP in a pool of its IP families; EXTERNAL-IP stays <pending>`,
    );
  out.status = { loadBalancer: ingress.length ? { ingress } : {} };
}
