/**
 * Text → documents. One file may hold many YAML documents (`---`), or one JSON object; both go through the same
 * YAML parser, in YAML 1.1 mode with merge keys, which is how kubectl's decoder reads manifests (`on`/`yes` are
 * booleans, `0777` is octal), with go-yaml's narrower number and timestamp rules (yaml-schema.ts).
 *
 * The file is cut at its `---` lines first, as kubectl does: a syntax error spoils only its own document, the others
 * are still returned, and every error is reported.
 * A file of several JSON objects one after another (a JSON stream, which kubectl's decoder reads object by object)
 * is cut at each object instead; each is one document.
 * Empty documents are skipped but still counted, so `document N` always matches the file as the user sees it.
 * A `kind: List` (or any `*List` with `items`) expands into its items, each located under `items[i]`.
 */
import { type Document, LineCounter, parseAllDocuments, visit } from 'yaml';
import { ErrorCodes, type ManifestIssue } from '../../errors.js';
import { attachSource, type SourceRef } from '../source.js';
import { makeSourceRef } from './source-map.js';
import { kubectlScalarTags } from './yaml-schema.js';

/** One object as read from a file, before validation. */
export interface RawDocument {
  value: unknown;
  source: SourceRef;
}

/** Documents that parsed, and problems with those that did not (or with files that could not be read). */
export interface LoadResult {
  documents: RawDocument[];
  issues: ManifestIssue[];
}

/** The yaml library appends ` at line L, column C:` and a code excerpt; we give the position separately. */
function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

function syntaxIssue(file: string, document: number, line: number, column: number, detail: string): ManifestIssue {
  return {
    code: ErrorCodes.MANIFEST_SYNTAX,
    position: { file, document, line, column },
    object: '',
    field: '',
    detail,
  };
}

function isListKind(value: unknown): value is { kind: string; items: unknown[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { kind, items } = value as { kind?: unknown; items?: unknown };
  return typeof kind === 'string' && kind.endsWith('List') && Array.isArray(items);
}

function withSource(value: unknown, source: SourceRef): RawDocument {
  if (typeof value === 'object' && value !== null) attachSource(value, source);
  return { value, source };
}

function documentsOf(doc: Document, file: string, document: number, lineCounter: LineCounter): RawDocument[] {
  const value: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (value === null || value === undefined) return [];
  // kubectl flattens Lists recursively (FlattenListVisitor): a List inside a List contributes its items.
  const flatten = (v: unknown, prefix: (string | number)[]): RawDocument[] => {
    if (!isListKind(v)) return [withSource(v, makeSourceRef({ file, document, doc, lineCounter, prefix }))];
    return v.items.flatMap((item, i) => flatten(item, [...prefix, 'items', i]));
  };
  return flatten(value, []);
}

/**
 * An alias inside the node its anchor names (`a: &m {b: *m}`) would make the manifest an infinite value; go-yaml, as
 * kubectl uses it, refuses it ("anchor 'm' value contains itself"). Returns the offending alias's offset and name.
 */
function selfContainedAlias(doc: Document): { offset: number; name: string } | null {
  let found: { offset: number; name: string } | null = null;
  visit(doc, {
    Alias(_key, node, path) {
      const target = node.resolve(doc);
      if (target && (path as readonly unknown[]).includes(target)) {
        found = { offset: node.range?.[0] ?? 0, name: node.source };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * The file cut at its `---` lines, as kubectl's YAML reader cuts it before decoding each piece: a syntax error (an
 * unterminated quote, say) then spoils its own document and cannot swallow the ones after it. Each piece keeps its
 * `---` line and knows the line it starts on, so positions stay those of the file.
 */
function pieces(body: string): { text: string; firstLine: number }[] {
  const out: { text: string; firstLine: number }[] = [];
  const lines = body.split('\n');
  let start = 0;
  for (let i = 1; i <= lines.length; i++) {
    if (i === lines.length || /^---[ \t]*(#.*)?\r?$/.test(lines[i]!)) {
      // Each piece keeps its final line break: without it a CRLF file's last value would end in a bare '\r'.
      out.push({ text: lines.slice(start, i).join('\n') + (i < lines.length ? '\n' : ''), firstLine: start });
      start = i;
    }
  }
  return out;
}

/**
 * The file as a stream of two or more JSON objects or arrays, each a piece placed where it stands in the file (it
 * starts on its own line, indented by its column, so positions are the file's); undefined for anything else, which
 * goes through `pieces` (one JSON object is a YAML document as it is).
 */
function jsonStreamPieces(body: string): { text: string; firstLine: number }[] | undefined {
  const out: { text: string; firstLine: number }[] = [];
  let line = 0;
  let lineStart = 0;
  let i = 0;
  for (;;) {
    for (; i < body.length && /\s/.test(body[i]!); i++) {
      if (body[i] === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
    if (i >= body.length) break;
    if (body[i] !== '{' && body[i] !== '[') return undefined;
    const start = i;
    const startLine = line;
    const column = start - lineStart;
    let depth = 0;
    let inString = false;
    for (; i < body.length; i++) {
      const c = body[i];
      if (c === '\n') {
        line++;
        lineStart = i + 1;
      }
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && --depth === 0) break;
    }
    if (depth !== 0) return undefined;
    i++;
    out.push({ text: `${' '.repeat(column)}${body.slice(start, i)}\n`, firstLine: startLine });
  }
  return out.length >= 2 ? out : undefined;
}

/** Line numbers of a piece, shifted to the file's. */
function shifted(counter: LineCounter, firstLine: number): LineCounter {
  return {
    linePos: (offset: number) => {
      const { line, col } = counter.linePos(offset);
      return { line: line + firstLine, col };
    },
  } as LineCounter;
}

/** Parse the text of one file. `fileName` is only used to name positions. */
export function parseManifestText(text: string, fileName: string): LoadResult {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const result: LoadResult = { documents: [], issues: [] };
  let document = 0;
  for (const piece of jsonStreamPieces(body) ?? pieces(body)) {
    const counter = new LineCounter();
    const docs = parseAllDocuments(piece.text, {
      version: '1.1',
      merge: true,
      customTags: kubectlScalarTags,
      lineCounter: counter,
      prettyErrors: true,
    });
    const lineCounter = shifted(counter, piece.firstLine);
    // A stream that is not even a sequence of documents comes back as an empty collection with no errors.
    for (const doc of Array.isArray(docs) ? docs : []) {
      document++;
      parseDocument(doc, fileName, document, lineCounter, result);
    }
  }
  return result;
}

function parseDocument(
  doc: Document,
  fileName: string,
  document: number,
  lineCounter: LineCounter,
  result: LoadResult,
) {
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = lineCounter.linePos(error.pos[0]);
      result.issues.push(syntaxIssue(fileName, document, pos.line, pos.col, firstLine(error.message)));
    }
    return;
  }
  const cycle = selfContainedAlias(doc);
  if (cycle) {
    const { line, col } = lineCounter.linePos(cycle.offset);
    result.issues.push(syntaxIssue(fileName, document, line, col, `anchor '${cycle.name}' value contains itself`));
    return;
  }
  try {
    result.documents.push(...documentsOf(doc, fileName, document, lineCounter));
  } catch (err) {
    // toJS throws for unresolvable aliases and alias bombs; report it like any other syntax error.
    const { line, col } = lineCounter.linePos(doc.range?.[0] ?? 0);
    const detail = err instanceof Error ? firstLine(err.message) : String(err);
    result.issues.push(syntaxIssue(fileName, document, line, col, detail));
  }
}
