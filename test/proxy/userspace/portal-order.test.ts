/**
 * Portals that share an address and port, and the order of the portal rules: iptables takes the first rule that
 * matches, and openPortal appends (rules stand in the order they were added: at start port by port, each Service's in
 * spec order). A portal on one of the node's own addresses, and a NodePort, is claimed first (claimNodePort): a port
 * whose claim another holds gets no rule from there on until the holder lets go, when the sync's ensurePortals adds
 * them at the chains' end.
 */
import test from 'ava';
import type { Service } from '../../../src/model/types.js';
import { proxyConfig } from '../../../src/proxy/engine.js';
import { createUserspaceEngine } from '../../../src/proxy/userspace/engine.js';
import { portalFailureText } from '../../../src/proxy/userspace/open-portal.js';
import { Rng } from '../../../src/util/rng.js';
import { node, put, remove, type ServiceInput, service, slice, tableFor } from '../fixtures.js';
import { EXTERNAL, HOST, NODE_A, POD, storeOf, tcp } from '../ipvs/engine-helpers.js';

/** A Service of one port 80 (`http`) with one endpoint of its own, and its slice. */
function withEndpoint(name: string, endpointIP: string, spec: Partial<ServiceInput>) {
  return [
    service('default', name, { ports: [{ name: 'http', port: 80 }], ...spec }),
    slice('default', name, [{ ip: endpointIP, node: 'node-b' }], [{ name: 'http', port: 8080 }]),
  ];
}

function engineFor(store: ReturnType<typeof storeOf>) {
  return createUserspaceEngine({
    table: tableFor(store, 'node-a'),
    config: proxyConfig({ mode: 'userspace' }),
    rng: new Rng(3),
  });
}

/** The Service port whose endpoint a new flow reached, or the verdict when none. */
function reached(e: ReturnType<typeof engineFor>, src: string, srcPort: number, dst: string, origin = POD): string {
  const v = e.send(tcp(src, srcPort, dst, 80), origin, 1);
  return v.endpoint ?? v.verdict;
}

/** The destinations of the KUBE-PORTALS-CONTAINER rules, with each rule's Service port. */
function containerRules(e: ReturnType<typeof engineFor>): string[] {
  return e
    .rules('IPv4')
    .split('\n')
    .filter((l) => l.startsWith('-A KUBE-PORTALS-CONTAINER'))
    .map((l) => `${/ -d (\S+)/.exec(l)![1]} ${/--comment "([^"]+)"/.exec(l)![1]}`);
}

test('an externalIP that is also the same Service LB IP: a pod reaches it through the LB portal after the externalIP rules', (t) => {
  const e = engineFor(
    storeOf(
      ...withEndpoint('lb', '10.244.2.5', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.10',
        externalIPs: ['198.51.100.7'],
        ingress: ['198.51.100.7'],
        ports: [{ name: 'http', port: 80, nodePort: 30080 }],
      }),
    ),
  );
  // From a pod the externalIP's rules do not match (bridged, and not a node address); the LB IP's rule after them does.
  const fromPod = e.send(tcp('10.244.1.4', 40000, '198.51.100.7', 80), POD, 1);
  t.is(fromPod.verdict, 'DNAT');
  t.true(
    fromPod.steps.some(
      (s) => s.rule.startsWith('-A KUBE-PORTALS-CONTAINER -d 198.51.100.7/32') && !s.rule.includes('physdev'),
    ),
  );
  // From outside the externalIP's physdev rule comes first and takes it.
  const fromOutside = e.send(tcp('192.0.2.9', 40000, '198.51.100.7', 80), EXTERNAL, 1);
  t.is(fromOutside.verdict, 'DNAT');
  t.true(fromOutside.steps.some((s) => s.rule.includes('-m physdev ! --physdev-is-in')));
  // The node's own packets take the LB IP's HOST rule.
  t.is(e.send(tcp(NODE_A, 40000, '198.51.100.7', 80), HOST, 1).verdict, 'DNAT');
});

test('two Services with the same externalIP and port: the port opened first holds it; one reopened goes behind', (t) => {
  const a = withEndpoint('a', '10.244.2.1', { clusterIP: '10.96.0.1', externalIPs: ['198.51.100.7'] });
  const b = withEndpoint('b', '10.244.2.2', { clusterIP: '10.96.0.2', externalIPs: ['198.51.100.7'] });
  const store = storeOf(...b, ...a);
  const e = engineFor(store);
  // Opened in name order at start (upstream's was a map's): a's rules first, so a takes outside traffic.
  t.is(reached(e, '192.0.2.9', 40000, '198.51.100.7', EXTERNAL), '10.244.2.1:8080');
  t.deepEqual(containerRules(e), [
    '10.96.0.1/32 default/a:http',
    '198.51.100.7/32 default/a:http',
    '198.51.100.7/32 default/a:http',
    '10.96.0.2/32 default/b:http',
    '198.51.100.7/32 default/b:http',
    '198.51.100.7/32 default/b:http',
  ]);
  // a changes (a new port number closes its portals and opens new ones at the chains' end): b's rules now come first.
  const aMoved = service('default', 'a', {
    clusterIP: '10.96.0.1',
    externalIPs: ['198.51.100.7', '198.51.100.8'],
    ports: [{ name: 'http', port: 80 }],
  });
  put(store, aMoved);
  t.is(reached(e, '192.0.2.9', 40001, '198.51.100.7', EXTERNAL), '10.244.2.2:8080');
  t.deepEqual(
    containerRules(e).map((r) => r.split(' ')[1]),
    [...Array<string>(3).fill('default/b:http'), ...Array<string>(5).fill('default/a:http')],
  );
  // An endpoint change is not a config change: nothing moves.
  put(store, slice('default', 'b', [{ ip: '10.244.2.3', node: 'node-b' }], [{ name: 'http', port: 8080 }]));
  t.is(reached(e, '192.0.2.9', 40002, '198.51.100.7', EXTERNAL), '10.244.2.3:8080');
});

