/**
 * `kube-netsim zone PATH... [--out DIR]`: the cluster zone and the reverse zones as RFC 1035 zone files that Knot or
 * NSD can load, so any other DNS server can serve the same records.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { dnsOptionsOf } from '../../cluster/config-sections.js';
import { exportZoneFiles } from '../../dns/resolve/zone-file.js';
import { ZoneIndex } from '../../dns/zone/zone-index.js';
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
        mkdirSync(opts.out, { recursive: true });
        for (const [name, text] of Object.entries(exported.files)) writeFileSync(join(opts.out, `${name}.zone`), text);
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
