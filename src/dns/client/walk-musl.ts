/**
 * musl's lookups (src/network/lookup_name.c, res_msend.c, res_query.c):
 *
 * getaddrinfo (ADDR, or A / AAAA for AF_INET / AF_INET6), name_from_dns_search:
 * 1. A name with a trailing dot, or with at least ndots dots, gets no search list at all: only the name is queried.
 * 2. Otherwise each search domain is appended in order, then the name itself comes last. A domain too long for
 *    musl's 256-byte name buffer is skipped; a candidate that cannot be encoded (`search .` gives `name..`) is skipped
 *    without a query, like an NXDOMAIN.
 * 3. Per candidate (name_from_dns), the replies are checked A first, then AAAA: no reply is EAI_AGAIN and stops;
 *    NXDOMAIN moves to the next candidate; once every reply is NOERROR, addresses end the walk, and none is EAI_NODATA,
 *    which also stops it. So a name that exists without addresses hides every later candidate.
 * 4. If the last candidate is NXDOMAIN too, the error is EAI_NONAME.
 *
 * The sender (res_msend) accepts only NOERROR and NXDOMAIN replies. SERVFAIL is re-sent and then ignored; REFUSED and
 * the rest are ignored: both end up as "no reply" once the timeout runs out, hence EAI_AGAIN, never EAI_FAIL.
 *
 * Other types (SRV, TXT, …) go through res_search, which musl defines as res_query: one query of the name exactly as
 * given, no search list, no ndots.
 */
import { countDots, encodable, type StubSettings } from './stub-config.js';
import type { LookupType, QueryType, WalkOutcome, WalkStep } from './types.js';
import { answered, failed, type QueryRecorder } from './walk-recorder.js';

/** musl builds each candidate in a 256-byte buffer (name, dot, domain, NUL). */
const MUSL_NAME_BUFFER = 256;

type Verdict = { kind: 'next' } | { kind: 'done'; outcome: WalkOutcome };

/** Whether res_msend keeps a reply; anything else it waits past, so it becomes "no reply". */
function accepted(step: WalkStep): boolean {
  return step.rcode === 'NOERROR' || step.rcode === 'NXDOMAIN';
}

function markDiscarded(steps: readonly WalkStep[]): void {
  for (const step of steps) {
    if (accepted(step) || step.rcode === 'TIMEOUT') continue;
    step.note = `musl accepts only NOERROR and NXDOMAIN: it ${step.rcode === 'SERVFAIL' ? 're-sends, then ' : ''}ignores this reply and waits out its timeout (no reply)`;
  }
}

/** One candidate of getaddrinfo, as name_from_dns judges it. */
async function fromDns(
  rec: QueryRecorder,
  candidate: string,
  qtypes: readonly QueryType[],
  type: LookupType,
): Promise<Verdict> {
  if (!encodable(candidate)) {
    rec.note(`${candidate} cannot be encoded as a DNS name: musl skips it without a query`);
    return { kind: 'next' };
  }
  const steps = await rec.sendCandidate(candidate, qtypes);
  markDiscarded(steps);
  for (const step of steps) {
    if (!accepted(step)) {
      rec.note(`no usable reply for ${step.qname} ${step.qtype}: musl gives up with EAI_AGAIN`);
      return { kind: 'done', outcome: failed(rec, 'again', 'EAI_AGAIN') };
    }
    if (step.rcode === 'NXDOMAIN') return { kind: 'next' };
  }
  const addresses = steps.flatMap((s) => s.answers.filter((r) => r.type.toUpperCase() === s.qtype));
  if (addresses.length > 0) return { kind: 'done', outcome: answered(rec, steps, type, 'EAI_NODATA') };
  rec.note(`${steps[0]?.qname} exists but has no addresses: musl stops with EAI_NODATA and tries no later candidate`);
  return {
    kind: 'done',
    outcome: { ...failed(rec, 'nodata', 'EAI_NODATA'), answers: steps.flatMap((s) => s.answers) },
  };
}

/** getaddrinfo's walk (name_from_dns_search). */
async function walkAddrinfo(
  name: string,
  type: LookupType,
  settings: StubSettings,
  rec: QueryRecorder,
): Promise<WalkOutcome> {
  const qtypes: QueryType[] = type === 'ADDR' ? ['A', 'AAAA'] : [type as QueryType];
  const dots = countDots(name);
  const trailingDot = name.endsWith('.');
  let searches = settings.searches;
  if (trailingDot) {
    rec.note('trailing dot: the name is absolute and is the only candidate');
    searches = [];
  } else if (dots >= settings.ndots) {
    rec.note(`${dots} dot(s) >= ndots:${settings.ndots}: musl queries only the name itself, never the search list`);
    searches = [];
  } else {
    rec.note(`${dots} dot(s) < ndots:${settings.ndots}: musl tries the search list first, then the name itself`);
  }

  const stem = trailingDot ? name.slice(0, -1) : name;
  if (stem === '' || stem.endsWith('.')) {
    rec.note('the name ends in more than one dot: musl rejects it without a query');
    return failed(rec, 'nxdomain', 'EAI_NONAME');
  }
  for (const domain of searches) {
    if (domain.length >= MUSL_NAME_BUFFER - stem.length - 1) {
      rec.note(`search domain ${domain} is too long to append to ${stem} in musl's 256-byte buffer: skipped`);
      continue;
    }
    const verdict = await fromDns(rec, `${stem}.${domain}`, qtypes, type);
    if (verdict.kind === 'done') return verdict.outcome;
  }
  const verdict = await fromDns(rec, name, qtypes, type);
  if (verdict.kind === 'done') return verdict.outcome;
  return failed(rec, 'nxdomain', 'EAI_NONAME');
}

/** res_search for other types: musl's is res_query, a single query. */
async function walkResQuery(name: string, qtype: QueryType, rec: QueryRecorder): Promise<WalkOutcome> {
  rec.note(`musl's res_search is res_query: ${qtype} lookups use no search list and no ndots; one query, as given`);
  if (!encodable(name)) {
    rec.note(`${name} cannot be encoded as a DNS name: musl sends nothing`);
    return failed(rec, 'fail', undefined);
  }
  const steps = await rec.sendCandidate(name, [qtype]);
  markDiscarded(steps);
  const step = steps[0]!;
  if (!accepted(step)) return failed(rec, 'again', 'TRY_AGAIN');
  if (step.rcode === 'NXDOMAIN') return failed(rec, 'nxdomain', 'HOST_NOT_FOUND');
  if (step.answers.length === 0) return failed(rec, 'nodata', 'NO_DATA');
  return answered(rec, steps, qtype, 'NO_DATA');
}

/** Walk `name` as musl does. */
export function walkMusl(name: string, type: LookupType, settings: StubSettings, rec: QueryRecorder) {
  if (type === 'ADDR' || type === 'A' || type === 'AAAA') return walkAddrinfo(name, type, settings, rec);
  return walkResQuery(name, type, rec);
}
