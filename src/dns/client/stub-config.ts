/**
 * How each C library reads the pod's resolv.conf: which ndots and search list its stub resolver ends up with, which
 * options change the walk, and which are only recorded.
 *
 * glibc (resolv/res_init.c): ndots defaults to 1 and is capped at 15; the search list has no size limit since 2.26
 * (6 domains / 256 bytes before); `no-tld-query` and `no-aaaa` (2.36) change the walk.
 * musl (src/network/resolvconf.c): ndots defaults to 1 and is capped at 15; each line is read into a 256-byte buffer
 * and a line that does not fit is ignored whole, so a `search` line over 254 characters leaves no search list at all,
 * and an `options` line over 254 characters leaves ndots at 1.
 */
import { formatOption } from './resolv-conf-file.js';
import type { Flavor, ResolvConf } from './types.js';

/** Both libcs cap ndots at this value (glibc RES_MAXNDOTS; musl's resolvconf.c clamps to 15). */
export const MAX_NDOTS = 15;
/** musl reads resolv.conf with fgets into a 256-byte buffer: a line holds at most 254 characters plus the newline. */
export const MUSL_MAX_LINE_CHARS = 254;

/** Options that change what the walker does; everything else is listed as recorded only. */
const WALK_OPTIONS: Record<Flavor, ReadonlySet<string>> = {
  glibc: new Set(['ndots', 'no-tld-query', 'no-aaaa']),
  musl: new Set(['ndots']),
};

/** The stub resolver's view of resolv.conf. */
export interface StubSettings {
  ndots: number;
  searches: string[];
  /** glibc `no-tld-query`: never query a single-label name as is after searching. */
  noTldQuery: boolean;
  /** glibc `no-aaaa` (2.36+): getaddrinfo sends only A queries. */
  noAaaa: boolean;
  /** Options present but not simulated (timeout, attempts, rotate, single-request, edns0, …), as written. */
  recorded: string[];
  notes: string[];
}

/**
 * The ndots a libc reads from the options line. glibc reads every option in order, so the last ndots wins, and takes
 * its value with atoi (a non-numeric value counts as 0). musl finds the first `ndots:` on the line (strstr) and uses
 * it only if a digit follows. Both cap at 15.
 */
function readNdots(rc: ResolvConf, flavor: Flavor): number {
  let ndots = 1;
  for (const option of rc.options) {
    // Both match the text `ndots:`; a bare `ndots` is some other, unknown option to them.
    if (option.name !== 'ndots' || option.value === undefined) continue;
    const digits = /^\d+/.exec(option.value ?? '');
    if (digits) ndots = Math.min(Number(digits[0]), MAX_NDOTS);
    else if (flavor === 'glibc') ndots = 0;
    if (flavor === 'musl') break;
  }
  return ndots;
}

/** Read `rc` as `flavor` would. */
export function stubSettings(rc: ResolvConf, flavor: Flavor): StubSettings {
  const notes: string[] = [];
  const names = new Set(rc.options.map((o) => o.name));
  let searches = [...rc.searches];
  if (flavor === 'musl' && searches.length > 0) {
    const line = `search ${searches.join(' ')}`;
    if (line.length > MUSL_MAX_LINE_CHARS) {
      notes.push(
        `musl ignores the search line: it is ${line.length} characters and musl skips any resolv.conf line over ${MUSL_MAX_LINE_CHARS}, so no search domains apply`,
      );
      searches = [];
    }
  }
  let options = rc;
  if (flavor === 'musl' && rc.options.length > 0) {
    const line = `options ${rc.options.map(formatOption).join(' ')}`;
    if (line.length > MUSL_MAX_LINE_CHARS) {
      notes.push(
        `musl ignores the options line: it is ${line.length} characters and musl skips any resolv.conf line over ${MUSL_MAX_LINE_CHARS}, so ndots stays 1`,
      );
      options = { ...rc, options: [] };
    }
  }
  if (rc.nameservers.length === 0) notes.push('no nameserver line: the libc would send to 127.0.0.1');
  const recorded = rc.options.filter((o) => !WALK_OPTIONS[flavor].has(o.name)).map(formatOption);
  if (recorded.length > 0) notes.push(`options recorded but not simulated: ${recorded.join(' ')}`);
  return {
    ndots: readNdots(options, flavor),
    searches,
    noTldQuery: flavor === 'glibc' && names.has('no-tld-query'),
    noAaaa: flavor === 'glibc' && names.has('no-aaaa'),
    recorded,
    notes,
  };
}

/** Number of dots in a name, counting a trailing one, as both res_search and musl count them. */
export function countDots(name: string): number {
  let dots = 0;
  for (const ch of name) if (ch === '.') dots++;
  return dots;
}

/** Whether a name can go on the wire: at most 253 characters without the final dot, labels of 1 to 63 characters. */
export function encodable(name: string): boolean {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  if (bare.length === 0 || bare.length > 253) return false;
  return bare.split('.').every((label) => label.length >= 1 && label.length <= 63);
}

/** `web.app.svc.cluster.local` → `web.app.svc.cluster.local.`: how every query name is shown and passed on. */
export function absolute(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}
