/**
 * The `kubernetes` Service has no selector: kube-apiserver's endpoint reconciler keeps its endpoints itself, each
 * control-plane node's advertise address (its first InternalIP of the Service's family) on 6443, and writes them
 * twice (endpointsadapter.go): as v1 Endpoints labelled skip-mirror, which `kubectl get ep` in `default` lists on
 * every cluster (KEP-4974 leaves this object as it is), and as the `kubernetes` EndpointSlice with only the
 * service-name label (endpointSliceFromEndpoints).
 */
import type { Store } from '../model/store.js';
import { type EndpointSlice, type Endpoints, LABEL_SKIP_MIRROR } from '../model/types.js';

const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** The API server's secure port, as both objects name it. */
const HTTPS_PORT = { name: 'https', protocol: 'TCP', port: 6443 } as const;

export function syncKubernetesEndpoints(store: Store): void {
  const svc = store.get('Service', 'kubernetes', 'default');
  if (!svc || svc.spec.selector) return;
  const family = svc.spec.ipFamilies?.[0] ?? 'IPv4';
  const addresses: string[] = [];
  for (const node of store.each('Node')) {
    if (!node.metadata.labels || !(CONTROL_PLANE_LABEL in node.metadata.labels)) continue;
    const advertised = node.status.addresses.find(
      (a) => a.type === 'InternalIP' && (a.address.includes(':') ? 'IPv6' : 'IPv4') === family,
    );
    if (advertised) addresses.push(advertised.address);
  }
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes' },
    },
    addressType: family,
    endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ ...HTTPS_PORT }],
  };
  putIfChanged(store, slice, store.get('EndpointSlice', 'kubernetes', 'default'), (o) => o.endpoints);
  const endpoints: Endpoints = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', namespace: 'default', labels: { [LABEL_SKIP_MIRROR]: 'true' } },
    ...(addresses.length > 0
      ? { subsets: [{ addresses: addresses.map((ip) => ({ ip })), ports: [{ ...HTTPS_PORT }] }] }
      : {}),
  };
  putIfChanged(store, endpoints, store.get('Endpoints', 'kubernetes', 'default'), (o) => o.subsets);
}

/** Write `obj` unless the stored one (`old`) has the same addresses already (`addressesOf`). */
function putIfChanged<T extends EndpointSlice | Endpoints>(
  store: Store,
  obj: T,
  old: T | undefined,
  addressesOf: (o: T) => unknown,
): void {
  if (!old || JSON.stringify(addressesOf(old)) !== JSON.stringify(addressesOf(obj))) store.put(obj);
}
