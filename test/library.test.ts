/** The package entry point as a user imports it, and the node proxy's one-argument calls and clock. */
import test from 'ava';
import { Cluster, InvalidArgumentError, originOf, proxyConfig, reversed } from 'kube-netsim';

const NODE = 'kube-netsim-worker';

test('import { Cluster } from "kube-netsim": load, then send a packet with only the packet', async (t) => {
  const cluster = await Cluster.load(['fixtures/demo']);
  const web = cluster.get('Service', 'web', 'shop')!.spec.clusterIP!;
  const client = cluster.list('Pod', 'shop').find((p) => p.spec.nodeName === NODE)!;
  const clientIP = client.status.podIP!;
  const proxy = cluster.proxy({ node: NODE, seed: 3 });
  const packet = { proto: 'TCP' as const, src: { ip: clientIP, port: 40000 }, dst: { ip: web, port: 80 } };
  const v = proxy.send(packet);
  t.is(v.verdict, 'DNAT');
  t.is(v.conntrack, 'new');
  t.is(proxy.now, 0);
  // The clock: advance, then a reply and a second packet at the new time follow the tracked flow.
  t.is(proxy.advance(5), 5);
  t.is(proxy.reply(reversed(v.packet)).conntrack, 'reply');
  const again = proxy.send(packet);
  t.is(again.conntrack, 'established');
  t.is(again.endpoint, v.endpoint);
  t.throws(() => proxy.send(packet, undefined, 1), { instanceOf: InvalidArgumentError });
  t.throws(() => proxy.advance(-1), { instanceOf: InvalidArgumentError });
});

test('origin from the source address: a pod on the node, the node itself, anything else outside', async (t) => {
  const cluster = await Cluster.load(['fixtures/demo']);
  const pods = cluster.list('Pod', 'shop');
  const here = pods.find((p) => p.spec.nodeName === NODE)!;
  const there = pods.find((p) => p.spec.nodeName !== NODE)!;
  const nodeIP = cluster.get('Node', NODE)!.status.addresses[0]!.address;
  t.deepEqual(originOf(cluster.store, NODE, here.status.podIP!), {
    from: 'pod',
    pod: `shop/${here.metadata.name}`,
  });
  t.deepEqual(originOf(cluster.store, NODE, there.status.podIP!), { from: 'external' });
  t.deepEqual(originOf(cluster.store, NODE, nodeIP), { from: 'node' });
  t.deepEqual(originOf(cluster.store, NODE, '127.0.0.1'), { from: 'node' });
  t.deepEqual(originOf(cluster.store, NODE, '192.0.2.7'), { from: 'external' });
});

test('NodeProxy: rules() are as of the clock (IPVS counts age with advance); the clock cannot overflow', async (t) => {
  const cluster = await Cluster.load(['fixtures/demo']);
  const dns = cluster.get('Service', 'kube-dns', 'kube-system')!.spec.clusterIP!;
  const client = cluster.list('Pod', 'shop').find((p) => p.spec.nodeName === NODE)!.status.podIP!;
  const proxy = cluster.proxy({ node: NODE, mode: 'ipvs', seed: 1 });
  proxy.send({ proto: 'UDP', src: { ip: client, port: 40000 }, dst: { ip: dns, port: 53 } });
  const inactive = () =>
    proxy
      .rules()
      .split('\n')
      .filter((l) => l.includes('->') && l.includes(':53 '))
      .reduce((n, l) => n + Number(l.trim().split(/\s+/).at(-1)), 0);
  t.is(inactive(), 1);
  proxy.advance(31);
  t.is(inactive(), 0, 'the UDP flow expired at 30 s');
  t.throws(() => proxy.advance(Number.MAX_VALUE) && proxy.advance(Number.MAX_VALUE), {
    instanceOf: InvalidArgumentError,
  });
});

