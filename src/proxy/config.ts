/**
 * The `proxy:` section of ClusterConfig: kube-proxy's flags as far as the engines read them, validated. Unknown keys
 * are errors, like the rest of the ClusterConfig.
 */
import { parseCIDR } from '../cni/ip.js';
import { type ConntrackTimeouts, DEFAULT_CONNTRACK_TIMEOUTS } from './conntrack.js';
import type { ProxyConfigInput } from './engine.js';

export const PROXY_MODES = ['iptables', 'ipvs', 'userspace'] as const;
/** The IPVS schedulers kube-proxy accepts (`--ipvs-scheduler`), as the kernel names them. */
export const IPVS_SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh'] as const;

export interface SectionIssue {
  path: (string | number)[];
  detail: string;
}

const KEYS = [
  'mode',
  'scheduler',
  'clusterCIDR',
  'masqueradeAll',
  'nodePortAddresses',
  'localhostNodePorts',
  'conntrack',
];

export function validateProxySection(raw: unknown): { value: ProxyConfigInput; issues: SectionIssue[] } {
  const issues: SectionIssue[] = [];
  const value: { -readonly [K in keyof ProxyConfigInput]: ProxyConfigInput[K] } = {};
  if (raw === undefined || raw === null) return { value, issues };
  if (typeof raw !== 'object' || Array.isArray(raw))
    return { value, issues: [{ path: [], detail: 'must be a mapping' }] };
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KEYS.includes(key)) issues.push({ path: [key], detail: `unknown field, known fields: ${KEYS.join(', ')}` });
  }
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    const v = input[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
    issues.push({
      path: [key],
      detail: `Unsupported value: ${JSON.stringify(v)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
    });
    return undefined;
  };
  const bool = (key: string): boolean | undefined => {
    const v = input[key];
    if (v === undefined || typeof v === 'boolean') return v;
    issues.push({ path: [key], detail: `must be true or false, got ${JSON.stringify(v)}` });
    return undefined;
  };
  const mode = oneOf('mode', PROXY_MODES);
  if (mode) value.mode = mode;
  const scheduler = oneOf('scheduler', IPVS_SCHEDULERS);
  if (scheduler) value.scheduler = scheduler;
  const cidrs = input.clusterCIDR;
  if (cidrs !== undefined) {
    const list = typeof cidrs === 'string' ? cidrs.split(',').filter(Boolean) : Array.isArray(cidrs) ? cidrs : null;
    if (!list || list.some((c) => typeof c !== 'string' || !parseCIDR(c.trim()))) {
      issues.push({
        path: ['clusterCIDR'],
        detail: `must be CIDRs (a list, or comma-separated as --cluster-cidr), got ${JSON.stringify(cidrs)}`,
      });
    } else value.clusterCIDR = (list as string[]).map((c) => c.trim()).join(',');
  }
  const masqueradeAll = bool('masqueradeAll');
  if (masqueradeAll !== undefined) value.masqueradeAll = masqueradeAll;
  const localhost = bool('localhostNodePorts');
  if (localhost !== undefined) value.localhostNodePorts = localhost;
  const npa = input.nodePortAddresses;
  if (npa !== undefined) {
    if (!Array.isArray(npa))
      issues.push({ path: ['nodePortAddresses'], detail: `must be a list, got ${JSON.stringify(npa)}` });
    else {
      npa.forEach((c, i) => {
        if (c !== 'primary' && (typeof c !== 'string' || !parseCIDR(c))) {
          issues.push({
            path: ['nodePortAddresses', i],
            detail: `must be a CIDR or "primary", got ${JSON.stringify(c)}`,
          });
        }
      });
      // kube-proxy's validation: `primary` stands alone (server.go expands it only as the list's one entry).
      const primary = npa.indexOf('primary');
      if (primary >= 0 && npa.length > 1)
        issues.push({ path: ['nodePortAddresses', primary], detail: `can't use both "primary" and CIDRs` });
      value.nodePortAddresses = npa as string[];
    }
  }
  const ct = input.conntrack;
  if (ct !== undefined) {
    if (typeof ct !== 'object' || ct === null || Array.isArray(ct))
      issues.push({ path: ['conntrack'], detail: 'must be a mapping of timeouts in seconds' });
    else {
      const section = conntrackSection(ct as Record<string, unknown>, issues);
      value.conntrack = section.timeouts;
      if (section.tcpBeLiberal !== undefined) value.tcpBeLiberal = section.tcpBeLiberal;
    }
  }
  return { value, issues };
}

