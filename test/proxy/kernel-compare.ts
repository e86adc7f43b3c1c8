/**
 * Comparing the iptables engine with the kernel, for any dual-stack cluster on the node of kernel-node.ts: the
 * cluster's Services are written once in IPv4 (`svc`) and get IPv6 twins; a probe is a connection (TCP) or an exchange
 * (UDP) from a pod, the node, localhost or outside, made in both families; `compareWithKernel` gives, per kube-proxy
 * configuration, each probe's fate as the engine tells it and as the kernel carries it out under the rules the engine
 * prints.
 *
 * Fates are compared in the terms both sides can give: answered (by which endpoint: conntrack's reply tuple),
 * refused (REJECT's ICMP), dropped, or passed unrewritten (answered by the node's own socket); and the source address
 * masquerading gave it. The engine masquerades to the node's address of the family, as the issue asks; MASQUERADE
 * takes the address of the interface a packet leaves by (the pods' gateway toward a local pod), and a masquerade to
 * the address a packet already has is no rewrite (conntrack records no source NAT): the engine's masquerade is read
 * here as the kernel carries it out.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IPFamily, Node, Protocol } from '../../src/model/types.js';
import { type ProxyConfigInput, proxyConfig, type Verdict } from '../../src/proxy/engine.js';
import { IptablesEngine } from '../../src/proxy/iptables/engine.js';
import { hostPort, type Origin, parseHostPort } from '../../src/proxy/packet.js';
import { Rng } from '../../src/util/rng.js';
import { type EndpointSpec, node, type ServiceInput, service, slice, storeWith, tableFor } from './fixtures.js';
import { CLIENT_JS, type Connection, GATEWAY, kernelFates, nodeScript, type Round, SERVER_JS } from './kernel-node.js';

export const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];
/** Every Service has a TCP port 80 and a UDP port 53 (NodePorts: the TCP one's + 100), to endpoints on these. */
const PORT = 8080;
const UDP_PORT = 8053;
export const NODE = '192.168.0.2';
export const POD1 = '10.244.1.2';
export const POD2 = '10.244.1.3';
const REMOTE = '10.244.2.5';

/**
 * The IPv6 twin of the addresses and ranges the node has; ClusterIPs 10.96.0.N, LoadBalancer IPs 198.51.100.N and
 * externalIPs 192.168.99.N have fd00:96::N, 2001:db8:1::N and fd00:99::N.
 */
const TWIN: Readonly<Record<string, string>> = {
  [NODE]: 'fd00:1::2',
  '192.168.0.3': 'fd00:1::3',
  '203.0.113.2': '2001:db8::2',
  [POD1]: 'fd00:10:1::2',
  [POD2]: 'fd00:10:1::3',
  [REMOTE]: 'fd00:10:2::5',
  '127.0.0.1': '::1',
  '203.0.113.0/25': '2001:db8::/64',
  '198.18.0.0/15': '2001:db8:ffff::/48',
  '10.244.1.0/24': 'fd00:10:1::/64',
  '10.244.2.0/24': 'fd00:10:2::/64',
  '10.244.0.0/16': 'fd00:10::/48',
  '192.168.0.0/24': 'fd00:1::/64',
};
const PREFIX_TWINS: readonly (readonly [string, string])[] = [
  ['10.96.0.', 'fd00:96::'],
  ['198.51.100.', '2001:db8:1::'],
  ['192.168.99.', 'fd00:99::'],
];

/** An IPv4 address or range as the cluster is written, in `family`. */
export function inFamily(v4: string, family: IPFamily): string {
  if (family === 'IPv4') return v4;
  const prefix = PREFIX_TWINS.find(([p]) => v4.startsWith(p));
  const twin = TWIN[v4] ?? (prefix ? `${prefix[1]}${v4.slice(prefix[0].length)}` : undefined);
  if (twin === undefined) throw new Error(`no IPv6 twin for ${v4}`);
  return twin;
}
export const both = (v4s: readonly string[]) => FAMILIES.flatMap((f) => v4s.map((a) => inFamily(a, f)));

