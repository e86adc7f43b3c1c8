/**
 * An undo log shared by the store and the allocators for one batch. Every write records how to take itself back;
 * a rejected batch runs the undo steps in reverse, so a batch either applies whole or changes nothing.
 */
export class Journal {
  #undo: (() => void)[] = [];

  record(undo: () => void): void {
    this.#undo.push(undo);
  }

  rollback(): void {
    for (let i = this.#undo.length - 1; i >= 0; i--) this.#undo[i]!();
    this.#undo = [];
  }

  commit(): void {
    this.#undo = [];
  }
}

/** A journal that forgets: for writes outside any batch (tests, benchmarks of allocators). */
export const noJournal: Journal = new (class extends Journal {
  override record(): void {}
})();
