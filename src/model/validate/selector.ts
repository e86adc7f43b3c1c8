/**
 * Label and selector syntax, shared by metadata, Services, workloads, Pods (nodeSelector) and NetworkPolicies.
 * Follows k8s.io/apimachinery meta/v1/validation: ValidateLabels, ValidateLabelSelector(Requirement).
 * Like Kubernetes, a bad label key or value is reported against the map (`metadata.labels`), but located at the
 * offending entry so the line number points at it.
 */

import type { FieldPath } from '../source.js';
import type { LabelSelector } from '../types.js';
import { labelValue, qualifiedName } from './names.js';
import type { Reporter } from './reporter.js';

/** Keys and values of a label map (metadata.labels, Service.spec.selector, nodeSelector, matchLabels). */
export function validateLabels(labels: Record<string, string> | undefined, path: FieldPath, report: Reporter): void {
  for (const [key, value] of Object.entries(labels ?? {})) {
    report.invalidEach([...path, key], key, qualifiedName(key), { field: path });
    report.invalidEach([...path, key], value, labelValue(value), { field: path });
  }
}

const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** Annotation keys are qualified names (checked lower-cased, as Kubernetes does); the total is at most 256 KiB. */
export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  path: FieldPath,
  report: Reporter,
): void {
  let total = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    report.invalidEach([...path, key], key, qualifiedName(key.toLowerCase()), { field: path });
    total += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (total > MAX_ANNOTATIONS_BYTES) {
    report.at(path, `Too long: may not be more than ${MAX_ANNOTATIONS_BYTES} bytes, got ${total} bytes`);
  }
}

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** A LabelSelector: matchLabels as labels, and each matchExpressions requirement's operator, key and values. */
export function validateLabelSelector(selector: LabelSelector | undefined, path: FieldPath, report: Reporter): void {
  if (!selector) return;
  validateLabels(selector.matchLabels, [...path, 'matchLabels'], report);
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const at: FieldPath = [...path, 'matchExpressions', i];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) {
          report.required([...at, 'values'], "must be specified when `operator` is 'In' or 'NotIn'");
        }
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) {
          report.forbidden([...at, 'values'], "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
        }
        break;
      default:
        if (req.operator === undefined) report.required([...at, 'operator']);
        else
          report.invalid([...at, 'operator'], req.operator, 'not a valid selector operator', {
            hint: `use one of ${OPERATORS.join(', ')}`,
          });
    }
    if (req.key === undefined) report.required([...at, 'key']);
    else report.invalidEach([...at, 'key'], req.key, qualifiedName(req.key));
    values.forEach((value, j) => {
      report.invalidEach([...at, 'values', j], value, labelValue(value));
    });
  });
}

/** Whether a selector has no requirement at all (`{}`), which selects everything. */
export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}
