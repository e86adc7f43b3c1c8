/**
 * A node made of network namespaces, for comparing the iptables engine with the kernel (kernel-differential.test.ts):
 * the script that builds it and runs connections through it, and what its output says became of each connection.
 *
 * - `node`: node-a, 192.168.0.2 / fd00:1::2 on its link to the rest of the world, default route through node-b.
 * - `pod1`, `pod2`: pods, each in a namespace of its own behind a veth, routed as Calico wires pods (a /32 or /128 on
 *   the pod, a route to it on the node, the node's side of every veth holding the pods' gateway 10.244.1.1 /
 *   fd00:10:1::1), so every packet between pods passes the node's netfilter.
 * - `ext`: node-b (192.168.0.3 / fd00:1::3) with the remote endpoint 10.244.2.5 / fd00:10:2::5, on one link with
 *   node-a, and routing through node-a (its default route).
 * - `client`: the outside client 203.0.113.2 / 2001:db8::2, on a link of its own to node-a (203.0.113.1 /
 *   2001:db8::1), its gateway. Node-b reaches it through node-a too, so an answer to it takes the path its request
 *   took, as a NATed connection needs: which path an answer takes is the network's, not kube-proxy's, to decide.
 *
 * The node gets kube-proxy's sysctls (forwarding, route_localnet for localhost NodePorts) and its nfacct counters,
 * then each set of rules in turn: iptables-restore and ip6tables-restore replace the tables, conntrack is flushed,
 * the connections are made (one client per namespace: all at once, then the serial ones one by one), and conntrack's
 * entries are listed, then those it source-NATed (a masquerade to the address a packet already had shows only in the
 * entry's status). Each connection's entry is found by its source port, its own in the round. Everything runs inside
 * `unshare -rmn`, so the machine's own namespaces, rules and conntrack table are untouched.
 */
import { hostPort } from '../../src/proxy/packet.js';

export const GATEWAY = { IPv4: '10.244.1.1', IPv6: 'fd00:10:1::1' } as const;

/** One connection (for UDP, one datagram and its answer) to make: from which namespace, to where, from which port. */
export interface Connection {
  readonly ns: string;
  readonly proto: 'TCP' | 'UDP';
  readonly dst: string;
  readonly port: number;
  readonly sourcePort: number;
  readonly ipv6: boolean;
  readonly serial: boolean;
}

/** One set of rules and the connections made under it. */
export interface Round {
  readonly rulesFile: { readonly IPv4: string; readonly IPv6: string };
  readonly connections: readonly Connection[];
}

/** What the kernel did with one connection. */
export interface KernelFate {
  /** connected (UDP: answered), ECONNREFUSED, timeout (its first packet dropped), or another error code. */
  readonly outcome: string;
  /** Its conntrack entry, if it has one: where its reply comes from (`ip:port`), to which address, and whether NATed. */
  readonly entry?: { readonly replySrc: string; readonly replyDst: string; readonly snat: boolean };
}

/**
 * Listens on every port given after the ready file's path (all addresses, both families; `udp:PORT` for UDP, and
 * `udp:PORT@ADDRESS` on one address), answers and closes (UDP: answers each datagram); writes the file when every
 * socket is up.
 */
export const SERVER_JS = `const [ready, ...ports] = process.argv.slice(2);
let up = 0;
const listening = () => { if (++up === ports.length) require('node:fs').writeFileSync(ready, ''); };
for (const spec of ports) {
  if (spec.startsWith('udp:')) {
    const [port, address = '::'] = spec.slice(4).split('@');
    const s = require('node:dgram').createSocket({ type: address.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
    s.on('message', (m, from) => s.send('ok', from.port, from.address));
    s.bind(Number(port), address, listening);
  } else
    require('node:net').createServer((s) => { s.on('error', () => {}); s.end('ok'); }).listen(Number(spec), '::', listening);
}`;

