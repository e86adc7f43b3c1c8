/**
 * Documents → valid, defaulted objects, in the API server's order: decode (type check), default, validate.
 * Problems are collected for the whole batch, never thrown one at a time: every issue of every document is
 * reported, and an object with any issue is left out of `objects` (the caller rejects the batch).
 *
 * Batch-level rules: an unknown kind is a warning (it is skipped, like a kind kube-netsim does not model), the same
 * kind/namespace/name twice is an error at the second one, and at most one ClusterConfig may appear.
 */
import type { ManifestIssue } from '../../errors.js';
import { isUnknownBuiltinKind } from '../builtin-kinds.js';
import { type ClusterConfigDocument, parseClusterConfig } from '../config.js';
import { applyDefaultsInPlace } from '../defaults.js';
import type { RawDocument } from '../load/parse.js';
import { attachSource, positionOf, type SourcePosition, sourceOf } from '../source.js';
import {
  type AnyObject,
  API_VERSIONS,
  type ClusterConfig,
  describeObject,
  KINDS,
  type Kind,
  objectKey,
} from '../types.js';
import { validateEndpointSlice } from './endpoint-slice.js';
import { validateEndpoints } from './endpoints.js';
import { validateObjectMeta } from './metadata.js';
import { validateNetworkPolicy } from './network-policy.js';
import { validateNamespace, validateNode } from './node.js';
import { validatePod } from './pod.js';
import { Reporter } from './reporter.js';
import { KIND_SHAPES } from './schemas.js';
import { validateService } from './service.js';
import { checkShape, dropNulls, isPlainObject, kindOfValue } from './shape.js';
import { validateWorkload } from './workload.js';

export interface ValidationResult {
  /** Valid objects, defaulted, in input order, each with its SourceRef attached. */
  objects: AnyObject[];
  /** The batch's ClusterConfig, validated and defaulted, when it has one. */
  config?: ClusterConfig;
  /** Whether a ClusterConfig was given and refused (invalid, or a second one). */
  configRejected: boolean;
  issues: ManifestIssue[];
  warnings: string[];
}

/**
 * What issues are located through: the raw object when it carries its SourceRef, else a stand-in carrying the
 * document's. Documents built in code may have no source at all; their issues say `<input>`.
 */
function targetFor(doc: RawDocument): object {
  if (typeof doc.value === 'object' && doc.value !== null && sourceOf(doc.value)) return doc.value;
  const stand = {};
  if (doc.source) attachSource(stand, doc.source);
  return stand;
}

/** `file:line:col` (a line is unique within a file, so the document number adds nothing). */
function where(pos: SourcePosition): string {
  return pos.line > 0 ? `${pos.file}:${pos.line}:${pos.column}` : pos.file;
}

/** An object's issues in file order, whatever order the rules ran in (a stable sort keeps ties in rule order). */
function sortFrom(issues: ManifestIssue[], start: number): void {
  const own = issues
    .splice(start)
    .sort((a, b) => a.position.line - b.position.line || a.position.column - b.position.column);
  issues.push(...own);
}

/** The kind-specific rules, on a defaulted object. */
function validateKind(obj: AnyObject, report: Reporter): void {
  switch (obj.kind) {
    case 'Service':
      validateService(obj, report);
      break;
    case 'Pod':
      validatePod(obj, report);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
    case 'DaemonSet':
      validateWorkload(obj, report);
      break;
    case 'EndpointSlice':
      validateEndpointSlice(obj, report);
      break;
    case 'Endpoints':
      validateEndpoints(obj, report);
      break;
    case 'NetworkPolicy':
      validateNetworkPolicy(obj, report);
      break;
    case 'Node':
      validateNode(obj, report);
      break;
    case 'Namespace':
      validateNamespace(obj, report);
      break;
  }
}

/** How an issue names an object before we know it is well formed. */
function nameForIssues(value: Record<string, unknown>): string {
  const kind = typeof value.kind === 'string' ? value.kind : '';
  if (!kind) return '';
  const meta = isPlainObject(value.metadata) ? value.metadata : {};
  const name = typeof meta.name === 'string' && meta.name ? meta.name : undefined;
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : undefined;
  return describeObject({ kind, metadata: { name, namespace } });
}

class BatchValidator {
  readonly result: ValidationResult = { objects: [], configRejected: false, issues: [], warnings: [] };
  readonly #seen = new Map<string, SourcePosition>();
  #configAt: SourcePosition | undefined;

