/**
 * The iptables engine against the kernel. The rules `rules --mode iptables` prints for a cluster (with the built-in
 * chains' jumps) are loaded with iptables-restore into a node made of network namespaces, and real TCP connections
 * are made from a pod, from the node itself and from an outside client; each connection's fate (answered, refused,
 * dropped), the endpoint conntrack DNATed it to and whether it was masqueraded are compared with the engine's verdict
 * for the same packet. Every Service has one endpoint (or one per connection's choice under affinity), so the kernel's
 * own random draws decide nothing the comparison reads.
 *
 * The node, as the engine's model has it: node-a 192.168.0.2 with pods on 10.244.1.0/24, each pod a namespace of its
 * own behind a veth (routed, as Calico wires pods: every packet between pods passes the node's netfilter); node-b
 * 192.168.0.3 with the remote endpoints of 10.244.2.0/24, and the outside client 203.0.113.2, in one more namespace.
 * kube-proxy's sysctls are set as it sets them (route_localnet for localhost NodePorts), and its nfacct counter is
 * created. Everything runs inside `unshare -rmn`: the machine's own namespaces, rules and sets are untouched.
 *
 * One difference is the issue's rule, not a bug: the engine masquerades to the node's address of the family, where
 * MASQUERADE takes the address of the interface the packet leaves by (a local pod's veth here, whose address is the
 * pods' gateway 10.244.1.1), and a masquerade to the address the packet already has changes nothing, so conntrack
 * does not record it as source NAT. The comparison reads the engine's masquerade as the kernel would carry it out,
 * and checks apart that the engine's address is the node's.
 *
 * Needs iptables, nfacct and unprivileged user namespaces (`.ci/run` installs the tools).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { type ProxyConfigInput, proxyConfig, type Verdict } from '../../src/proxy/engine.js';
import { IptablesEngine } from '../../src/proxy/iptables/engine.js';
import type { Origin } from '../../src/proxy/packet.js';
import { Rng } from '../../src/util/rng.js';
import { type EndpointSpec, node, type ServiceInput, service, slice, storeWith, tableFor } from './fixtures.js';

const NODE_IP = '192.168.0.2';
const NODE_B_IP = '192.168.0.3';
const CLIENT = '203.0.113.2';
/** The node's side of every pod's veth: the pods' gateway, one of the node's own addresses. */
const GATEWAY = '10.244.1.1';
const POD1 = '10.244.1.2';
const POD2 = '10.244.1.3';
const REMOTE = '10.244.2.5';
const PORT = 8080;
/** The ClusterIP of the Service with ClientIP affinity and two endpoints. */
const AFFINITY = '10.96.0.16';

/** A Service with one port (80, NodePort if given) and its endpoints on PORT. */
function svc(name: string, input: Omit<ServiceInput, 'ports'> & { nodePort?: number }, endpoints: EndpointSpec[]) {
  const { nodePort, ...spec } = input;
  const ports = [{ name: 'http', port: 80, ...(nodePort ? { nodePort } : {}) }];
  const s = service('default', name, { ...spec, ports });
  s.spec.ports![0]!.targetPort = PORT;
  return [s, slice('default', name, endpoints, [{ name: 'http', port: PORT }])];
}

const local = (ip: string, more: Partial<EndpointSpec> = {}): EndpointSpec => ({ ip, node: 'node-a', ...more });
const remote: EndpointSpec = { ip: REMOTE, node: 'node-b' };

