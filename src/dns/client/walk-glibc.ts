/**
 * glibc's search walk (resolv/res_query.c __res_context_search, reached from getaddrinfo through nss_dns):
 *
 * 1. A name with a trailing dot is queried alone; its result is final.
 * 2. A name with at least ndots dots is queried as is first. Success ends the walk; otherwise its error is kept.
 * 3. Every search domain is appended in order (a domain `.` or empty queries `name.` and counts as "root on list").
 *    NXDOMAIN and NODATA move on (NODATA is remembered); TRY_AGAIN moves on only when the reply was SERVFAIL;
 *    anything else (timeout, REFUSED, FORMERR, an unencodable name) stops the search.
 * 4. Unless step 2 ran or the root was on the list, the name as is comes last, single-label names included (only
 *    `options no-tld-query` skips it for them). This runs even after step 3 stopped early.
 * 5. On failure the error is step 2's if it ran, else NO_DATA if any candidate had NODATA, else TRY_AGAIN if any
 *    had SERVFAIL, else the last query's.
 *
 * A reply "succeeds" when its rcode is NOERROR and its answer section is not empty. For getaddrinfo the A and AAAA
 * replies of a candidate are judged together (__res_context_query): one successful reply is enough; otherwise the
 * error comes from the A reply unless that was NOERROR, in which case from the AAAA reply. Before that, the sender
 * (send_dg) drops SERVFAIL, NOTIMP and REFUSED replies to try the next server: a candidate whose replies were all
 * dropped or lost is TRY_AGAIN, and the search treats it as SERVFAIL only when the A reply was SERVFAIL.
 */

import { countDots, encodable, type StubSettings } from './stub-config.js';
import type { LookupType, QueryType, Rcode, WalkOutcome, WalkStatus, WalkStep } from './types.js';
import { answered, failed, type QueryRecorder } from './walk-recorder.js';

/** glibc's h_errno values a lookup can end with. */
export type GlibcHErrno = 'HOST_NOT_FOUND' | 'NO_DATA' | 'TRY_AGAIN' | 'NO_RECOVERY';

const STATUS: Record<GlibcHErrno, WalkStatus> = {
  HOST_NOT_FOUND: 'nxdomain',
  NO_DATA: 'nodata',
  TRY_AGAIN: 'again',
  NO_RECOVERY: 'fail',
};

/** Replies send_dg does not hand back: it moves to the next server (or attempt) instead. */
const DROPPED: ReadonlySet<Rcode> = new Set(['SERVFAIL', 'NOTIMP', 'REFUSED', 'TIMEOUT']);

type Judged = { ok: true; steps: WalkStep[] } | { ok: false; herrno: GlibcHErrno; servfail: boolean };

/** The queries one candidate takes. */
function queryTypes(type: LookupType, settings: StubSettings): QueryType[] {
  if (type !== 'ADDR') return [type];
  return settings.noAaaa ? ['A'] : ['A', 'AAAA'];
}

/** Judge the replies of one candidate as __res_context_query does after send_dg. */
function judge(steps: WalkStep[]): Judged {
  for (const step of steps) {
    if (step.rcode !== 'TIMEOUT' && DROPPED.has(step.rcode)) {
      step.note = `glibc drops a ${step.rcode} reply and retries the other nameservers and attempts`;
    }
  }
  const kept = steps.filter((s) => !DROPPED.has(s.rcode));
  if (kept.length === 0) return { ok: false, herrno: 'TRY_AGAIN', servfail: steps[0]?.rcode === 'SERVFAIL' };
  if (kept.some((s) => s.rcode === 'NOERROR' && s.answers.length > 0)) return { ok: true, steps: kept };
  const first = kept[0]!;
  const second = kept[1] ?? first;
  const rcode = first.rcode === 'NOERROR' ? second.rcode : first.rcode;
  if (rcode === 'NXDOMAIN') return { ok: false, herrno: 'HOST_NOT_FOUND', servfail: false };
  if (rcode === 'NOERROR') return { ok: false, herrno: 'NO_DATA', servfail: false };
  return { ok: false, herrno: 'NO_RECOVERY', servfail: false };
}

