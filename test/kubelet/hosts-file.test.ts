/** The /etc/hosts kubelet manages for a pod (managedHostsFileContent). */
import test from 'ava';
import { podHostname, podHostsLines } from '../../src/kubelet/hosts-file.js';
import type { Pod } from '../../src/model/types.js';

function pod(spec: Partial<Pod['spec']>, name = 'web-0'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'shop' },
    spec: { containers: [{ name: 'c', image: 'nginx' }], dnsPolicy: 'ClusterFirst', ...spec },
    status: { phase: 'Running', podIP: '10.244.1.5', podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00:10:244:1::5' }] },
  };
}

const own = (p: Pod) => podHostsLines(p, 'cluster.local').slice(6);

test('localhost lines first, then each pod IP with the hostname', (t) => {
  const lines = podHostsLines(pod({}), 'cluster.local');
  t.deepEqual(lines[0], { address: '127.0.0.1', names: ['localhost'] });
  t.deepEqual(lines[1], { address: '::1', names: ['localhost', 'ip6-localhost', 'ip6-loopback'] });
  t.deepEqual(own(pod({})), [
    { address: '10.244.1.5', names: ['web-0'] },
    { address: 'fd00:10:244:1::5', names: ['web-0'] },
  ]);
});

test('with a subdomain the fully qualified name comes first; hostAliases follow', (t) => {
  const p = pod({
    hostname: 'db',
    subdomain: 'db-hl',
    hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar'] }],
  });
  t.deepEqual(own(p), [
    { address: '10.244.1.5', names: ['db.db-hl.shop.svc.cluster.local', 'db'] },
    { address: 'fd00:10:244:1::5', names: ['db.db-hl.shop.svc.cluster.local', 'db'] },
    { address: '10.1.2.3', names: ['foo.local', 'bar'] },
  ]);
});

test('a hostNetwork pod gets no pod-IP lines (it sees the node file); the hostname is the pod name cut to 63', (t) => {
  t.deepEqual(own(pod({ hostNetwork: true })), []);
  // The node's file, as Docker writes it into a kind node: ff00::/ff02:: lines, then the node named after each address.
  const node = { name: 'kind-worker', addresses: ['172.18.0.3', 'fc00:f853:ccd:e793::3'] };
  const lines = podHostsLines(
    pod({ hostNetwork: true, hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo'] }] }),
    'cluster.local',
    node,
  );
  t.deepEqual(
    lines.slice(3, 6).map((l) => l.address),
    ['ff00::0', 'ff02::1', 'ff02::2'],
  );
  t.deepEqual(lines.slice(6), [
    { address: '172.18.0.3', names: ['kind-worker'] },
    { address: 'fc00:f853:ccd:e793::3', names: ['kind-worker'] },
    { address: '10.1.2.3', names: ['foo'] },
  ]);
  t.is(podHostname(pod({}, `${'a'.repeat(62)}-b`)), 'a'.repeat(62));
});