  add(doc: RawDocument): void {
    const value = doc.value;
    if (!isPlainObject(value)) {
      const report = new Reporter(targetFor(doc), '', this.result.issues, this.result.warnings);
      report.at([], `a manifest must be a mapping with apiVersion, kind and metadata, got ${kindOfValue(value)}`);
      return;
    }
    const target = targetFor(doc);
    const report = new Reporter(target, nameForIssues(value), this.result.issues, this.result.warnings);
    const { apiVersion, kind } = value;
    if (apiVersion === undefined || apiVersion === null || apiVersion === '') report.required(['apiVersion']);
    else if (typeof apiVersion !== 'string') report.invalid(['apiVersion'], apiVersion, 'must be a string');
    if (kind === undefined || kind === null || kind === '') report.required(['kind']);
    else if (typeof kind !== 'string') report.invalid(['kind'], kind, 'must be a string');
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !apiVersion || !kind) return;

    if (kind === 'ClusterConfig') {
      this.#addConfig(value, target, report);
      return;
    }
    if (!(KINDS as readonly string[]).includes(kind)) {
      if (isUnknownBuiltinKind(apiVersion, kind)) {
        report.at(['kind'], `no matches for kind ${JSON.stringify(kind)} in version ${JSON.stringify(apiVersion)}`);
        return;
      }
      const pos = positionOf(target, ['kind']);
      const doc = pos.document > 0 ? ` (document ${pos.document})` : '';
      this.result.warnings.push(
        `${where(pos)}${doc}: kind ${JSON.stringify(kind)} (apiVersion ${JSON.stringify(apiVersion)}) is not modelled by kube-netsim; the object is skipped`,
      );
      return;
    }
    const accepted = API_VERSIONS[kind as Kind];
    if (!accepted.includes(apiVersion)) {
      const supported = accepted.map((v) => JSON.stringify(v)).join(', ');
      report.at(
        ['apiVersion'],
        `no matches for kind ${JSON.stringify(kind)} in version ${JSON.stringify(apiVersion)} (use ${supported})`,
      );
      return;
    }
    const before = this.result.issues.length;
    this.#addObject(value, kind as Kind, target, report);
    sortFrom(this.result.issues, before);
  }

  #addObject(value: Record<string, unknown>, kind: Kind, target: object, report: Reporter): void {
    const before = this.result.issues.length;
    if (!checkShape(value, KIND_SHAPES[kind], [], report)) return;
    // dropNulls makes a fresh deep copy, so defaulting may work on it in place: the input is never modified.
    const decoded = dropNulls(value) as unknown as AnyObject;
    const source = sourceOf(target);
    if (source) attachSource(decoded, source);
    const obj = applyDefaultsInPlace(decoded);
    const objReport = new Reporter(obj, describeObject(obj), this.result.issues, this.result.warnings);
    validateObjectMeta(obj, objReport);
    validateKind(obj, objReport);
    if (this.result.issues.length > before) return;
    this.#checkDuplicate(obj, objReport);
    if (this.result.issues.length === before) this.result.objects.push(obj);
  }

  #checkDuplicate(obj: AnyObject, report: Reporter): void {
    const key = `${obj.kind}/${objectKey(obj)}`;
    const first = this.#seen.get(key);
    if (first) {
      report.at(['metadata', 'name'], `duplicate object: ${describeObject(obj)} is already defined at ${where(first)}`);
      return;
    }
    this.#seen.set(key, positionOf(obj, ['metadata', 'name']));
  }

  #addConfig(value: Record<string, unknown>, target: object, report: Reporter): void {
    const here = positionOf(target, []);
    if (this.#configAt) {
      report.at([], `only one ClusterConfig may be given; the first is at ${where(this.#configAt)}`);
      this.result.configRejected = true;
      return;
    }
    this.#configAt = here;
    // The config reads its SourceRef from the object; give a copy the document's when the object has none.
    const located = target === value ? value : { ...value };
    const source = sourceOf(target);
    if (located !== value && source) attachSource(located, source);
    const parsed: ClusterConfigDocument = parseClusterConfig(located);
    const before = this.result.issues.length;
    this.result.issues.push(...parsed.issues);
    sortFrom(this.result.issues, before);
    if (parsed.issues.length === 0) this.result.config = parsed.config;
    else this.result.configRejected = true;
  }
}

/** Validate and default a batch of documents. */
export function validateObjects(docs: readonly RawDocument[]): ValidationResult {
  const batch = new BatchValidator();
  for (const doc of docs) batch.add(doc);
  return batch.result;
}
