/**
 * End-to-end helpers: a real DNS server on 127.0.0.1 with an ephemeral port, and real clients run as child processes.
 * The clients come from Debian packages that .ci/run installs; a missing one fails the test with its name.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster } from '../../src/cluster/cluster.js';
import { dnsOptionsOf } from '../../src/cluster/config-sections.js';
import type { DnsOptions } from '../../src/dns/config.js';
import { DnsServer } from '../../src/dns/server/server.js';

const run = promisify(execFile);

export interface Running {
  cluster: Cluster;
  server: DnsServer;
  port: number;
  stop(): Promise<void>;
}

export async function startServer(
  paths: string[],
  options: { dns?: Partial<DnsOptions>; allowTransfer?: boolean; listen?: string } = {},
): Promise<Running> {
  const cluster = await Cluster.load(paths);
  const server = new DnsServer(cluster.store, {
    clusterDomain: cluster.config.clusterDomain,
    seed: cluster.config.seed,
    listen: [options.listen ?? '127.0.0.1:0'],
    dns: { ...dnsOptionsOf(cluster.config), ...options.dns },
    allowTransfer: options.allowTransfer ?? false,
  });
  await server.start();
  return { cluster, server, port: server.port, stop: () => server.stop() };
}

/** Run a client; its stdout. Fails with the tool's name when it is not installed. */
export async function client(tool: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(tool, args, { timeout: 20_000 });
    return stdout;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string };
    if (e.code === 'ENOENT')
      throw new Error(`${tool} is not installed (apt-get install bind9-dnsutils knot-dnsutils ldnsutils)`);
    // nslookup and host exit non-zero on NXDOMAIN; their output is still what we want.
    if (typeof e.stdout === 'string' && e.stdout.length) return e.stdout;
    throw err;
  }
}

/** `dig @127.0.0.1 -p PORT ARGS +tries=1 +time=2`. */
export function dig(port: number, ...args: string[]): Promise<string> {
  return client('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=2', ...args]);
}

export function kdig(port: number, ...args: string[]): Promise<string> {
  return client('kdig', ['@127.0.0.1', '-p', String(port), '+retry=0', '+time=2', ...args]);
}

export function shortLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .sort();
}

export interface DigMessage {
  status: string;
  flags: string[];
  answer: string[];
  authority: string[];
  additional: string[];
  /** Octets of the reply as received. */
  size: number;
  protocol: string;
}

/** `dig +yaml`, parsed: the reply's status, flags, sections (one zone-file line per record) and size. */
export async function digYaml(port: number, ...args: string[]): Promise<DigMessage> {
  const { parse } = await import('yaml');
  const text = await dig(port, '+yaml', ...args);
  const docs = parse(text, { version: '1.1', logLevel: 'silent' }) as { message: Record<string, unknown> }[];
  // With +ignore or over TCP dig prints one MESSAGE per reply; the last one is the answer it settled on.
  const message = docs[docs.length - 1]!.message;
  const data = message.response_message_data as Record<string, unknown>;
  const list = (key: string) => ((data[key] as string[] | undefined) ?? []).map(String);
  return {
    status: String(data.status),
    flags: String(data.flags ?? '')
      .split(' ')
      .filter(Boolean),
    answer: list('ANSWER_SECTION'),
    authority: list('AUTHORITY_SECTION'),
    additional: list('ADDITIONAL_SECTION'),
    size: Number.parseInt(String(message.message_size), 10),
    protocol: String(message.socket_protocol),
  };
}
