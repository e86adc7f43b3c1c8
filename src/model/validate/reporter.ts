/**
 * Collects ManifestIssues for one object, in the shapes the API server's field errors take
 * (k8s.io/apimachinery field.Invalid / Required / NotSupported / Duplicate / Forbidden / TooMany).
 * Each issue is located through the object's SourceRef, so the same code serves objects read from files and
 * objects built in code (which report `<input>`).
 */
import { ErrorCodes, formatIssue, type ManifestIssue } from '../../errors.js';
import { type FieldPath, formatPath, positionOf } from '../source.js';

/** A value as an error message shows it: strings quoted, objects as compact JSON. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'nothing';
  if (value instanceof Date) return value.toISOString();
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export interface InvalidOptions {
  /** Extra advice, shown after what was found. */
  hint?: string;
  /** The field path to print when it differs from where the problem is located (label keys: `metadata.labels`). */
  field?: FieldPath;
}

export class Reporter {
  readonly issues: ManifestIssue[];
  /** Accepted but questionable values, formatted like issues (`file:line:col: Kind ns/name: field: message`). */
  readonly warnings: string[];
  readonly #target: object;
  readonly #object: string;

  /** `target` carries the SourceRef; `object` is how issues name it (`Service default/web`). */
  constructor(target: object, object: string, issues: ManifestIssue[] = [], warnings: string[] = []) {
    this.#target = target;
    this.#object = object;
    this.issues = issues;
    this.warnings = warnings;
  }

  /** A warning: the value is accepted, as the API server accepts it, but probably not what was meant. */
  warn(path: FieldPath, message: string): void {
    const issue: ManifestIssue = {
      code: ErrorCodes.MANIFEST_INVALID,
      position: positionOf(this.#target, path),
      object: this.#object,
      field: formatPath(path),
      detail: message,
    };
    this.warnings.push(formatIssue(issue));
  }

  /** A problem at `path`, printed as `field` (defaults to `path`). */
  at(path: FieldPath, detail: string, field: FieldPath = path): void {
    this.issues.push({
      code: ErrorCodes.MANIFEST_INVALID,
      position: positionOf(this.#target, path),
      object: this.#object,
      field: formatPath(field),
      detail,
    });
  }

  /** `<message>, got <value>`: a value that is present but wrong. */
  invalid(path: FieldPath, value: unknown, message: string, options: InvalidOptions = {}): void {
    const hint = options.hint ? ` (${options.hint})` : '';
    this.at(path, `${message}, got ${showValue(value)}${hint}`, options.field);
  }

  /** Each message of a syntax check (names, labels), as one issue per message. */
  invalidEach(path: FieldPath, value: unknown, messages: readonly string[], options: InvalidOptions = {}): void {
    for (const message of messages) this.invalid(path, value, message, options);
  }

  required(path: FieldPath, message = ''): void {
    this.at(path, message ? `Required value: ${message}` : 'Required value');
  }

  notSupported(path: FieldPath, value: unknown, supported: readonly string[]): void {
    const list = [...supported]
      .sort()
      .map((s) => JSON.stringify(s))
      .join(', ');
    this.at(path, `Unsupported value: ${showValue(value)}: supported values: ${list}`);
  }

  duplicate(path: FieldPath, value: unknown, note = ''): void {
    this.at(path, `Duplicate value: ${showValue(value)}${note ? ` (${note})` : ''}`);
  }

  forbidden(path: FieldPath, message: string): void {
    this.at(path, `Forbidden: ${message}`);
  }

  tooMany(path: FieldPath, count: number, max: number): void {
    this.at(path, `Too many: ${count}: must have at most ${max} items`);
  }
}
