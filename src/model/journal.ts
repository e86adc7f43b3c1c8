/**
 * An undo log shared by the store and the allocators for one batch. Every write records how to take itself back;
 * a rejected batch runs the undo steps in reverse, so a batch either applies whole or changes nothing.
 *
 * A bulk load records millions of steps (several per pod), all kept until the batch commits. A closure per step
 * costs a function object and a context object on the heap; `recordCall` keeps a step as a shared, module-level
 * undo function and up to three arguments in one flat array instead, which is what the hot paths use.
 */

/** An undo step taking its state as arguments, so one function serves every step of its kind. */
export type UndoFn<A, B, C> = (a: A, b: B, c: C) => void;

/** Slots per step in the flat log: the function and its three arguments. */
const STEP = 4;

export class Journal {
  #steps: unknown[] = [];

  /** Record an undo step as a closure. */
  record(undo: () => void): void {
    this.#steps.push(undo, undefined, undefined, undefined);
  }

  /** Record an undo step as `fn(a, b, c)`; `fn` should be a shared function, not a fresh closure. */
  recordCall<A, B = undefined, C = undefined>(fn: UndoFn<A, B, C>, a: A, b?: B, c?: C): void {
    this.#steps.push(fn, a, b, c);
  }

  rollback(): void {
    const steps = this.#steps;
    for (let i = steps.length - STEP; i >= 0; i -= STEP) {
      (steps[i] as UndoFn<unknown, unknown, unknown>)(steps[i + 1], steps[i + 2], steps[i + 3]);
    }
    this.#steps = [];
  }

  commit(): void {
    this.#steps = [];
  }
}

/** A journal that forgets: for writes outside any batch (tests, benchmarks of allocators). */
export const noJournal: Journal = new (class extends Journal {
  override record(): void {}
  override recordCall(): void {}
})();
