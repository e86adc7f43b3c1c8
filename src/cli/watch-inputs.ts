/**
 * Following `serve`'s input paths for edits. Directories are watched, not files, and each on its own rather than
 * with one recursive watch. Why: editors and `sed -i` save by renaming a new file over the old one, and a watch on a
 * file (which Node's recursive watch on Linux sets per file) stays on the replaced inode, so every edit after the
 * first went unseen. A directory's watch sees writes, creations, renames and deletions of its entries alike.
 *
 * What is watched, worked out again after every change seen:
 * - every directory under a directory input (as the loader finds them, read-inputs.ts: symlinks followed);
 * - for every input, the nearest existing directory above it, for the name that leads to the input, so an input (or
 *   a directory on its way) that is replaced, deleted, created later or, as a symlink, pointed elsewhere is seen;
 * - for a file input reached through symlinks, the directory of the file it resolves to, for that file's name, so
 *   an edit of the target is seen too (a Kubernetes ConfigMap volume swaps its files' directory: the old one's
 *   deletion is seen, and the next refresh follows the new one).
 * A watch is set on a directory's inode, so one whose path was renamed over, deleted or made again is set again:
 * when its parent reported its name as renamed (a new directory often gets the old one's inode number), or when the
 * path's inode number changed.
 *
 * Changes are gathered for `debounceMs` and reported once, after the watches are brought up to date, so the reload
 * that follows reads everything written before it and the watches catch everything after.
 */
import { type FSWatcher, readdirSync, realpathSync, statSync, watch } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

interface Watched {
  readonly watcher: FSWatcher;
  readonly inode: number;
}

/** Watch `paths`; `onChange` is called once per burst of changes. Returns a function that stops. */
export function watchInputs(paths: readonly string[], onChange: () => void, debounceMs = 100): () => void {
  const watched = new Map<string, Watched>();
  /** Real directory → the names in it that concern us; `null`: all of them (a directory input's tree). */
  let wanted = new Map<string, Set<string> | null>();
  /** Paths a `rename` event named since the last refresh: a watch on one of them may be on a deleted inode. */
  const renamed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const settle = () => {
    timer = undefined;
    if (stopped) return;
    refresh();
    onChange();
  };
  const changed = () => {
    if (!stopped && timer === undefined) timer = setTimeout(settle, debounceMs);
  };

  const refresh = () => {
    wanted = wantedDirectories(paths);
    for (const [dir, w] of watched) {
      if (wanted.has(dir) && !renamed.has(dir) && inodeOf(dir) === w.inode) continue;
      w.watcher.close();
      watched.delete(dir);
    }
    renamed.clear();
    for (const dir of wanted.keys()) if (!watched.has(dir)) open(dir);
  };

  const open = (dir: string) => {
    const inode = inodeOf(dir);
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, (event, name) => {
        const names = wanted.get(dir);
        if (names && name !== null && !names.has(name.toString())) return;
        if (event === 'rename' && name !== null) renamed.add(join(dir, name.toString()));
        changed();
      });
    } catch {
      return; // gone since it was listed: the refresh after the change that removed it looks again
    }
    watcher.on('error', () => {
      watcher.close();
      if (watched.get(dir)?.watcher === watcher) watched.delete(dir);
      changed();
    });
    watched.set(dir, { watcher, inode });
  };

  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    for (const w of watched.values()) w.watcher.close();
    watched.clear();
  };
}

/** The real directories to watch for `paths`, each with the names in it that concern us (null: all). */
function wantedDirectories(paths: readonly string[]): Map<string, Set<string> | null> {
  const out = new Map<string, Set<string> | null>();
  const addName = (dir: string, name: string) => {
    const names = out.get(dir);
    if (names !== null) out.set(dir, (names ?? new Set()).add(name));
  };
  for (const input of paths) {
    const path = resolve(input);
    // The nearest existing directory above the input, for the name that leads down to it.
    for (let child = path, parent = dirname(path); parent !== child; child = parent, parent = dirname(parent)) {
      const real = realOrNull(parent);
      if (real !== null && isDirectory(real)) {
        addName(real, basename(child));
        break;
      }
    }
    if (isDirectory(path)) addTree(path, out);
    else {
      const real = realOrNull(path);
      if (real !== null && real !== path) addName(dirname(real), basename(real));
    }
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

function inodeOf(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
