/**
 * The EndpointSlice controller watches the slices it manages: a slice deleted or edited by hand is put back, and a
 * slice carrying its labels that the Service does not own is deleted (endpointslice_controller.go
 * onEndpointSlice{Add,Update,Delete}; reconciler_test.go TestReconcileEndpointSlicesRecreation).
 */
import test from 'ava';
import { Cluster } from '../../src/cluster/cluster.js';
import { ENDPOINTSLICE_CONTROLLER_NAME, type EndpointSlice } from '../../src/model/types.js';

function cluster(): Cluster {
  const pod = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }] },
  });
  return Cluster.create([
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } },
    pod('web-1'),
    pod('web-2'),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] },
    },
  ]);
}

const managed = (c: Cluster): EndpointSlice[] =>
  c
    .list('EndpointSlice', 'default')
    .filter((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === ENDPOINTSLICE_CONTROLLER_NAME);

const addresses = (c: Cluster): string[] =>
  managed(c)
    .flatMap((s) => s.endpoints.flatMap((e) => e.addresses))
    .sort();

test('a managed slice deleted by hand is made again', (t) => {
  const c = cluster();
  const [slice] = managed(c);
  const before = addresses(c);
  t.is(before.length, 2);
  c.delete([{ kind: 'EndpointSlice', name: slice!.metadata.name, namespace: 'default' }]);
  t.deepEqual(addresses(c), before);
});

test('a managed slice edited by hand gets its endpoints back', (t) => {
  const c = cluster();
  const [slice] = managed(c);
  const before = addresses(c);
  c.apply([{ ...slice!, endpoints: slice!.endpoints.slice(0, 1) }]);
  t.deepEqual(addresses(c), before);
});

test('a slice with the controller’s labels that the Service does not own is deleted', (t) => {
  const c = cluster();
  const [slice] = managed(c);
  const { ownerReferences: _dropped, ...metadata } = slice!.metadata;
  c.apply([
    {
      ...slice!,
      metadata: { ...metadata, name: 'web-fake' },
      endpoints: [{ addresses: ['192.0.2.9'], conditions: { ready: true } }],
    },
  ]);
  t.is(c.get('EndpointSlice', 'web-fake', 'default'), undefined);
  t.false(addresses(c).includes('192.0.2.9'));
});
