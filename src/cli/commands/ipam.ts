/** `kube-netsim ipam PATH...`: node CIDRs and, per range, what is used and what is free. */
import type { Command } from 'commander';
import type { IpamReport } from '../../cni/ipam-report.js';
import { renderTable } from '../printers/table.js';
import { loadCluster } from './load.js';

export function registerIpam(program: Command): void {
  program
    .command('ipam')
    .description('show node CIDRs and the usage of every address and port range')
    .argument('<paths...>', 'manifest files or directories')
    .option('-o, --output <format>', 'json for the raw report')
    .option('--seed <n>', 'seed for every random choice')
    .action(async (paths: string[], opts: { output?: string; seed?: string }) => {
      const cluster = await loadCluster(paths, opts);
      const report = cluster.ipamReport();
      process.stdout.write(opts.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : renderIpam(report));
    });
}

/** The report as tables, one per kind of range. Exported for tests. */
export function renderIpam(report: IpamReport): string {
  const sections: string[] = [];
  sections.push(
    `CLUSTER CIDRS\n${renderTable(
      ['CIDR', 'FAMILY', 'NODE-MASK', 'CAPACITY', 'USED', 'FREE'],
      report.clusterCIDRs.map((c) => [c.cidr, c.family, `/${c.nodeMaskSize}`, c.capacity, String(c.used), c.free]),
    )}`,
  );
  const nodeRows = report.nodes.flatMap((n) =>
    n.ranges.map((r) => [n.node, r.cidr, r.gateway, r.capacity, String(r.used), r.free]),
  );
  sections.push(
    `NODE POD RANGES\n${renderTable(['NODE', 'POD-CIDR', 'GATEWAY', 'CAPACITY', 'USED', 'FREE'], nodeRows)}`,
  );
  sections.push(
    `SERVICE CIDRS\n${renderTable(
      ['CIDR', 'FAMILY', 'SIZE', 'USED', 'FREE', 'STATIC-BAND'],
      report.serviceCIDRs.map((s) => [
        s.cidr,
        s.family,
        s.size,
        String(s.used),
        s.free,
        s.staticBand ? `${s.staticBand.first}-${s.staticBand.last}` : '<none>',
      ]),
    )}`,
  );
  const np = report.nodePorts;
  sections.push(
    `NODE PORTS\n${renderTable(
      ['RANGE', 'SIZE', 'USED', 'FREE', 'STATIC-BAND'],
      [
        [
          np.range,
          np.size,
          String(np.used),
          np.free,
          np.staticBand ? `${np.staticBand.first}-${np.staticBand.last}` : '<none>',
        ],
      ],
    )}`,
  );
  if (report.loadBalancerPools.length) {
    sections.push(
      `LOADBALANCER POOLS\n${renderTable(
        Object.keys(report.loadBalancerPools[0]!).map((k) => k.toUpperCase()),
        report.loadBalancerPools.map((p) => Object.values(p).map((v) => (Array.isArray(v) ? v.join(',') : String(v)))),
      )}`,
    );
  }
  return `${sections.join('\n\n')}\n`;
}
