/**
 * The iptables engine against the kernel, on a fixed dual-stack cluster (kernel-compare.ts says how): 15 Services
 * cover ClusterIP to local, remote and hairpin endpoints, no endpoints, internalTrafficPolicy Local, a terminating-only
 * endpoint, ClientIP affinity, NodePorts with either externalTrafficPolicy, LoadBalancers with allowed and refused
 * source ranges and with externalTrafficPolicy Local, and an externalIP, each with a TCP and a UDP port; 48 probes
 * per family from a pod, the node, localhost and outside, under five kube-proxy configurations. Every Service has one
 * endpoint per family (the affinity one two, where only stickiness is compared), so the kernel's own random draws
 * decide nothing the comparison reads.
 *
 * Needs iptables, nfacct, conntrack, iproute2 and unprivileged user namespaces (`.ci/run` installs the tools).
 */
import test from 'ava';
import type { IPFamily } from '../../src/model/types.js';
import { hostPort } from '../../src/proxy/packet.js';
import {
  both,
  compareWithKernel,
  FAMILIES,
  type Fate,
  inFamily,
  local,
  NODE,
  nodes,
  POD1,
  POD2,
  type Probe,
  remote,
  svc,
  type Variant,
} from './kernel-compare.js';

/** The ClusterIP of the Service with ClientIP affinity and two endpoints. */
const AFFINITY = '10.96.0.16';

const objects = [
  ...nodes(),
  ...svc('local', { clusterIP: '10.96.0.10' }, [local(POD2)]),
  ...svc('remote', { clusterIP: '10.96.0.11' }, [remote()]),
  ...svc('hairpin', { clusterIP: '10.96.0.12' }, [local(POD1)]),
  ...svc('empty', { clusterIP: '10.96.0.13' }, []),
  ...svc('itp-local', { clusterIP: '10.96.0.14', local: 'internal' }, [remote()]),
  ...svc('terminating', { clusterIP: '10.96.0.15' }, [local(POD2, { ready: false, serving: true, terminating: true })]),
  ...svc('affinity', { clusterIP: AFFINITY, affinity: true }, [local(POD2), remote()]),
  ...svc('nodeport', { type: 'NodePort', clusterIP: '10.96.0.20', nodePort: 30080 }, [remote()]),
  ...svc('nodeport-local', { type: 'NodePort', clusterIP: '10.96.0.21', nodePort: 30081, local: 'external' }, [
    local(POD2),
  ]),
  ...svc('nodeport-elsewhere', { type: 'NodePort', clusterIP: '10.96.0.22', nodePort: 30082, local: 'external' }, [
    remote(),
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
  ...svc('external-ip', { clusterIP: '10.96.0.40', externalIP: '192.168.99.22' }, [remote()]),
  ...svc(
    'lb-local',
    { type: 'LoadBalancer', clusterIP: '10.96.0.32', nodePort: 30092, ingress: '198.51.100.12', local: 'external' },
    [local(POD2)],
  ),
  ...svc(
    'lb-elsewhere',
    { type: 'LoadBalancer', clusterIP: '10.96.0.33', nodePort: 30093, ingress: '198.51.100.13', local: 'external' },
    [remote()],
  ),
];

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
const VARIANTS: readonly Variant[] = [
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

test('the kernel does with every connection what the iptables engine says, under the rules the engine prints', (t) => {
  const { expected, actual, snat } = compareWithKernel(objects, PROBES, VARIANTS);
  // The rule: SNAT uses the node's own address of the family.
  t.deepEqual(new Set(snat.filter((a) => a !== null)), new Set(both([NODE])));
  // The ClientIP Service has two endpoints: which one the first connection gets is each side's own random draw, so
  // the comparison reads only that a family's three connections got the same one (and whether they were masqueraded,
  // not to which address: that follows the endpoint).
  const toAffinity = (f: Fate, family: IPFamily | null = null) =>
    (family === null ? FAMILIES : [family]).some((fam) =>
      f.probe.endsWith(`${hostPort(inFamily(AFFINITY, fam), 80)}/TCP`),
    );
  const chosen = (fates: Fate[]) =>
    fates.map((f) =>
      toAffinity(f) && f.endpoint !== null
        ? { ...f, endpoint: 'either', masquerade: f.masquerade === null ? null : 'either' }
        : f,
    );
  VARIANTS.forEach((variant, v) => {
    for (const fates of [actual[v]!, expected[v]!])
      for (const family of FAMILIES) {
        const sticky = fates.filter((f) => toAffinity(f, family));
        t.is(new Set(sticky.map((f) => f.endpoint)).size, 1, `${variant.name}: ${family} affinity`);
      }
    t.deepEqual(chosen(actual[v]!), chosen(expected[v]!), variant.name);
  });
});
