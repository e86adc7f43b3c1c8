/**
 * The iptables engine against the kernel on random dual-stack clusters (kernel-compare.ts says how): up to five
 * Services of any type, with or without an externalIP, source ranges that let the outside client in or keep it out,
 * either traffic policy, ClientIP affinity, and endpoint lists whose choice is forced (none, one, or one ready beside
 * terminating or unready ones, on this node or node-b), under a random kube-proxy configuration; every way into each
 * Service is probed from a pod, the node, localhost and outside, over TCP and UDP, in both families.
 *
 * Each run builds the namespaces' node and waits out its dropped probes (5 s), so a run takes seconds: few runs, and
 * no shrinking (`endOnFailure`), the counterexample printed as drawn.
 *
 * Needs iptables, nfacct, conntrack, iproute2 and unprivileged user namespaces (`.ci/run` installs the tools).
 */
import test from 'ava';
import fc from 'fast-check';
import type { EndpointSpec } from './fixtures.js';
import {
  both,
  compareWithKernel,
  local,
  NODE,
  nodes,
  POD1,
  POD2,
  type Probe,
  remote,
  type Spec,
  svc,
  type Variant,
} from './kernel-compare.js';

/** Endpoint lists with one endpoint to choose, whatever the draw: kube-proxy's choice among them is forced. */
const ENDPOINTS: Readonly<Record<string, () => EndpointSpec[]>> = {
  none: () => [],
  'local pod': () => [local(POD2)],
  'the client pod itself': () => [local(POD1)],
  'on node-b': () => [remote()],
  'terminating here': () => [local(POD2, { ready: false, serving: true, terminating: true })],
  'terminating on node-b': () => [remote({ ready: false, serving: true, terminating: true })],
  'not serving': () => [local(POD2, { ready: false, serving: false, terminating: true })],
  'here, and terminating on node-b': () => [local(POD2), remote({ ready: false, serving: true, terminating: true })],
  'on node-b, and terminating here': () => [remote(), local(POD2, { ready: false, serving: true, terminating: true })],
  'on node-b, and unready here': () => [remote(), local(POD2, { ready: false, serving: false })],
};

const serviceDraw = fc.record({
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
  endpoints: fc.constantFrom(...Object.keys(ENDPOINTS)),
  local: fc.constantFrom('none', 'internal', 'external'),
  sourceRange: fc.constantFrom('none', '203.0.113.0/25', '198.18.0.0/15'),
  externalIP: fc.boolean(),
  affinity: fc.boolean(),
});
type ServiceDraw = typeof serviceDraw extends fc.Arbitrary<infer T> ? T : never;

const configDraw = fc.record({
  clusterCIDR: fc.constantFrom('', '10.244.0.0/16,fd00:10::/48'),
  masqueradeAll: fc.boolean(),
  localhostNodePorts: fc.boolean(),
  tcpBeLiberal: fc.boolean(),
  nodePortAddresses: fc.constantFrom([], both(['192.168.0.0/24'])),
});

/** Service i as drawn: its addresses come from i, so no two Services share one. */
function serviceOf(d: ServiceDraw, i: number) {
  const external = d.type !== 'ClusterIP';
  const spec: Spec = {
    clusterIP: `10.96.0.${50 + i}`,
    ...(external ? { type: d.type as 'NodePort' | 'LoadBalancer', nodePort: 30100 + i } : {}),
    ...(d.type === 'LoadBalancer' ? { ingress: `198.51.100.${50 + i}` } : {}),
    ...(d.type === 'LoadBalancer' && d.sourceRange !== 'none' ? { sourceRange: d.sourceRange } : {}),
    ...(d.externalIP ? { externalIP: `192.168.99.${50 + i}` } : {}),
    ...(d.local === 'internal' || (d.local === 'external' && external) ? { local: d.local } : {}),
    affinity: d.affinity,
  };
  return { spec, objects: svc(`svc-${i}`, spec, ENDPOINTS[d.endpoints]!()) };
}

/** Every way into a Service, from everywhere it can be reached. */
function probesOf(spec: Spec): Probe[] {
  const into = (dst: string, port: number, from: Probe['from'][]): Probe[] => from.map((f) => ({ from: f, dst, port }));
  return [
    ...into(spec.clusterIP, 80, ['pod1', 'node', 'outside']),
    { from: 'pod1', dst: spec.clusterIP, port: 53, proto: 'UDP' },
    ...(spec.nodePort
      ? [
          ...into(NODE, spec.nodePort, ['pod1', 'node', 'outside']),
          { from: 'localhost', dst: '127.0.0.1', port: spec.nodePort },
          { from: 'outside', dst: NODE, port: spec.nodePort + 100, proto: 'UDP' },
        ]
      : []),
    ...(spec.ingress ? into(spec.ingress, 80, ['pod1', 'node', 'outside']) : []),
    ...(spec.externalIP ? into(spec.externalIP, 80, ['pod1', 'outside']) : []),
  ] as Probe[];
}

test('on random clusters, the kernel does with every probe what the iptables engine says', (t) => {
  // fast-check prints the drawn cluster; the differences themselves are kept here and printed with it.
  let differences = '';
  const details = fc.check(
    fc.property(fc.array(serviceDraw, { minLength: 1, maxLength: 5 }), configDraw, (draws, config) => {
      const services = draws.map(serviceOf);
      const probes = services.flatMap((s) => probesOf(s.spec));
      const variant: Variant = { name: JSON.stringify(config), config };
      let comparison: ReturnType<typeof compareWithKernel>;
      try {
        comparison = compareWithKernel([...nodes(), ...services.flatMap((s) => s.objects)], probes, [variant]);
      } catch (error) {
        differences = String(error);
        return false;
      }
      const { expected, actual } = comparison;
      const kernel = actual[0]!;
      const engine = expected[0]!;
      const differ = kernel.flatMap((f, i) =>
        JSON.stringify(f) === JSON.stringify(engine[i])
          ? []
          : [`kernel ${JSON.stringify(f)}\nengine ${JSON.stringify(engine[i])}`],
      );
      differences = differ.join('\n');
      return differ.length === 0;
    }),
    {
      numRuns: Number(process.env.KERNEL_RUNS ?? 3),
      endOnFailure: true,
      ...(process.env.KERNEL_SEED ? { seed: Number(process.env.KERNEL_SEED) } : {}),
    },
  );
  if (details.failed) t.fail(`${fc.defaultReportMessage(details)}\n${differences}`);
  else t.pass();
});
