/**
 * Nodes and Namespaces (ValidateNode, ValidateNamespace, for the fields we keep): pod CIDRs (valid, one per family,
 * no duplicates), taints (key, value, effect, unique by key and effect), addresses, resource quantities and
 * condition statuses; a Namespace's phase.
 */
import type { FieldPath } from '../source.js';
import type { Namespace, Node } from '../types.js';
import { checkQuantity } from './container.js';
import { checkCIDR, checkIP } from './ip-fields.js';
import { dns1123Subdomain, labelValue, qualifiedName } from './names.js';
import type { ParsedCIDR } from './net.js';
import { TAINT_EFFECTS } from './pod-spec.js';
import type { Reporter } from './reporter.js';

const ADDRESS_TYPES = ['InternalIP', 'ExternalIP', 'Hostname', 'InternalDNS', 'ExternalDNS'];
const CONDITION_STATUSES = ['True', 'False', 'Unknown'];

function validatePodCIDRs(node: Node, report: Reporter): void {
  if (node.spec.podCIDR) checkCIDR(['spec', 'podCIDR'], node.spec.podCIDR, report);
  const cidrs = node.spec.podCIDRs ?? [];
  const parsed = cidrs.map((cidr, i) => checkCIDR(['spec', 'podCIDRs', i], cidr, report));
  if (node.spec.podCIDR && cidrs.length > 0 && cidrs[0] !== node.spec.podCIDR) {
    report.invalid(['spec', 'podCIDRs'], cidrs, 'first value must match `podCIDR`');
  }
  if (cidrs.length > 1) {
    const valid = parsed.filter((p): p is ParsedCIDR => p !== undefined);
    if (cidrs.length > 2 || (valid.length === 2 && valid[0]!.family === valid[1]!.family)) {
      report.invalid(['spec', 'podCIDRs'], cidrs, 'may specify no more than one CIDR for each IP family');
    }
    cidrs.forEach((cidr, i) => {
      if (cidrs.indexOf(cidr) < i) report.duplicate(['spec', 'podCIDRs', i], cidr);
    });
  }
}

function validateTaints(node: Node, report: Reporter): void {
  const seen = new Set<string>();
  (node.spec.taints ?? []).forEach((taint, i) => {
    // Kubernetes reports these under `metadata.taints` (a long-standing slip); we use the real path.
    const at: FieldPath = ['spec', 'taints', i];
    if (taint.key === undefined) report.required([...at, 'key']);
    else report.invalidEach([...at, 'key'], taint.key, qualifiedName(taint.key));
    if (taint.value !== undefined) {
      const problems = labelValue(taint.value);
      if (problems.length > 0) report.invalid([...at, 'value'], taint.value, problems.join(';'));
    }
    if (taint.effect === undefined) report.required([...at, 'effect']);
    else if (!TAINT_EFFECTS.includes(taint.effect)) report.notSupported([...at, 'effect'], taint.effect, TAINT_EFFECTS);
    const key = `${taint.key}\u0000${taint.effect}`;
    if (seen.has(key)) report.at(at, 'Duplicate value: taints must be unique by key and effect pair');
    seen.add(key);
  });
}

function validateStatus(node: Node, report: Reporter): void {
  const status = node.status;
  (status.addresses ?? []).forEach((address, i) => {
    const at: FieldPath = ['status', 'addresses', i];
    if (!ADDRESS_TYPES.includes(address.type)) report.notSupported([...at, 'type'], address.type, ADDRESS_TYPES);
    if (address.address === undefined) report.required([...at, 'address']);
    // kube-netsim routes to InternalIP and ExternalIP addresses, so they must be addresses.
    else if (address.type === 'InternalIP' || address.type === 'ExternalIP') {
      checkIP([...at, 'address'], address.address, report);
    } else report.invalidEach([...at, 'address'], address.address, dns1123Subdomain(address.address));
  });
  for (const list of ['allocatable', 'capacity'] as const) {
    for (const [name, value] of Object.entries(status[list] ?? {})) {
      const parsed = checkQuantity(['status', list, name], value, report);
      if (parsed !== undefined && name === 'pods' && !Number.isInteger(parsed)) {
        report.invalid(['status', list, name], value, 'must be an integer');
      }
    }
  }
  (status.conditions ?? []).forEach((condition, i) => {
    const at: FieldPath = ['status', 'conditions', i];
    if (!condition.type) report.required([...at, 'type']);
    if (!CONDITION_STATUSES.includes(condition.status)) {
      report.notSupported([...at, 'status'], condition.status, CONDITION_STATUSES);
    }
  });
}

export function validateNode(node: Node, report: Reporter): void {
  validatePodCIDRs(node, report);
  validateTaints(node, report);
  validateStatus(node, report);
}

export function validateNamespace(ns: Namespace, report: Reporter): void {
  const phase = ns.status?.phase;
  if (phase !== undefined && phase !== 'Active' && phase !== 'Terminating') {
    report.notSupported(['status', 'phase'], phase, ['Active', 'Terminating']);
  }
}
