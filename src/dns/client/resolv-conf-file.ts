/**
 * resolv.conf as text: reading a node's file the way kubelet reads it, writing a pod's file the way the container
 * runtime writes it, and the file our emulated nodes have.
 */
import ipaddr from 'ipaddr.js';
import { InvalidArgumentError } from '../../errors.js';
import type { ResolvConf, ResolvOption } from './types.js';

/** `ndots:5` → `{ name: 'ndots', value: '5' }`. Splits at the first colon, as kubelet's option merge does. */
export function parseOption(text: string): ResolvOption {
  const colon = text.indexOf(':');
  if (colon === -1) return { name: text };
  const value = text.slice(colon + 1);
  // kubelet writes an option with an empty value as the bare name, so the two are the same option.
  return value === '' ? { name: text.slice(0, colon) } : { name: text.slice(0, colon), value };
}

/** `{ name: 'ndots', value: '5' }` → `ndots:5`. */
export function formatOption(option: ResolvOption): string {
  return option.value === undefined || option.value === '' ? option.name : `${option.name}:${option.value}`;
}

/**
 * Parse a node's resolv.conf with kubelet's rules (pkg/kubelet/network/dns parseResolvConf), which are not glibc's:
 * - only `nameserver`, `search` and `options` lines count; `domain`, `sortlist` and `;` comments are ignored;
 * - a line whose first non-blank character is `#` is a comment (a `#` later in a line is not);
 * - nameserver lines accumulate (the limit of 3 is applied later, per pod);
 * - the last `search` line wins; a trailing dot is removed from each domain so `example.com.` and `example.com` are
 *   de-duplicated, except for a lone `.` (the root), which is kept (kubernetes#109441);
 * - the last `options` line wins (they are not merged).
 * A `nameserver` line without an address makes kubelet fail the pod's DNS setup; here it throws E_INVALID_ARGUMENT.
 */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers: string[] = [];
  let searches: string[] = [];
  let options: ResolvOption[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#')) return;
    const fields = line.split(/\s+/).filter((f) => f !== '');
    const [keyword, ...rest] = fields;
    if (keyword === 'nameserver') {
      const address = rest[0];
      if (address === undefined) {
        throw new InvalidArgumentError(`resolv.conf line ${index + 1}: nameserver line without an address`);
      }
      nameservers.push(address);
    } else if (keyword === 'search') {
      searches = rest.map((domain) => (domain === '.' ? domain : domain.replace(/\.$/, '')));
    } else if (keyword === 'options') {
      options = rest.map(parseOption);
    }
  });
  return { nameservers, searches, options };
}

/**
 * The file a pod gets. kubelet does not write it: it passes the DNS config to the runtime over CRI, and containerd
 * and CRI-O both write `search` first, then one `nameserver` line per server, then `options`, omitting empty parts.
 * An entirely empty config gives an empty string here; containerd then copies the node's own /etc/resolv.conf instead.
 */
export function formatResolvConf(rc: ResolvConf): string {
  const lines: string[] = [];
  if (rc.searches.length > 0) lines.push(`search ${rc.searches.join(' ')}`);
  for (const server of rc.nameservers) lines.push(`nameserver ${server}`);
  if (rc.options.length > 0) lines.push(`options ${rc.options.map(formatOption).join(' ')}`);
  return lines.map((line) => `${line}\n`).join('');
}

/** The node network our nodes use when the cluster config names none (the kind default). */
const DEFAULT_NODE_NETWORK = '172.18.0.0/16';

/**
 * The /etc/resolv.conf of an emulated node, modelled on a kind node. Docker gives a container on a user-defined
 * network `nameserver 127.0.0.11` (its embedded DNS) with `options ndots:0`; kind's entrypoint rewrites 127.0.0.11 to
 * the network's gateway (the first address of the node network, 172.18.0.1 by default) and DNATs it back, so pods
 * that inherit the file can reach it. No search line: a plain host contributes no search domains. The gateway is a
 * private address, never a public resolver.
 *
 * `nodeNetworks` is ClusterConfig.spec.nodeNetworks; the first IPv4 network is used, as kind only rewrites IPv4.
 */
export function defaultNodeResolvConf(nodeNetworks: readonly string[] = [DEFAULT_NODE_NETWORK]): ResolvConf {
  const v4 = nodeNetworks.find((cidr) => !cidr.includes(':')) ?? DEFAULT_NODE_NETWORK;
  return { nameservers: [firstHost(v4)], searches: [], options: [{ name: 'ndots', value: '0' }] };
}

/** The first usable address of an IPv4 CIDR: the network address plus one (the Docker bridge gateway). */
function firstHost(cidr: string): string {
  const network = ipaddr.IPv4.networkAddressFromCIDR(cidr).toByteArray();
  const asInt = ((network[0]! << 24) | (network[1]! << 16) | (network[2]! << 8) | network[3]!) >>> 0;
  const next = asInt + 1;
  return [next >>> 24, (next >>> 16) & 255, (next >>> 8) & 255, next & 255].join('.');
}