test("a Service's ports stand in its spec order, not by name", (t) => {
  const svc: Service = service('default', 'multi', {
    clusterIP: '10.96.0.5',
    ports: [
      { name: 'z', port: 81 },
      { name: 'a', port: 82 },
    ],
  });
  const e = engineFor(storeOf(svc));
  t.deepEqual(containerRules(e), ['10.96.0.5/32 default/multi:z', '10.96.0.5/32 default/multi:a']);
});

// Both give the node's address as an externalIP on port 80; b also has a NodePort, after it in openPortal.
const claimA = withEndpoint('a', '10.244.2.1', { clusterIP: '10.96.0.1', externalIPs: [NODE_A] });
const claimB = withEndpoint('b', '10.244.2.2', {
  type: 'NodePort',
  clusterIP: '10.96.0.2',
  externalIPs: [NODE_A],
  ports: [{ name: 'http', port: 80, nodePort: 30080 }],
});
const portOf = (e: ReturnType<typeof engineFor>, name: string) => e.openedPorts().find((o) => o.name === name)!;
const CONFLICT = /Port conflict detected on port 172\.18\.0\.2:80\/TCP, held by default\/a:http/;

test('claimNodePort at start: the first sync opens every port before it knows the local addresses, so both keep their rules', (t) => {
  const e = engineFor(storeOf(...claimA, ...claimB));
  // a claims the address at the sync's end (ensurePortals, in open order); b fails the claim but keeps its rules.
  t.deepEqual(portOf(e, 'default/b:http').portal.externalIPs, [NODE_A]);
  t.is(portOf(e, 'default/b:http').portal.nodePort, 30080);
  t.regex(portalFailureText(portOf(e, 'default/b:http').rules) ?? '', CONFLICT);
  t.is(reached(e, '192.0.2.9', 40000, NODE_A, EXTERNAL), '10.244.2.1:8080', "a's rules come first");
  t.is(e.send(tcp('192.0.2.9', 40001, NODE_A, 30080), EXTERNAL, 1).endpoint, '10.244.2.2:8080');
});

test('claimNodePort later: a port meeting a claimed node address gets no rule from there on, until the holder lets go', (t) => {
  const store = storeOf(...claimA);
  const e = engineFor(store);
  t.is(portOf(e, 'default/a:http').rules.failure, null, 'the first sync is over: a holds the address');
  put(store, ...claimB);
  const b = () => portOf(e, 'default/b:http');
  t.deepEqual(b().portal.externalIPs, []);
  t.is(b().portal.nodePort, 0, 'openPortal returned before the NodePort');
  t.regex(portalFailureText(b().rules) ?? '', CONFLICT);
  // Its ClusterIP's rules went in first; its NodePort has none, so outside traffic to it is not proxied.
  t.is(reached(e, '10.244.1.4', 40000, '10.96.0.2'), '10.244.2.2:8080');
  t.is(e.send(tcp('192.0.2.9', 40000, NODE_A, 30080), EXTERNAL, 1).endpoint, null);
  t.true(
    e
      .send(tcp('10.244.1.4', 40001, '10.96.0.2', 80), POD, 1)
      .steps.some((s) => s.decision.includes('openPortal failed')),
  );
  // a goes: the same sync's ensurePortals claims the address for b and appends its missing rules.
  remove(store, ...claimA);
  t.deepEqual(b().portal.externalIPs, [NODE_A]);
  t.is(b().portal.nodePort, 30080);
  t.is(b().rules.failure, null);
  t.is(e.send(tcp('192.0.2.9', 40002, NODE_A, 30080), EXTERNAL, 2).endpoint, '10.244.2.2:8080');
  t.deepEqual(containerRules(e).at(-1), '172.18.0.2/32 default/b:http', 'appended after the rules already there');
});

