/**
 * `ipset save` text of the sets IPVS mode keeps (ipset-contents.ts): per set, in kube-proxy's `ipsetInfo` order, its
 * `create` line with the options kube-proxy creates it with (hash sets: `family inet|inet6 hashsize 1024 maxelem
 * 65536`; bitmap:port sets: `range 0-65535`), then one `add` line per entry.
 *
 * Two choices where a node's output is not reproducible: ipset 7.10 and later also print `bucketsize 12 initval
 * 0x…` on hash sets, the initval random per set, so they are left out; and hash sets list entries in hash order, so
 * entries are sorted here (bitmap:port sets list ports ascending, as ipset does). Empty sets are listed too: kube-proxy
 * creates every set at start. A source range of a whole address is printed without its prefix length, as ipset prints
 * a host net.
 */
import type { IPFamily } from '../../model/types.js';
import { IPSET_INFO, type IpsetContents } from './ipset-contents.js';
import { setName } from './ipsets.js';

export function renderIpsetSave(contents: IpsetContents): string {
  const lines: string[] = [];
  for (const { base, type } of IPSET_INFO) {
    const name = setName(base, contents.family);
    const options =
      type === 'bitmap:port' ? 'range 0-65535' : `${hashFamily(contents.family)} hashsize 1024 maxelem 65536`;
    lines.push(`create ${name} ${type} ${options}`);
    const entries = [...(contents.entries.get(base) ?? [])];
    if (type === 'bitmap:port') entries.sort((a, b) => Number(a) - Number(b));
    else entries.sort(byCodeUnit);
    for (const entry of entries) lines.push(`add ${name} ${type === 'hash:ip,port,net' ? hostNet(entry) : entry}`);
  }
  return `${lines.join('\n')}\n`;
}

function hashFamily(family: IPFamily): string {
  return family === 'IPv6' ? 'family inet6' : 'family inet';
}

/** `10.0.0.1,tcp:80,192.0.2.7/32` → `…,192.0.2.7`: ipset prints a net of full length as a host. */
function hostNet(entry: string): string {
  const net = entry.slice(entry.lastIndexOf(',') + 1);
  const full = net.includes(':') ? '/128' : '/32';
  return net.endsWith(full) ? entry.slice(0, -full.length) : entry;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
