/**
 * The iptables engine against the kernel. The rules `rules --mode iptables` prints for a dual-stack cluster (with the
 * built-in chains' jumps) are loaded with iptables-restore and ip6tables-restore into a node made of network
 * namespaces (kernel-node.ts), and real TCP connections are made from a pod, from the node itself and from an
 * outside client, over both families; each connection's fate (answered, refused, dropped, passed unrewritten), the
 * endpoint conntrack DNATed it to and whether it was masqueraded are compared with the engine's verdict for the same
 * packet, over TCP and UDP. Every Service has one endpoint per family (the affinity one two, where only stickiness is compared), so the
 * kernel's own random draws decide nothing the comparison reads.
 *
 * One difference is the rule, not a bug: the engine masquerades to the node's address of the family, where
 * MASQUERADE takes the address of the interface the packet leaves by (a local pod's veth here, whose address is the
 * pods' gateway), and a masquerade to the address a packet already has changes nothing, so conntrack does not record
 * it as source NAT. The comparison reads the engine's masquerade as the kernel carries it out, and checks apart that
 * the engine's address is the node's.
 *
 * Needs iptables, nfacct, conntrack and unprivileged user namespaces (`.ci/run` installs the tools).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { IPFamily } from '../../src/model/types.js';
import { type ProxyConfigInput, proxyConfig, type Verdict } from '../../src/proxy/engine.js';
import { IptablesEngine } from '../../src/proxy/iptables/engine.js';
import { hostPort, type Origin, parseHostPort } from '../../src/proxy/packet.js';
import { Rng } from '../../src/util/rng.js';
import { type EndpointSpec, node, type ServiceInput, service, slice, storeWith, tableFor } from './fixtures.js';
import { CLIENT_JS, type Connection, GATEWAY, kernelFates, nodeScript, type Round, SERVER_JS } from './kernel-node.js';

const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];
/** Every Service has a TCP port 80 and a UDP port 53 (NodePorts: the TCP one's + 100), to endpoints on these. */
const PORT = 8080;
const UDP_PORT = 8053;
/** The ClusterIP of the Service with ClientIP affinity and two endpoints. */
const AFFINITY = '10.96.0.16';

/** The IPv6 twin of every IPv4 address and range below (ClusterIPs 10.96.0.N: fd00:96::N). */
const TWIN: Readonly<Record<string, string>> = {
  '192.168.0.2': 'fd00:1::2',
  '192.168.0.3': 'fd00:1::3',
  '203.0.113.2': '2001:db8::2',
  '10.244.1.2': 'fd00:10:1::2',
  '10.244.1.3': 'fd00:10:1::3',
  '10.244.2.5': 'fd00:10:2::5',
  '127.0.0.1': '::1',
  '198.51.100.10': '2001:db8:1::10',
  '198.51.100.11': '2001:db8:1::11',
  '198.51.100.12': '2001:db8:1::12',
  '198.51.100.13': '2001:db8:1::13',
  '192.168.99.22': 'fd00:99::22',
  '203.0.113.0/25': '2001:db8::/64',
  '198.18.0.0/15': '2001:db8:ffff::/48',
  '10.244.1.0/24': 'fd00:10:1::/64',
  '10.244.2.0/24': 'fd00:10:2::/64',
  '10.244.0.0/16': 'fd00:10::/48',
  '192.168.0.0/24': 'fd00:1::/64',
};

/** An IPv4 address or range as written below, in `family`. */
function inFamily(v4: string, family: IPFamily): string {
  if (family === 'IPv4') return v4;
  const twin = TWIN[v4] ?? (v4.startsWith('10.96.0.') ? `fd00:96::${v4.slice('10.96.0.'.length)}` : undefined);
  if (twin === undefined) throw new Error(`no IPv6 twin for ${v4}`);
  return twin;
}
const both = (v4s: readonly string[]) => FAMILIES.flatMap((f) => v4s.map((a) => inFamily(a, f)));