test('NodeProxy: a cluster change takes effect when it is made, not at the next packet after the clock moved', async (t) => {
  // IPVS: a Service deleted, then a minute later its flow's next packet. kube-proxy deleted the virtual server at once
  // and the kernel's expire_nodest_conn flush expired the connection a jiffy later: the packet is a new one (no
  // virtual server any more), not the one dropped at the instant of the deletion.
  for (const time of ['advance', 'explicit'] as const) {
    const cluster = await Cluster.load(['fixtures/demo']);
    const web = cluster.get('Service', 'web', 'shop')!.spec.clusterIP!;
    const client = cluster.list('Pod', 'shop').find((p) => p.spec.nodeName === NODE)!.status.podIP!;
    const proxy = cluster.proxy({ node: NODE, mode: 'ipvs', seed: 1 });
    const packet = { proto: 'TCP' as const, src: { ip: client, port: 40000 }, dst: { ip: web, port: 80 } };
    t.is(proxy.send(packet).verdict, 'DNAT', time);
    cluster.delete([{ kind: 'Service', namespace: 'shop', name: 'web' }]);
    let later: ReturnType<typeof proxy.send>;
    if (time === 'advance') {
      proxy.advance(60);
      later = proxy.send(packet);
    } else later = proxy.send(packet, undefined, 60);
    t.not(later.conntrack, 'established', time);
    t.not(later.verdict, 'DROP', time);
  }
});

test('a deleted Node object leaves kube-proxy its node IPs (fixed at start): the proxy keeps dialling and masquerading from them', async (t) => {
  for (const mode of ['iptables', 'ipvs', 'userspace'] as const) {
    const cluster = await Cluster.load(['fixtures/demo']);
    const web = cluster.get('Service', 'web-nodeport', 'shop')!;
    const nodePort = web.spec.ports![0]!.nodePort!;
    const nodeIP = cluster.get('Node', NODE)!.status.addresses.find((a) => a.type === 'InternalIP')!.address;
    const proxy = cluster.proxy({ node: NODE, mode, seed: 1 });
    const packet = (port: number) => ({
      proto: 'TCP' as const,
      src: { ip: '192.0.2.9', port },
      dst: { ip: nodeIP, port: nodePort },
    });
    t.is(proxy.send(packet(1000)).snat, nodeIP, mode);
    cluster.delete([{ kind: 'Node', name: NODE }], { force: true });
    proxy.advance(1);
    const after = proxy.send(packet(1001));
    t.is(after.snat, nodeIP, mode);
  }
});

test('NodeProxy.sync(now) moves the clock in every mode, iptables too (it has no periodic work of its own)', async (t) => {
  const cluster = await Cluster.load(['fixtures/demo']);
  for (const mode of ['iptables', 'ipvs', 'userspace'] as const) {
    const proxy = cluster.proxy({ node: NODE, mode });
    proxy.sync(12);
    t.is(proxy.now, 12, mode);
    proxy.sync();
    t.is(proxy.now, 12, mode);
    t.throws(() => proxy.sync(11), { instanceOf: InvalidArgumentError }, mode);
  }
});

