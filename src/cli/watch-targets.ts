/**
 * Which directories `serve` watches for its input paths, and for which names in each (watch-inputs.ts sets and
 * keeps the watches). For every input:
 * - every existing directory above it, for the name that leads down to it: an input, or a directory on its way,
 *   that is replaced, moved, deleted or created later is seen there;
 * - every symlink on its way (the input itself included): the directory holding the link, for the link's name, so
 *   a link pointed elsewhere is seen, and then the path through the link's target, followed the same way, so an edit
 *   of the target, or a target that goes away and comes back, is seen too (a Kubernetes ConfigMap volume's `..data`
 *   swap, a `current -> releases/v2` flip);
 * - a directory input's whole tree, as the loader reads it (read-inputs.ts: symlinked directories followed).
 * Directories are keyed by their real path.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, parse, resolve, sep } from 'node:path';

/** Real directory → the names in it that concern us (as `nameKey` spells them); `null`: all of them. */
export type WatchTargets = Map<string, Set<string> | null>;

/** A name as the file system compares it: case-insensitively on macOS and Windows, exactly elsewhere. */
export const nameKey: (name: string) => string =
  process.platform === 'darwin' || process.platform === 'win32' ? (name) => name.toLowerCase() : (name) => name;

/** Links followed from one input before giving up (a loop, or an absurd chain). */
const MAX_LINK_HOPS = 16;

export function watchTargets(paths: readonly string[]): WatchTargets {
  const out: WatchTargets = new Map();
  for (const input of paths) addPath(resolve(input), out, 0);
  return out;
}

function addPath(path: string, out: WatchTargets, hops: number): void {
  addAncestors(path, out);
  const { root } = parse(path);
  const parts = path.slice(root.length).split(sep).filter(Boolean);
  let prefix = root;
  for (let i = 0; i < parts.length; i++) {
    prefix = join(prefix, parts[i]!);
    const link = readLinkOrNull(prefix);
    if (link === null) continue;
    const holder = realOrNull(dirname(prefix));
    if (holder !== null) addName(out, holder, basename(prefix));
    // The rest of the path goes on from where the link points.
    if (hops < MAX_LINK_HOPS) addPath(join(resolve(dirname(prefix), link), ...parts.slice(i + 1)), out, hops + 1);
    return;
  }
  if (isDirectory(path)) addTree(path, out);
}

/** Every existing directory above `path`, for the name that leads down to it. */
function addAncestors(path: string, out: WatchTargets): void {
  for (let child = path, parent = dirname(path); parent !== child; child = parent, parent = dirname(parent)) {
    const real = realOrNull(parent);
    if (real !== null && isDirectory(real)) addName(out, real, basename(child));
  }
}

function addName(out: WatchTargets, dir: string, name: string): void {
  const names = out.get(dir);
  if (names !== null) out.set(dir, (names ?? new Set()).add(nameKey(name)));
}

function addTree(dir: string, out: WatchTargets): void {
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

/** A symlink's target text, or null when `path` is not a symlink (or is not there). */
function readLinkOrNull(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}
