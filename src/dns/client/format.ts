/**
 * Renderings of a walk for `kube-netsim resolve NAME --from NS/POD`: aligned text, one line per query in the order
 * sent, then the result; and a JSON shape for `--output json`.
 */
import type { AnswerRecord, Walk, WalkStep } from './types.js';

/** `web`'s walk as data: the Walk itself plus the query count, with plain values only (safe for JSON.stringify). */
export interface WalkJSON {
  name: string;
  type: string;
  flavor: string;
  ndots: number;
  searches: string[];
  queryCount: number;
  queries: {
    seq: number;
    candidate: number;
    qname: string;
    qtype: string;
    rcode: string;
    answers: AnswerRecord[];
    note?: string;
  }[];
  result: {
    ok: boolean;
    status: string;
    error?: string;
    finalName: string | null;
    answers: AnswerRecord[];
  };
  notes: string[];
}

/** The JSON shape of a walk. Copies, so later changes to the walk do not show through. */
export function walkToJSON(walk: Walk): WalkJSON {
  return {
    name: walk.name,
    type: walk.type,
    flavor: walk.flavor,
    ndots: walk.ndots,
    searches: [...walk.searches],
    queryCount: walk.steps.length,
    queries: walk.steps.map((s) => ({
      seq: s.seq,
      candidate: s.candidate,
      qname: s.qname,
      qtype: s.qtype,
      rcode: s.rcode,
      answers: s.answers.map((r) => ({ ...r })),
      ...(s.note === undefined ? {} : { note: s.note }),
    })),
    result: {
      ok: walk.result.ok,
      status: walk.result.status,
      ...(walk.result.error === undefined ? {} : { error: walk.result.error }),
      finalName: walk.result.finalName,
      answers: walk.result.answers.map((r) => ({ ...r })),
    },
    notes: [...walk.notes],
  };
}

/** What the stub saw: NOERROR with an empty answer section is shown as NODATA, the word the docs use. */
function shownRcode(step: WalkStep): string {
  return step.rcode === 'NOERROR' && step.answers.length === 0 ? 'NODATA' : step.rcode;
}

/** Records in a short form: the data alone when the type is the one asked, else `TYPE data`. */
function shownAnswers(answers: readonly AnswerRecord[], qtype?: string): string {
  return answers.map((r) => (r.type.toUpperCase() === qtype ? r.data : `${r.type} ${r.data}`)).join(', ');
}

const STATUS_WORDS: Record<string, string> = {
  nxdomain: 'the name does not exist',
  nodata: 'the name exists without records of the type',
  again: 'temporary failure',
  fail: 'unrecoverable failure',
};

/**
 * The walk as text:
 * ```
 * glibc  ADDR web.other  ndots:5  search app.svc.cluster.local svc.cluster.local cluster.local
 *  1  web.other.app.svc.cluster.local.  A     NXDOMAIN
 *  2  web.other.app.svc.cluster.local.  AAAA  NXDOMAIN
 *  3  web.other.svc.cluster.local.      A     NOERROR  10.96.0.20
 *  4  web.other.svc.cluster.local.      AAAA  NODATA
 * result: ok  web.other.svc.cluster.local.  10.96.0.20  (4 queries)
 * ```
 * followed by the notes, each on a `note:` line.
 */
export function formatWalk(walk: Walk): string {
  const lines: string[] = [];
  const search = walk.searches.length > 0 ? `search ${walk.searches.join(' ')}` : 'no search list';
  lines.push(`${walk.flavor}  ${walk.type} ${walk.name}  ndots:${walk.ndots}  ${search}`);

  const seqWidth = String(walk.steps.length).length;
  const nameWidth = Math.max(0, ...walk.steps.map((s) => s.qname.length));
  const typeWidth = Math.max(0, ...walk.steps.map((s) => s.qtype.length));
  const rcodeWidth = Math.max(0, ...walk.steps.map((s) => shownRcode(s).length));
  for (const step of walk.steps) {
    const cells = [
      String(step.seq).padStart(seqWidth),
      step.qname.padEnd(nameWidth),
      step.qtype.padEnd(typeWidth),
      shownRcode(step).padEnd(rcodeWidth),
      shownAnswers(step.answers, step.qtype),
    ];
    lines.push(cells.join('  ').trimEnd());
    if (step.note !== undefined) lines.push(`${' '.repeat(seqWidth + 2)}^ ${step.note}`);
  }

  const count = `(${walk.steps.length} quer${walk.steps.length === 1 ? 'y' : 'ies'})`;
  const { result } = walk;
  if (result.ok) {
    lines.push(`result: ok  ${result.finalName}  ${shownAnswers(result.answers)}  ${count}`);
  } else {
    const error = result.error ?? result.status.toUpperCase();
    const last = result.finalName === null ? '' : `  last: ${result.finalName}`;
    lines.push(`result: ${error} (${STATUS_WORDS[result.status] ?? result.status})${last}  ${count}`);
  }
  for (const note of walk.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
}
