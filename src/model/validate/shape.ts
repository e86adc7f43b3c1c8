/**
 * The decoding step: does each field have the JSON type the API expects?
 *
 * The API server decodes a manifest into Go structs before it defaults or validates anything, and a wrong type
 * (`port: "80"`, `replicas: 1.5`, a label value of `yes` that YAML 1.1 reads as a boolean) fails decoding outright:
 * `cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32`. We do the same, but report
 * every wrongly typed field with its position instead of the first one. Nothing is coerced.
 * Fields the shapes do not list are ignored (our model is slimmer than the API), unless a shape is `strict`.
 */
import type { FieldPath } from '../source.js';
import type { Reporter } from './reporter.js';

export type Shape =
  | 'string'
  | 'integer'
  | 'boolean'
  /** int32 or a string (targetPort, NetworkPolicy port). */
  | 'intOrString'
  /** A resource quantity: a string ("500m") or a plain number. */
  | 'quantity'
  | 'any'
  | { object: Record<string, Shape>; strict?: boolean }
  | { array: Shape }
  | { map: Shape };

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** `a string`, `an integer`, `a mapping`... as YAML users think of them. */
export function kindOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return 'a timestamp';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'boolean':
      return 'a boolean';
    case 'number':
      return Number.isInteger(value) ? 'an integer' : 'a number';
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Advice for the common YAML slips, saying what kubectl does with them (it fails to decode them too). */
function typeHint(expected: Shape, value: unknown): string {
  if (typeof value === 'string' && (expected === 'integer' || expected === 'boolean')) {
    const goType = expected === 'integer' ? 'an integer' : 'a bool';
    return `kubectl fails too: "cannot unmarshal string into" ${goType} field; remove the quotes`;
  }
  if (expected === 'string' && typeof value === 'boolean') {
    return 'YAML 1.1 reads unquoted y/n/yes/no/on/off/true/false as booleans and kubectl fails to decode them here too: quote the value';
  }
  if (expected === 'string' && typeof value === 'number') {
    return 'kubectl fails to decode an unquoted number here too: quote the value';
  }
  return '';
}

function expectedText(shape: Shape): string {
  if (typeof shape === 'string') {
    switch (shape) {
      case 'integer':
        return 'must be an integer';
      case 'intOrString':
        return 'must be an integer or a string';
      case 'quantity':
        return 'must be a quantity (a string such as "500m" or "1Gi", or a number)';
      default:
        return `must be a ${shape}`;
    }
  }
  if ('array' in shape) return 'must be a list';
  return 'must be a mapping';
}

function matchesScalar(shape: Shape, value: unknown): boolean {
  switch (shape) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'intOrString':
      return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
    case 'quantity':
      return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
    default:
      return true;
  }
}

/**
 * Check `value` against `shape`, reporting each mismatch at its path. Null counts as absent, as it does for the
 * API server (a null field decodes to the zero value). Returns whether the value fits.
 */
export function checkShape(value: unknown, shape: Shape, path: FieldPath, report: Reporter): boolean {
  return check(value, shape, [...path], report);
}

/**
 * checkShape's walk. `path` is one stack, pushed and popped on the way down; a report takes a copy of it. Every
 * field of every document passes through here, and a fresh path array per field would cost more than the check.
 */
function check(value: unknown, shape: Shape, path: (string | number)[], report: Reporter): boolean {
  if (value === null || value === undefined || shape === 'any') return true;
  if (typeof shape === 'string') {
    if (!matchesScalar(shape, value)) {
      report.invalid([...path], value, expectedText(shape), { hint: typeHint(shape, value) });
      return false;
    }
    if ((shape === 'integer' || shape === 'intOrString') && typeof value === 'number') {
      if (value < INT32_MIN || value > INT32_MAX) {
        report.invalid([...path], value, 'must fit in a 32-bit signed integer');
        return false;
      }
    }
    return true;
  }
  if ('array' in shape) {
    if (!Array.isArray(value)) {
      report.invalid([...path], value, 'must be a list');
      return false;
    }
    let ok = true;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      path.push(i);
      if (item === null && typeof shape.array !== 'string') {
        report.invalid([...path], item, 'must not be null');
        ok = false;
      } else if (!check(item, shape.array, path, report)) ok = false;
      path.pop();
    }
    return ok;
  }
  if (!isPlainObject(value)) {
    report.invalid([...path], value, 'must be a mapping');
    return false;
  }
  let ok = true;
  if ('map' in shape) {
    for (const key of Object.keys(value)) {
      path.push(key);
      if (!check(value[key], shape.map, path, report)) ok = false;
      path.pop();
    }
    return ok;
  }
  for (const key of Object.keys(value)) {
    const fieldShape = shape.object[key];
    if (fieldShape === undefined) {
      if (shape.strict) {
        const known = Object.keys(shape.object).join(', ');
        report.at([...path, key], `unknown field ${JSON.stringify(key)} (known fields: ${known})`);
        ok = false;
      }
      continue;
    }
    path.push(key);
    if (!check(value[key], fieldShape, path, report)) ok = false;
    path.pop();
  }
  return ok;
}

/** A deep copy without null-valued fields: the API server decodes `field: null` (or `field:`) as absent. */
export function dropNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => dropNulls(v)) as T;
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item !== null && item !== undefined) out[key] = dropNulls(item);
  }
  return out as T;
}