const objects = [
  node('node-a', [NODE_IP], { podCIDRs: ['10.244.1.0/24'] }),
  node('node-b', [NODE_B_IP], { podCIDRs: ['10.244.2.0/24'] }),
  ...svc('local', { clusterIP: '10.96.0.10' }, [local(POD2)]),
  ...svc('remote', { clusterIP: '10.96.0.11' }, [remote]),
  ...svc('hairpin', { clusterIP: '10.96.0.12' }, [local(POD1)]),
  ...svc('empty', { clusterIP: '10.96.0.13' }, []),
  ...svc('itp-local', { clusterIP: '10.96.0.14', internalTrafficPolicy: 'Local' }, [remote]),
  ...svc('terminating', { clusterIP: '10.96.0.15' }, [local(POD2, { ready: false, serving: true, terminating: true })]),
  ...svc('affinity', { clusterIP: AFFINITY, sessionAffinity: 'ClientIP' }, [local(POD2), remote]),
  ...svc('nodeport', { type: 'NodePort', clusterIP: '10.96.0.20', nodePort: 30080 }, [remote]),
  ...svc(
    'nodeport-local',
    { type: 'NodePort', clusterIP: '10.96.0.21', nodePort: 30081, externalTrafficPolicy: 'Local' },
    [local(POD2)],
  ),
  ...svc(
    'nodeport-elsewhere',
    { type: 'NodePort', clusterIP: '10.96.0.22', nodePort: 30082, externalTrafficPolicy: 'Local' },
    [remote],
  ),
  ...svc(
    'lb',
    {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.30',
      nodePort: 30090,
      ingress: ['198.51.100.10'],
      loadBalancerSourceRanges: ['203.0.113.0/25'],
    },
    [local(POD2)],
  ),
  ...svc(
    'lb-denied',
    {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.31',
      nodePort: 30091,
      ingress: ['198.51.100.11'],
      loadBalancerSourceRanges: ['198.18.0.0/15'],
    },
    [local(POD2)],
  ),
  ...svc('external-ip', { clusterIP: '10.96.0.40', externalIPs: ['192.168.99.22'] }, [remote]),
];

/** Where a connection starts: the namespace, the engine's origin, and the source address the kernel will pick. */
const FROM = {
  pod1: { ns: 'pod1', origin: { from: 'pod', pod: 'default/pod1' } as Origin, src: POD1 },
  node: { ns: 'node', origin: { from: 'node' } as Origin, src: NODE_IP },
  localhost: { ns: 'node', origin: { from: 'node' } as Origin, src: '127.0.0.1' },
  outside: { ns: 'ext', origin: { from: 'external' } as Origin, src: CLIENT },
} as const;

interface Probe {
  readonly from: keyof typeof FROM;
  readonly dst: string;
  readonly port: number;
  /** Made after the others, one at a time: the affinity probes, whose second connection must find the first's record. */
  readonly serial?: boolean;
}

const PROBES: readonly Probe[] = [
  { from: 'pod1', dst: '10.96.0.10', port: 80 },
  { from: 'pod1', dst: '10.96.0.11', port: 80 },
  { from: 'pod1', dst: '10.96.0.12', port: 80 },
  { from: 'pod1', dst: '10.96.0.13', port: 80 },
  { from: 'pod1', dst: '10.96.0.14', port: 80 },
  { from: 'pod1', dst: '10.96.0.15', port: 80 },
  { from: 'pod1', dst: AFFINITY, port: 80, serial: true },
  { from: 'pod1', dst: AFFINITY, port: 80, serial: true },
  { from: 'pod1', dst: AFFINITY, port: 80, serial: true },
  { from: 'pod1', dst: NODE_IP, port: 30080 },
  { from: 'pod1', dst: NODE_IP, port: 30082 },
  { from: 'pod1', dst: '198.51.100.10', port: 80 },
  { from: 'pod1', dst: '198.51.100.11', port: 80 },
  { from: 'pod1', dst: '192.168.99.22', port: 80 },
  { from: 'node', dst: '10.96.0.10', port: 80 },
  { from: 'node', dst: '10.96.0.11', port: 80 },
  { from: 'node', dst: NODE_IP, port: 30081 },
  { from: 'localhost', dst: '127.0.0.1', port: 30080 },
  { from: 'outside', dst: NODE_IP, port: 30080 },
  { from: 'outside', dst: NODE_IP, port: 30081 },
  { from: 'outside', dst: NODE_IP, port: 30082 },
  { from: 'outside', dst: '198.51.100.10', port: 80 },
  { from: 'outside', dst: '198.51.100.11', port: 80 },
  { from: 'outside', dst: NODE_IP, port: 30091 },
  { from: 'outside', dst: '192.168.99.22', port: 80 },
  { from: 'outside', dst: '10.96.0.10', port: 80 },
];

