/**
 * What `rules` prints is what a node's tools take: every listing of random clusters goes through the real parsers,
 * `iptables-restore --test` / `ip6tables-restore --test` (iptables mode, the rules IPVS mode writes around its table,
 * and userspace mode's portals) after `ipset restore` of the IPVS mode's sets, in a network namespace of its own
 * (`unshare -rn`: the sets are the namespace's, so the machine's are untouched). A rule they refuse (a match without its protocol, a set
 * that was never created, a malformed comment, address or probability) fails the property with the tool's message.
 *
 * Needs iptables and ipset (`.ci/run` installs them) and unprivileged user namespaces.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import type { EndpointSlice, IPFamily, Protocol, Service } from '../../src/model/types.js';
import {
  type EngineInit,
  type ProxyConfig,
  type ProxyConfigInput,
  type ProxyEngine,
  proxyConfig,
} from '../../src/proxy/engine.js';
import { IptablesEngine } from '../../src/proxy/iptables/engine.js';
import { createIpvsEngine } from '../../src/proxy/ipvs/engine.js';
import { createUserspaceEngine } from '../../src/proxy/userspace/engine.js';
import { Rng } from '../../src/util/rng.js';
import { type EndpointSpec, node, type PortSpec, service, slice, storeWith, tableFor } from './fixtures.js';

const NODE = 'node-a';
const FAMILIES: readonly IPFamily[] = ['IPv4', 'IPv6'];

/** Run a shell script in a network namespace of its own; returns its exit status and what it printed. */
function inOwnNamespace(script: string): { status: number | null; output: string } {
  const r = spawnSync('unshare', ['-rn', 'sh', '-ec', script], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}${r.error?.message ?? ''}` };
}

interface ServiceDraw {
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  families: 'IPv4' | 'IPv6' | 'dual';
  protocols: Protocol[];
  affinity: boolean;
  externalIP: boolean;
  ingress: boolean;
  sourceRanges: boolean;
  local: boolean;
  internalLocal: boolean;
  endpoints: { remote: boolean; state: 'ready' | 'terminating' | 'unready' }[];
}

const serviceDraw: fc.Arbitrary<ServiceDraw> = fc.record({
  type: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
  families: fc.constantFrom('IPv4', 'IPv6', 'dual'),
  protocols: fc.array(fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'), { minLength: 1, maxLength: 3 }),
  affinity: fc.boolean(),
  externalIP: fc.boolean(),
  ingress: fc.boolean(),
  sourceRanges: fc.boolean(),
  local: fc.boolean(),
  internalLocal: fc.boolean(),
  endpoints: fc.array(fc.record({ remote: fc.boolean(), state: fc.constantFrom('ready', 'terminating', 'unready') }), {
    maxLength: 4,
  }),
});

const configDraw: fc.Arbitrary<ProxyConfigInput> = fc.record({
  clusterCIDR: fc.constantFrom('', '10.244.0.0/16,fd00:10::/48'),
  masqueradeAll: fc.boolean(),
  nodePortAddresses: fc.constantFrom([], ['192.168.0.0/24', 'fd00:1::/64'], ['127.0.0.0/8']),
  localhostNodePorts: fc.boolean(),
  randomFully: fc.boolean(),
  tcpBeLiberal: fc.boolean(),
});

/** Service i of a drawn cluster, and its slices (addresses from i, so no two Services share one). */
function objectsOf(d: ServiceDraw, i: number): (Service | EndpointSlice)[] {
  const families: IPFamily[] = d.families === 'dual' ? ['IPv4', 'IPv6'] : [d.families];
  const ports: PortSpec[] = d.protocols.map((protocol, k) => ({
    name: `p${k}`,
    port: 80 + k,
    protocol,
    ...(d.type === 'ClusterIP' ? {} : { nodePort: 30000 + i * 8 + k }),
  }));
  const v4 = (prefix: string) => `${prefix}.${i + 10}`;
  const v6 = (prefix: string) => `${prefix}${(i + 10).toString(16)}`;
  const each = (ip4: string, ip6: string) => families.map((f) => (f === 'IPv4' ? ip4 : ip6));
  const external = d.type !== 'ClusterIP';
  const svc = service(`ns${i % 2}`, `svc${i}`, {
    type: d.type,
    clusterIP: d.families === 'IPv6' ? v6('fd00:96::') : v4('10.96.0'),
    clusterIPs: each(v4('10.96.0'), v6('fd00:96::')),
    ipFamilies: families,
    ipFamilyPolicy: families.length === 2 ? 'RequireDualStack' : 'SingleStack',
    ports,
    ...(d.affinity ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } } : {}),
    ...(d.externalIP ? { externalIPs: each(v4('192.168.99'), v6('fd00:99::')) } : {}),
    ...(external && d.local
      ? { externalTrafficPolicy: 'Local' }
      : external
        ? { externalTrafficPolicy: 'Cluster' }
        : {}),
    ...(d.type === 'LoadBalancer' && d.local ? { healthCheckNodePort: 32000 + i } : {}),
    ...(d.internalLocal ? { internalTrafficPolicy: 'Local' } : {}),
    ...(d.type === 'LoadBalancer' && d.sourceRanges
      ? { loadBalancerSourceRanges: each('203.0.113.0/25', '2001:db8::/64') }
      : {}),
    ...(d.type === 'LoadBalancer' && d.ingress ? { ingress: each(v4('198.51.100'), v6('2001:db8:1::')) } : {}),
  });
  const slices = families.map((family) => {
    const endpoints: EndpointSpec[] = d.endpoints.map((e, k) => ({
      ip:
        family === 'IPv4'
          ? `10.244.${e.remote ? 2 : 1}.${i * 5 + k + 2}`
          : `fd00:10:${e.remote ? 2 : 1}::${(i * 5 + k + 2).toString(16)}`,
      node: e.remote ? 'node-b' : NODE,
      ready: e.state === 'ready',
      serving: e.state !== 'unready',
      terminating: e.state === 'terminating',
    }));
    return slice(svc.metadata.namespace!, svc.metadata.name, endpoints, ports, {
      addressType: family,
      name: `svc${i}-${family === 'IPv4' ? 'v4' : 'v6'}`,
    });
  });
  return [svc, ...slices];
}

const clusterDraw = fc.record({
  config: configDraw,
  services: fc.array(serviceDraw, { minLength: 1, maxLength: 5 }),
});

function storeOf(services: ServiceDraw[]) {
  return storeWith(
    node(NODE, ['192.168.0.2', 'fd00:1::2'], { podCIDRs: ['10.244.1.0/24', 'fd00:10:1::/64'] }),
    node('node-b', ['192.168.0.3', 'fd00:1::3'], { podCIDRs: ['10.244.2.0/24', 'fd00:10:2::/64'] }),
    ...services.flatMap(objectsOf),
  );
}

/** A listing to write to a file, and the command that reads it (`FILE` stands for the file's path). */
interface Listing {
  readonly name: string;
  readonly text: string;
  readonly command: string;
}

/**
 * For 40 drawn clusters: an engine of `mode` (made by `make`, synced once) on node-a, its listings written, then
 * their commands run, in order, in a namespace of its own.
 */
function toolsTakeListings<E extends ProxyEngine & { sync?(now: number): void }>(
  mode: ProxyConfig['mode'],
  make: (init: EngineInit) => E,
  listingsOf: (engine: E) => Listing[],
): void {
  const dir = mkdtempSync(join(tmpdir(), 'kube-netsim-rules-'));
  try {
    fc.assert(
      fc.property(clusterDraw, ({ config, services }) => {
        const table = tableFor(storeOf(services), NODE);
        const engine = make({ table, config: proxyConfig({ ...config, mode }), rng: new Rng(1) });
        engine.sync?.(0);
        const listings = listingsOf(engine);
        engine.dispose();
        const commands = listings.map(({ name, text, command }) => {
          const file = join(dir, name);
          writeFileSync(file, text);
          return command.replace('FILE', file);
        });
        const r = inOwnNamespace(commands.join('\n'));
        if (r.status !== 0) throw new Error(r.output);
      }),
      { numRuns: 40 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const restore = (family: IPFamily) => (family === 'IPv4' ? 'iptables-restore' : 'ip6tables-restore');

test('iptables mode: iptables-restore --test takes every listing, with and without the built-in chains', (t) => {
  toolsTakeListings(
    'iptables',
    (init) => new IptablesEngine(init),
    (engine) =>
      FAMILIES.flatMap((family) =>
        [false, true].map((builtin) => ({
          name: `${family}-${builtin}.rules`,
          text: engine.rules(family, { builtin }),
          command: `${restore(family)} --test FILE`,
        })),
      ),
  );
  t.pass();
});

test('IPVS mode: ipset restore then iptables-restore --test take its sets and the rules around its table', (t) => {
  toolsTakeListings('ipvs', createIpvsEngine, (engine) =>
    FAMILIES.flatMap((family) => [
      { name: `${family}.sets`, text: engine.ipsetSave(family), command: 'ipset restore < FILE' },
      { name: `${family}.rules`, text: engine.iptablesRules(family), command: `${restore(family)} --test FILE` },
    ]),
  );
  t.pass();
});

test('userspace mode: iptables-restore --test takes its portal rules', (t) => {
  toolsTakeListings('userspace', createUserspaceEngine, (engine) =>
    FAMILIES.map((family) => ({
      name: `${family}.rules`,
      text: engine.rules(family),
      command: `${restore(family)} --test FILE`,
    })),
  );
  t.pass();
});

test('the namespace check itself fails on a rule iptables refuses', (t) => {
  // A DNAT to a port without a protocol: iptables-restore refuses it, so a passing property above means something.
  const r = inOwnNamespace(
    `printf '*nat\\n:KUBE-SEP-X - [0:0]\\n-A KUBE-SEP-X -j DNAT --to-destination 10.0.0.1:80\\nCOMMIT\\n' | iptables-restore --test`,
  );
  t.not(r.status, 0);
  t.regex(r.output, /Need TCP, UDP, SCTP or DCCP with port specification/);
});
