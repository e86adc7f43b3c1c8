/**
 * The nat and filter rules IPVS mode writes with `iptables-restore` around its ipsets (pkg/proxy/ipvs/proxier.go:
 * createAndLinkKubeChain for the chain lines, writeIptablesRules for the rules, `ipsetWithIptablesChain` for the
 * set-driven ones), in the form kube-netsim prints iptables mode in: the restore input as kube-proxy's own tests
 * read it (the mark `0x4000`), nat then filter, as kube-proxy writes them.
 *
 * A rule that matches a set is written only while the set has entries, except the fixed ones (KUBE-IPVS-FILTER's
 * RETURNs, the health-check ACCEPT) that name their set whatever it holds. The jumps from the built-in chains
 * (PREROUTING, OUTPUT, POSTROUTING, INPUT, FORWARD) are not part of the restore input: kube-proxy inserts them one by
 * one (`iptables -I`), and `trace` shows them as steps.
 */
import type { IPFamily } from '../../model/types.js';
import type { CidrMatcher } from '../ip-match.js';
import { IPSET_INFO, type IpsetContents } from './ipset-contents.js';
import { setName } from './ipsets.js';

export interface IpvsIptablesOptions {
  readonly masqueradeAll: boolean;
  /** The family's local-traffic detector (`clusterCIDR`), if any. */
  readonly detector: CidrMatcher | undefined;
  /** The masquerade mark as printed (`0x4000`). */
  readonly mark: string;
  readonly randomFully: boolean;
}

const NAT_CHAINS = ['KUBE-SERVICES', 'KUBE-POSTROUTING', 'KUBE-NODE-PORT', 'KUBE-LOAD-BALANCER', 'KUBE-MARK-MASQ'];
const FILTER_CHAINS = [
  'KUBE-FORWARD',
  'KUBE-NODE-PORT',
  'KUBE-PROXY-FIREWALL',
  'KUBE-SOURCE-RANGES-FIREWALL',
  'KUBE-IPVS-FILTER',
  'KUBE-IPVS-OUT-FILTER',
];

