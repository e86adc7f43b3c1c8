/**
 * A pod spec, wherever it appears: a Pod's `spec` or a workload's `spec.template.spec` (ValidatePodSpec, for the
 * fields our model keeps): containers, DNS policy and config, hostname/subdomain, tolerations, nodeSelector,
 * restart policy, scheduler name, host networking.
 */
import type { FieldPath } from '../source.js';
import type { PodSpec } from '../types.js';
import { validateContainers } from './container.js';
import { checkIP } from './ip-fields.js';
import { dns1123Label, dns1123Subdomain, dns1123SubdomainWithUnderscore, labelValue, qualifiedName } from './names.js';
import type { Reporter } from './reporter.js';
import { validateLabels } from './selector.js';

export const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
/** Limits from libc's resolver, as the API server enforces them. */
const MAX_NAMESERVERS = 3;
const MAX_SEARCHES = 32;
const MAX_SEARCH_CHARS = 2048;

function validateDNS(spec: PodSpec, at: FieldPath, report: Reporter): void {
  if (!DNS_POLICIES.includes(spec.dnsPolicy)) {
    report.notSupported([...at, 'dnsPolicy'], spec.dnsPolicy, DNS_POLICIES);
  }
  const config = spec.dnsConfig;
  const cfg: FieldPath = [...at, 'dnsConfig'];
  if (spec.dnsPolicy === 'None') {
    if (config === undefined) {
      report.required(cfg, 'must provide `dnsConfig` when `dnsPolicy` is None');
      return;
    }
    if ((config.nameservers ?? []).length === 0) {
      report.required([...cfg, 'nameservers'], 'must provide at least one DNS nameserver when `dnsPolicy` is None');
      return;
    }
  }
  if (config === undefined) return;
  const nameservers = config.nameservers ?? [];
  if (nameservers.length > MAX_NAMESERVERS) {
    report.invalid([...cfg, 'nameservers'], nameservers, `must not have more than ${MAX_NAMESERVERS} nameservers`);
  }
  nameservers.forEach((ns, i) => {
    checkIP([...cfg, 'nameservers', i], ns, report);
  });
  const searches = config.searches ?? [];
  if (searches.length > MAX_SEARCHES) {
    report.invalid([...cfg, 'searches'], searches, `must not have more than ${MAX_SEARCHES} search paths`);
  }
  if (searches.join(' ').length > MAX_SEARCH_CHARS) {
    report.invalid(
      [...cfg, 'searches'],
      searches,
      `must not have more than ${MAX_SEARCH_CHARS} characters (including spaces) in the search list`,
    );
  }
  searches.forEach((search, i) => {
    // Relaxed DNS search validation (KEP-4427): "." alone, a trailing dot (fully qualified), underscores in labels.
    if (search === '.') return;
    report.invalidEach([...cfg, 'searches', i], search, dns1123SubdomainWithUnderscore(search.replace(/\.$/, '')));
  });
  (config.options ?? []).forEach((option, i) => {
    if (!option.name) report.required([...cfg, 'options', i], 'must not be empty');
  });
}

function validateTolerations(spec: PodSpec, at: FieldPath, report: Reporter): void {
  (spec.tolerations ?? []).forEach((t, i) => {
    const p: FieldPath = [...at, 'tolerations', i];
    if (t.key) report.invalidEach([...p, 'key'], t.key, qualifiedName(t.key));
    if (!t.key && t.operator !== 'Exists') {
      report.invalid(
        [...p, 'operator'],
        t.operator ?? '',
        'operator must be Exists when `key` is empty, which means "match all values and all keys"',
      );
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') {
      report.invalid([...p, 'effect'], t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    switch (t.operator) {
      case undefined:
      case 'Equal':
        // Kubernetes reports a bad value against `operator`; we point at `value`, where the problem is.
        if (t.value !== undefined) report.invalidEach([...p, 'value'], t.value, labelValue(t.value));
        break;
      case 'Exists':
        if (t.value) report.invalid([...p, 'value'], t.value, "value must be empty when `operator` is 'Exists'");
        break;
      default:
        report.notSupported([...p, 'operator'], t.operator, ['Equal', 'Exists']);
    }
    if (t.effect && !TAINT_EFFECTS.includes(t.effect)) report.notSupported([...p, 'effect'], t.effect, TAINT_EFFECTS);
  });
}

function validateHostNetworkPorts(spec: PodSpec, at: FieldPath, report: Reporter, isPod: boolean): void {
  if (!spec.hostNetwork) return;
  for (const list of ['containers', 'initContainers'] as const) {
    (spec[list] ?? []).forEach((container, i) => {
      (container.ports ?? []).forEach((port, j) => {
        const hostPort = port.hostPort ?? 0;
        // A Pod has hostPort defaulted to containerPort; a template may leave it 0 until its pods are created.
        if ((isPod || hostPort !== 0) && hostPort !== port.containerPort) {
          report.invalid(
            [...at, list, i, 'ports', j, 'hostPort'],
            hostPort,
            'must match `containerPort` when `hostNetwork` is true',
          );
        }
      });
    });
  }
}

export interface PodSpecOptions {
  /** True for a Pod's own spec, false for a workload's pod template. */
  isPod: boolean;
}

/** Validate a defaulted pod spec found at `at` (`['spec']` or `['spec', 'template', 'spec']`). */
export function validatePodSpec(spec: PodSpec, at: FieldPath, report: Reporter, options: PodSpecOptions): void {
  validateContainers(spec.containers, spec.initContainers, at, report);
  validateDNS(spec, at, report);
  if (spec.hostname) report.invalidEach([...at, 'hostname'], spec.hostname, dns1123Label(spec.hostname));
  if (spec.subdomain) report.invalidEach([...at, 'subdomain'], spec.subdomain, dns1123Label(spec.subdomain));
  (spec.hostAliases ?? []).forEach((alias, i) => {
    checkIP([...at, 'hostAliases', i, 'ip'], alias.ip, report);
    (alias.hostnames ?? []).forEach((name, j) => {
      report.invalidEach([...at, 'hostAliases', i, 'hostnames', j], name, dns1123Subdomain(name));
    });
  });
  if (spec.nodeName) report.invalidEach([...at, 'nodeName'], spec.nodeName, dns1123Subdomain(spec.nodeName));
  if (spec.schedulerName) {
    report.invalidEach([...at, 'schedulerName'], spec.schedulerName, dns1123Subdomain(spec.schedulerName));
  }
  if (spec.schedulingGates?.length) validateSchedulingGates(spec, at, report, options.isPod);
  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy)) {
    report.notSupported([...at, 'restartPolicy'], spec.restartPolicy, RESTART_POLICIES);
  }
  validateLabels(spec.nodeSelector, [...at, 'nodeSelector'], report);
  validateTolerations(spec, at, report);
  validateHostNetworkPorts(spec, at, report, options.isPod);
}

/** validateSchedulingGates: qualified names, each once; and ValidatePodCreate: a pod bound to a node cannot wait. */
function validateSchedulingGates(spec: PodSpec, at: FieldPath, report: Reporter, isPod: boolean): void {
  const gates = new Set<string>();
  (spec.schedulingGates ?? []).forEach((gate, i) => {
    const path: FieldPath = [...at, 'schedulingGates', i, 'name'];
    report.invalidEach(path, gate.name, qualifiedName(gate.name));
    if (gates.has(gate.name)) report.duplicate(path, gate.name);
    gates.add(gate.name);
  });
  if (isPod && spec.nodeName) {
    report.forbidden([...at, 'nodeName'], 'cannot be set until all schedulingGates have been cleared');
  }
}
