/**
 * SourceRefs backed by the YAML syntax tree: `locate(['spec', 'ports', 1, 'port'])` walks the parsed nodes and
 * returns the line and column of that field, so an error can point at the exact spot in the file.
 *
 * - A field of a mapping is located at its key (`port: 70000` → the `p`), the way linters and editors point at a
 *   field: it is on the value's line for scalars, and on the line that names the field for nested mappings and lists.
 * - An item of a list is located at the item's first character.
 * - A path that does not exist stops at the deepest part that does, and is located there
 *   (for `spec.ports` missing from `spec`, the `spec:` key): that is where the missing field belongs.
 * - Merge keys (`<<: *defaults`) and aliases are followed, so a field that came from an anchor points at the anchor.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import type { FieldPath, SourcePosition, SourceRef } from '../source.js';

/** A node, and where its field is reported (its key, or the list item's start). */
type Located = { node: Node | null; at: number };

function resolve(node: unknown, doc: Document): Node | null {
  let current = node;
  // Aliases can point at aliases; the document rejects cycles when it is converted, so a bound suffices here.
  for (let i = 0; i < 16 && isAlias(current); i++) current = current.resolve(doc) ?? null;
  return (current as Node | null) ?? null;
}

function startOf(node: Node | null | undefined): number | undefined {
  return node?.range?.[0];
}

function keyMatches(key: unknown, wanted: string): boolean {
  if (isScalar(key)) return typeof key.value !== 'symbol' && String(key.value) === wanted;
  return false;
}

function isMergeKey(key: unknown): boolean {
  return isScalar(key) && (typeof key.value === 'symbol' || key.source === '<<');
}

/** Find `wanted` among a mapping's pairs, then among the mappings merged into it with `<<`. */
function findInMap(map: Node, wanted: string, doc: Document, depth = 0): Located | undefined {
  if (!isMap(map) || depth > 8) return undefined;
  for (const pair of map.items) {
    if (isPair(pair) && keyMatches(pair.key, wanted)) {
      const keyAt = startOf(pair.key as Node) ?? startOf(map) ?? 0;
      return { node: resolve(pair.value, doc), at: keyAt };
    }
  }
  for (const pair of map.items) {
    if (!isPair(pair) || !isMergeKey(pair.key)) continue;
    const source = resolve(pair.value, doc);
    const sources = isSeq(source) ? source.items.map((item) => resolve(item, doc)) : [source];
    for (const merged of sources) {
      const found = merged ? findInMap(merged, wanted, doc, depth + 1) : undefined;
      if (found) return found;
    }
  }
  return undefined;
}

/** The offset of the field at `path` under `root`, or of the deepest part of the path that exists. */
export function offsetOf(root: Node | null, path: FieldPath, doc: Document, rootAt: number): number {
  let node = root;
  let at = rootAt;
  for (const part of path) {
    let next: Located | undefined;
    if (node !== null && typeof part === 'number') {
      if (isSeq(node) && part >= 0 && part < node.items.length) {
        const item = resolve(node.items[part], doc);
        next = { node: item, at: startOf(item) ?? at };
      }
    } else if (node !== null) {
      next = findInMap(node, part as string, doc);
    }
    if (!next) break;
    node = next.node;
    at = next.at;
  }
  return at;
}

export interface SourceMapInput {
  file: string;
  document: number;
  doc: Document;
  lineCounter: LineCounter;
  /** Prepended to every path (`['items', 3]` for an item of a `kind: List`). */
  prefix?: FieldPath;
}

/** A SourceRef for one document (or one item of a List document). */
export function makeSourceRef(input: SourceMapInput): SourceRef {
  const { file, document, doc, lineCounter, prefix = [] } = input;
  const root = resolve(doc.contents, doc);
  const rootAt = startOf(root) ?? doc.range?.[0] ?? 0;
  return {
    file,
    document,
    locate(path: FieldPath): SourcePosition {
      const offset = offsetOf(root, [...prefix, ...path], doc, rootAt);
      const { line, col } = lineCounter.linePos(offset);
      return { file, document, line, column: col };
    },
  };
}
