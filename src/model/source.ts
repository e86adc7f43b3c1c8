/**
 * Where an object came from, so that an error about `spec.ports[1].port` can name the line and column.
 * Positions are kept beside objects in a WeakMap: the objects themselves stay plain Kubernetes JSON.
 */

export interface SourcePosition {
  file: string;
  /** 1-based document number in a multi-document file; 0 when unknown. */
  document: number;
  /** 1-based; 0 when unknown. */
  line: number;
  /** 1-based; 0 when unknown. */
  column: number;
}

/** A field path as a list of keys and indexes, e.g. ['spec', 'ports', 1, 'port']. */
export type FieldPath = readonly (string | number)[];

export interface SourceRef {
  file: string;
  document: number;
  /**
   * The position of the value at `path` (relative to this object), or the nearest ancestor that exists.
   * For objects that did not come from a file, returns line 0.
   */
  locate(path: FieldPath): SourcePosition;
}

const sources = new WeakMap<object, SourceRef>();

export function attachSource(object: object, ref: SourceRef): void {
  sources.set(object, ref);
}

export function sourceOf(object: object): SourceRef | undefined {
  return sources.get(object);
}

/** Where an object built in code is: `<input>`, no line. */
export const IN_CODE: SourceRef = Object.freeze({
  file: '<input>',
  document: 0,
  locate: (): SourcePosition => ({ file: '<input>', document: 0, line: 0, column: 0 }),
});

/** The position of a field of an object, falling back to `<input>` for objects built in code. */
export function positionOf(object: object, path: FieldPath = []): SourcePosition {
  return (sources.get(object) ?? IN_CODE).locate(path);
}

/** kubectl's notation: `spec.ports[1].port`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

/**
 * Whether the input spelled out the field at `path` (defaulting may have added it since): a written field is located
 * at its own key, a missing one at its nearest ancestor. Objects built in code have no source and report false.
 */
export function wasWritten(object: object, path: FieldPath): boolean {
  const ref = sources.get(object);
  if (!ref || path.length === 0) return false;
  const here = ref.locate(path);
  const parent = ref.locate(path.slice(0, -1));
  return here.line > 0 && (here.line !== parent.line || here.column !== parent.column);
}