/** kube-proxy configurations the probes run under: each its own rules, loaded in turn on the same node. */
const VARIANTS: readonly { readonly name: string; readonly config: ProxyConfigInput }[] = [
  { name: '--cluster-cidr 10.244.0.0/16', config: { clusterCIDR: '10.244.0.0/16' } },
  { name: 'no local-traffic detector', config: {} },
  { name: '--masquerade-all', config: { clusterCIDR: '10.244.0.0/16', masqueradeAll: true } },
  {
    name: 'no localhost NodePorts, tcp_be_liberal',
    config: { clusterCIDR: '10.244.0.0/16', localhostNodePorts: false, tcpBeLiberal: true },
  },
  {
    name: '--nodeport-addresses 192.168.0.0/24',
    config: { clusterCIDR: '10.244.0.0/16', nodePortAddresses: ['192.168.0.0/24'] },
  },
];

/**
 * What became of a connection, in terms both sides can give. `passed`: no rule rewrote it (the engine's ACCEPT with
 * no endpoint; in the kernel, an entry whose reply comes from the address the client called), whatever then answered
 * at that address: here nothing listens on the node, so the kernel's own stack refuses it.
 */
interface Fate {
  readonly probe: string;
  readonly outcome: 'answered' | 'refused' | 'dropped' | 'passed';
  readonly endpoint: string | null;
  /** The source address masquerading gave the connection, or null (none, or the address it had). */
  readonly masquerade: string | null;
}

const probeName = (p: Probe) => `${p.from} -> ${p.dst}:${p.port}`;
/** Probe i's source port under variant v: one per connection, so conntrack's entries tell them apart. */
const sourcePort = (v: number, i: number) => 40000 + 100 * v + i;
/** MASQUERADE's address for a packet to `endpoint`: the pods' gateway toward a local pod, else the node's address. */
const masqueradeAddress = (endpoint: string) => (endpoint.startsWith('10.244.1.') ? GATEWAY : NODE_IP);

/** The engine's rules under variant v, and its verdicts for the probes (their SNAT addresses pushed to `snat`). */
function engineSide(v: number, snat: (string | null)[]): { rules: string; fates: Fate[] } {
  const engine = new IptablesEngine({
    table: tableFor(storeWith(...objects), 'node-a'),
    config: proxyConfig({ ...VARIANTS[v]!.config, mode: 'iptables' }),
    rng: new Rng(1),
  });
  const rules = engine.rules('IPv4', { builtin: true });
  const fates = PROBES.map((p, i) => {
    const from = FROM[p.from];
    const packet = {
      proto: 'TCP' as const,
      src: { ip: from.src, port: sourcePort(v, i) },
      dst: { ip: p.dst, port: p.port },
    };
    const verdict: Verdict = engine.send(packet, from.origin, i);
    const outcome: Fate['outcome'] =
      verdict.verdict === 'REJECT'
        ? 'refused'
        : verdict.verdict === 'DROP'
          ? 'dropped'
          : verdict.endpoint === null
            ? 'passed'
            : 'answered';
    const endpoint = outcome === 'answered' ? verdict.endpoint : null;
    snat.push(verdict.snat);
    const masquerade = verdict.snat !== null && endpoint !== null ? masqueradeAddress(endpoint) : null;
    return { probe: probeName(p), outcome, endpoint, masquerade: masquerade === from.src ? null : masquerade };
  });
  engine.dispose();
  return { rules, fates };
}

/** Listens on every port given after the ready file's path (0.0.0.0), answers and closes; writes the file when up. */
const SERVER = `const net = require('node:net');
const [ready, ...ports] = process.argv.slice(2);
let up = 0;
for (const port of ports)
  net.createServer((s) => { s.on('error', () => {}); s.end('ok'); })
    .listen(Number(port), '0.0.0.0', () => { if (++up === ports.length) require('node:fs').writeFileSync(ready, ''); });`;

/**
 * Where servers listen: the endpoints (pods and node-b) on their port, and the node itself on every NodePort the
 * probes call, so that a connection no rule rewrote is answered by the node's own socket and conntrack keeps its
 * entry (a SYN refused by an RST leaves none, and could not be told from a REJECT).
 */