test('cluster.proxy checks its options; send checks the packet and returns a plain verdict', async (t) => {
  const cluster = await Cluster.load(['fixtures/demo']);
  const bad = [{ mode: 'nft' }, { scheduler: 'fifo' }, { seed: -1 }, { seed: 1.5 }, { clusterCIDR: 'ten' }];
  for (const options of bad)
    t.throws(
      () => cluster.proxy({ node: NODE, ...(options as object) }),
      { code: 'E_INVALID_ARGUMENT' },
      JSON.stringify(options),
    );
  // An empty scheduler is ProxyConfig's own default (rr): a whole proxyConfig() passes.
  t.is(cluster.proxy({ node: NODE, ...proxyConfig({ mode: 'ipvs' }) }).mode, 'ipvs');

  const web = cluster.get('Service', 'web', 'shop')!.spec.clusterIP!;
  const client = cluster.list('Pod', 'shop').find((p) => p.spec.nodeName === NODE)!.status.podIP!;
  for (const mode of ['iptables', 'ipvs', 'userspace'] as const) {
    const proxy = cluster.proxy({ node: NODE, mode, seed: 2 });
    // The protocol in the CLI's spelling is the same protocol.
    const v = proxy.send({ proto: 'tcp' as 'TCP', src: { ip: client, port: 41000 }, dst: { ip: web, port: 80 } });
    t.is(v.verdict, 'DNAT', mode);
    // The results are the verdict's own fields: spread, keys and structuredClone see them; the steps are built when
    // read, and JSON has them too.
    t.deepEqual(Object.keys({ ...v }).sort(), [
      'conntrack',
      'cost',
      'endpoint',
      'packet',
      'service',
      'snat',
      'verdict',
    ]);
    t.like(structuredClone(v), { verdict: 'DNAT', conntrack: 'new', service: 'shop/web:http' });
    t.deepEqual({ ...v }.packet, v.packet);
    t.true(v.steps.length > 0);
    t.deepEqual(JSON.parse(JSON.stringify(v)).steps, JSON.parse(JSON.stringify(v.steps)));
    const malformed = [
      { proto: 'ICMP', src: { ip: client, port: 1 }, dst: { ip: web, port: 80 } },
      { proto: 'TCP', src: { ip: '10.244.1.999', port: 1 }, dst: { ip: web, port: 80 } },
      { proto: 'TCP', src: { ip: client, port: 70000 }, dst: { ip: web, port: 80 } },
      { proto: 'TCP', src: { ip: client, port: 1 }, dst: { ip: 'fd00::1', port: 80 } },
    ];
    for (const p of malformed)
      t.throws(() => proxy.send(p as never), { code: 'E_INVALID_ARGUMENT' }, `${mode} ${JSON.stringify(p)}`);
  }
});

test('send: an IPv6 address in any spelling is its canonical self; the pod network gateway is the node', async (t) => {
  const cluster = await Cluster.load(['fixtures/demo']);
  const v6 = cluster.get('Service', 'web-dual', 'shop')!.spec.clusterIPs!.find((ip) => ip.includes(':'))!;
  const nodeV6 = cluster.get('Node', NODE)!.status.addresses.find((a) => a.address.includes(':'))!.address;
  const [head, tail] = v6.split('::') as [string, string];
  const groups = [head.split(':'), tail ? tail.split(':') : []] as const;
  const zeros = Array(8 - groups[0].length - groups[1].length).fill('0000');
  const longhand = [...groups[0], ...zeros, ...groups[1]].join(':').toUpperCase();
  const proxy = cluster.proxy({ node: NODE, seed: 2 });
  const v = proxy.send({ proto: 'TCP', src: { ip: nodeV6, port: 41000 }, dst: { ip: longhand, port: 80 } });
  t.is(v.verdict, 'DNAT', `${longhand} is ${v6}`);
  const podCIDR = cluster.get('Node', NODE)!.spec.podCIDRs![0]!;
  const gateway = podCIDR.replace(/\.0\/\d+$/, '.1');
  t.deepEqual(originOf(cluster.store, NODE, gateway), { from: 'node' }, `${gateway}: the bridge's address on the node`);
  // And iptables mode's `--src-type LOCAL` agrees: the gateway's packet to a LoadBalancer IP is the node's (its LOCAL
  // traffic is masqueraded and sent to the cluster chain), as the node's own address's is.
  const lb = cluster.get('Service', 'web-lb', 'shop')!.status.loadBalancer.ingress![0]!.ip!;
  const nodeV4 = cluster.get('Node', NODE)!.status.addresses.find((a) => !a.address.includes(':'))!.address;
  for (const src of [gateway, nodeV4]) {
    const fresh = cluster.proxy({ node: NODE, mode: 'iptables', seed: 2 });
    const toLB = fresh.send({ proto: 'TCP', src: { ip: src, port: 41000 }, dst: { ip: lb, port: 80 } });
    t.is(toLB.verdict, 'DNAT', src);
    t.is(toLB.snat, nodeV4, src);
    t.true(
      toLB.steps.some(
        (s) => s.rule.includes('-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ') && !s.decision.includes('not matched'),
      ),
      src,
    );
  }
});