// Makes the connections its argument lists (JSON: proto, host, port, localPort, serial), those not serial at once,
// then the serial ones one by one, and prints each one's source port and fate: connected (for UDP: a datagram sent on
// a connected socket was answered), ECONNREFUSED, or timeout (its first packet dropped). An answer between namespaces
// takes microseconds; 5 s is for a test machine so loaded that the process waits its turn.
export const CLIENT_JS = `const connections = JSON.parse(process.argv[2]);
const open = ({ proto, host, port, localPort }, done) => {
  if (proto === 'TCP') {
    const s = require('node:net').connect({ host, port, localPort });
    s.on('connect', () => done('connected'));
    s.on('error', (e) => done(e.code));
    return () => s.destroy();
  }
  const s = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
  s.on('message', () => done('connected'));
  s.on('error', (e) => done(e.code));
  s.bind(localPort, () => s.connect(port, host, () => s.send('probe')));
  return () => s.close();
};
const probe = (c) => new Promise((resolve) => {
  let close = () => {};
  let timer;
  const done = (what) => { clearTimeout(timer); console.log('PROBE ' + c.localPort + ' ' + what); close(); resolve(); };
  timer = setTimeout(() => done('timeout'), 5000);
  close = open(c, (what) => done(what));
});
(async () => {
  await Promise.all(connections.filter((c) => !c.serial).map(probe));
  for (const c of connections.filter((c) => c.serial)) await probe(c);
})();`;

const PODS = [
  ['pod1', '10.244.1.2', 'fd00:10:1::2'],
  ['pod2', '10.244.1.3', 'fd00:10:1::3'],
] as const;

/**
 * The script: the namespaces, kube-proxy's sysctls and counters, the servers (`listeners`: namespace → ports as
 * SERVER_JS takes them; `dir` holds server.cjs and client.cjs), then each round.
 */
export function nodeScript(
  dir: string,
  listeners: Record<string, readonly string[]>,
  rounds: readonly Round[],
): string {
  const node = process.execPath;
  const add = (ns: string, args: string) => `ip netns exec ${ns} ip ${args}`;
  const serving = Object.entries(listeners).filter(([, ports]) => ports.length > 0);
  const lines = [
    'set -eu',
    // The servers run in the background: they go when the script does, however it ends (else they would hold its
    // output open, and the test would wait for them).
    "trap 'kill $(jobs -p) 2>/dev/null' EXIT",
    'mount -t tmpfs none /run && mkdir -p /run/netns',
    'for ns in node ext; do ip netns add $ns; ip netns exec $ns ip link set lo up; done',
    'ip link add n-ext netns node type veth peer name x-node netns ext',
    add('node', 'addr add 192.168.0.2/24 dev n-ext'),
    add('node', 'addr add fd00:1::2/64 dev n-ext nodad'),
    add('node', 'link set n-ext up'),
    ...['192.168.0.3/24', 'fd00:1::3/64 nodad', '10.244.2.5/32', 'fd00:10:2::5/128 nodad'].map((a) =>
      add('ext', `addr add ${a} dev x-node`),
    ),
    add('ext', 'link set x-node up'),
    add('ext', 'route add default via 192.168.0.2'),
    add('ext', '-6 route add default via fd00:1::2'),
    'ip netns add client; ip netns exec client ip link set lo up',
    'ip link add n-client netns node type veth peer name eth0 netns client',
    add('node', 'addr add 203.0.113.1/24 dev n-client'),
    add('node', 'addr add 2001:db8::1/64 dev n-client nodad'),
    add('node', 'link set n-client up'),
    add('client', 'addr add 203.0.113.2/24 dev eth0'),
    add('client', 'addr add 2001:db8::2/64 dev eth0 nodad'),
    add('client', 'link set eth0 up'),
    add('client', 'route add default via 203.0.113.1'),
    add('client', '-6 route add default via 2001:db8::1'),
    add('node', 'route add 10.244.2.0/24 via 192.168.0.3'),
    add('node', 'route add default via 192.168.0.3'),
    add('node', '-6 route add fd00:10:2::/64 via fd00:1::3'),
    add('node', '-6 route add default via fd00:1::3'),
    'ip netns exec node sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.route_localnet=1',
    // REJECT's ICMP errors are rate-limited per peer; a round sends a pod several at once, and the engine does not
    // model that limit (it says what the rules do, not whether the kernel's answer to them is suppressed).
    'ip netns exec node sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0',
    ...PODS.flatMap(([ns, v4, v6]) => [
      `ip netns add ${ns}; ip netns exec ${ns} ip link set lo up`,
      `ip link add n-${ns} netns node type veth peer name eth0 netns ${ns}`,
      add(ns, `addr add ${v4}/32 dev eth0`),
      add(ns, `addr add ${v6}/128 dev eth0 nodad`),
      add(ns, 'link set eth0 up'),
      add('node', `addr add ${GATEWAY.IPv4}/32 dev n-${ns}`),
      add('node', `addr add ${GATEWAY.IPv6}/128 dev n-${ns} nodad`),
      add('node', `link set n-${ns} up`),
      add(ns, `route add ${GATEWAY.IPv4} dev eth0`),
      add(ns, `route add default via ${GATEWAY.IPv4} dev eth0`),
      add(ns, `-6 route add ${GATEWAY.IPv6} dev eth0`),
      add(ns, `-6 route add default via ${GATEWAY.IPv6} dev eth0`),
      add('node', `route add ${v4}/32 dev n-${ns}`),
      add('node', `-6 route add ${v6}/128 dev n-${ns}`),
    ]),
    'ip netns exec node nfacct add ct_state_invalid_dropped_pkts',
    'ip netns exec node nfacct add localhost_nps_accepted_pkts',
    ...serving.map(
      ([ns, ports]) => `ip netns exec ${ns} ${node} ${dir}/server.cjs ${dir}/ready-${ns} ${ports.join(' ')} &`,
    ),
    `for ns in ${serving.map(([ns]) => ns).join(' ')}; do n=0; until [ -e ${dir}/ready-$ns ]; do n=$((n+1)); [ $n -lt 400 ] || exit 3; sleep 0.05; done; done`,
    ...rounds.flatMap((round) => roundLines(round, node, dir)),
  ];
  return `${lines.join('\n')}\n`;
}