export interface Spec {
  readonly clusterIP: string;
  readonly type?: 'NodePort' | 'LoadBalancer';
  readonly nodePort?: number;
  readonly ingress?: string;
  readonly sourceRange?: string;
  readonly externalIP?: string;
  readonly local?: 'internal' | 'external';
  readonly affinity?: boolean;
}

/** A dual-stack Service with its two ports (and NodePorts if given) and its endpoints in both families. */
export function svc(name: string, spec: Spec, endpoints: EndpointSpec[]) {
  const s = service('default', name, {
    ...(spec.type ? { type: spec.type } : {}),
    clusterIP: spec.clusterIP,
    clusterIPs: both([spec.clusterIP]),
    ipFamilies: [...FAMILIES],
    ipFamilyPolicy: 'RequireDualStack',
    ports: [
      { name: 'http', port: 80, ...(spec.nodePort ? { nodePort: spec.nodePort } : {}) },
      { name: 'dns', port: 53, protocol: 'UDP', ...(spec.nodePort ? { nodePort: spec.nodePort + 100 } : {}) },
    ],
    ...(spec.ingress ? { ingress: both([spec.ingress]) } : {}),
    ...(spec.sourceRange ? { loadBalancerSourceRanges: both([spec.sourceRange]) } : {}),
    ...(spec.externalIP ? { externalIPs: both([spec.externalIP]) } : {}),
    ...(spec.local === 'internal' ? { internalTrafficPolicy: 'Local' } : {}),
    ...(spec.local === 'external' ? { externalTrafficPolicy: 'Local' } : {}),
    ...(spec.type && spec.local !== 'external' ? { externalTrafficPolicy: 'Cluster' } : {}),
    ...(spec.affinity ? { sessionAffinity: 'ClientIP' } : {}),
  } satisfies ServiceInput);
  s.spec.ports![0]!.targetPort = PORT;
  s.spec.ports![1]!.targetPort = UDP_PORT;
  const slices = FAMILIES.map((family) =>
    slice(
      'default',
      name,
      endpoints.map((e) => ({ ...e, ip: inFamily(e.ip, family) })),
      [
        { name: 'http', port: PORT },
        { name: 'dns', port: UDP_PORT, protocol: 'UDP' },
      ],
      { addressType: family, name: `${name}-${family}` },
    ),
  );
  return [s, ...slices];
}

/** An endpoint on a pod of this node (POD1 or POD2). */
export const local = (ip: string, more: Partial<EndpointSpec> = {}): EndpointSpec => ({ ip, node: 'node-a', ...more });
/** The endpoint on node-b. */
export const remote = (more: Partial<EndpointSpec> = {}): EndpointSpec => ({ ip: REMOTE, node: 'node-b', ...more });

/** The two nodes, as the namespaces have them. */
export function nodes(): Node[] {
  return [
    node('node-a', both([NODE]), { podCIDRs: both(['10.244.1.0/24']) }),
    node('node-b', both(['192.168.0.3']), { podCIDRs: both(['10.244.2.0/24']) }),
  ];
}

/** Where a connection starts: its namespace, the engine's origin, and (in IPv4) the source the kernel will pick. */
const FROM = {
  pod1: { ns: 'pod1', origin: { from: 'pod', pod: 'default/pod1' } as Origin, src: POD1 },
  node: { ns: 'node', origin: { from: 'node' } as Origin, src: NODE },
  localhost: { ns: 'node', origin: { from: 'node' } as Origin, src: '127.0.0.1' },
  outside: { ns: 'client', origin: { from: 'external' } as Origin, src: '203.0.113.2' },
} as const;

export interface Probe {
  readonly from: keyof typeof FROM;
  /** In IPv4; the IPv6 probe goes to its twin. */
  readonly dst: string;
  readonly port: number;
  readonly proto?: 'UDP';
  /** Made after the others, one at a time: the affinity probes, whose second connection must find the first's record. */
  readonly serial?: boolean;
}

/** A kube-proxy configuration, under which the engine's rules are made and loaded. */
export interface Variant {
  readonly name: string;
  readonly config: ProxyConfigInput;
}

