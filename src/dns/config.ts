/**
 * The `dns:` section of ClusterConfig: the knobs of CoreDNS's kubernetes plugin (and the plugins kubeadm's Corefile
 * puts around it) that kube-netsim emulates. The defaults are kubeadm's Corefile:
 *
 *   .:53 {
 *       kubernetes cluster.local in-addr.arpa ip6.arpa {
 *          pods insecure
 *          fallthrough in-addr.arpa ip6.arpa
 *          ttl 30
 *       }
 *       forward . /etc/resolv.conf
 *       cache 30 { disable success cluster.local; disable denial cluster.local }
 *       loadbalance
 *   }
 *
 * with one difference: kube-netsim has no /etc/resolv.conf to forward to, so `upstream` is empty unless configured,
 * and names that would be forwarded are answered REFUSED (see src/dns/resolve/resolve.ts).
 */
import { parseIP } from '../cni/ip.js';

/** How `<a-b-c-d>.<ns>.pod.<zone>` names are answered (CoreDNS `pods`; dns.md §5). */
export type PodsMode = 'disabled' | 'insecure' | 'verified';

export interface DnsOptions {
  /** TTL of every answer record (CoreDNS `ttl`, 0..3600). SOA MINIMUM equals it; the SOA's own TTL is min(ttl, 300). */
  ttl: number;
  /** Pod A/AAAA records: none, any IP in an existing namespace, or only IPs of pods in that namespace. */
  pods: PodsMode;
  /** Endpoint names use the pod name (targetRef) when the endpoint has no hostname (CoreDNS `endpoint_pod_names`). */
  endpointPodNames: boolean;
  /** NXDOMAIN for ClusterIP services without ready endpoints (CoreDNS `ignore empty_service`). */
  ignoreEmptyService: boolean;
  /** Do not watch EndpointSlices: headless services and endpoint names are NXDOMAIN (CoreDNS `noendpoints`). */
  noEndpoints: boolean;
  /**
   * Zones whose NXDOMAIN answers are passed on to the upstream resolvers instead (CoreDNS `fallthrough ZONES`).
   * Lower case, without the trailing dot. Has no effect while `upstream` is empty: there is nothing to pass to.
   */
  fallthrough: string[];
  /** Upstream resolvers, `ip:port` or `[ipv6]:port`, for names outside the cluster zones (CoreDNS `forward .`). */
  upstream: string[];
  /**
   * Seconds an upstream (forwarded) answer, or an answer from the reverse zones, may be cached; 0 turns the cache off.
   * Answers from the cluster zone are never cached, as kubeadm's `cache 30 { disable success <domain>; disable denial
   * <domain> }` (kubernetes#128359): a new Service resolves on the very next query, its PTR once a kept denial runs out.
   */
  cache: number;
  /** Shuffle A/AAAA records in each answer (CoreDNS `loadbalance`, in kubeadm's Corefile). */
  loadbalance: boolean;
}

export const DNS_DEFAULTS: Readonly<DnsOptions> = Object.freeze({
  ttl: 30,
  pods: 'insecure',
  endpointPodNames: false,
  ignoreEmptyService: false,
  noEndpoints: false,
  fallthrough: Object.freeze(['in-addr.arpa', 'ip6.arpa']) as unknown as string[],
  upstream: Object.freeze([]) as unknown as string[],
  cache: 30,
  loadbalance: true,
});

/** One problem in the section; `path` is relative to the `dns:` mapping (the config registry prefixes it). */
export interface DnsConfigIssue {
  path: (string | number)[];
  detail: string;
}

const PODS_MODES: readonly PodsMode[] = ['disabled', 'insecure', 'verified'];
const MAX_TTL = 3600;
const MAX_CACHE = 86400;
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

type Checker = (value: unknown, path: (string | number)[], issues: DnsConfigIssue[]) => unknown;

const CHECKERS: { [K in keyof DnsOptions]: Checker } = {
  ttl: (v, path, issues) => integerIn(v, 0, MAX_TTL, path, issues),
  pods: (v, path, issues) => {
    if (typeof v === 'string' && (PODS_MODES as readonly string[]).includes(v)) return v;
    issues.push({ path, detail: `must be one of ${PODS_MODES.join(', ')}; found ${describe(v)}` });
    return undefined;
  },
  endpointPodNames: boolean,
  ignoreEmptyService: boolean,
  noEndpoints: boolean,
  fallthrough: (v, path, issues) => list(v, path, issues, zoneName),
  upstream: (v, path, issues) => list(v, path, issues, hostPort),
  cache: (v, path, issues) => integerIn(v, 0, MAX_CACHE, path, issues),
  loadbalance: boolean,
};

