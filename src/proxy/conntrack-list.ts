/**
 * A node's conntrack table as `conntrack -L` prints it (conntrack-tools 1.4.7 and later, default output, through
 * libnetfilter_conntrack's snprintf_default.c):
 *
 * ```
 * tcp      6 86397 ESTABLISHED src=10.244.1.4 dst=10.96.0.10 sport=40000 dport=80 src=10.244.2.7 dst=10.244.1.4 sport=8080 dport=40000 [ASSURED] mark=0 use=1
 * udp      17 29 src=10.244.1.4 dst=10.96.0.10 sport=40001 dport=53 [UNREPLIED] src=10.244.2.5 dst=10.244.1.4 sport=53 dport=40001 mark=0 use=1
 * ```
 *
 * Per entry: the protocol name padded to 8 and its number; the seconds left (the kernel truncates); the TCP or SCTP
 * state (UDP has none); the original tuple; `[UNREPLIED]` until a reply was seen; the reply tuple; `[ASSURED]`;
 * `mark=0` (kube-proxy marks packets, not connections) and `use=1`. Counters, timestamps and zones are off on a
 * stock node, so they are not printed. Both families are listed unless one is asked for (`-f`), as since
 * conntrack-tools 1.4.7.
 *
 * One choice where a node is not reproducible: the kernel dumps entries in hash-bucket order; they are listed here
 * in the order they were created. Entries past their timeout are left out, as the kernel's dump leaves them out.
 */
import type { IPFamily, Protocol } from '../model/types.js';
import type { ConntrackEntry } from './conntrack-types.js';
import { familyOf } from './packet.js';

const PROTOCOL_NUMBER: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };

/** The `conntrack -L` lines of `entries` at time `now` (one family, or both). */
export function renderConntrackList(entries: Iterable<ConntrackEntry>, now: number, family?: IPFamily): string[] {
  const lines: string[] = [];
  for (const e of entries) {
    // Times are decimal seconds in binary floats: 30.4 − 14.4 must give 16, as the kernel's whole jiffies do.
    const left = Math.round((e.expires - now) * 1e6) / 1e6;
    if (left <= 0 || (family !== undefined && familyOf(e.originalSrc.ip) !== family)) continue;
    const fields = [`${e.proto.toLowerCase().padEnd(8)} ${PROTOCOL_NUMBER[e.proto]}`, String(Math.floor(left))];
    const state = stateName(e.timeout);
    if (state) fields.push(state);
    fields.push(tuple(e.originalSrc, e.originalDst));
    if (!e.seenReply) fields.push('[UNREPLIED]');
    fields.push(tuple(e.replySrc, e.replyDst));
    if (e.assured) fields.push('[ASSURED]');
    fields.push('mark=0', 'use=1');
    lines.push(fields.join(' '));
  }
  return lines;
}

/** conntrack's summary line (it writes it to stderr). */
export function conntrackSummary(count: number): string {
  return `conntrack v1.4.8 (conntrack-tools): ${count} flow entries have been shown.`;
}

function tuple(src: { ip: string; port: number }, dst: { ip: string; port: number }): string {
  return `src=${src.ip} dst=${dst.ip} sport=${src.port} dport=${dst.port}`;
}

/** The state conntrack prints, from the timeout that applies (`nf_conntrack_tcp_timeout_time_wait` → TIME_WAIT). */
function stateName(sysctl: string): string | null {
  const m = /^nf_conntrack_(?:tcp|sctp)_timeout_(\w+)$/.exec(sysctl);
  return m ? m[1]!.toUpperCase() : null;
}
