/**
 * Paths → documents, as `kubectl apply -f PATH -R` reads them: each path is a file (read whatever its name) or a
 * directory searched recursively for `*.yaml`, `*.yml` and `*.json`. Files of a directory are read in sorted order,
 * so a load is deterministic whatever order the filesystem lists them in. Paths are read in the order given.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCodes, type ManifestIssue } from '../../errors.js';
import { systemReason } from '../../util/system-error.js';
import { type LoadResult, parseManifestText } from './parse.js';

const MANIFEST_EXTENSIONS = /\.(ya?ml|json)$/i;

function unreadable(path: string, err: unknown): ManifestIssue {
  const reason = systemReason(err);
  return {
    code: ErrorCodes.INPUT_UNREADABLE,
    position: { file: path, document: 0, line: 0, column: 0 },
    object: '',
    field: '',
    detail: `cannot read input: ${reason}`,
  };
}

/** Code-unit order: the same on every machine and locale. */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The manifest files under `dir`, depth-first in sorted order; symlinked directories are followed once. */
async function listDirectory(dir: string, seen: Set<string>, out: string[], issues: ManifestIssue[]): Promise<void> {
  const real = await realpath(dir);
  if (seen.has(real)) return;
  seen.add(real);
  const names = (await readdir(dir)).sort(byName);
  for (const name of names) {
    const path = join(dir, name);
    try {
      const info = await stat(path);
      if (info.isDirectory()) await listDirectory(path, seen, out, issues);
      else if (info.isFile() && MANIFEST_EXTENSIONS.test(name)) out.push(path);
    } catch (err) {
      issues.push(unreadable(path, err));
    }
  }
}

/**
 * Read and parse every manifest under `paths`. Unreadable paths become INPUT_UNREADABLE issues and syntax errors
 * MANIFEST_SYNTAX issues; everything that could be read and parsed is still returned.
 */
export async function readInputs(paths: readonly string[]): Promise<LoadResult> {
  const result: LoadResult = { documents: [], issues: [] };
  for (const path of paths) {
    const files: string[] = [];
    try {
      const info = await stat(path);
      if (info.isDirectory()) await listDirectory(path, new Set(), files, result.issues);
      else files.push(path);
    } catch (err) {
      result.issues.push(unreadable(path, err));
      continue;
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        result.issues.push(unreadable(file, err));
        continue;
      }
      const parsed = parseManifestText(text, file);
      result.documents.push(...parsed.documents);
      result.issues.push(...parsed.issues);
    }
  }
  return result;
}
