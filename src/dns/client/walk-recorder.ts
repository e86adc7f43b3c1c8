/**
 * The bookkeeping both walkers share: sending queries through the caller's transport, numbering candidates and
 * queries, and turning the final reply into an outcome.
 */
import { absolute } from './stub-config.js';
import type { AnswerRecord, LookupType, QueryFn, QueryType, WalkOutcome, WalkStatus, WalkStep } from './types.js';

/** Sends queries in the order the stub would and keeps the record. */
export class QueryRecorder {
  readonly steps: WalkStep[] = [];
  readonly notes: string[] = [];
  #candidates = 0;
  readonly #query: QueryFn;

  constructor(query: QueryFn) {
    this.#query = query;
  }

  /** The name of the last query sent, or null before the first. */
  get lastName(): string | null {
    return this.steps.at(-1)?.qname ?? null;
  }

  /**
   * Send the queries of one candidate. A and AAAA of getaddrinfo go out together on one socket in both libcs; they
   * are listed A first, and sent to the transport in that order so a recorded run is reproducible.
   */
  async sendCandidate(name: string, qtypes: readonly QueryType[]): Promise<WalkStep[]> {
    const candidate = ++this.#candidates;
    const qname = absolute(name);
    const sent: WalkStep[] = [];
    for (const qtype of qtypes) {
      const reply = await this.#query(qname, qtype);
      const step: WalkStep = {
        seq: this.steps.length + 1,
        candidate,
        qname,
        qtype,
        rcode: reply.rcode,
        answers: [...reply.answers],
      };
      this.steps.push(step);
      sent.push(step);
    }
    return sent;
  }

  note(text: string): void {
    this.notes.push(text);
  }
}

/** The record types that count as "the data asked for". */
function wantedTypes(type: LookupType): ReadonlySet<string> | 'any' {
  if (type === 'ADDR') return new Set(['A', 'AAAA']);
  if (type === 'ANY') return 'any';
  return new Set([type]);
}

/** Whether an answer section holds records of the type asked for (a CNAME alone does not). */
export function hasWanted(answers: readonly AnswerRecord[], type: LookupType): boolean {
  const wanted = wantedTypes(type);
  return answers.some((r) => wanted === 'any' || wanted.has(r.type.toUpperCase()));
}

/**
 * The outcome of a reply the stub accepted as an answer. A reply with answer records but none of the type asked for
 * (a CNAME whose target the server did not add) still ends the walk; the caller then finds nothing to use.
 */
export function answered(
  rec: QueryRecorder,
  steps: readonly WalkStep[],
  type: LookupType,
  emptyError: string,
): WalkOutcome {
  const answers = steps.flatMap((s) => s.answers);
  const finalName = steps[0]?.qname ?? rec.lastName;
  if (hasWanted(answers, type)) return { ok: true, status: 'ok', finalName, answers };
  rec.note(
    `${finalName} answered, but with no ${type === 'ADDR' ? 'A/AAAA' : type} records: the walk ends without data`,
  );
  return { ok: false, status: 'nodata', error: emptyError, finalName, answers };
}

/** A failed lookup, ending with `error` (the libc's own name for it). */
export function failed(rec: QueryRecorder, status: WalkStatus, error: string | undefined): WalkOutcome {
  const outcome: WalkOutcome = { ok: false, status, finalName: rec.lastName, answers: [] };
  if (error !== undefined) outcome.error = error;
  return outcome;
}