/** `ipsetWithIptablesChain`: set, table, chain, target, match directions and protocol, in kube-proxy's order. */
const SET_RULES: readonly {
  set: string;
  table: 'nat' | 'filter';
  from: string;
  to: string;
  match: string;
  proto?: string;
}[] = [
  { set: 'KUBE-LOOP-BACK', table: 'nat', from: 'KUBE-POSTROUTING', to: 'MASQUERADE', match: 'dst,dst,src' },
  { set: 'KUBE-LOAD-BALANCER', table: 'nat', from: 'KUBE-SERVICES', to: 'KUBE-LOAD-BALANCER', match: 'dst,dst' },
  { set: 'KUBE-LOAD-BALANCER-LOCAL', table: 'nat', from: 'KUBE-LOAD-BALANCER', to: 'RETURN', match: 'dst,dst' },
  { set: 'KUBE-NODE-PORT-LOCAL-TCP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'tcp' },
  { set: 'KUBE-NODE-PORT-TCP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'tcp' },
  { set: 'KUBE-NODE-PORT-LOCAL-UDP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'RETURN', match: 'dst', proto: 'udp' },
  { set: 'KUBE-NODE-PORT-UDP', table: 'nat', from: 'KUBE-NODE-PORT', to: 'KUBE-MARK-MASQ', match: 'dst', proto: 'udp' },
  {
    set: 'KUBE-NODE-PORT-LOCAL-SCTP-HASH',
    table: 'nat',
    from: 'KUBE-NODE-PORT',
    to: 'RETURN',
    match: 'dst,dst',
    proto: 'sctp',
  },
  {
    set: 'KUBE-NODE-PORT-SCTP-HASH',
    table: 'nat',
    from: 'KUBE-NODE-PORT',
    to: 'KUBE-MARK-MASQ',
    match: 'dst,dst',
    proto: 'sctp',
  },
  {
    set: 'KUBE-LOAD-BALANCER-FW',
    table: 'filter',
    from: 'KUBE-PROXY-FIREWALL',
    to: 'KUBE-SOURCE-RANGES-FIREWALL',
    match: 'dst,dst',
  },
  {
    set: 'KUBE-LOAD-BALANCER-SOURCE-CIDR',
    table: 'filter',
    from: 'KUBE-SOURCE-RANGES-FIREWALL',
    to: 'RETURN',
    match: 'dst,dst,src',
  },
  {
    set: 'KUBE-LOAD-BALANCER-SOURCE-IP',
    table: 'filter',
    from: 'KUBE-SOURCE-RANGES-FIREWALL',
    to: 'RETURN',
    match: 'dst,dst,src',
  },
];

const COMMENTS = new Map(IPSET_INFO.map((s) => [s.base, s.comment]));

/** The `iptables-restore` input of one family's IPVS proxier for `contents`. */
export function renderIpvsIptables(contents: IpsetContents, opts: IpvsIptablesOptions): string {
  const { family } = contents;
  const name = (base: string) => setName(base, family);
  const has = (base: string) => (contents.entries.get(base)?.size ?? 0) > 0;
  const matchSet = (base: string) => `-m comment --comment "${COMMENTS.get(base)}" -m set --match-set ${name(base)}`;
  const nat: string[] = [`-A KUBE-SERVICES -s ${loopbackSource(family)} -j RETURN`];
  const filter: string[] = [];

  for (const r of SET_RULES) {
    if (!has(r.set)) continue;
    const proto = r.proto ? ` -p ${r.proto}` : '';
    (r.table === 'nat' ? nat : filter).push(`-A ${r.from}${proto} ${matchSet(r.set)} ${r.match} -j ${r.to}`);
  }
  if (has('KUBE-CLUSTER-IP')) {
    const base = `-A KUBE-SERVICES ${matchSet('KUBE-CLUSTER-IP')}`;
    if (opts.masqueradeAll) nat.push(`${base} dst,dst -j KUBE-MARK-MASQ`);
    else if (opts.detector) nat.push(`${base} dst,dst ! -s ${opts.detector.text} -j KUBE-MARK-MASQ`);
    else nat.push(`${base} src,dst -j KUBE-MARK-MASQ`);
  }
  for (const base of ['KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL']) {
    if (!has(base)) continue;
    const rule = `-A KUBE-SERVICES ${matchSet(base)} dst,dst`;
    // Only the non-Local set marks for masquerade; both accept traffic from off the machine and to local addresses.
    if (base === 'KUBE-EXTERNAL-IP') nat.push(`${rule} -j KUBE-MARK-MASQ`);
    nat.push(`${rule} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT`);
    nat.push(`${rule} -m addrtype --dst-type LOCAL -j ACCEPT`);
  }
  nat.push('-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT');
  nat.push('-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ');
  filter.push('-A KUBE-SOURCE-RANGES-FIREWALL -j DROP');
  for (const e of contents.noNodeAccess) {
    filter.push(
      `-A KUBE-IPVS-OUT-FILTER -s ${e.ip} -m ipvs --vaddr ${e.ip} --vproto ${e.proto} --vport ${e.port} -j DROP`,
    );
  }
  // acceptIPVSTraffic: the last rules of KUBE-SERVICES, so that no later rule of another program refuses a VIP.
  for (const base of ['KUBE-CLUSTER-IP', 'KUBE-LOAD-BALANCER']) {
    if (has(base)) nat.push(`-A KUBE-SERVICES -m set --match-set ${name(base)} dst,dst -j ACCEPT`);
  }
  const mark = `${opts.mark}/${opts.mark}`;
  filter.push(
    `-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark ${mark} -j ACCEPT`,
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    `-A KUBE-NODE-PORT ${matchSet('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j ACCEPT`,
  );
  for (const base of ['KUBE-LOAD-BALANCER', 'KUBE-CLUSTER-IP', 'KUBE-EXTERNAL-IP', 'KUBE-EXTERNAL-IP-LOCAL']) {
    filter.push(`-A KUBE-IPVS-FILTER -m set --match-set ${name(base)} dst,dst -j RETURN`);
  }
  filter.push(
    `-A KUBE-IPVS-FILTER -m set --match-set ${name('KUBE-HEALTH-CHECK-NODE-PORT')} dst -j RETURN`,
    `-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set ${name('KUBE-IPVS-IPS')} dst -j REJECT`,
  );
  nat.push(
    `-A KUBE-POSTROUTING -m mark ! --mark ${mark} -j RETURN`,
    `-A KUBE-POSTROUTING -j MARK --xor-mark ${opts.mark}`,
    `-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE${opts.randomFully ? ' --random-fully' : ''}`,
    `-A KUBE-MARK-MASQ -j MARK --or-mark ${opts.mark}`,
  );
  return [
    '*nat',
    ...NAT_CHAINS.map(chainLine),
    ...nat,
    'COMMIT',
    '*filter',
    ...FILTER_CHAINS.map(chainLine),
    ...filter,
    'COMMIT',
    '',
  ].join('\n');
}

function chainLine(chain: string): string {
  return `:${chain} - [0:0]`;
}

function loopbackSource(family: IPFamily): string {
  return family === 'IPv6' ? '::1/128' : '127.0.0.0/8';
}
