/**
 * `kube-netsim trace PATH... --node NODE --src IP[:PORT] --dst IP:PORT|NAME:PORT [--proto tcp|udp|sctp]
 *  [--mode iptables|userspace|ipvs] [--scheduler NAME] [--seed N] [--json] [--count N [--closed]] [--script FILE]`:
 * a packet through kube-proxy on one node, step by step; a distribution over many flows; or a timed scenario.
 */
import type { Command } from 'commander';
import type { Cluster } from '../../cluster/cluster.js';
import type { NodeProxy } from '../../cluster/node-proxy.js';
import { originOf } from '../../cluster/packet-origin.js';
import { InvalidArgumentError } from '../../errors.js';
import type { ProxyEngine, Step } from '../../proxy/engine.js';
import { type Address, familyOf, formatAddress, type Origin, reversed } from '../../proxy/packet.js';
import { loadCluster, parseSeed } from './load.js';
import {
  describeOrigin,
  packetJSON,
  parseEndpointArg,
  parseModeFlag,
  parseProto,
  parseSchedulerFlag,
  requireNode,
  resolveDestination,
  splitName,
  verdictJSON,
  verdictText,
} from './proxy-common.js';
import { readScript, runScript } from './trace-script.js';

export interface ProxyCommandOptions {
  node?: string;
  mode?: string;
  scheduler?: string;
  seed?: string;
}

interface TraceOptions extends ProxyCommandOptions {
  src?: string;
  dst?: string;
  proto?: string;
  json?: boolean;
  count?: string;
  closed?: boolean;
  script?: string;
}

/** The engine the flags ask for on the node. */
export function engineFor(cluster: Cluster, opts: ProxyCommandOptions, explain = true): NodeProxy {
  const node = requireNode(cluster, opts.node);
  const mode = parseModeFlag(opts.mode);
  return cluster.proxy({
    node,
    ...(mode ? { mode } : {}),
    ...(opts.scheduler ? { scheduler: parseSchedulerFlag(opts.scheduler) } : {}),
    ...(opts.seed !== undefined ? { seed: parseSeed(opts.seed) } : {}),
    explain,
  });
}

/**
 * Where a flow from `src` to `dst` goes before any rule: its origin, its protocol and addresses (a name resolved as
 * the sender would, in the sender's family), and the DNS lookups that took; `destination` is null for an
 * ExternalName, which has no proxy rules.
 */
async function prepareFlow(cluster: Cluster, engine: ProxyEngine, src: string, dst: string, protoText?: string) {
  const proto = parseProto(protoText);
  const source = parseEndpointArg(src, 40000, '--src');
  const family = familyOf(source.ip);
  const origin: Origin = originOf(cluster.store, engine.nodeName, source.ip);
  const dns: string[] = [];
  const dnsSteps: Step[] = [];
  let destination: Address | null;
  const named = splitName(dst);
  if (named) {
    const resolved = await resolveDestination(cluster, origin, named.name, family);
    dns.push(...resolved.lines);
    dnsSteps.push(...resolved.steps);
    destination = resolved.ip === null ? null : { ip: resolved.ip, port: named.port };
  } else destination = parseEndpointArg(dst, null, '--dst', true);
  if (destination && familyOf(destination.ip) !== family) {
    throw new InvalidArgumentError(
      `--src ${formatAddress(source)} is ${family} and --dst ${formatAddress(destination)} is not: a packet has one IP family`,
    );
  }
  return { proto, source, origin, destination, dns, dnsSteps };
}

/** Source ports 1024-65535: the most flows `--count` can send that differ by source port. */
const COUNT_MAX = 64512;

