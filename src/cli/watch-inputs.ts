/**
 * Following `serve`'s input paths for edits. Directories are watched, not files, and each on its own rather than
 * with one recursive watch. Why: editors and `sed -i` save by renaming a new file over the old one, and a watch on a
 * file (which Node's recursive watch on Linux sets per file) stays on the replaced inode, so every edit after the
 * first went unseen. A directory's watch sees writes, creations, renames and deletions of its entries alike. Which
 * directories, and which names in each, is watch-targets.ts's job; they are worked out again after every change.
 *
 * A watch is set on a directory's inode, so one whose path was renamed over, deleted or made again is set again:
 * when its parent reported its name as renamed (a new directory often gets the old one's inode number), or when the
 * path's inode number changed.
 *
 * Changes are reported once per burst: `debounceMs` after the last change seen, or `maxWaitMs` after the first when
 * changes keep coming (a long `git checkout` is reloaded at most once a second, not on every file). The watches are
 * brought up to date before the report, so the reload that follows reads everything written before it and the
 * watches catch everything after.
 */
import { type FSWatcher, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { nameKey, type WatchTargets, watchTargets } from './watch-targets.js';

export interface WatchOptions {
  debounceMs?: number;
  maxWaitMs?: number;
  /** A directory that could not be watched for a reason other than being gone (the inotify limit, permissions). */
  onError?: (dir: string, err: Error) => void;
}

interface Watched {
  readonly watcher: FSWatcher;
  readonly inode: number;
}

/** Watch `paths`; `onChange` is called once per burst of changes. Returns a function that stops. */
export function watchInputs(paths: readonly string[], onChange: () => void, opts: WatchOptions = {}): () => void {
  const debounceMs = opts.debounceMs ?? 100;
  const maxWaitMs = opts.maxWaitMs ?? 1000;
  const watched = new Map<string, Watched>();
  let wanted: WatchTargets = new Map();
  /** Paths a `rename` event named since the last refresh: a watch on one of them may be on a deleted inode. */
  const renamed = new Set<string>();
  /** Directories already reported to `onError`, so a lasting failure is reported once. */
  const failed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let burstStart: number | undefined;
  let stopped = false;

  const settle = () => {
    timer = undefined;
    burstStart = undefined;
    if (stopped) return;
    refresh();
    onChange();
  };
  const changed = () => {
    if (stopped) return;
    const now = Date.now();
    burstStart ??= now;
    clearTimeout(timer);
    timer = setTimeout(settle, Math.max(0, Math.min(debounceMs, burstStart + maxWaitMs - now)));
  };

  const refresh = () => {
    wanted = watchTargets(paths);
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
        if (names && name !== null && !names.has(nameKey(name.toString()))) return;
        if (event === 'rename' && name !== null) renamed.add(join(dir, name.toString()));
        changed();
      });
    } catch (err) {
      // Gone since it was listed: the refresh after the change that removed it looks again. Anything else is told.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && !failed.has(dir)) {
        failed.add(dir);
        opts.onError?.(dir, err as Error);
      }
      return;
    }
    failed.delete(dir);
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

function inodeOf(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return -1;
  }
}
