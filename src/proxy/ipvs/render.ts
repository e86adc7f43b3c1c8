/**
 * `ipvsadm -Ln` text, byte for byte as ipvsadm prints it (ipvsadm.c `list_all`, `print_title`,
 * `print_service_entry`, libipvs `ipvs_cmp_services` / `ipvs_cmp_dests`):
 *
 * ```
 * IP Virtual Server version 1.2.1 (size=4096)
 * Prot LocalAddress:Port Scheduler Flags
 *   -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
 * TCP  10.96.0.10:53 rr
 *   -> 10.244.1.5:53                Masq    1      0          0
 * ```
 *
 * - Service line: `"%-4s %s"` of protocol and address:port (cut to 33 characters for IPv4), a space, the scheduler;
 *   then ` (mh-port)`-style scheduler flags when any of SCHED1..3 is set (named sh-… and mh-… for sh and mh, flag-N
 *   otherwise), ` persistent <timeout>` (plus ` mask …` for a non-host netmask), ` ops` for one-packet scheduling.
 * - Real-server line: `"  -> %-28s %-7s %-6d %-10u %-10u"` (address cut to 28 characters for IPv4). The last
 *   column is padded too, so real lines end in spaces; `trimTrailingSpace` removes them for display.
 * - Sorting (unless `sort: false`, ipvsadm's --nosort): services by address family, protocol number (TCP 6, UDP 17,
 *   SCTP 132), address, port; real servers by address, port. Addresses compare as C does, `(int)(a − b)` on 32-bit
 *   words, so two IPv4 addresses more than 2^31 apart sort "backwards" as ipvsadm shows them. When such wrapped
 *   comparisons contradict each other (10.x < 100.x < 172.x < 10.x), ipvsadm's order depends on the kernel's dump
 *   order (a hash seeded at boot) and on glibc's qsort, so a real node is not reproducible there; this sort, on the
 *   engine's insertion order, gives one of the orders a node can show.
 * - IPv6 addresses print in brackets: `[fd00::1]:80`.
 */
import { parseIP } from '../../cni/ip.js';
import type { Protocol } from '../../model/types.js';
import { SvcFlags } from './schedulers/types.js';

/** One virtual server as ipvsadm lists it. */
export interface IpvsadmService {
  proto: Protocol;
  addr: string;
  port: number;
  scheduler: string;
  /** SvcFlags bits (PERSISTENT, SCHED1..3, ONEPACKET). */
  flags: number;
  /** Persistence timeout in seconds (shown only when PERSISTENT is set). */
  timeout: number;
  /** Persistence netmask as a prefix length; absent = host mask (/32, /128), which ipvsadm does not print. */
  netmaskPrefix?: number;
  /** Real servers in kernel list order (head first). */
  dests: IpvsadmDest[];
}

/** One real server line. */
export interface IpvsadmDest {
  addr: string;
  port: number;
  /** Forwarding method; kube-proxy always programs masquerading (NAT). */
  forward?: 'Masq' | 'Local' | 'Tunnel' | 'Route';
  weight: number;
  activeConns: number;
  inactConns: number;
}

export interface RenderOptions {
  /** Kernel connection-table size reported in the header (CONFIG_IP_VS_TAB_BITS 12 → 4096). */
  size?: number;
  /** IPVS version reported in the header. */
  version?: string;
  /** Sort as ipvsadm does (default); false reproduces --nosort (given order). */
  sort?: boolean;
  /** Drop the padding at the end of real-server lines. */
  trimTrailingSpace?: boolean;
}

const PROTO_NUMBER: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };

interface ParsedAddr {
  v6: boolean;
  words: number[];
  text: string;
}

function parseAddr(addr: string): ParsedAddr {
  const p = parseIP(addr);
  if (!p) return { v6: addr.includes(':'), words: [0], text: addr };
  const v6 = p.family === 'IPv6';
  const words: number[] = [];
  for (let shift = v6 ? 96n : 0n; shift >= 0n; shift -= 32n) words.push(Number((p.value >> shift) & 0xffffffffn));
  return { v6, words, text: p.text };
}

