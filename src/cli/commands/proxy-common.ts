/**
 * What `trace`, `rules` and `healthcheck` share: the engine for a node, where a packet enters, and names resolved
 * through cluster DNS as the sending pod's resolver would.
 */
import type { Cluster } from '../../cluster/cluster.js';
import { dnsOptionsOf } from '../../cluster/config-sections.js';
import { parseIP } from '../../cni/ip.js';
import { clusterSearches, type ResolvConf, resolveFromPod } from '../../dns/client/index.js';
import { formatRdata } from '../../dns/resolve/format.js';
import { resolve as resolveName } from '../../dns/resolve/resolve.js';
import { ZoneIndex } from '../../dns/zone/zone-index.js';
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import type { IPFamily, Protocol } from '../../model/types.js';
import { IPVS_SCHEDULERS, PROXY_MODES } from '../../proxy/config.js';
import type { ProxyConfig, Step, Verdict } from '../../proxy/engine.js';
import { type Address, formatAddress, type Origin, type Packet } from '../../proxy/packet.js';
import { resolvConfOf } from './pod-dns.js';

export const PROTOCOLS: Record<string, Protocol> = { tcp: 'TCP', udp: 'UDP', sctp: 'SCTP' };

/** A protocol as written (`label`: what the message calls it, the flag or a script's field). */
export function parseProto(text = 'tcp', label = '--proto'): Protocol {
  const proto = PROTOCOLS[text.toLowerCase()];
  if (!proto) throw new InvalidArgumentError(`${label} must be tcp, udp or sctp, got "${text}"`);
  return proto;
}

/** A flag's value when it is one of `allowed` (undefined when the flag was not given); bad input otherwise. */
function choiceFlag<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value !== undefined && !(allowed as readonly string[]).includes(value))
    throw new InvalidArgumentError(
      `${flag} must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}, got "${value}"`,
    );
  return value as T | undefined;
}

/** `--mode`: one of kube-proxy's modes, or undefined (the ClusterConfig's `proxy.mode`, else iptables). */
export function parseModeFlag(mode: string | undefined): ProxyConfig['mode'] | undefined {
  return choiceFlag('--mode', mode, PROXY_MODES);
}

/** `--scheduler`: one of the IPVS schedulers kube-proxy accepts, as the kernel names them, or undefined. */
export function parseSchedulerFlag(scheduler: string | undefined): string | undefined {
  return choiceFlag('--scheduler', scheduler, IPVS_SCHEDULERS);
}

export function requireNode(cluster: Cluster, node: string | undefined): string {
  if (!node) throw new InvalidArgumentError('--node is required');
  if (!cluster.get('Node', node)) throw new NotFoundError(`node "${node}" not found`);
  return node;
}

/**
 * `IP`, `IP:PORT`, `[IPv6]:PORT` → address (port from `defaultPort` when absent; null: the port is required, and an
 * IPv6 address must be bracketed, so `fd00::1:80` is not read as the address `fd00::1:80` on a default port).
 * `orName`: the caller also takes a Service name there (NAME:PORT), which the error then offers too.
 */
export function parseEndpointArg(text: string, defaultPort: number | null, flag: string, orName = false): Address {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const plain = /^([^:]+)(?::(\d+))?$/.exec(text);
  const bare = parseIP(text) ? [text, text, undefined] : null;
  const m = bracketed ?? bare ?? plain;
  const ip = m && parseIP(m[1]!);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!ip || port === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    const form = defaultPort === null ? 'IP:PORT' : 'IP[:PORT]';
    const name = orName ? ` or NAME${defaultPort === null ? ':PORT' : '[:PORT]'}` : '';
    throw new InvalidArgumentError(`${flag} takes ${form}${name} (IPv6 as [addr]:port), got "${text}"`);
  }
  return { ip: ip.text, port };
}

export function describeOrigin(origin: Origin, node: string): string {
  if (origin.from === 'pod') return `from pod ${origin.pod} on node ${node}`;
  if (origin.from === 'node') return `from node ${node} itself`;
  return `from outside the cluster, arriving at node ${node}`;
}

export interface ResolvedDestination {
  /** The address to send to, or null when the name is an ExternalName (no proxy rules). */
  ip: string | null;
  lines: string[];
  /** The same lookups as steps (`where: 'dns'`), for `trace --json`. */
  steps: Step[];
}

/**
 * A Service name resolved as the sender would: a pod's own resolv.conf (search path and ndots), or for the node and
 * outside clients the cluster search list of the default namespace; A for an IPv4 sender, AAAA for an IPv6 one. A
 * name that resolves to nothing is an error (NotFoundError), not a packet.
 */