/** Walk `name` as glibc does. */
export async function walkGlibc(
  name: string,
  type: LookupType,
  settings: StubSettings,
  rec: QueryRecorder,
): Promise<WalkOutcome> {
  const qtypes = queryTypes(type, settings);
  const attempt = async (candidate: string): Promise<Judged> => {
    if (!encodable(candidate)) {
      rec.note(`${candidate} cannot be encoded as a DNS name: glibc sends nothing for it (NO_RECOVERY)`);
      return { ok: false, herrno: 'NO_RECOVERY', servfail: false };
    }
    return judge(await rec.sendCandidate(candidate, qtypes));
  };
  const finish = (herrno: GlibcHErrno): WalkOutcome => failed(rec, STATUS[herrno], herrno);

  const dots = countDots(name);
  const trailingDot = name.endsWith('.');
  const { ndots } = settings;
  let saved: GlibcHErrno | undefined;
  let last: GlibcHErrno = 'HOST_NOT_FOUND';
  let gotNodata = false;
  let gotServfail = false;
  let rootOnList = false;
  let searched = false;

  if (trailingDot || dots >= ndots) {
    rec.note(
      trailingDot
        ? 'trailing dot: the name is absolute and is the only candidate'
        : `${dots} dot(s) >= ndots:${ndots}: glibc tries the name as is first, then the search list`,
    );
    const r = await attempt(name);
    if (r.ok) return answered(rec, r.steps, type, cnameOnlyError(type));
    if (trailingDot) return finish(r.herrno);
    saved = r.herrno;
    last = r.herrno;
  } else {
    rec.note(`${dots} dot(s) < ndots:${ndots}: glibc tries the search list first, then the name as is`);
  }

  for (const domain of settings.searches) {
    searched = true;
    // A leading dot is dropped; what is left empty means the root, and the candidate is the name made absolute.
    const suffix = domain.startsWith('.') ? domain.slice(1) : domain;
    if (suffix === '') rootOnList = true;
    const r = await attempt(suffix === '' ? `${name}.` : `${name}.${suffix}`);
    if (r.ok) return answered(rec, r.steps, type, cnameOnlyError(type));
    last = r.herrno;
    if (r.herrno === 'NO_DATA') gotNodata = true;
    else if (r.herrno === 'TRY_AGAIN' && r.servfail) gotServfail = true;
    else if (r.herrno !== 'HOST_NOT_FOUND') {
      rec.note(`glibc stops searching after ${r.herrno} (only NXDOMAIN, NODATA and SERVFAIL move on)`);
      break;
    }
  }

  if (saved === undefined && !rootOnList) {
    if (dots > 0 || !searched || !settings.noTldQuery) {
      const r = await attempt(name);
      if (r.ok) return answered(rec, r.steps, type, cnameOnlyError(type));
      last = r.herrno;
    } else {
      rec.note('options no-tld-query: glibc does not query a single-label name as is');
    }
  } else if (rootOnList && saved === undefined) {
    rec.note('the search list holds the root (.), which already queried the name as is; glibc does not repeat it');
  }

  if (saved !== undefined) return finish(saved);
  if (gotNodata) {
    rec.note('glibc reports NO_DATA because some candidate existed without records of the type');
    return finish('NO_DATA');
  }
  if (gotServfail) return finish('TRY_AGAIN');
  return finish(last);
}

/**
 * What glibc reports when the server answered with a CNAME but no record of the type: getaddrinfo's
 * gaih_getanswer_slice fails with HOST_NOT_FOUND ("only contains a CNAME"), gethostbyname's getanswer_r with
 * NO_RECOVERY; for other types the application gets the reply and finds no data in it.
 */
function cnameOnlyError(type: LookupType): GlibcHErrno {
  if (type === 'ADDR') return 'HOST_NOT_FOUND';
  if (type === 'A' || type === 'AAAA') return 'NO_RECOVERY';
  return 'NO_DATA';
}