const LISTENERS: Record<string, number[]> = {
  pod1: [PORT],
  pod2: [PORT],
  ext: [PORT],
  node: [...new Set(PROBES.filter((p) => p.port !== 80).map((p) => p.port))],
};

// Prints the source port and what became of the connection: connected, ECONNREFUSED, or timeout (a dropped SYN).
// An answer between namespaces takes microseconds; 5 s is for a test machine so loaded that the client process
// waits its turn (the probes of a variant run at once, so the dropped ones share one wait).
const CLIENT_JS = `const [host, port, localPort] = process.argv.slice(2);
const s = require('node:net').connect({ host, port: Number(port), localPort: Number(localPort) });
const done = (what) => { console.log('PROBE ' + localPort + ' ' + what); s.destroy(); process.exit(0); };
s.setTimeout(5000, () => done('timeout'));
s.on('connect', () => done('connected'));
s.on('error', (e) => done(e.code));`;

/** The namespaces, the node's routes and sysctls, kube-proxy's nfacct counters, the servers, then each variant. */
function script(dir: string): string {
  const node = process.execPath;
  const pods = [
    ['pod1', POD1],
    ['pod2', POD2],
  ];
  return `set -eu
mount -t tmpfs none /run && mkdir -p /run/netns
N="ip netns exec node"; X="ip netns exec ext"
ip netns add node; ip netns add ext
$N ip link set lo up; $X ip link set lo up
ip link add n-ext netns node type veth peer name x-node netns ext
$N ip addr add ${NODE_IP}/24 dev n-ext; $N ip link set n-ext up
$X ip addr add ${NODE_B_IP}/24 dev x-node; $X ip addr add ${CLIENT}/32 dev x-node; $X ip addr add ${REMOTE}/32 dev x-node
$X ip link set x-node up; $X ip route add default via ${NODE_IP} src ${CLIENT}
$N ip route add 10.244.2.0/24 via ${NODE_B_IP}; $N ip route add default via ${NODE_B_IP}
$N sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.route_localnet=1
${pods
  .map(
    ([ns, ip]) => `ip netns add ${ns}; ip link add n-${ns} netns node type veth peer name eth0 netns ${ns}
ip netns exec ${ns} ip link set lo up; ip netns exec ${ns} ip addr add ${ip}/32 dev eth0; ip netns exec ${ns} ip link set eth0 up
ip netns exec ${ns} ip route add ${GATEWAY} dev eth0; ip netns exec ${ns} ip route add default via ${GATEWAY} dev eth0
$N ip addr add ${GATEWAY}/32 dev n-${ns}; $N ip link set n-${ns} up; $N ip route add ${ip}/32 dev n-${ns}`,
  )
  .join('\n')}
$N nfacct add ct_state_invalid_dropped_pkts; $N nfacct add localhost_nps_accepted_pkts
${Object.entries(LISTENERS)
  .map(([ns, ports]) => `ip netns exec ${ns} ${node} ${dir}/server.cjs ${dir}/ready-${ns} ${ports.join(' ')} &`)
  .join('\n')}
for ns in ${Object.keys(LISTENERS).join(' ')}; do n=0; until [ -e ${dir}/ready-$ns ]; do n=$((n+1)); [ $n -lt 400 ] || exit 3; sleep 0.05; done; done
${VARIANTS.map((_, v) => variantLines(v, node, dir)).join('\n')}
kill $(jobs -p)
`;
}

/**
 * Variant v: its rules (iptables-restore replaces the tables), an empty conntrack table, the probes (those not serial
 * at once, then the serial ones in turn), then each probe's conntrack entry (by its source port) and the same entry
 * again if conntrack source-NATed it: a masquerade to the address the packet already had shows only there.
 */