function roundLines(round: Round, node: string, dir: string): string[] {
  const namespaces = [...new Set(round.connections.map((c) => c.ns))];
  const clients = namespaces.map((ns) => {
    const list = round.connections
      .filter((c) => c.ns === ns)
      .map((c) => ({ proto: c.proto, host: c.dst, port: c.port, localPort: c.sourcePort, serial: c.serial }));
    return `ip netns exec ${ns} ${node} ${dir}/client.cjs '${JSON.stringify(list)}' &`;
  });
  const list = (family: string, proto: string, snat: string) =>
    `ip netns exec node conntrack -L -f ${family} -p ${proto} ${snat} 2>/dev/null | sed 's/^/${snat ? 'SNAT' : 'CT'} /'`;
  return [
    `ip netns exec node iptables-restore < ${round.rulesFile.IPv4}`,
    `ip netns exec node ip6tables-restore < ${round.rulesFile.IPv6}`,
    'ip netns exec node conntrack -F 2>/dev/null; ip netns exec node conntrack -F -f ipv6 2>/dev/null',
    `pids=""; ${clients.map((c) => `${c} pids="$pids $!"; `).join('')}wait $pids`,
    ...['ipv4', 'ipv6'].flatMap((family) =>
      ['tcp', 'udp'].flatMap((proto) => [list(family, proto, ''), list(family, proto, '--src-nat')]),
    ),
  ];
}

/** What the script's output says of each connection, by source port. */
export function kernelFates(output: string): Map<number, KernelFate> {
  const fates = new Map<number, { outcome: string; entry?: NonNullable<KernelFate['entry']> & { snat: boolean } }>();
  const fateOf = (port: number) => {
    let fate = fates.get(port);
    if (fate === undefined) {
      fate = { outcome: '(no line)' };
      fates.set(port, fate);
    }
    return fate;
  };
  for (const line of output.split('\n')) {
    const probe = /^PROBE (\d+) (\S+)$/.exec(line);
    if (probe) fateOf(Number(probe[1])).outcome = probe[2]!;
    // An entry: its original tuple, [UNREPLIED] if nothing came back, then its reply tuple.
    const ct =
      /^(CT|SNAT) (?:tcp|udp) .*?src=\S+ dst=\S+ sport=(\d+) dport=\d+ (?:\[UNREPLIED\] )?src=(\S+) dst=(\S+) sport=(\d+)/.exec(
        line,
      );
    if (ct?.[1] === 'CT')
      fateOf(Number(ct[2])).entry = { replySrc: hostPort(ct[3]!, Number(ct[5])), replyDst: ct[4]!, snat: false };
    const entry = ct?.[1] === 'SNAT' ? fates.get(Number(ct[2]))?.entry : undefined;
    if (entry) entry.snat = true;
  }
  return fates;
}