// C's `r = ntohl(a) - ntohl(b)` stored in an int: the sign of the 32-bit wrapped difference.
function cmpWords(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length && i < b.length; i++) {
    const r = (a[i]! - b[i]!) | 0;
    if (r !== 0) return r;
  }
  return 0;
}

function addrPort(a: ParsedAddr, port: number): string {
  return a.v6 ? `[${a.text}]:${port}` : `${a.text}:${port}`;
}

function schedFlags(sched: string, flags: number): string {
  const names: string[] = [];
  if (sched === 'sh' || sched === 'mh') {
    if (flags & SvcFlags.SCHED1) names.push(`${sched}-fallback`);
    if (flags & SvcFlags.SCHED2) names.push(`${sched}-port`);
  } else {
    if (flags & SvcFlags.SCHED1) names.push('flag-1');
    if (flags & SvcFlags.SCHED2) names.push('flag-2');
    if (flags & SvcFlags.SCHED3) names.push('flag-3');
  }
  return names.join(',');
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function maskText(v6: boolean, prefix: number): string {
  if (v6) return String(prefix);
  const m = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (m >>> s) & 0xff).join('.');
}

/** The service line (without newline). */
export function serviceLine(svc: IpvsadmService): string {
  const a = parseAddr(svc.addr);
  let name = `${pad(svc.proto, 4)} ${addrPort(a, svc.port)}`;
  if (!a.v6) name = name.slice(0, 33);
  let line = `${name} ${svc.scheduler}`;
  if (svc.flags & (SvcFlags.SCHED1 | SvcFlags.SCHED2 | SvcFlags.SCHED3)) {
    line += ` (${schedFlags(svc.scheduler, svc.flags)})`;
  }
  if (svc.flags & SvcFlags.PERSISTENT) {
    line += ` persistent ${svc.timeout}`;
    const full = a.v6 ? 128 : 32;
    if (svc.netmaskPrefix !== undefined && svc.netmaskPrefix !== full) {
      line += ` mask ${maskText(a.v6, svc.netmaskPrefix)}`;
    }
  }
  if (svc.flags & SvcFlags.ONEPACKET) line += ' ops';
  return line;
}

/** A real-server line (without newline). */
export function destLine(d: IpvsadmDest): string {
  const a = parseAddr(d.addr);
  let name = addrPort(a, d.port);
  if (!a.v6) name = name.slice(0, 28);
  return `  -> ${pad(name, 28)} ${pad(d.forward ?? 'Masq', 7)} ${pad(String(d.weight), 6)} ${pad(
    String(d.activeConns),
    10,
  )} ${pad(String(d.inactConns), 10)}`;
}

/** The whole `ipvsadm -Ln` listing, ending with a newline. */
export function renderIpvsadm(services: readonly IpvsadmService[], opts: RenderOptions = {}): string {
  const lines = [
    `IP Virtual Server version ${opts.version ?? '1.2.1'} (size=${opts.size ?? 4096})`,
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  const sort = opts.sort ?? true;
  const list = services.map((s) => ({ s, a: parseAddr(s.addr) }));
  if (sort) {
    list.sort(
      (x, y) =>
        Number(x.a.v6) - Number(y.a.v6) ||
        PROTO_NUMBER[x.s.proto] - PROTO_NUMBER[y.s.proto] ||
        cmpWords(x.a.words, y.a.words) ||
        x.s.port - y.s.port,
    );
  }
  for (const { s } of list) {
    lines.push(serviceLine(s));
    const dests = s.dests.map((d) => ({ d, a: parseAddr(d.addr) }));
    if (sort) dests.sort((x, y) => cmpWords(x.a.words, y.a.words) || x.d.port - y.d.port);
    for (const { d } of dests) {
      const line = destLine(d);
      lines.push(opts.trimTrailingSpace ? line.trimEnd() : line);
    }
  }
  return `${lines.join('\n')}\n`;
}