/** What became of a probe, in terms both sides can give (see the file's comment). */
export interface Fate {
  readonly probe: string;
  readonly outcome: 'answered' | 'refused' | 'dropped' | 'passed' | string;
  readonly endpoint: string | null;
  /** The source address masquerading gave the connection, or null (none, or the address it had). */
  readonly masquerade: string | null;
}

/** A Node, Service or EndpointSlice of the cluster. */
type ClusterObject = Parameters<typeof storeWith>[number];

type Made = Connection & { probe: Probe; family: IPFamily; src: string; proto: Protocol };

/** The connections of variant v: every probe in each family, each with a source port of its own. */
function connectionsOf(probes: readonly Probe[], v: number): Made[] {
  if (probes.length > 100) throw new Error('at most 100 probes: each family has 100 source ports a variant');
  return FAMILIES.flatMap((family, f) =>
    probes.map((probe, i) => ({
      probe,
      family,
      ns: FROM[probe.from].ns,
      proto: probe.proto ?? 'TCP',
      src: inFamily(FROM[probe.from].src, family),
      dst: inFamily(probe.dst, family),
      port: probe.port,
      sourcePort: 40000 + 200 * v + 100 * f + i,
      ipv6: family === 'IPv6',
      serial: probe.serial === true,
    })),
  );
}

const nameOf = (c: Made) => `${c.probe.from} -> ${hostPort(c.dst, c.port)}/${c.proto}`;

/** The node's own addresses, which no probe leaves the node for. */
const NODE_OWN = new Set([...both([NODE, '127.0.0.1']), GATEWAY.IPv4, GATEWAY.IPv6, '203.0.113.1', '2001:db8::1']);

/** MASQUERADE's address toward `endpoint`: the pods' gateway toward a local pod, else the node's address. */
function masqueradeAddress(endpoint: string, family: IPFamily): string {
  const ip = parseHostPort(endpoint)!.ip;
  const localPod = [POD1, POD2].some((pod) => inFamily(pod, family) === ip);
  return localPod ? GATEWAY[family] : inFamily(NODE, family);
}

/** The engine's rules under a variant, and its fate for each connection (its SNAT addresses pushed to `snat`). */
function engineSide(
  objects: readonly ClusterObject[],
  config: ProxyConfigInput,
  made: Made[],
  snat: (string | null)[],
) {
  const engine = new IptablesEngine({
    table: tableFor(storeWith(...objects), 'node-a'),
    config: proxyConfig({ ...config, mode: 'iptables' }),
    rng: new Rng(1),
  });
  const rules = { IPv4: engine.rules('IPv4', { builtin: true }), IPv6: engine.rules('IPv6', { builtin: true }) };
  const fates = made.map((c, i): Fate => {
    const packet = { proto: c.proto, src: { ip: c.src, port: c.sourcePort }, dst: { ip: c.dst, port: c.port } };
    const verdict: Verdict = engine.send(packet, FROM[c.probe.from].origin, i);
    const outcome =
      verdict.verdict === 'REJECT'
        ? 'refused'
        : verdict.verdict === 'DROP'
          ? 'dropped'
          : verdict.endpoint === null
            ? 'passed'
            : 'answered';
    const endpoint = outcome === 'answered' ? verdict.endpoint : null;
    snat.push(verdict.snat);
    const masquerade = verdict.snat !== null && endpoint !== null ? masqueradeAddress(endpoint, c.family) : null;
    return { probe: nameOf(c), outcome, endpoint, masquerade: masquerade === c.src ? null : masquerade };
  });
  engine.dispose();
  return { rules, fates };
}

