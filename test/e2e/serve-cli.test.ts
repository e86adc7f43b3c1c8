/**
 * `kube-netsim serve` as a user runs it: one line per socket once ready, metrics/health/ready, live reload of its
 * input files (an invalid edit keeps the last good state), and a clean stop on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import test from 'ava';
import { dig, digYaml, shortLines } from './helpers.js';

interface Serving {
  proc: ChildProcess;
  port: number;
  metricsPort: number;
  output: () => string;
  errors: () => string;
}

async function serve(dir: string, ...extra: string[]): Promise<Serving> {
  const proc = spawn(
    process.execPath,
    ['bin/kube-netsim.js', 'serve', dir, '--listen', '127.0.0.1:0', '--metrics', '127.0.0.1:0', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    err += d;
  });
  const deadline = Date.now() + 30_000;
  while (!/metrics on http:\/\/127\.0\.0\.1:\d+/.test(out)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`serve did not start:\n${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(/listening on udp 127\.0\.0\.1:(\d+)/.exec(out)![1]);
  const metricsPort = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  return { proc, port, metricsPort, output: () => out, errors: () => err };
}

/** The pids of the DNS worker processes below `root`, from /proc (field 4 of /proc/PID/stat is the parent). */
function workerPids(root: number): string[] {
  const parents = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(entry, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const below = (pid: string): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(String(p))) if (p === root) return true;
    return false;
  };
  return [...parents.keys()].filter((pid) => {
    if (!below(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('worker-main');
    } catch {
      return false;
    }
  });
}

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