/**
 * KubeProxyConfiguration's `conntrack` fields, as a kube-proxy ConfigMap spells them (Go durations such as `24h0m0s`,
 * cut to whole seconds as kube-proxy cuts them), and the timeouts they set. Null is kube-proxy's default (24h and 1h
 * for the TCP two, which DEFAULT_CONNTRACK_TIMEOUTS already has; 0 for UDP); 0 leaves the sysctl alone, so the
 * kernel's value stands: 432000 s and 60 s for the TCP two, the defaults already for UDP.
 */
const KUBE_PROXY_TIMEOUTS: Readonly<Record<string, { key: keyof ConntrackTimeouts; kernel: number }>> = {
  tcpEstablishedTimeout: { key: 'tcpEstablished', kernel: 432000 },
  tcpCloseWaitTimeout: { key: 'tcpCloseWait', kernel: 60 },
  udpTimeout: { key: 'udp', kernel: DEFAULT_CONNTRACK_TIMEOUTS.udp },
  udpStreamTimeout: { key: 'udpStream', kernel: DEFAULT_CONNTRACK_TIMEOUTS.udpStream },
};
/**
 * KubeProxyConfiguration fields about the table, not timeouts: the table's size (taken; nothing here depends on it)
 * and `tcpBeLiberal` (nf_conntrack_tcp_be_liberal, which decides whether iptables mode drops INVALID packets).
 */
const KUBE_PROXY_TABLE_FIELDS = ['maxPerCore', 'min', 'tcpBeLiberal'];

/** The `conntrack:` mapping: the timeouts it sets, and whether it sets nf_conntrack_tcp_be_liberal. */
function conntrackSection(
  ct: Record<string, unknown>,
  issues: SectionIssue[],
): { timeouts: Partial<ConntrackTimeouts>; tcpBeLiberal?: boolean } {
  const timeouts: Partial<ConntrackTimeouts> = {};
  let tcpBeLiberal: boolean | undefined;
  for (const [k, v] of Object.entries(ct)) {
    const path = ['conntrack', k];
    if (KUBE_PROXY_TABLE_FIELDS.includes(k)) {
      const ok =
        v === null || (k === 'tcpBeLiberal' ? typeof v === 'boolean' : Number.isInteger(v) && (v as number) >= 0);
      if (!ok) issues.push({ path, detail: `must be ${k === 'tcpBeLiberal' ? 'true or false' : 'an integer ≥ 0'}` });
      else if (k === 'tcpBeLiberal' && v !== null) tcpBeLiberal = v as boolean;
      continue;
    }
    const field = KUBE_PROXY_TIMEOUTS[k];
    if (field !== undefined) {
      if (v === null) continue;
      const seconds = Math.trunc(typeof v === 'number' ? v : typeof v === 'string' ? goDurationSeconds(v) : NaN);
      if (!Number.isFinite(seconds) || seconds < 0)
        issues.push({ path, detail: `must be a duration (24h0m0s, 30s) or seconds, got ${JSON.stringify(v)}` });
      else timeouts[field.key] = seconds > 0 ? seconds : field.kernel;
    } else if (!(k in DEFAULT_CONNTRACK_TIMEOUTS)) {
      const known = [...Object.keys(DEFAULT_CONNTRACK_TIMEOUTS), ...Object.keys(KUBE_PROXY_TIMEOUTS)];
      issues.push({ path, detail: `unknown timeout, known: ${known.join(', ')}` });
    } else if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      issues.push({ path, detail: `must be a positive number of seconds, got ${JSON.stringify(v)}` });
    } else timeouts[k as keyof ConntrackTimeouts] = v;
  }
  return tcpBeLiberal === undefined ? { timeouts } : { timeouts, tcpBeLiberal };
}

/** A Go duration (`time.ParseDuration`: `1h30m`, `24h0m0s`, `1.5s`, `300ms`, `0`) in seconds; NaN if it is not one. */
export function goDurationSeconds(text: string): number {
  if (text === '0') return 0;
  const UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let at = 0;
  let total = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const m = part.exec(text);
    if (!m) return Number.NaN;
    total += Number(m[1]) * UNITS[m[2]!]!;
    at = part.lastIndex;
  }
  return text.length > 0 ? total : Number.NaN;
}
