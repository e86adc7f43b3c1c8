/**
 * What a pod's stub resolver sends for one name: every candidate the search list and ndots produce, in order, each
 * reply, and the end result, for glibc or musl. The transport is a parameter, so the walk is pure and runs without
 * sockets: the CLI passes the in-process cluster resolver, tests a table of answers.
 *
 * Not simulated: retries and timeouts (a `TIMEOUT` reply stands for "nothing after every attempt"), server rotation,
 * TCP fallback, and the address sorting getaddrinfo applies to the result.
 */
import { isIP } from 'node:net';
import { InvalidArgumentError } from '../../errors.js';
import { stubSettings } from './stub-config.js';
import type { Flavor, LookupType, QueryFn, ResolvConf, Walk, WalkOutcome } from './types.js';
import { walkGlibc } from './walk-glibc.js';
import { walkMusl } from './walk-musl.js';
import { QueryRecorder } from './walk-recorder.js';

/** One /etc/hosts entry. kubelet's managed file has localhost, the pod's own name, and spec.hostAliases. */
export interface HostsEntry {
  address: string;
  names: string[];
}

export interface ResolveFromPodOptions {
  /** The pod's resolv.conf (podResolvConf's result fits). */
  resolvConf: ResolvConf;
  /** A query type, or `ADDR` for getaddrinfo(AF_UNSPEC): A and AAAA per candidate. */
  type: LookupType;
  flavor: Flavor;
  query: QueryFn;
  /**
   * The pod's /etc/hosts. getaddrinfo in both libcs reads it before DNS (glibc through nsswitch `files dns`), so a
   * match ends the lookup with no query. Only consulted for ADDR, A and AAAA.
   */
  hosts?: readonly HostsEntry[];
}

const ADDRESS_TYPES: ReadonlySet<LookupType> = new Set(['ADDR', 'A', 'AAAA']);

/** getaddrinfo answers an IP literal itself: no DNS. Returns null when `name` is not one the type can take. */
function literal(name: string, type: LookupType): WalkOutcome | null {
  const family = isIP(name);
  if (family === 0 || !ADDRESS_TYPES.has(type)) return null;
  if ((type === 'A' && family !== 4) || (type === 'AAAA' && family !== 6)) return null;
  const rrType = family === 4 ? 'A' : 'AAAA';
  return { ok: true, status: 'ok', finalName: name, answers: [{ name, type: rrType, data: name }] };
}

/**
 * A match in the pod's /etc/hosts, for the address types. The name is compared as given, final dot included (so
 * `web-0.` is not the file's `web-0`): glibc's files backend ignores case (`__strcasecmp`), musl's `name_from_hosts`
 * does not (`strstr`).
 */
function fromHosts(name: string, type: LookupType, hosts: readonly HostsEntry[], flavor: Flavor): WalkOutcome | null {
  if (!ADDRESS_TYPES.has(type)) return null;
  const same = flavor === 'glibc' ? (n: string) => n.toLowerCase() === name.toLowerCase() : (n: string) => n === name;
  const answers = hosts
    .filter((entry) => entry.names.some(same))
    .map((entry) => ({ name, type: entry.address.includes(':') ? 'AAAA' : 'A', data: entry.address }))
    .filter((r) => type === 'ADDR' || r.type === type);
  if (answers.length === 0) return null;
  return { ok: true, status: 'ok', finalName: name, answers };
}

/** Simulate the lookup of `name` by the pod's stub resolver. Throws E_INVALID_ARGUMENT for an empty name. */
export async function resolveFromPod(name: string, options: ResolveFromPodOptions): Promise<Walk> {
  if (name === '') throw new InvalidArgumentError('resolve: the name is empty');
  const { resolvConf, type, flavor } = options;
  const settings = stubSettings(resolvConf, flavor);
  const rec = new QueryRecorder(options.query);
  const base = { name, type, flavor, ndots: settings.ndots, searches: settings.searches };

  const shortcut = literal(name, type) ?? fromHosts(name, type, options.hosts ?? [], flavor);
  if (shortcut !== null) {
    const why = isIP(name) ? 'an IP address literal' : 'found in /etc/hosts';
    return { ...base, steps: [], result: shortcut, notes: [`${name} is ${why}: getaddrinfo sends no DNS query`] };
  }

  const result =
    flavor === 'glibc' ? await walkGlibc(name, type, settings, rec) : await walkMusl(name, type, settings, rec);
  return { ...base, steps: rec.steps, result, notes: [...settings.notes, ...rec.notes] };
}