test('claimNodePort: a port renamed in place meets its own old claim, and gets its rules at the end of the same sync', (t) => {
  const store = storeOf(...claimA);
  const e = engineFor(store);
  t.deepEqual(portOf(e, 'default/a:http').portal.externalIPs, [NODE_A]);
  const renamed = service('default', 'a', {
    clusterIP: '10.96.0.1',
    externalIPs: [NODE_A],
    ports: [{ name: 'web', port: 80 }],
  });
  put(store, renamed, slice('default', 'a', [{ ip: '10.244.2.1', node: 'node-b' }], [{ name: 'web', port: 8080 }]));
  const web = portOf(e, 'default/a:web');
  t.deepEqual(web.portal.externalIPs, [NODE_A]);
  t.is(web.rules.failure, null);
  t.is(reached(e, '192.0.2.9', 40000, NODE_A, EXTERNAL), '10.244.2.1:8080');
});

test('claimNodePort in the middle of the addresses: the ones before it get rules, the rest and the NodePort wait', (t) => {
  const store = storeOf(...claimA);
  const e = engineFor(store);
  t.is(portOf(e, 'default/a:http').rules.failure, null);
  const b = withEndpoint('b', '10.244.2.2', {
    type: 'NodePort',
    clusterIP: '10.96.0.2',
    externalIPs: ['198.51.100.1', NODE_A, '198.51.100.2'],
    ports: [{ name: 'http', port: 80, nodePort: 30080 }],
  });
  put(store, ...b);
  const bPort = () => portOf(e, 'default/b:http');
  t.deepEqual(bPort().portal.externalIPs, ['198.51.100.1']);
  t.is(reached(e, '192.0.2.9', 40000, '198.51.100.1', EXTERNAL), '10.244.2.2:8080');
  t.is(
    reached(e, '192.0.2.9', 40001, '198.51.100.2', EXTERNAL),
    'ACCEPT',
    'no rule for the address after the conflict',
  );
  remove(store, ...claimA);
  t.deepEqual(bPort().portal.externalIPs, ['198.51.100.1', NODE_A, '198.51.100.2']);
  t.is(bPort().portal.nodePort, 30080);
  t.is(reached(e, '192.0.2.9', 40002, '198.51.100.2', EXTERNAL), '10.244.2.2:8080');
  // The rules added now stand after every rule already in the chain, the ClusterIP's and the first address's.
  const twice = (ip: string) => [`${ip}/32`, `${ip}/32`];
  t.deepEqual(
    containerRules(e).map((r) => r.split(' ')[0]),
    ['10.96.0.2/32', ...twice('198.51.100.1'), ...twice(NODE_A), ...twice('198.51.100.2')],
  );
});

test("claimNodePort follows the node: an address becoming the node's is claimed by the port opened first; the other keeps its rules", (t) => {
  const SHARED = '172.18.0.9';
  const a = withEndpoint('a', '10.244.2.1', { clusterIP: '10.96.0.1', externalIPs: [SHARED] });
  const b = withEndpoint('b', '10.244.2.2', { clusterIP: '10.96.0.2', externalIPs: [SHARED] });
  const store = storeOf(...a, ...b);
  const e = engineFor(store);
  t.is(portOf(e, 'default/b:http').rules.failure, null, 'not a node address yet: nothing to claim');
  put(store, node('node-a', [NODE_A, SHARED], { podCIDRs: ['10.244.1.0/24'] }));
  const text = portalFailureText(portOf(e, 'default/b:http').rules) ?? '';
  t.regex(text, /Port conflict detected on port 172\.18\.0\.9:80\/TCP, held by default\/a:http/);
  t.regex(text, /added before the claim was made, and stay/);
  t.deepEqual(portOf(e, 'default/b:http').portal.externalIPs, [SHARED]);
  // The address leaves the node: nothing is claimed on it any more.
  put(store, node('node-a', [NODE_A], { podCIDRs: ['10.244.1.0/24'] }));
  t.is(portOf(e, 'default/b:http').rules.failure, null);
});

test('a NodePort is claimed too: a port renamed in place gets its NodePort rules after the rest of the sync', (t) => {
  // Renamed, `a` conflicts with its own old name on the NodePort during the merge; the old one closes, and the
  // sync's ensurePortals adds the NodePort rules last, after z's, merged in the same sync.
  const np = (name: string, portName: string, clusterIP: string, nodePort: number) => [
    service('default', name, { type: 'NodePort', clusterIP, ports: [{ name: portName, port: 80, nodePort }] }),
    slice('default', name, [{ ip: '10.244.2.1', node: 'node-b' }], [{ name: portName, port: 8080 }]),
  ];
  const store = storeOf(...np('a', 'http', '10.96.0.1', 30080));
  const e = engineFor(store);
  t.is(portOf(e, 'default/a:http').portal.nodePort, 30080);
  put(store, ...np('a', 'web', '10.96.0.1', 30080), ...np('z', 'http', '10.96.0.26', 30090));
  const nodePortRules = e
    .rules('IPv4')
    .split('\n')
    .filter((l) => l.startsWith('-A KUBE-NODEPORT-CONTAINER'))
    .map((l) => /--dport (\d+)/.exec(l)![1]);
  t.deepEqual(nodePortRules, ['30090', '30080']);
  t.is(portOf(e, 'default/a:web').rules.failure, null);
});