/** The kernel's fate for each connection, from the node script's output. */
function kernelSide(fates: ReturnType<typeof kernelFates>, made: Made[]): Fate[] {
  return made.map((c): Fate => {
    const { outcome, entry } = fates.get(c.sourcePort) ?? { outcome: '(no line)' };
    // Passed: conntrack's entry shows no rule rewrote it, and it was answered from where it was sent (the node's
    // socket on a NodePort) or left for an address the node does not have (an LB IP or externalIP, which nothing
    // here holds, so nobody answers). A REJECTed or DROPped packet of the node's own to one of its addresses has such
    // an entry too (confirmed on its way out, before INPUT meets it on the way back in), but no answer.
    const unrewritten = entry !== undefined && entry.replySrc === hostPort(c.dst, c.port);
    const leftTheNode = outcome === 'timeout' && !NODE_OWN.has(c.dst);
    const fate =
      (outcome === 'connected' || leftTheNode) && unrewritten
        ? 'passed'
        : outcome === 'connected'
          ? 'answered'
          : outcome === 'ECONNREFUSED'
            ? 'refused'
            : outcome === 'timeout'
              ? 'dropped'
              : `?${outcome}`;
    const answered = fate === 'answered' && entry !== undefined;
    return {
      probe: nameOf(c),
      outcome: fate,
      endpoint: answered ? entry.replySrc : null,
      masquerade: answered && entry.snat ? entry.replyDst : null,
    };
  });
}

/**
 * Where servers listen: the endpoints (pods and node-b) on their ports, and the node itself on every NodePort the
 * probes call, so that a connection no rule rewrote is answered by the node's own socket and conntrack keeps its
 * entry (a SYN refused by an RST leaves none, and could not be told from a REJECT). node-b's namespace has several
 * addresses: its UDP sockets are bound to the endpoint's, so that an answer leaves from the address the request was
 * DNATed to (one bound to all would answer from the address routing picks).
 */
function listeners(probes: readonly Probe[]): Record<string, readonly string[]> {
  const nodePorts = probes.filter((p) => p.port > 1024).map((p) => (p.proto === 'UDP' ? `udp:${p.port}` : `${p.port}`));
  return {
    pod1: [`${PORT}`, `udp:${UDP_PORT}`],
    pod2: [`${PORT}`, `udp:${UDP_PORT}`],
    ext: [`${PORT}`, ...both([REMOTE]).map((ip) => `udp:${UDP_PORT}@${ip}`)],
    node: [...new Set(nodePorts)],
  };
}

/** Per variant, the engine's fates and the kernel's; and every SNAT address the engine gave. */
export interface Comparison {
  readonly expected: Fate[][];
  readonly actual: Fate[][];
  readonly snat: readonly (string | null)[];
}

/** Run every probe under every variant, in the engine and on the namespaces' node. Throws if the node script fails. */
export function compareWithKernel(
  objects: readonly ClusterObject[],
  probes: readonly Probe[],
  variants: readonly Variant[],
): Comparison {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-kernel-'));
  try {
    const snat: (string | null)[] = [];
    const rounds: Round[] = [];
    const made = variants.map((_, v) => connectionsOf(probes, v));
    const expected = variants.map((variant, v) => {
      const side = engineSide(objects, variant.config, made[v]!, snat);
      const rulesFile = { IPv4: join(dir, `rules-${v}-4`), IPv6: join(dir, `rules-${v}-6`) };
      writeFileSync(rulesFile.IPv4, side.rules.IPv4);
      writeFileSync(rulesFile.IPv6, side.rules.IPv6);
      rounds.push({ rulesFile, connections: made[v]! });
      return side.fates;
    });
    writeFileSync(join(dir, 'server.cjs'), SERVER_JS);
    writeFileSync(join(dir, 'client.cjs'), CLIENT_JS);
    writeFileSync(join(dir, 'node.sh'), nodeScript(dir, listeners(probes), rounds));
    const r = spawnSync('unshare', ['-rmn', '--propagation', 'private', 'bash', join(dir, 'node.sh')], {
      encoding: 'utf8',
      timeout: Number(process.env.KERNEL_SCRIPT_TIMEOUT ?? 240_000),
    });
    if (r.status !== 0) throw new Error(`the node script failed (${r.status ?? r.error?.message}): ${r.stderr}`);
    const fates = kernelFates(r.stdout);
    return { expected, actual: made.map((m) => kernelSide(fates, m)), snat };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
