/**
 * Every Service's rule program (program.ts) of one rule set, copied into one Int32Array, and the NAT records of their
 * DNAT rules, made when first read.
 *
 * Why: a new flow on a node with 10,000 Services jumps into a program no recent flow used, and each object on the way
 * is a cache miss. With a program of its own, the walk read the program's typed array (its header, then its data
 * elsewhere) and its records array (header, then elements); here the arena's headers are read by every flow and stay
 * cached, so a flow misses only on its rules.
 *
 * A program keeps its place (`base`, in rules) until it is released; released rules are garbage until the rule set
 * compacts: it clears the arena and places the live programs again (their jumps move with them: bases change).
 */
import type { NatBook, NatRecord } from '../conntrack-store.js';
import { natRecord } from '../conntrack-store.js';
import type { NatProgram } from './program.js';

/** Int32 words per rule in `code`. */
const WORDS = 4;

/**
 * The NAT records of the DNAT rules placed since the arena's last `clear`, by handle: the rule's place (base + index)
 * × 2, + 1 for the masqueraded record. A new flow files its rule's handle in conntrack (conntrack-store.ts `NatBook`)
 * and the record is made, once per rule, when a flow's NAT is first read: on a node with 10,000 Services × 10
 * endpoints a new flow's rule record is a random read in a hundred thousand, a cache miss that storing its reference
 * would cost every new flow.
 *
 * A handle names the same record for the book's life: places are not reused until `clear`, which starts a new book,
 * and a released program stays readable here (rows and verdicts filed with a book keep it alive).
 */
export class DnatRecords implements NatBook {
  /** The arena's rules while this book is current (the arena swaps in its grown copies); its last ones after. */
  code: Int32Array;
  /** Records made so far, by handle. */
  readonly #records: (NatRecord | undefined)[] = [];
  /** The program placed at each base (holes elsewhere), released ones included. */
  readonly programs: (NatProgram | undefined)[] = [];
  /** The source MASQUERADE gives (the rule set's node address when the book was started). */
  readonly #snatIp: string | null;

  constructor(code: Int32Array, snatIp: string | null) {
    this.code = code;
    this.#snatIp = snatIp;
  }

  /** The handle of rule `rule`'s record (masqueraded or not). */
  handle(rule: number, masqueraded: boolean): number {
    return rule * 2 + (masqueraded ? 1 : 0);
  }

  record(handle: number): NatRecord {
    let record = this.#records[handle];
    if (record === undefined) {
      const rule = handle >> 1;
      // A DNAT rule's last word is its index in its program (program.ts), so its program's base is one subtraction.
      const index = this.code[rule * WORDS + 3]!;
      const program = this.programs[rule - index]!;
      const endpoint = program.endpoints[index]!;
      const snatIp = (handle & 1) === 1 ? this.#snatIp : null;
      record = natRecord(endpoint.destination, snatIp, program.service, endpoint.address);
      this.#records[handle] = record;
    }
    return record;
  }
}

export class ProgramArena {
  /** The programs' rules, WORDS words each: rule i of the program placed at base b is at (b + i) × WORDS. */
  code = new Int32Array(1024 * WORDS);
  /** The NAT records of the rules placed since the last `clear`. */
  records = new DnatRecords(this.code, null);
  /** Rules placed, live or released. */
  #top = 0;
  #released = 0;

  /** How many rules a program takes in the arena. */
  static rulesIn(program: NatProgram): number {
    return program.code.length / WORDS;
  }

  /** Copy a program in; returns its base. */
  place(program: NatProgram): number {
    const rules = ProgramArena.rulesIn(program);
    const base = this.#top;
    if ((base + rules) * WORDS > this.code.length) {
      const grown = new Int32Array(Math.max(this.code.length * 2, (base + rules) * WORDS));
      grown.set(this.code.subarray(0, base * WORDS));
      this.code = grown;
      this.records.code = grown;
    }
    this.code.set(program.code, base * WORDS);
    // A program without rules shares its base with the next one placed: only programs with rules own a base (no
    // walk reaches a rule of an empty one).
    if (rules > 0) this.records.programs[base] = program;
    this.#top = base + rules;
    return base;
  }

  /**
   * A program placed at `base` is no longer used. Its rules stay until the next `clear` (their records may still be
   * asked for: flows filed from them live on).
   */
  release(_base: number, program: NatProgram): void {
    this.#released += ProgramArena.rulesIn(program);
  }

  /** The program placed at `base` (one with rules). */
  programAt(base: number): NatProgram {
    return this.records.programs[base]!;
  }

  /** Rules placed since the last `clear`, live or released (what the arena holds). */
  get placed(): number {
    return this.#top;
  }

  /** Whether released rules outnumber live ones (and are worth a copy): time for the rule set to compact. */
  get wasteful(): boolean {
    return this.#released > 4096 && this.#released * 2 > this.#top;
  }

  /**
   * Start over empty (the caller places every live program again) with a new book of records whose masqueraded ones
   * have source `snatIp`, with room for `rules` rules (the live ones by default), and an eighth more for the programs
   * later changes place. Sized once, not grown by doubling while the programs are placed: on this machine each page
   * of fresh memory costs about 13 µs the first time it is written (a page fault the hypervisor serves), and the
   * copies growth made wrote about three times the final size.
   */
  clear(snatIp: string | null, rules = this.#top - this.#released): void {
    const room = Math.max(1024, rules + (rules >> 3));
    this.code = new Int32Array(room * WORDS);
    this.records = new DnatRecords(this.code, snatIp);
    this.#top = 0;
    this.#released = 0;
  }
}
