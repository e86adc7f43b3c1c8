/**
 * `kube-netsim zone PATH... [--out DIR]`: the cluster zone and the reverse zones as RFC 1035 zone files that Knot or
 * NSD can load, so any other DNS server can serve the same records.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { dnsOptionsOf } from '../../cluster/config-sections.js';
import { exportZoneFiles } from '../../dns/resolve/zone-file.js';
import { ZoneIndex } from '../../dns/zone/zone-index.js';
import { OutputUnwritableError } from '../../errors.js';
import { systemReason } from '../../util/system-error.js';
import { loadCluster } from './load.js';

export function registerZone(program: Command): void {
  program
    .command('zone')
    .description('write the cluster zone and the reverse zones as RFC 1035 zone files')
    .argument('<paths...>', 'manifest files or directories')
    .option('--out <dir>', 'write one <zone>.zone file per zone into this directory instead of printing them')
    .option('--seed <n>', 'seed for every random choice')
    .action(async (paths: string[], opts: { out?: string; seed?: string }) => {
      const cluster = await loadCluster(paths, opts);
      const zone = new ZoneIndex(cluster.store, {
        clusterDomain: cluster.config.clusterDomain,
        options: dnsOptionsOf(cluster.config),
      });
      const exported = exportZoneFiles(zone);
      zone.dispose();
      for (const u of exported.unexpressible) process.stderr.write(`note: not in the zone files: ${u.note}\n`);
      if (opts.out) {
        makeDirectory(opts.out);
        for (const [name, text] of Object.entries(exported.files)) {
          const file = join(opts.out, `${name}.zone`);
          try {
            writeFileSync(file, text);
          } catch (err) {
            throw unwritable(`cannot write ${file}`, err);
          }
        }
        process.stdout.write(
          `${Object.keys(exported.files)
            .map((n) => join(opts.out!, `${n}.zone`))
            .join('\n')}\n`,
        );
        return;
      }
      process.stdout.write(Object.values(exported.files).join('\n'));
    });
}

/**
 * `mkdir -p`, one level at a time. Not `mkdirSync(dir, { recursive: true })`: on Node 20 that spins forever under a
 * directory that refuses new entries, such as /proc, where `mkdir -p` fails at once.
 */
function makeDirectory(dir: string): void {
  const path = resolve(dir);
  let stat: ReturnType<typeof statSync> | undefined;
  try {
    stat = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw unwritable(`cannot create directory ${dir}`, err);
  }
  if (stat?.isDirectory()) return;
  if (stat) throw new OutputUnwritableError(`cannot create directory ${dir}: it exists and is not a directory`);
  if (dirname(path) !== path) makeDirectory(dirname(path));
  try {
    mkdirSync(path);
  } catch (err) {
    // Made meanwhile, or a dangling symbolic link (stat finds nothing, mkdir finds the link): only a directory will do.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST' && statSync(path, { throwIfNoEntry: false })?.isDirectory())
      return;
    throw unwritable(`cannot create directory ${dir}`, err);
  }
}

/** A system error while writing output, as `mkdir` and shells word it (`…: permission denied`). */
function unwritable(what: string, err: unknown): OutputUnwritableError {
  return new OutputUnwritableError(`${what}: ${systemReason(err)}`, { cause: err });
}
