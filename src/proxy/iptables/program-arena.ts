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
import { T_DNAT } from './rule-types.js';

/**
 * Int32 words per rule in `code`; slots per DNAT rule in `records`: the unmasqueraded NAT record and its endpoint
 * text, then the masqueraded ones.
 */
const WORDS = 4;
const RECORDS = 4;

/** Whether rule word 0 is a DNAT's (the target code is bits 4-7, program.ts). */
function isDnat(op: number): boolean {
  return ((op >> 4) & 15) === T_DNAT;
}

export class ProgramArena {
  /** The programs' rules, WORDS words each: rule i of the program placed at base b is at (b + i) × WORDS. */
  code = new Int32Array(1024 * WORDS);
  /**
   * The NAT records of the DNAT rules, by the number `place` gave each rule (its word 3 in `code`): at number ×
   * RECORDS, + 2 when masqueraded; null until made. The record's `endpoint` text follows it (at + 1), so a new flow
   * files its conntrack row from this cache line without reaching the record.
   *
   * Numbered, not indexed by rule: a node's DNAT rules are about a third of its rules, and a new flow reads one slot
   * here at random, so the array it reads in is 3.6 MB instead of 11 MB at 10,000 Services × 10 endpoints (the
   * smaller the region a random read lands in, the likelier it is still cached).
   */
  records: (NatRecord | string | null)[] = [];
  /** Record numbers handed out since `clear`, and those given back by released programs (reused first). */
  #numbered = 0;
  #freeNumbers: number[] = [];
  /** The program placed at each base (holes elsewhere): what a walk that holds only a base reads on its rare paths. */
  #programs: (NatProgram | undefined)[] = [];
  /** Rules placed, live or released. */
  #top = 0;
  #released = 0;

  /** How many rules a program takes in the arena. */
  static rulesIn(program: NatProgram): number {
    return program.code.length / WORDS;
  }

  /** How many of them are DNAT rules (each takes a record number). */
  static dnatsIn(program: NatProgram): number {
    let dnats = 0;
    for (let at = 0; at < program.code.length; at += WORDS) if (isDnat(program.code[at]!)) dnats++;
    return dnats;
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
    const code = this.code;
    code.set(program.code, base * WORDS);
    for (let at = base * WORDS; at < (base + rules) * WORDS; at += WORDS) {
      if (!isDnat(code[at]!)) continue;
      const number = this.#freeNumbers.pop() ?? this.#numbered++;
      code[at + 3] = number;
      // Slots past the room `clear` filled with null are added; a reused number's slots were nulled when given back.
      for (let k = this.records.length; k < (number + 1) * RECORDS; k++) this.records.push(null);
    }
    // A program without rules shares its base with the next one placed: only programs with rules own a base (no
    // walk reaches a rule of an empty one).
    if (rules > 0) this.#programs[base] = program;
    this.#top = base + rules;
    return base;
  }

  /** A program placed at `base` is no longer used: its records go now (no flow is kept from them: rows hold theirs). */
  release(base: number, program: NatProgram): void {
    const rules = ProgramArena.rulesIn(program);
    const code = this.code;
    for (let at = base * WORDS; at < (base + rules) * WORDS; at += WORDS) {
      if (!isDnat(code[at]!)) continue;
      const number = code[at + 3]!;
      // Null, not holes: the walk tests a slot strictly.
      for (let k = number * RECORDS; k < (number + 1) * RECORDS; k++) this.records[k] = null;
      this.#freeNumbers.push(number);
    }
    if (rules > 0) this.#programs[base] = undefined;
    this.#released += rules;
  }

  /**
   * Where the NAT record of DNAT rule `rule` (base + index) lies in `records`: masqueraded or not; its endpoint text
   * at + 1. (Its number is in the rule's last word, on the cache line the walk just read the rule from.)
   */
  recordSlot(rule: number, masqueraded: boolean): number {
    return this.code[rule * WORDS + 3]! * RECORDS + (masqueraded ? 2 : 0);
  }

  /** The live program placed at `base` (one with rules). */
  programAt(base: number): NatProgram {
    return this.#programs[base]!;
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
   * Start over empty (the caller places every live program again), with room for `rules` rules and the records of
   * `dnats` DNAT rules (the live ones by default), and an eighth more for the programs later changes place. Sized
   * once, not grown by doubling while the programs are placed: on this machine each page of fresh memory costs about
   * 13 µs the first time it is written (a page fault the hypervisor serves), and the copies growth made wrote about
   * three times the final size.
   */
  clear(rules = this.#top - this.#released, dnats = this.#numbered - this.#freeNumbers.length): void {
    const room = Math.max(1024, rules + (rules >> 3));
    this.code = new Int32Array(room * WORDS);
    this.records = new Array<NatRecord | string | null>(Math.max(256, dnats + (dnats >> 3)) * RECORDS).fill(null);
    this.#numbered = 0;
    this.#freeNumbers = [];
    this.#programs = [];
    this.#top = 0;
    this.#released = 0;
  }
}
