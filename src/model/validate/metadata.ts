/**
 * ObjectMeta as the API server checks it on create (apimachinery ValidateObjectMeta), with each kind's name rule:
 * Namespaces are RFC 1123 labels, Services RFC 1035 labels (their names become DNS labels that must not start
 * with a digit), StatefulSets RFC 1123 labels (their pods' names are DNS labels of the governing Service's zone:
 * apps ValidateStatefulSetName, since 1.27), everything else RFC 1123 subdomains.
 */
import { CLUSTER_SCOPED, type KubeObject } from '../types.js';
import { dns1035Label, dns1123Label, dns1123Subdomain } from './names.js';
import type { Reporter } from './reporter.js';
import { validateAnnotations, validateLabels } from './selector.js';

/** The name rule of a kind. */
export function nameRule(kind: string): (value: string) => string[] {
  if (kind === 'Namespace' || kind === 'StatefulSet') return dns1123Label;
  if (kind === 'Service') return dns1035Label;
  return dns1123Subdomain;
}

export function validateObjectMeta(obj: KubeObject, report: Reporter): void {
  const meta = obj.metadata;
  if (meta.name === undefined || meta.name === '') {
    if (meta.generateName !== undefined) {
      report.required(
        ['metadata', 'name'],
        'metadata.generateName is not supported: kube-netsim loads manifests like `kubectl apply`, which needs a fixed name',
      );
    } else {
      report.required(['metadata', 'name'], 'name or generateName is required');
    }
  } else {
    report.invalidEach(['metadata', 'name'], meta.name, nameRule(obj.kind)(meta.name));
  }
  if (!CLUSTER_SCOPED.has(obj.kind) && meta.namespace !== undefined) {
    report.invalidEach(['metadata', 'namespace'], meta.namespace, dns1123Label(meta.namespace));
  }
  validateLabels(meta.labels, ['metadata', 'labels'], report);
  validateAnnotations(meta.annotations, ['metadata', 'annotations'], report);
}
