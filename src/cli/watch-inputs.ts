/**
 * Following `serve`'s input paths for edits. Every directory under a directory input is watched on its own, and a
 * file input through the directory that holds it, rather than with one recursive watch. Why: editors and `sed -i`
 * save by renaming a new file over the old one, and a watch on a file (which Node's recursive watch on Linux sets
 * per file) stays on the replaced inode, so every edit after the first went unseen. A directory's watch sees writes,
 * creations, renames and deletions of its entries alike, whatever inode they have.
 *
 * Directories are found as the loader finds manifests (read-inputs.ts: symlinked directories followed, each real
 * directory once), and looked for again after every event, so a directory created later is watched too.
 */
import { type FSWatcher, readdirSync, realpathSync, statSync, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Watch `paths`; `onChange` is called on every change seen (callers debounce). Returns a function that stops. */
export function watchInputs(paths: readonly string[], onChange: () => void): () => void {
  /** Real directory → its watcher. */
  const watchers = new Map<string, FSWatcher>();
  /** Real directory → the names in it that are file inputs; `null` when the whole directory is an input. */
  let wanted = new Map<string, Set<string> | null>();
  let stopped = false;

  const refresh = () => {
    wanted = wantedDirectories(paths);
    for (const [dir, watcher] of watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        watchers.delete(dir);
      }
    }
    for (const dir of wanted.keys()) if (!watchers.has(dir)) open(dir);
  };

  const open = (dir: string) => {
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (_event, name) => {
        if (stopped) return;
        const names = wanted.get(dir);
        // A file input's directory holds other files too: only the input's own name concerns us.
        if (names && name !== null && !names.has(name.toString())) return;
        refresh();
        onChange();
      });
    } catch {
      return; // gone since it was listed: the next refresh looks again
    }
    watcher.on('error', () => {
      watcher.close();
      if (watchers.get(dir) === watcher) watchers.delete(dir);
    });
    watchers.set(dir, watcher);
  };

  refresh();
  return () => {
    stopped = true;
    for (const watcher of watchers.values()) watcher.close();
    watchers.clear();
  };
}

/** The real directories to watch for `paths`, each with the file-input names it holds (null: all of it). */
function wantedDirectories(paths: readonly string[]): Map<string, Set<string> | null> {
  const out = new Map<string, Set<string> | null>();
  for (const path of paths) {
    if (isDirectory(path)) {
      addTree(path, out);
      continue;
    }
    // A file input, or one not there yet: its directory, for that name only.
    const dir = realOrNull(dirname(path));
    if (dir === null) continue;
    const names = out.get(dir);
    if (names === null) continue;
    out.set(dir, (names ?? new Set()).add(basename(path)));
  }
  return out;
}

function addTree(dir: string, out: Map<string, Set<string> | null>): void {
  const real = realOrNull(dir);
  if (real === null || out.get(real) === null) return;
  out.set(real, null);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (isDirectory(path)) addTree(path, out);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