/**
 * Validate the raw `dns:` mapping. Missing keys take their default, unknown keys are errors, and a bad value is
 * reported and replaced by its default, so `value` is always complete and usable.
 */
export function validateDnsSection(raw: unknown): { value: DnsOptions; issues: DnsConfigIssue[] } {
  const value: DnsOptions = { ...DNS_DEFAULTS, fallthrough: [...DNS_DEFAULTS.fallthrough], upstream: [] };
  const issues: DnsConfigIssue[] = [];
  if (raw === undefined || raw === null) return { value, issues };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ path: [], detail: `must be a mapping; found ${describe(raw)}` });
    return { value, issues };
  }
  for (const [key, field] of Object.entries(raw as Record<string, unknown>)) {
    if (!Object.hasOwn(CHECKERS, key)) {
      issues.push({ path: [key], detail: `unknown key; known keys are ${Object.keys(CHECKERS).join(', ')}` });
      continue;
    }
    const name = key as keyof DnsOptions;
    const checked = CHECKERS[name](field, [key], issues);
    if (checked !== undefined) (value as unknown as Record<string, unknown>)[name] = checked;
  }
  return { value, issues };
}

function integerIn(v: unknown, min: number, max: number, path: (string | number)[], issues: DnsConfigIssue[]) {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  issues.push({ path, detail: `must be an integer from ${min} to ${max}; found ${describe(v)}` });
  return undefined;
}

function boolean(v: unknown, path: (string | number)[], issues: DnsConfigIssue[]) {
  if (typeof v === 'boolean') return v;
  issues.push({ path, detail: `must be true or false; found ${describe(v)}` });
  return undefined;
}

/** A list whose every item passes `item`; one bad item reports itself and drops the whole list to its default. */
function list(
  v: unknown,
  path: (string | number)[],
  issues: DnsConfigIssue[],
  item: (text: string) => string | undefined,
): string[] | undefined {
  if (!Array.isArray(v)) {
    issues.push({ path, detail: `must be a list; found ${describe(v)}` });
    return undefined;
  }
  const out: string[] = [];
  let ok = true;
  v.forEach((entry, i) => {
    const normalized = typeof entry === 'string' ? item(entry) : undefined;
    if (normalized === undefined) {
      ok = false;
      issues.push({ path: [...path, i], detail: `${describe(entry)} is not valid here` });
    } else if (!out.includes(normalized)) out.push(normalized);
  });
  return ok ? out : undefined;
}

/** `In-Addr.Arpa.` → `in-addr.arpa`; undefined when it is not a domain name. */
function zoneName(text: string): string | undefined {
  const name = text.toLowerCase().replace(/\.$/, '');
  if (name === '' || name.length > 253) return undefined;
  return name.split('.').every((label) => LABEL.test(label)) ? name : undefined;
}

/** `10.0.0.1:53`, `[fd00::1]:53`, or a bare address (port 53, as CoreDNS `forward` assumes). */
function hostPort(text: string): string | undefined {
  const bare = parseIP(text);
  if (bare) return bare.family === 'IPv6' ? `[${bare.text}]:53` : `${bare.text}:53`;
  const bracketed = /^\[([^\]]+)\](?::([0-9]+))?$/.exec(text);
  const split = /^([0-9.]+):([0-9]+)$/.exec(text);
  const ip = parseIP(bracketed?.[1] ?? split?.[1] ?? '');
  // IPv6 with a port must be bracketed, IPv4 must not be.
  if (!ip || (bracketed ? ip.family !== 'IPv6' : ip.family !== 'IPv4')) return undefined;
  const port = bracketed ? (bracketed[2] ?? '53') : split![2]!;
  if (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > 65535) return undefined;
  return ip.family === 'IPv6' ? `[${ip.text}]:${port}` : `${ip.text}:${port}`;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'a mapping' : String(v);
}