test('serve prints its sockets, serves metrics, reloads its inputs and stops on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-serve-'));
  cpSync('fixtures/demo', dir, { recursive: true });
  const s = await serve(dir);
  try {
    t.regex(
      s.output(),
      new RegExp(`listening on udp 127\\.0\\.0\\.1:${s.port}\\nlistening on tcp 127\\.0\\.0\\.1:${s.port}\\n`),
    );
    t.is((await digYaml(s.port, 'web.shop.svc.cluster.local')).status, 'NOERROR');

    const metrics = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
    t.regex(metrics, /coredns_dns_requests_total\{[^}]*type="A"[^}]*\} \d+/);
    t.regex(metrics, /coredns_dns_responses_total\{[^}]*rcode="NOERROR"[^}]*\} \d+/);
    t.regex(metrics, /coredns_dns_request_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+/);
    t.is(await (await fetch(`http://127.0.0.1:${s.metricsPort}/health`)).text(), 'OK');
    t.is((await fetch(`http://127.0.0.1:${s.metricsPort}/ready`)).status, 200);

    // A new Service in the input shows in the answers without a restart.
    writeFileSync(
      join(dir, 'extra.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata: { name: extra, namespace: shop }\nspec:\n  clusterIP: 10.96.99.99\n  ports: [{ port: 80 }]\n',
    );
    t.true(
      await waitFor(
        async () => shortLines(await dig(s.port, '+short', 'extra.shop.svc.cluster.local'))[0] === '10.96.99.99',
      ),
    );

    // An invalid edit is logged and the last good state keeps serving.
    writeFileSync(
      join(dir, 'extra.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata: { name: extra, namespace: shop }\nspec:\n  ports: [{ port: 70000 }]\n',
    );
    t.true(await waitFor(async () => s.errors().includes('reload rejected')));
    t.regex(s.errors(), /extra\.yaml:\d+:\d+: Service shop\/extra: spec\.ports\[0\]\.port: /);
    t.deepEqual(shortLines(await dig(s.port, '+short', 'extra.shop.svc.cluster.local')), ['10.96.99.99']);

    // Removing the file removes the Service.
    rmSync(join(dir, 'extra.yaml'));
    t.true(await waitFor(async () => (await digYaml(s.port, 'extra.shop.svc.cluster.local')).status === 'NXDOMAIN'));
  } finally {
    s.proc.kill('SIGTERM');
    const code = await new Promise((r) => s.proc.on('exit', (c) => r(c)));
    t.is(code, 0);
    t.regex(s.output(), /stopped\n$/);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Save as `sed -i` and most editors do: write a new file beside it, then rename it over the old one (a new inode). */
function replaceByRename(path: string, text: string): void {
  const temp = join(dirname(path), `.${basename(path)}.swp`);
  writeFileSync(temp, text);
  renameSync(temp, path);
}

// An ExternalName Service: its target can change (a ClusterIP cannot), and the CNAME shows which version is served.
const aliasYaml = (name: string, target: string) =>
  `apiVersion: v1\nkind: Service\nmetadata: { name: ${name}, namespace: shop }\nspec: { type: ExternalName, externalName: ${target} }\n`;

test('serve follows files replaced by rename, again and again, in new subdirectories and given by themselves', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kube-netsim-rename-'));
  const dir = join(root, 'cluster');
  cpSync('fixtures/demo', dir, { recursive: true });
  mkdirSync(join(root, 'apart'));
  const apart = join(root, 'apart', 'apart.yaml');
  writeFileSync(apart, aliasYaml('apart', 'v1.example.com'));
  const s = await serve(dir, apart);
  const answers = async (name: string, target: string) =>
    waitFor(
      async () =>
        shortLines(await dig(s.port, '+short', 'CNAME', `${name}.shop.svc.cluster.local`))[0] === `${target}.`,
    );
  try {
    t.true(await answers('apart', 'v1.example.com'));
    // A file input, replaced twice: a watch on the file itself would have stayed on the first inode.
    for (const target of ['v2.example.com', 'v3.example.com']) {
      replaceByRename(apart, aliasYaml('apart', target));
      t.true(await answers('apart', target), `apart.yaml replaced, now ${target}`);
    }
    // A directory made after serve started, and a file in it replaced twice.
    mkdirSync(join(dir, 'more'));
    const inner = join(dir, 'more', 'inner.yaml');
    writeFileSync(inner, aliasYaml('inner', 'v1.example.org'));
    t.true(await answers('inner', 'v1.example.org'));
    for (const target of ['v2.example.org', 'v3.example.org']) {
      replaceByRename(inner, aliasYaml('inner', target));
      t.true(await answers('inner', target), `more/inner.yaml replaced, now ${target}`);
    }
  } finally {
    s.proc.kill('SIGTERM');
    t.is(await new Promise((r) => s.proc.on('exit', (c) => r(c))), 0);
    rmSync(root, { recursive: true, force: true });
  }
});

test('serve exits 2 with located errors on an invalid input', async (t) => {
  const proc = spawn(
    process.execPath,
    [
      'bin/kube-netsim.js',
      'serve',
      'fixtures/admission/nodeport-taken.yaml',
      'fixtures/bad/svc-port-range.yaml',
      '--listen',
      '127.0.0.1:0',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  proc.stderr.on('data', (d) => {
    err += d;
  });
  const code = await new Promise((r) => proc.on('exit', (c) => r(c)));
  t.is(code, 2);
  t.regex(
    err,
    /fixtures\/bad\/svc-port-range\.yaml:12:7: Service default\/web: spec\.ports\[1\]\.port: must be between 1 and 65535, inclusive, got 70000/,
  );
});

/** Run `serve` to its exit (it must exit by itself); its exit code and stderr. */
async function serveExit(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const proc = spawn(process.execPath, ['bin/kube-netsim.js', 'serve', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => {
    stderr += d;
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  clearTimeout(killer);
  return { code, stderr };
}

test('serve: a malformed or taken address is bad input (exit 2, one line, as CoreDNS words it), in one process or in workers', async (t) => {
  // A UDP socket holds a port; serving on it fails on the UDP bind, the first one made.
  const holder = dgram.createSocket('udp4');
  await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
  const taken = holder.address().port;
  try {
    const cases: [string[], RegExp][] = [
      [['--listen', '127.0.0.1'], /^error: --listen takes IP:PORT .*got "127\.0\.0\.1"\n$/],
      [['--listen', '127.0.0.1:99999'], /^error: --listen takes IP:PORT/],
      [['--listen', '127.0.0.1:0', '--metrics', 'localhost:9153'], /^error: --metrics takes IP:PORT/],
      [
        ['--listen', `127.0.0.1:${taken}`],
        new RegExp(`^error: listen udp 127\\.0\\.0\\.1:${taken}: bind: address already in use\n$`),
      ],
      [
        ['--listen', `127.0.0.1:${taken}`, '--workers', '2'],
        new RegExp(`^error: listen udp 127\\.0\\.0\\.1:${taken}: bind: address already in use\n$`),
      ],
    ];
    for (const [flags, expected] of cases) {
      const r = await serveExit('fixtures/demo', ...flags);
      t.is(r.code, 2, flags.join(' '));
      t.regex(r.stderr, expected, flags.join(' '));
    }
  } finally {
    holder.close();
  }
});

test('serve: a metrics address that cannot be bound stops the DNS sockets already serving (the process exits 2)', async (t) => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  const taken = (holder.address() as net.AddressInfo).port;
  try {
    const r = await serveExit('fixtures/demo', '--listen', '127.0.0.1:0', '--metrics', `127.0.0.1:${taken}`);
    t.is(r.code, 2);
    t.is(r.stderr, `error: listen tcp 127.0.0.1:${taken}: bind: address already in use\n`);
  } finally {
    holder.close();
  }
});

test('serve --workers 2: both worker processes answer, follow edits, and their metrics are merged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-workers-'));
  cpSync('fixtures/demo', dir, { recursive: true });
  const s = await serve(dir, '--workers', '2');
  try {
    for (let i = 0; i < 6; i++) t.is((await digYaml(s.port, 'web.shop.svc.cluster.local')).status, 'NOERROR');
    t.is((await digYaml(s.port, '+tcp', 'db.shop.svc.cluster.local')).status, 'NOERROR');
    writeFileSync(
      join(dir, 'extra.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata: { name: extra, namespace: shop }\nspec:\n  clusterIP: 10.96.98.98\n  ports: [{ port: 80 }]\n',
    );
    // Every worker must have the change: ask several times, the kernel spreads queries over both.
    t.true(
      await waitFor(async () => {
        for (let i = 0; i < 6; i++) {
          if (shortLines(await dig(s.port, '+short', 'extra.shop.svc.cluster.local'))[0] !== '10.96.98.98')
            return false;
        }
        return true;
      }),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`)).text();
    const total = [...metrics.matchAll(/^coredns_dns_requests_total\{[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
    t.true(total >= 13, `${total} requests counted across workers`);
    // A worker that dies (as a CoreDNS pod may crash) is replaced; scrapes and queries go on meanwhile.
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${s.metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) });
      await res.text(); // a body left unread keeps the connection busy, and the server's close would wait on it
      return res.status;
    };
    const children = async () => workerPids(s.proc.pid!);
    const before = await children();
    t.is(before.length, 2);
    process.kill(Number(before[0]), 'SIGKILL');
    t.is(await scrape(), 200);
    t.true(await waitFor(async () => (await children()).length === 2 && !(await children()).includes(before[0]!)));
    for (let i = 0; i < 6; i++) t.is((await digYaml(s.port, 'web.shop.svc.cluster.local')).status, 'NOERROR');
    t.is(await scrape(), 200);
  } finally {
    s.proc.kill('SIGTERM');
    t.is(await new Promise((r) => s.proc.on('exit', (c) => r(c))), 0);
    rmSync(dir, { recursive: true, force: true });
  }
});
