/**
 * The shared proxy conformance suite against the userspace engine. Each skip is a feature the pre-1.26 userspace
 * proxier did not have, or a case whose expectation assumes a kernel data plane; per-mode expectations inside cases
 * cover the source-NAT difference.
 */
import { createUserspaceEngine } from '../../../src/proxy/userspace/engine.js';
import { runProxyConformance } from '../conformance.js';

runProxyConformance({
  name: 'userspace',
  newEngine: (init) => createUserspaceEngine(init),
  config: { mode: 'userspace' },
  skip: [
    {
      reason:
        'the proxy opens its own connection to the endpoint, so the endpoint sees the node (ip and an ephemeral port), ' +
        'never the pod; the case asserts the pod source unconditionally (its snat check already has a userspace value)',
      tests: ['ClusterIP > pod to ClusterIP is DNATed to an endpoint'],
    },
    {
      reason:
        'NewProxier accepted --nodeport-addresses but never used it: the NodePort socket is bound on every address',
      tests: ['NodePort > nodePortAddresses limits the addresses that answer'],
    },
    {
      reason: 'the userspace proxier never implemented loadBalancerSourceRanges',
      tests: ['LoadBalancer > client outside loadBalancerSourceRanges is dropped'],
    },
    {
      reason: 'the userspace proxier never implemented traffic policies: every ready endpoint serves every portal',
      tests: [
        'eTP Local > node with a local endpoint: local endpoint only, client IP kept',
        'eTP Local > node without a local endpoint drops external traffic',
        'eTP Local > pod traffic to an external address short-circuits to all endpoints without SNAT',
        'iTP Local > ClusterIP traffic goes to local endpoints only',
        'iTP Local > no local endpoints: ClusterIP traffic is dropped, NodePort still served',
      ],
    },
    {
      reason:
        'the userspace proxier read the v1 Endpoints API (ready addresses only): serving-terminating endpoints ' +
        '(KEP-1669) were never used',
      tests: ['terminating > serving terminating endpoints are used when none is ready'],
    },
    {
      reason:
        'userspace mode did not flush conntrack on endpoint changes: the client leg (REDIRECT to the proxy port) stays ' +
        'established and the proxy opens a new backend connection after its 250 ms UDP idle timeout',
      tests: ['conntrack > UDP flows to a removed endpoint are flushed'],
    },
    {
      reason:
        "the userspace proxier ran in its node IP's family only (IPv4 here) and proxied spec.clusterIP only; " +
        'dual-stack Services were never supported',
      tests: [
        'dual-stack > IPv6 ClusterIP is DNATed to an IPv6 endpoint written in brackets',
        'dual-stack > IPv6 masquerade uses the node IPv6 address',
      ],
    },
    {
      reason: 'the userspace proxier was removed (1.26) before ipMode existed (1.29): every ingress IP gets a portal',
      tests: ['LoadBalancer > ingress with ipMode Proxy gets no rule'],
    },
  ],
});