export function registerTrace(program: Command): void {
  program
    .command('trace')
    .description("follow a packet through kube-proxy's rules on one node")
    .argument('<paths...>', 'manifest files or directories')
    .requiredOption('--node <node>', 'the node the packet arrives at')
    .option('--src <ip[:port]>', 'source: a pod IP on the node, one of its own addresses, or anything else (outside)')
    .option('--dst <ip:port|name:port>', 'destination: an address or a Service name, with a port')
    .option('--proto <proto>', 'tcp, udp or sctp', 'tcp')
    .option('--mode <mode>', 'iptables, userspace or ipvs (default: the ClusterConfig, else iptables)')
    .option('--scheduler <name>', 'IPVS scheduler (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh)')
    .option('--seed <n>', "seed for the engine's random choices (default: the ClusterConfig's seed)")
    .option('--json', 'print JSON')
    .option('--count <n>', 'send N new flows from varying source ports and print the distribution')
    .option('--closed', 'with --count: close each flow once answered and acknowledged')
    .option('--script <file>', 'run a timed scenario (packets, clock steps, cluster changes)')
    .action(async (paths: string[], opts: TraceOptions) => {
      // A flag the chosen form would leave unread is an error, not ignored: a script's packets name their own ends.
      if (opts.script) {
        const unread = (['src', 'dst', 'count', 'closed'] as const).filter((k) => opts[k] !== undefined);
        if (unread.length)
          throw new InvalidArgumentError(`--script cannot be used with ${unread.map((k) => `--${k}`).join(', ')}`);
      } else if (opts.closed && opts.count === undefined) throw new InvalidArgumentError('--closed is for --count');
      // --seed seeds the engine only: the cluster (ClusterIPs, pod names) stays what `get` shows without it.
      const cluster = await loadCluster(paths);
      // --count only tallies endpoints: no need to explain every flow.
      const engine = engineFor(cluster, opts, opts.count === undefined);
      const out = (text: string): void => {
        process.stdout.write(`${text}\n`);
      };
      if (opts.script) {
        const results = await runScript(cluster, engine, readScript(opts.script), opts.script);
        if (opts.json) {
          out(
            JSON.stringify(
              results.map((r) => ({
                step: r.step,
                time: r.time,
                ...verdictJSON(r.verdict),
                ...(r.dns ? { steps: [...r.dns, ...r.verdict.steps] } : {}),
                ...(r.closed !== undefined ? { closed: r.closed } : {}),
              })),
              null,
              2,
            ),
          );
        } else {
          for (const r of results) {
            const v = r.verdict;
            out(
              `t=${r.time}s step ${r.step}: ${v.verdict}${v.endpoint ? ` to ${v.endpoint}` : ''} (${v.conntrack}) ${formatAddress(v.packet.src)} -> ${formatAddress(v.packet.dst)}${r.closed ? ', then closed' : ''}`,
            );
          }
        }
        return;
      }
      if (!opts.src || !opts.dst) throw new InvalidArgumentError('--src and --dst are required (or --script)');
      if (opts.count !== undefined) {
        const n = Number(opts.count);
        // Each flow takes a source port of its own (1024-65535): past that, flows would be earlier ones again.
        if (!/^\d+$/.test(opts.count) || n < 1 || n > COUNT_MAX)
          throw new InvalidArgumentError(
            `--count must be an integer from 1 to ${COUNT_MAX} (one flow per source port 1024-65535), got "${opts.count}"`,
          );
        const flow = await prepareFlow(cluster, engine, opts.src, opts.dst, opts.proto);
        if (!flow.destination) {
          // An ExternalName: kube-proxy has no rules for it, so there is nothing to send through the engine.
          const why = flow.dnsSteps.at(-1)?.decision ?? 'the name resolves to no address';
          throw new InvalidArgumentError(`--count: ${opts.dst} sends no flows through kube-proxy: ${why}`);
        }
        const endpoints: Record<string, number> = {};
        let rejected = 0;
        let dropped = 0;
        let unchanged = 0;
        const firstPort = parseEndpointArg(opts.src, 1024, '--src').port;
        for (let i = 0; i < n; i++) {
          const port = 1024 + ((firstPort - 1024 + i) % COUNT_MAX);
          const src = { ip: flow.source.ip, port };
          const v = engine.send({ proto: flow.proto, src, dst: flow.destination }, flow.origin, 0);
          if (v.endpoint) endpoints[v.endpoint] = (endpoints[v.endpoint] ?? 0) + 1;
          if (v.verdict === 'REJECT') rejected++;
          if (v.verdict === 'DROP') dropped++;
          if (v.verdict === 'ACCEPT' && v.endpoint === null) unchanged++;
          if (v.conntrack === 'new') {
            // The endpoint answers (SYN-ACK) and the client acknowledges, so the flow is established (an active
            // connection for lc, wlc, sed, nq, lblc, lblcr) before the next one is scheduled; --closed then ends it
            // (TIME_WAIT: inactive).
            const answer = reversed(v.packet);
            engine.reply(answer, 0);
            engine.send({ proto: flow.proto, src, dst: flow.destination }, flow.origin, 0);
            if (opts.closed) engine.close(answer, 0);
          }
        }
        if (opts.json) out(JSON.stringify({ flows: n, endpoints, rejected, dropped }, null, 2));
        else {
          out(`${n} flows, ${engine.mode} mode on ${engine.nodeName}`);
          for (const [ep, c] of Object.entries(endpoints).sort())
            out(`  ${ep.padEnd(28)} ${String(c).padStart(8)}  ${((100 * c) / n).toFixed(2)}%`);
          out(
            `  rejected ${rejected}, dropped ${dropped}${unchanged ? `, passed unchanged (no Service rule) ${unchanged}` : ''}`,
          );
        }
        return;
      }
      const flow = await prepareFlow(cluster, engine, opts.src, opts.dst, opts.proto);
      const r = {
        ...flow,
        verdict: flow.destination
          ? engine.send({ proto: flow.proto, src: flow.source, dst: flow.destination }, flow.origin, 0)
          : null,
      };
      if (opts.json) {
        out(
          JSON.stringify(
            r.verdict
              ? { ...verdictJSON(r.verdict), steps: [...r.dnsSteps, ...r.verdict.steps], dns: r.dns }
              : { verdict: 'ACCEPT', endpoint: null, packet: null, snat: null, steps: r.dnsSteps, dns: r.dns },
            null,
            2,
          ),
        );
        return;
      }
      out(`${engine.mode} on ${engine.nodeName}: ${describeOrigin(r.origin, engine.nodeName)}`);
      for (const line of r.dns) out(line);
      if (!r.verdict) {
        // As --json says: nothing for kube-proxy to rewrite; the client connects to the target's addresses itself.
        out('verdict  ACCEPT: no packet to a Service address, nothing for kube-proxy to rewrite (see dns above)');
        return;
      }
      // The packet as sent, addresses canonical (IPv6 in brackets); a name or other spelling of --dst follows it.
      // (A verdict means there was a destination to send to.)
      const sent = packetJSON({ proto: flow.proto, src: r.source, dst: flow.destination! });
      out(`sent     ${sent.proto} ${sent.src} -> ${sent.dst}${sent.dst === opts.dst ? '' : `  (--dst ${opts.dst})`}`);
      for (const line of verdictText(r.verdict)) out(line);
    });
}