interface Spec {
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
function svc(name: string, spec: Spec, endpoints: EndpointSpec[]) {
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

const POD1 = '10.244.1.2';
const POD2 = '10.244.1.3';
const local = (ip: string, more: Partial<EndpointSpec> = {}): EndpointSpec => ({ ip, node: 'node-a', ...more });
const remote: EndpointSpec = { ip: '10.244.2.5', node: 'node-b' };

const objects = [
  node('node-a', both(['192.168.0.2']), { podCIDRs: both(['10.244.1.0/24']) }),
  node('node-b', both(['192.168.0.3']), { podCIDRs: both(['10.244.2.0/24']) }),
  ...svc('local', { clusterIP: '10.96.0.10' }, [local(POD2)]),
  ...svc('remote', { clusterIP: '10.96.0.11' }, [remote]),
  ...svc('hairpin', { clusterIP: '10.96.0.12' }, [local(POD1)]),
  ...svc('empty', { clusterIP: '10.96.0.13' }, []),
  ...svc('itp-local', { clusterIP: '10.96.0.14', local: 'internal' }, [remote]),
  ...svc('terminating', { clusterIP: '10.96.0.15' }, [local(POD2, { ready: false, serving: true, terminating: true })]),
  ...svc('affinity', { clusterIP: AFFINITY, affinity: true }, [local(POD2), remote]),
  ...svc('nodeport', { type: 'NodePort', clusterIP: '10.96.0.20', nodePort: 30080 }, [remote]),
  ...svc('nodeport-local', { type: 'NodePort', clusterIP: '10.96.0.21', nodePort: 30081, local: 'external' }, [
    local(POD2),
  ]),
  ...svc('nodeport-elsewhere', { type: 'NodePort', clusterIP: '10.96.0.22', nodePort: 30082, local: 'external' }, [
    remote,
  ]),
  ...svc(
    'lb',
    {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.30',
      nodePort: 30090,
      ingress: '198.51.100.10',
      sourceRange: '203.0.113.0/25',
    },
    [local(POD2)],
  ),
  ...svc(
    'lb-denied',
    {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.31',
      nodePort: 30091,
      ingress: '198.51.100.11',
      sourceRange: '198.18.0.0/15',
    },
    [local(POD2)],
  ),
  ...svc('external-ip', { clusterIP: '10.96.0.40', externalIP: '192.168.99.22' }, [remote]),
  ...svc(
    'lb-local',
    { type: 'LoadBalancer', clusterIP: '10.96.0.32', nodePort: 30092, ingress: '198.51.100.12', local: 'external' },
    [local(POD2)],
  ),
  ...svc(
    'lb-elsewhere',
    { type: 'LoadBalancer', clusterIP: '10.96.0.33', nodePort: 30093, ingress: '198.51.100.13', local: 'external' },
    [remote],
  ),
];

/** Where a connection starts: its namespace, the engine's origin, and (in IPv4) the source the kernel will pick. */
const FROM = {
  pod1: { ns: 'pod1', origin: { from: 'pod', pod: 'default/pod1' } as Origin, src: POD1 },
  node: { ns: 'node', origin: { from: 'node' } as Origin, src: '192.168.0.2' },
  localhost: { ns: 'node', origin: { from: 'node' } as Origin, src: '127.0.0.1' },
  outside: { ns: 'ext', origin: { from: 'external' } as Origin, src: '203.0.113.2' },
} as const;

interface Probe {
  readonly from: keyof typeof FROM;
  /** In IPv4; the IPv6 probe goes to its twin. */
  readonly dst: string;
  readonly port: number;
  readonly proto?: 'UDP';
  /** Made after the others, one at a time: the affinity probes, whose second connection must find the first's record. */
  readonly serial?: boolean;
}

const NODE = '192.168.0.2';
const PROBES: readonly Probe[] = [
  ...['10.96.0.10', '10.96.0.11', '10.96.0.12', '10.96.0.13', '10.96.0.14', '10.96.0.15'].map((dst) => ({
    from: 'pod1' as const,
    dst,
    port: 80,
  })),
  ...[1, 2, 3].map(() => ({ from: 'pod1' as const, dst: AFFINITY, port: 80, serial: true })),
  { from: 'pod1', dst: NODE, port: 30080 },
  { from: 'pod1', dst: NODE, port: 30082 },
  { from: 'pod1', dst: '198.51.100.10', port: 80 },
  { from: 'pod1', dst: '198.51.100.11', port: 80 },
  { from: 'pod1', dst: '192.168.99.22', port: 80 },
  { from: 'node', dst: '10.96.0.10', port: 80 },
  { from: 'node', dst: '10.96.0.11', port: 80 },
  { from: 'node', dst: NODE, port: 30081 },
  { from: 'localhost', dst: '127.0.0.1', port: 30080 },
  { from: 'outside', dst: NODE, port: 30080 },
  { from: 'outside', dst: NODE, port: 30081 },
  { from: 'outside', dst: NODE, port: 30082 },
  { from: 'outside', dst: '198.51.100.10', port: 80 },
  { from: 'outside', dst: '198.51.100.11', port: 80 },
  { from: 'outside', dst: NODE, port: 30091 },
  { from: 'outside', dst: '192.168.99.22', port: 80 },
  { from: 'outside', dst: '10.96.0.10', port: 80 },
  // externalTrafficPolicy Local: from outside only to this node's endpoints; a pod's or the node's own traffic is
  // short-circuited to every endpoint where a local-traffic detector says it is the cluster's.
  ...(['outside', 'pod1', 'node'] as const).flatMap((from) => [
    { from, dst: '198.51.100.12', port: 80 },
    { from, dst: '198.51.100.13', port: 80 },
  ]),
  { from: 'pod1', dst: NODE, port: 30081 },
  { from: 'node', dst: '198.51.100.10', port: 80 },
  ...['10.96.0.10', '10.96.0.11', '10.96.0.12', '10.96.0.13', '10.96.0.14', '10.96.0.15'].map((dst) => ({
    from: 'pod1' as const,
    dst,
    port: 53,
    proto: 'UDP' as const,
  })),
  { from: 'node', dst: '10.96.0.11', port: 53, proto: 'UDP' },
  { from: 'localhost', dst: '127.0.0.1', port: 30180, proto: 'UDP' },
  ...[30180, 30181, 30182, 30191].map((port) => ({ from: 'outside' as const, dst: NODE, port, proto: 'UDP' as const })),
  { from: 'outside', dst: '198.51.100.10', port: 53, proto: 'UDP' },
  { from: 'outside', dst: '198.51.100.11', port: 53, proto: 'UDP' },
];

/** kube-proxy configurations the probes run under: each its own rules, loaded in turn on the same node. */
const VARIANTS: readonly { readonly name: string; readonly config: ProxyConfigInput }[] = [
  { name: '--cluster-cidr', config: { clusterCIDR: '10.244.0.0/16,fd00:10::/48' } },
  { name: 'no local-traffic detector', config: {} },
  { name: '--masquerade-all', config: { clusterCIDR: '10.244.0.0/16,fd00:10::/48', masqueradeAll: true } },
  {
    name: 'no localhost NodePorts, tcp_be_liberal',
    config: { clusterCIDR: '10.244.0.0/16,fd00:10::/48', localhostNodePorts: false, tcpBeLiberal: true },
  },
  {
    name: '--nodeport-addresses',
    config: { clusterCIDR: '10.244.0.0/16,fd00:10::/48', nodePortAddresses: both(['192.168.0.0/24']) },
  },
];

/**
 * What became of a connection, in terms both sides can give. `passed`: no rule rewrote it (the engine's ACCEPT with
 * no endpoint; in the kernel, an entry whose reply comes from the address the client called), answered then by the
 * node's own socket on that port.
 */
interface Fate {
  readonly probe: string;
  readonly outcome: 'answered' | 'refused' | 'dropped' | 'passed' | string;
  readonly endpoint: string | null;
  /** The source address masquerading gave the connection, or null (none, or the address it had). */
  readonly masquerade: string | null;
}

/** The connections of one variant: every probe in each family, each with a source port of its own. */
function connectionsOf(v: number): (Connection & { probe: Probe; family: IPFamily; src: string })[] {
  return FAMILIES.flatMap((family, f) =>
    PROBES.map((probe, i) => ({
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

const nameOf = (c: { probe: Probe; dst: string; port: number; proto: string }) =>
  `${c.probe.from} -> ${hostPort(c.dst, c.port)}/${c.proto}`;

/** MASQUERADE's address toward `endpoint`: the pods' gateway toward a local pod, else the node's address. */
function masqueradeAddress(endpoint: string, family: IPFamily): string {
  const ip = parseHostPort(endpoint)!.ip;
  const localPod = [POD1, POD2].some((pod) => inFamily(pod, family) === ip);
  return localPod ? GATEWAY[family] : inFamily(NODE, family);
}

/** The engine's rules under variant v, and its fate for each connection (its SNAT addresses pushed to `snat`). */
function engineSide(v: number, snat: (string | null)[]): { rules: Record<IPFamily, string>; fates: Fate[] } {
  const engine = new IptablesEngine({
    table: tableFor(storeWith(...objects), 'node-a'),
    config: proxyConfig({ ...VARIANTS[v]!.config, mode: 'iptables' }),
    rng: new Rng(1),
  });
  const rules = { IPv4: engine.rules('IPv4', { builtin: true }), IPv6: engine.rules('IPv6', { builtin: true }) };
  const fates = connectionsOf(v).map((c, i): Fate => {
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

/** The kernel's fate for each connection of variant v, from the node script's output. */
function kernelSide(v: number, output: string): Fate[] {
  const fates = kernelFates(output);
  return connectionsOf(v).map((c): Fate => {
    const { outcome, entry } = fates.get(c.sourcePort) ?? { outcome: '(no line)' };
    const fate =
      entry !== undefined && entry.replySrc === hostPort(c.dst, c.port)
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
 * Where servers listen: the endpoints (pods and node-b) on their port, and the node itself on every NodePort the
 * probes call, so that a connection no rule rewrote is answered by the node's own socket and conntrack keeps its
 * entry (a SYN refused by an RST leaves none, and could not be told from a REJECT).
 */
const LISTENERS: Record<string, readonly string[]> = {
  pod1: [`${PORT}`, `udp:${UDP_PORT}`],
  pod2: [`${PORT}`, `udp:${UDP_PORT}`],
  // node-b's namespace has several addresses: its UDP sockets are bound to the endpoint's, so that an answer leaves
  // from the address the request was DNATed to (one bound to all would answer from the address routing picks).
  ext: [`${PORT}`, ...both([remote.ip]).map((ip) => `udp:${UDP_PORT}@${ip}`)],
  node: [
    ...new Set(PROBES.filter((p) => p.port > 1024).map((p) => (p.proto === 'UDP' ? `udp:${p.port}` : `${p.port}`))),
  ],
};

test('the kernel does with every connection what the iptables engine says, under the rules the engine prints', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-kernel-'));
  try {
    const snat: (string | null)[] = [];
    const rounds: Round[] = [];
    const expected = VARIANTS.map((_, v) => {
      const side = engineSide(v, snat);
      const rulesFile = { IPv4: join(dir, `rules-${v}-4`), IPv6: join(dir, `rules-${v}-6`) };
      writeFileSync(rulesFile.IPv4, side.rules.IPv4);
      writeFileSync(rulesFile.IPv6, side.rules.IPv6);
      rounds.push({ rulesFile, connections: connectionsOf(v) });
      return side.fates;
    });
    // The rule: SNAT uses the node's own address of the family.
    t.deepEqual(new Set(snat.filter((a) => a !== null)), new Set(both([NODE])));
    writeFileSync(join(dir, 'server.cjs'), SERVER_JS);
    writeFileSync(join(dir, 'client.cjs'), CLIENT_JS);
    writeFileSync(join(dir, 'node.sh'), nodeScript(dir, LISTENERS, rounds));
    const r = spawnSync('unshare', ['-rmn', '--propagation', 'private', 'bash', join(dir, 'node.sh')], {
      encoding: 'utf8',
      timeout: 240_000,
    });
    if (r.status !== 0) t.fail(`the node script failed (${r.status ?? r.error?.message}): ${r.stderr}`);
    // The ClientIP Service has two endpoints: which one the first connection gets is each side's own random draw, so
    // the comparison reads only that a family's three connections got the same one (and whether they were
    // masqueraded, not to which address: that follows the endpoint).
    const toAffinity = (f: Fate) =>
      FAMILIES.some((family) => f.probe.endsWith(`${hostPort(inFamily(AFFINITY, family), 80)}/TCP`));
    const chosen = (fates: Fate[]) =>
      fates.map((f) =>
        toAffinity(f) && f.endpoint !== null
          ? { ...f, endpoint: 'either', masquerade: f.masquerade === null ? null : 'either' }
          : f,
      );
    VARIANTS.forEach((variant, v) => {
      const actual = kernelSide(v, r.stdout);
      for (const fates of [actual, expected[v]!])
        for (const family of FAMILIES) {
          const sticky = fates.filter((f) => f.probe.endsWith(`${hostPort(inFamily(AFFINITY, family), 80)}/TCP`));
          t.is(new Set(sticky.map((f) => f.endpoint)).size, 1, `${variant.name}: ${family} affinity`);
        }
      t.deepEqual(chosen(actual), chosen(expected[v]!), variant.name);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
