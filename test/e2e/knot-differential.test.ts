/**
 * Differential test: export the demo cluster's zones, serve them with Knot DNS on another ephemeral port, send the
 * same queries to both servers with dig, and compare status and sorted answers. The only differences allowed are the
 * ones listed below, each with its reason.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { freePort, startKnot } from '../../bench/lib/dnsperf.js';
import { exportZoneFiles } from '../../src/dns/resolve/zone-file.js';
import { client, type Running, startServer } from './helpers.js';

/** Answers CoreDNS gives that a static zone cannot (see `kube-netsim zone`'s notes and dns.md). */
const ALLOWED: { query: RegExp; reason: string }[] = [
  {
    query: /^_tcp\.web\.shop\.svc\.cluster\.local\. A$/,
    reason:
      'dns.md §8: CoreDNS answers NXDOMAIN for the parent of an SRV name; a static zone has an empty non-terminal (NODATA)',
  },
  {
    query: /^dns-version\.cluster\.local\. A$/,
    reason: 'dns.md 1.2: CoreDNS answers NXDOMAIN for non-TXT types at dns-version',
  },
  {
    query: /^missing\.shop\.svc\.cluster\.local\. SOA$/,
    reason: 'dns.md 1.6: CoreDNS answers SOA queries below the apex with NODATA, even for names that do not exist',
  },
  {
    query: /^payments\.shop\.svc\.cluster\.local\. SRV$/,
    reason:
      'dns.md 6.4: SRV at an ExternalName name is NODATA in CoreDNS (CNAME rows are filtered out of SRV); a static zone answers the CNAME',
  },
  {
    query: /^payments\.shop\.svc\.cluster\.local\. TXT$/,
    reason:
      'dns.md 1.3: CoreDNS has TXT only at dns-version; elsewhere TXT is NODATA or NXDOMAIN, and an ExternalName CNAME is not returned (coredns#5737)',
  },
  {
    query: /^0\.96\.10\.in-addr\.arpa\. PTR$/,
    reason: 'dns.md 7.5: partial reverse names are NXDOMAIN in CoreDNS, empty non-terminals in a static zone',
  },
];

let ours: Running;
let knot: ChildProcess | undefined;
let knotPort = 0;
let dir = '';

test.before(async () => {
  ours = await startServer(['fixtures/demo'], { dns: { loadbalance: false } });
  dir = mkdtempSync(join(tmpdir(), 'kube-netsim-knot-'));
  const exported = exportZoneFiles(ours.server.zone);
  for (const [name, text] of Object.entries(exported.files)) writeFileSync(join(dir, `${name}.zone`), text);
  knotPort = await freePort();
  knot = await startKnot(dir, Object.keys(exported.files), knotPort);
});

test.after.always(async () => {
  knot?.kill('SIGTERM');
  await ours?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** status and the answer section, sorted; SOA serials masked (CoreDNS's serial is the time of the last change). */
async function ask(port: number, name: string, type: string): Promise<string> {
  const out = await client('dig', [
    '@127.0.0.1',
    '-p',
    String(port),
    '+tries=1',
    '+time=2',
    '+norec',
    '+noall',
    '+comments',
    '+answer',
    type,
    name,
  ]);
  const status = /status: (\w+)/.exec(out)?.[1] ?? 'NO-REPLY';
  const answer = out
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .map((l) =>
      l
        .split(/\s+/)
        .join(' ')
        .replace(/ SOA (\S+ \S+) \d+ /, ' SOA $1 SERIAL '),
    )
    .sort();
  return [status, ...answer].join('\n');
}

function queries(r: Running): [string, string][] {
  const list: [string, string][] = [];
  const zone = 'cluster.local.';
  for (const svc of r.cluster.list('Service')) {
    const base = `${svc.metadata.name}.${svc.metadata.namespace}.svc.${zone}`;
    for (const type of ['A', 'AAAA', 'SRV', 'CNAME', 'TXT']) list.push([base, type]);
    for (const p of svc.spec.ports ?? [])
      if (p.name) list.push([`_${p.name}._${p.protocol.toLowerCase()}.${base}`, 'SRV']);
    for (const ip of svc.spec.clusterIPs ?? []) if (ip !== 'None') list.push([ip, 'PTR']);
  }
  for (const pod of r.cluster.list('Pod', 'shop')) {
    if (pod.spec.hostname) list.push([`${pod.spec.hostname}.${pod.spec.subdomain}.shop.svc.${zone}`, 'A']);
    list.push([pod.status.podIP!, 'PTR']);
  }
  list.push(
    [zone, 'SOA'],
    [zone, 'NS'],
    [`dns-version.${zone}`, 'TXT'],
    [`missing.shop.svc.${zone}`, 'A'],
    [`missing.shop.svc.${zone}`, 'SOA'],
    [`nowhere.svc.${zone}`, 'A'],
    [`_tcp.web.shop.svc.${zone}`, 'A'],
    [`dns-version.${zone}`, 'A'],
    ['0.96.10.in-addr.arpa.', 'PTR'],
    ['9.9.9.10.in-addr.arpa.', 'PTR'],
  );
  return list;
}

function reverse(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.in-addr.arpa.`;
  const full = ip.split('::').map((h) => h.split(':').filter(Boolean));
  const groups = [...full[0]!, ...Array(8 - full.flat().length).fill('0'), ...(full[1] ?? [])];
  return `${groups
    .map((g) => g.padStart(4, '0'))
    .join('')
    .split('')
    .reverse()
    .join('.')}.ip6.arpa.`;
}

test('kube-netsim and Knot serving the exported zone give the same answers', async (t) => {
  const differences: string[] = [];
  let compared = 0;
  for (const [rawName, type] of queries(ours)) {
    const name = type === 'PTR' && !rawName.endsWith('.arpa.') ? reverse(rawName) : rawName;
    const [a, b] = await Promise.all([ask(ours.port, name, type), ask(knotPort, name, type)]);
    compared++;
    if (a === b) continue;
    if (ALLOWED.some((d) => d.query.test(`${name} ${type}`))) continue;
    differences.push(
      `${name} ${type}\n  kube-netsim: ${a.replaceAll('\n', ' | ')}\n  knot:        ${b.replaceAll('\n', ' | ')}`,
    );
  }
  t.true(compared > 50, `${compared} queries`);
  t.deepEqual(differences, []);
});

test('the allowed differences really differ (so the list stays honest)', async (t) => {
  for (const [name, type] of [
    [`_tcp.web.shop.svc.cluster.local.`, 'A'],
    ['dns-version.cluster.local.', 'A'],
    ['payments.shop.svc.cluster.local.', 'SRV'],
    ['0.96.10.in-addr.arpa.', 'PTR'],
  ] as const) {
    t.not(await ask(ours.port, name, type), await ask(knotPort, name, type), `${name} ${type}`);
  }
});
