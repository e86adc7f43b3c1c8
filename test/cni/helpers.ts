/**
 * Shared test helpers for the allocators: running fast-check properties as ava assertions, recording an operation's
 * outcome (value or error code), and the generic "a rolled-back journal leaves no trace" check.
 */
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { KubeNetsimError } from '../../src/errors.js';
import { Journal, noJournal } from '../../src/model/journal.js';

/** Run a property and fail the test with fast-check's report (seed, shrunk counterexample) when it fails. */
export function holds<T>(t: ExecutionContext, property: fc.IProperty<T>, params: fc.Parameters<T> = {}): void {
  const details = fc.check(property, params);
  t.false(details.failed, fc.defaultReportMessage(details) ?? '');
}

/** The result of one operation: its value, or the error code it threw. */
export type Outcome = { ok: unknown } | { error: string };

export function outcome(run: () => unknown): Outcome {
  try {
    return { ok: run() };
  } catch (err) {
    if (err instanceof KubeNetsimError) return { error: err.code };
    throw err;
  }
}

/**
 * Rollback leaves no trace: an allocator that ran `prefix`, then `rolledBack` inside a journal that was rolled back,
 * then `suffix`, gives the same outcomes and final state as one that only ran `prefix` and `suffix`.
 */
export function rollbackIsInvisible<A, Op>(
  make: () => A,
  apply: (allocator: A, op: Op, journal: Journal) => unknown,
  state: (allocator: A) => unknown,
  ops: { prefix: Op[]; rolledBack: Op[]; suffix: Op[] },
): boolean {
  const tried = make();
  const clean = make();
  for (const op of ops.prefix) {
    outcome(() => apply(tried, op, noJournal));
    outcome(() => apply(clean, op, noJournal));
  }
  const before = canon(state(tried));
  const journal = new Journal();
  for (const op of ops.rolledBack) outcome(() => apply(tried, op, journal));
  journal.rollback();
  if (canon(state(tried)) !== before) return false;
  const a = ops.suffix.map((op) => outcome(() => apply(tried, op, noJournal)));
  const b = ops.suffix.map((op) => outcome(() => apply(clean, op, noJournal)));
  return canon(a) === canon(b) && canon(state(tried)) === canon(state(clean));
}

/** Arbitrary prefix / rolled-back / suffix operation lists for `rollbackIsInvisible`. */
export function opLists<Op>(op: fc.Arbitrary<Op>, maxLength = 40) {
  return fc.record({
    prefix: fc.array(op, { maxLength }),
    rolledBack: fc.array(op, { maxLength }),
    suffix: fc.array(op, { maxLength }),
  });
}

/** JSON text of a value, bigints included, for deep comparisons. */
export function canon(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${v}n` : v));
}
