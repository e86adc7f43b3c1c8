/** Listen addresses: parsed as IP:PORT, and a socket that cannot be bound is a typed error that leaves nothing open. */
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import test from 'ava';
import { Cluster } from '../../../src/cluster/cluster.js';
import { dnsOptionsOf } from '../../../src/cluster/config-sections.js';
import { parseListen } from '../../../src/dns/server/listeners.js';
import { DnsServer } from '../../../src/dns/server/server.js';
import { ErrorCodes, KubeNetsimError } from '../../../src/errors.js';

test('parseListen: IP:PORT and [IPv6]:PORT; anything else is E_INVALID_ARGUMENT naming the flag', (t) => {
  t.deepEqual(parseListen('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  t.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  for (const text of ['127.0.0.1', '127.0.0.1:65536', 'localhost:53', '::1:53', '[127.0.0.1]:53x']) {
    const err = t.throws(() => parseListen(text, '--metrics'), { instanceOf: KubeNetsimError });
    t.is(err?.code, ErrorCodes.INVALID_ARGUMENT, text);
    t.regex(err?.message ?? '', /^--metrics takes IP:PORT/, text);
  }
});

test('start: an address in use is E_LISTEN_FAILED, and the sockets bound before it are closed again', async (t) => {
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
  const taken = holder.address().port;
  // A free port for the first address, found by binding and releasing it.
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  const free = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const cluster = await Cluster.load(['fixtures/demo']);
  const server = new DnsServer(cluster.store, {
    clusterDomain: cluster.config.clusterDomain,
    seed: cluster.config.seed,
    listen: [`127.0.0.1:${free}`, `127.0.0.1:${taken}`],
    dns: dnsOptionsOf(cluster.config),
  });
  try {
    const err = await t.throwsAsync(server.start(), { instanceOf: KubeNetsimError });
    t.is(err?.code, ErrorCodes.LISTEN_FAILED);
    t.is(err?.message, `listen udp 127.0.0.1:${taken}: bind: address already in use`);
    t.is(server.listeners.length, 0);
    // The first address's port is free again: its UDP socket was closed.
    const again = dgram.createSocket('udp4');
    await t.notThrowsAsync(
      new Promise<void>((resolve, reject) => {
        again.once('error', reject);
        again.bind(free, '127.0.0.1', () => resolve());
      }),
    );
    again.close();
  } finally {
    holder.close();
    server.zone.dispose();
  }
});

test('start: an address not on this machine is E_LISTEN_FAILED, worded as Go words it (cannot assign requested address)', async (t) => {
  const cluster = await Cluster.load(['fixtures/demo']);
  const server = new DnsServer(cluster.store, {
    clusterDomain: cluster.config.clusterDomain,
    seed: cluster.config.seed,
    listen: ['192.0.2.1:0'],
    dns: dnsOptionsOf(cluster.config),
  });
  try {
    const err = await t.throwsAsync(server.start(), { instanceOf: KubeNetsimError });
    t.is(err?.code, ErrorCodes.LISTEN_FAILED);
    t.is(err?.message, 'listen udp 192.0.2.1:0: bind: cannot assign requested address');
  } finally {
    server.zone.dispose();
  }
});

test('start: port 0 gives UDP and TCP one port, trying another when the port UDP got is taken for TCP', async (t) => {
  // In a network namespace whose ephemeral range is two ports, with TCP on the first held: UDP's port 0 lands on the
  // held one about half the time, and the server must then move both to the other. Ten starts in a row.
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-port0-'));
  const script = join(dir, 'port0.mts');
  const src = (path: string) => pathToFileURL(join(process.cwd(), path)).href;
  writeFileSync(
    script,
    `import net from 'node:net';
import { Cluster } from '${src('src/cluster/cluster.js')}';
import { dnsOptionsOf } from '${src('src/cluster/config-sections.js')}';
import { DnsServer } from '${src('src/dns/server/server.js')}';
const holder = net.createServer();
await new Promise((r) => holder.listen(40000, '127.0.0.1', r));
const cluster = await Cluster.load(['fixtures/demo']);
const ports = [];
for (let i = 0; i < 10; i++) {
  const server = new DnsServer(cluster.store, {
    clusterDomain: cluster.config.clusterDomain, seed: cluster.config.seed, listen: ['127.0.0.1:0'], dns: dnsOptionsOf(cluster.config),
  });
  const listeners = await server.start();
  ports.push(listeners.map((l) => l.transport + ' ' + l.address).join(', '));
  await server.stop();
}
holder.close();
console.log(JSON.stringify(ports));
`,
  );
  try {
    const r = spawnSync(
      'unshare',
      [
        '-rn',
        'sh',
        '-ec',
        `ip link set lo up; sysctl -qw net.ipv4.ip_local_port_range="40000 40001"; ${process.execPath} --import=tsx ${script}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    t.is(r.status, 0, r.stderr);
    const lines: string[] = JSON.parse(r.stdout.trim().split('\n').pop()!);
    t.deepEqual(lines, Array(10).fill('udp 127.0.0.1:40001, tcp 127.0.0.1:40001'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