function variantLines(v: number, node: string, dir: string): string {
  const connect = (p: Probe, i: number) =>
    `ip netns exec ${FROM[p.from].ns} ${node} ${dir}/client.cjs ${p.dst} ${p.port} ${sourcePort(v, i)}`;
  const list = (i: number) => `ip netns exec node conntrack -L -p tcp --orig-port-src ${sourcePort(v, i)} 2>/dev/null`;
  return [
    `$N iptables-restore < ${dir}/rules-${v}; $N conntrack -F 2>/dev/null`,
    `pids=""; ${PROBES.map((p, i) => (p.serial ? '' : `${connect(p, i)} & pids="$pids $!"; `)).join('')}wait $pids`,
    ...PROBES.flatMap((p, i) => (p.serial ? [connect(p, i)] : [])),
    ...PROBES.map((_, i) => `${list(i)} | sed 's/^/CT /'; ${list(i)} --src-nat | sed 's/^/SNAT /'`),
  ].join('\n');
}

/** What the kernel did with each probe: its client's line, and its conntrack entry (found by source port). */
function kernelFates(v: number, output: string): Fate[] {
  const outcomes = new Map<number, string>();
  const entries = new Map<number, { endpoint: string; replyDst: string; snat: boolean }>();
  for (const line of output.split('\n')) {
    const probe = /^PROBE (\d+) (\S+)$/.exec(line);
    if (probe) outcomes.set(Number(probe[1]), probe[2]!);
    const ct = /^(CT|SNAT) tcp .*?src=\S+ dst=\S+ sport=(\d+) dport=\d+ src=(\S+) dst=(\S+) sport=(\d+)/.exec(line);
    if (ct?.[1] === 'CT') entries.set(Number(ct[2]), { endpoint: `${ct[3]}:${ct[5]}`, replyDst: ct[4]!, snat: false });
    const entry = ct?.[1] === 'SNAT' ? entries.get(Number(ct[2])) : undefined;
    if (entry) entry.snat = true;
  }
  return PROBES.map((p, i) => {
    const outcome = outcomes.get(sourcePort(v, i));
    const entry = entries.get(sourcePort(v, i));
    const fate =
      entry !== undefined && entry.endpoint === `${p.dst}:${p.port}`
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
      probe: probeName(p),
      outcome: fate as Fate['outcome'],
      endpoint: answered ? entry.endpoint : null,
      masquerade: answered && entry.snat ? entry.replyDst : null,
    };
  });
}

test('the kernel does with every probe what the iptables engine says, under the rules the engine prints', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-kernel-'));
  try {
    const snat: (string | null)[] = [];
    const expected = VARIANTS.map((_, v) => {
      const side = engineSide(v, snat);
      writeFileSync(join(dir, `rules-${v}`), side.rules);
      return side.fates;
    });
    // The issue's rule: SNAT uses the node's own address of the family.
    t.deepEqual(new Set(snat.filter((a) => a !== null).map((a) => a.split(':')[0])), new Set([NODE_IP]));
    writeFileSync(join(dir, 'server.cjs'), SERVER);
    writeFileSync(join(dir, 'client.cjs'), CLIENT_JS);
    writeFileSync(join(dir, 'node.sh'), script(dir));
    const r = spawnSync('unshare', ['-rmn', '--propagation', 'private', 'bash', join(dir, 'node.sh')], {
      encoding: 'utf8',
      timeout: 180_000,
    });
    if (r.status !== 0) t.fail(`the node script failed (${r.status ?? r.error?.message}): ${r.stderr}`);
    // The ClientIP Service has two endpoints: which one the first connection gets is each side's own random draw, so
    // the comparison reads only that all three connections got the same one (and whether they were masqueraded, not
    // to which address: that follows the endpoint).
    const sticky = (fates: Fate[]) => fates.filter((f) => f.probe.endsWith(`${AFFINITY}:80`));
    const chosen = (fates: Fate[]) =>
      fates.map((f) =>
        f.probe.endsWith(`${AFFINITY}:80`) && f.endpoint !== null
          ? { ...f, endpoint: 'either', masquerade: f.masquerade === null ? null : 'either' }
          : f,
      );
    VARIANTS.forEach((variant, v) => {
      const actual = kernelFates(v, r.stdout);
      for (const fates of [actual, expected[v]!])
        t.is(new Set(sticky(fates).map((f) => f.endpoint)).size, 1, `${variant.name}: affinity`);
      t.deepEqual(chosen(actual), chosen(expected[v]!), variant.name);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
