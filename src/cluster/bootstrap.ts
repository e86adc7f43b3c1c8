/**
 * The objects a cluster starts with: kubeadm's built-ins (see builtins.ts) with the addresses the apiserver reserves
 * for them, and the configured nodes when the input defines none. Whatever the input defines itself is left out.
 */

import { parseCIDR } from '../cni/ip.js';
import type { Ipam } from '../cni/ipam.js';
import { applyDefaultsInPlace } from '../model/defaults.js';
import { type AnyObject, type ClusterConfigSpec, objectKey } from '../model/types.js';
import {
  builtinNamespaces,
  configuredNodes,
  coreDnsDeployment,
  kubeDnsService,
  kubernetesService,
} from './builtins.js';

/** The n-th address of each service CIDR, in the cluster's family order. */
function nthServiceIPs(spec: ClusterConfigSpec, n: bigint): string[] {
  return spec.serviceCIDRs.map((text) => parseCIDR(text)!.nth(n));
}

export function bootstrapObjects(spec: ClusterConfigSpec, _ipam: Ipam, input: readonly AnyObject[]): AnyObject[] {
  const defined = new Set(input.map((o) => `${o.kind}/${objectKey(o)}`));
  const wanted: AnyObject[] = [
    ...builtinNamespaces().map(applyDefaultsInPlace),
    kubernetesService(nthServiceIPs(spec, 1n)),
    kubeDnsService(nthServiceIPs(spec, 10n)),
    // Stored as the API server stores what kubeadm applies: with its defaults (a Pod's own fields not in the template).
    applyDefaultsInPlace(coreDnsDeployment()),
  ];
  if (!input.some((o) => o.kind === 'Node')) wanted.unshift(...configuredNodes(spec));
  return wanted.filter((o) => !defined.has(`${o.kind}/${objectKey(o)}`));
}