export async function resolveDestination(
  cluster: Cluster,
  origin: Origin,
  name: string,
  family: IPFamily,
): Promise<ResolvedDestination> {
  const zone = new ZoneIndex(cluster.store, {
    clusterDomain: cluster.config.clusterDomain,
    options: dnsOptionsOf(cluster.config),
  });
  const qtype = family === 'IPv6' ? 'AAAA' : 'A';
  try {
    let resolvConf: ResolvConf;
    if (origin.from === 'pod') {
      const [ns, podName] = origin.pod.split('/') as [string, string];
      resolvConf = resolvConfOf(cluster, cluster.get('Pod', podName, ns)!);
    } else {
      resolvConf = {
        nameservers: [],
        searches: clusterSearches('default', cluster.config.clusterDomain, []),
        options: [{ name: 'ndots', value: '5' }],
      };
    }
    const walk = await resolveFromPod(name, {
      resolvConf,
      type: qtype,
      flavor: 'glibc',
      query: (qname, type) => {
        const r = resolveName({ name: qname, type }, zone);
        return {
          rcode: r.rcode,
          answers: r.answer.map((rr) => ({ name: rr.name, type: rr.type, ttl: rr.ttl, data: formatRdata(rr) })),
        };
      },
    });
    const steps: Step[] = walk.steps.map((s) => ({
      where: 'dns',
      rule: `${s.qname} ${s.qtype}`,
      decision: `${s.rcode}${s.answers.length ? ` ${s.answers.map((a) => `${a.type} ${a.data}`).join(', ')}` : ''}`,
    }));
    const answers = walk.result.answers;
    const address = answers.find((a) => a.type === qtype);
    const cname = answers.find((a) => a.type === 'CNAME');
    if (!address && cname) {
      steps.push({
        where: 'dns',
        rule: `${cname.name} CNAME`,
        decision: `ExternalName Service: CNAME ${cname.data}; kube-proxy programs no rules for it, the client connects to that name's addresses directly`,
      });
    } else if (address && cname) {
      // An ExternalName whose target is a name in the cluster: the resolver followed the CNAME to an address.
      steps.push({
        where: 'dns',
        rule: `${cname.name} CNAME`,
        decision: `ExternalName Service: CNAME ${cname.data}, which resolves to ${address.data}; kube-proxy programs no rules for the ExternalName, the packet goes to that address`,
      });
    } else if (!address) {
      const tried = walk.steps.map((s) => `${s.qname} ${s.rcode}`).join(', ');
      throw new NotFoundError(`"${name}" has no ${qtype} record in cluster DNS (${tried || 'no query made'})`);
    }
    const lines = steps.map((s) => `dns      ${s.rule} ${s.decision}`);
    return { ip: address?.data ?? null, lines, steps };
  } finally {
    zone.dispose();
  }
}

/** One verdict as JSON: the shape `trace --json` prints. */
export function verdictJSON(v: Verdict): Record<string, unknown> {
  return {
    verdict: v.verdict,
    endpoint: v.endpoint,
    packet: packetJSON(v.packet),
    snat: v.snat,
    service: v.service,
    conntrack: v.conntrack,
    cost: v.cost,
    steps: v.steps,
  };
}

export function packetJSON(p: Packet): { proto: string; src: string; dst: string } {
  return { proto: p.proto, src: formatAddress(p.src), dst: formatAddress(p.dst) };
}

/** A verdict as text: each step on its own line, then the outcome. */
export function verdictText(v: Verdict): string[] {
  const lines = v.steps.map((s, i) => {
    return `${String(i + 1).padStart(3)}  ${s.where}  ${s.rule}\n     → ${s.decision}`;
  });
  lines.push(
    `verdict  ${v.verdict}${v.endpoint ? ` to ${v.endpoint}` : ''}${v.service ? `  (Service port ${v.service})` : ''}`,
  );
  lines.push(`snat     ${v.snat ?? 'none (client address kept)'}`);
  lines.push(`packet   ${v.packet.proto} ${formatAddress(v.packet.src)} -> ${formatAddress(v.packet.dst)}`);
  lines.push(`cost     ${v.cost} ${v.steps[0]?.where.startsWith('ipvs') ? 'lookups' : 'rules traversed'}`);
  return lines;
}

/**
 * `NAME:PORT` → the name and port, or null when `dst` is an address (`IP`, `IP:PORT`, `[IPv6]:PORT`). `label`: what
 * an error calls it (the flag, or a script's field).
 */
export function splitName(dst: string, label = '--dst'): { name: string; port: number } | null {
  if (dst.startsWith('[') || parseIP(dst)) return null;
  const sep = dst.lastIndexOf(':');
  const host = sep > 0 ? dst.slice(0, sep) : dst;
  if (parseIP(host) || !/[a-z]/i.test(host)) return null;
  const portText = sep > 0 ? dst.slice(sep + 1) : '';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new InvalidArgumentError(`${label} takes NAME:PORT with a port from 0 to 65535, got "${dst}"`);
  return { name: host, port };
}
