/** Shared by every command: load the cluster from the PATH arguments and print its warnings to stderr. */
import { Cluster } from '../../cluster/cluster.js';
import { InvalidArgumentError } from '../../errors.js';
import { isSeed } from '../../util/rng.js';

export async function loadCluster(paths: string[], options: { seed?: string } = {}): Promise<Cluster> {
  if (paths.length === 0) throw new InvalidArgumentError('no PATH given: name manifest files or directories');
  const seed = options.seed === undefined ? undefined : parseSeed(options.seed);
  const cluster = await Cluster.load(paths, seed === undefined ? {} : { seed });
  for (const warning of cluster.warnings) process.stderr.write(`Warning: ${warning}\n`);
  return cluster;
}

export function parseSeed(text: string): number {
  const n = Number(text);
  if (!isSeed(n)) throw new InvalidArgumentError(`--seed must be an integer from 0 to 4294967295, got "${text}"`);
  return n;
}

/** `ns/name` → [ns, name]; a bare name is in the default namespace. */
export function parseNamespacedName(text: string): { namespace: string; name: string } {
  const parts = text.split('/');
  if (parts.length === 1 && parts[0]) return { namespace: 'default', name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new InvalidArgumentError(`expected NAMESPACE/NAME, got "${text}"`);
}
