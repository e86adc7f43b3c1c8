/**
 * Deployments, ReplicaSets, StatefulSets and DaemonSets (pkg/apis/apps/validation): a required, non-empty, valid
 * selector that matches the template's labels, non-negative replicas and minReadySeconds, a valid pod template whose
 * restartPolicy is Always, and StatefulSet's podManagementPolicy and non-negative ordinals.start.
 */
import { matchesSelector } from '../labels.js';
import type { FieldPath } from '../source.js';
import type { DaemonSet, Deployment, LabelSelector, PodTemplateSpec, ReplicaSet, StatefulSet } from '../types.js';
import { validatePodSpec } from './pod-spec.js';
import type { Reporter } from './reporter.js';
import { isEmptySelector, validateAnnotations, validateLabelSelector, validateLabels } from './selector.js';

export type Workload = Deployment | ReplicaSet | StatefulSet | DaemonSet;

/** The wording of the empty-selector error differs per kind, as it does upstream (ReplicaSet reuses Deployment's). */
const EMPTY_SELECTOR_NOUN: Record<Workload['kind'], string> = {
  Deployment: 'deployment',
  ReplicaSet: 'deployment',
  StatefulSet: 'statefulset',
  DaemonSet: 'daemonset',
};

function selectorIsValid(selector: LabelSelector, report: Reporter): boolean {
  const before = report.issues.length;
  validateLabelSelector(selector, ['spec', 'selector'], report);
  return report.issues.length === before;
}

function validateTemplate(
  template: PodTemplateSpec | undefined,
  selector: LabelSelector | undefined,
  report: Reporter,
) {
  const at: FieldPath = ['spec', 'template'];
  if (!template) {
    report.required(at);
    return;
  }
  const labels = template.metadata?.labels;
  if (selector && !isEmptySelector(selector) && !matchesSelector(labels ?? {}, selector)) {
    report.invalid([...at, 'metadata', 'labels'], labels ?? {}, '`selector` does not match template `labels`');
  }
  validateLabels(labels, [...at, 'metadata', 'labels'], report);
  validateAnnotations(template.metadata?.annotations, [...at, 'metadata', 'annotations'], report);
  if (!template.spec) {
    report.required([...at, 'spec']);
    return;
  }
  validatePodSpec(template.spec, [...at, 'spec'], report, { isPod: false });
  if (template.spec.restartPolicy !== 'Always') {
    report.notSupported([...at, 'spec', 'restartPolicy'], template.spec.restartPolicy, ['Always']);
  }
}

export function validateWorkload(obj: Workload, report: Reporter): void {
  const spec = obj.spec;
  if ('replicas' in spec && spec.replicas < 0) {
    report.invalid(['spec', 'replicas'], spec.replicas, 'must be greater than or equal to 0');
  }
  if (spec.minReadySeconds !== undefined && spec.minReadySeconds < 0) {
    report.invalid(['spec', 'minReadySeconds'], spec.minReadySeconds, 'must be greater than or equal to 0');
  }
  let usable: LabelSelector | undefined;
  if (!spec.selector) {
    report.required(['spec', 'selector'], 'apps/v1 does not default the selector from the template labels');
  } else {
    const valid = selectorIsValid(spec.selector, report);
    if (isEmptySelector(spec.selector)) {
      report.invalid(
        ['spec', 'selector'],
        spec.selector,
        `empty selector is invalid for ${EMPTY_SELECTOR_NOUN[obj.kind]}`,
      );
    } else if (valid) usable = spec.selector;
  }
  validateTemplate(spec.template, usable, report);
  if (obj.kind === 'StatefulSet') {
    const policy = obj.spec.podManagementPolicy;
    if (policy !== 'OrderedReady' && policy !== 'Parallel') {
      report.invalid(['spec', 'podManagementPolicy'], policy, "must be 'OrderedReady' or 'Parallel'");
    }
    const start = obj.spec.ordinals?.start;
    if (start !== undefined && start < 0) {
      report.invalid(['spec', 'ordinals', 'start'], start, 'must be greater than or equal to 0');
    }
  }
}
