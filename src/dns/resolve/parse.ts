/**
 * The name grammar of the kubernetes zone (CoreDNS plugin/kubernetes/parse.go). With the zone removed, a name is
 * read right to left:
 *
 *   (nothing) | svc | pod                       the apex and the two schema nodes: NODATA, never NXDOMAIN
 *   <ns>.svc | <ns>.pod                         a namespace: NODATA when it exists, else NXDOMAIN
 *   <service>.<ns>.svc                          a Service
 *   <a-b-c-d>.<ns>.pod                          a pod, by dashed IP (pods insecure | verified)
 *   <endpoint>.<service>.<ns>.svc               one endpoint: its hostname, dashed IP, or pod name
 *   <_port>.<_proto>.<service>.<ns>.svc         SRV-shaped; the underscores are optional (`http.tcp.web…` matches)
 *   3 or more labels left of <service>          too long: NXDOMAIN
 *   a last label other than svc or pod          not a Kubernetes name: NXDOMAIN (so is dns-version for non-TXT)
 *
 * `*` is an ordinary label: CoreDNS 1.9.0 removed wildcards (dns.md §10.3). For pods, labels left of <a-b-c-d>
 * parse as endpoint or port/protocol and are then ignored, because CoreDNS's findPods reads only the service
 * position (so `x.10-0-0-1.ns.pod.<zone>` answers like `10-0-0-1.ns.pod.<zone>`).
 */

export type ParsedName =
  | { kind: 'invalid'; reason: string }
  /** The apex, `svc` or `pod`. */
  | { kind: 'schema' }
  | {
      kind: 'name';
      podOrSvc: 'svc' | 'pod';
      namespace: string;
      /** '' for a namespace-only name. For pods: the dashed IP. */
      service: string;
      /** '' unless one label is left of the service. */
      endpoint: string;
      /** '' unless two labels are left of the service; underscores stripped. */
      port: string;
      protocol: string;
    };

/** Parse the labels below the zone (lower case, left to right as in the name). */
export function parseName(labels: readonly string[]): ParsedName {
  if (labels.length === 0) return { kind: 'schema' };
  let last = labels.length - 1;
  const podOrSvc = labels[last--]!;
  if (podOrSvc !== 'svc' && podOrSvc !== 'pod') {
    return { kind: 'invalid', reason: `last label "${podOrSvc}" is neither svc nor pod` };
  }
  const parsed = { kind: 'name', podOrSvc, namespace: '', service: '', endpoint: '', port: '', protocol: '' } as const;
  if (last < 0) return { kind: 'schema' };
  const namespace = labels[last--]!;
  if (last < 0) return { ...parsed, namespace };
  const service = labels[last--]!;
  if (last < 0) return { ...parsed, namespace, service };
  // What is left is ambiguous only by count: one label is an endpoint, two are port and protocol.
  if (last === 0) return { ...parsed, namespace, service, endpoint: labels[0]! };
  if (last === 1) {
    return { ...parsed, namespace, service, port: stripUnderscore(labels[0]!), protocol: stripUnderscore(labels[1]!) };
  }
  return { kind: 'invalid', reason: `${last + 1} labels left of the service: too long` };
}

function stripUnderscore(label: string): string {
  return label.startsWith('_') ? label.slice(1) : label;
}
