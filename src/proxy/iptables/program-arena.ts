/**
 * Every Service's rule program (program.ts) of one rule set, copied into one Int32Array, with the NAT records of
 * their DNAT rules in one array beside it.
 *
 * Why: a new flow on a node with 10,000 Services jumps into a program no recent flow used, and each object on the way
 * is a cache miss. With a program of its own, the walk read the program's typed array (its header, then its data
 * elsewhere) and its records array (header, then elements); here the arena's two headers are read by every flow and
 * stay cached, so a flow misses only on its rules and its record.
 *
 * A program keeps its place (`base`, in rules) until it is released; released rules are garbage until the rule set
 * compacts: it clears the arena and places the live programs again (their jumps move with them: bases change).
 */
import type { NatRecord } from '../conntrack-store.js';
import type { NatProgram } from './program.js';

/**
 * Int32 words per rule in `code`; slots per rule in `records`: the unmasqueraded NAT record and its endpoint text,
 * then the masqueraded ones.
 */
const WORDS = 4;
const RECORDS = 4;

export class ProgramArena {
  /** The programs' rules, WORDS words each: rule i of the program placed at base b is at (b + i) × WORDS. */
  code = new Int32Array(1024 * WORDS);
  /**
   * The NAT record of rule i of the program at base b: at (b + i) × RECORDS, + 2 when masqueraded; null until made.
   * The record's `endpoint` text follows it (at + 1), so a new flow files its conntrack row from this cache line
   * without reaching the record.
   */
  records: (NatRecord | string | null)[] = [];
  /** The program placed at each base (holes elsewhere): what a walk that holds only a base reads on its rare paths. */
  #programs: (NatProgram | undefined)[] = [];
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
    }
    this.code.set(program.code, base * WORDS);
    // A program without rules shares its base with the next one placed: only programs with rules own a base (no
    // walk reaches a rule of an empty one).
    if (rules > 0) this.#programs[base] = program;
    // Slots from the top up are null since `clear` (records are made only for placed rules): only new ones are added.
    for (let k = this.records.length; k < (base + rules) * RECORDS; k++) this.records.push(null);
    this.#top = base + rules;
    return base;
  }

  /** A program placed at `base` is no longer used: its records go now (no flow is kept from them: rows hold theirs). */
  release(base: number, program: NatProgram): void {
    const rules = ProgramArena.rulesIn(program);
    this.#emptyRecords(base, rules);
    if (rules > 0) this.#programs[base] = undefined;
    this.#released += rules;
  }

  /** Where the NAT record of rule `rule` (base + index) lies in `records`: masqueraded or not; its endpoint text at + 1. */
  recordSlot(rule: number, masqueraded: boolean): number {
    return rule * RECORDS + (masqueraded ? 2 : 0);
  }

  /** The live program placed at `base` (one with rules). */
  programAt(base: number): NatProgram {
    return this.#programs[base]!;
  }

  /** No records yet for `rules` rules from `base` (null, not holes: the walk tests a slot strictly). */
  #emptyRecords(base: number, rules: number): void {
    for (let k = base * RECORDS; k < (base + rules) * RECORDS; k++) this.records[k] = null;
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
   * Start over empty (the caller places every live program again), with room for `rules` rules (the live ones by
   * default) and an eighth more for the programs later changes place. Sized once, not grown by doubling while the
   * programs are placed: on this machine each page of fresh memory costs about 13 µs the first time it is written (a
   * page fault the hypervisor serves), and the copies growth made wrote about three times the final size.
   */
  clear(rules = this.#top - this.#released): void {
    const room = Math.max(1024, rules + (rules >> 3));
    this.code = new Int32Array(room * WORDS);
    this.records = new Array<NatRecord | string | null>(room * RECORDS).fill(null);
    this.#programs = [];
    this.#top = 0;
    this.#released = 0;
  }
}
