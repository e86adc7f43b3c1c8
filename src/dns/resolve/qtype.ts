/**
 * Query types and classes: the numbers of the IANA DNS parameters registry for the mnemonics a question may use.
 * Unknown types are welcome as numbers or as RFC 3597 `TYPEnnn`; the resolver answers them NODATA or NXDOMAIN.
 */
import { InvalidArgumentError } from '../../errors.js';
import { RRClass, RRType } from '../wire/message.js';

/** The wire codec's tables: one list of type and class numbers for the whole DNS package. */
export const QTYPE = RRType;
export const QCLASS = RRClass;

const TYPE_NAMES = new Map<number, string>(Object.entries(QTYPE).map(([name, n]) => [n, name]));
const CLASS_NAMES = new Map<number, string>(Object.entries(QCLASS).map(([name, n]) => [n, name]));

/** The wire number of a type given as a number, a mnemonic or `TYPEnnn`. */
export function qtypeNumber(type: number | string): number {
  return toNumber(type, QTYPE, 'TYPE', 'query type');
}

/** The wire number of a class given as a number, a mnemonic or `CLASSnnn`. */
export function qclassNumber(cls: number | string): number {
  return toNumber(cls, QCLASS, 'CLASS', 'query class');
}

/** `AAAA`, or `TYPE65534` for types without a mnemonic here. */
export function qtypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

export function qclassName(cls: number): string {
  return CLASS_NAMES.get(cls) ?? `CLASS${cls}`;
}

function toNumber(value: number | string, table: Record<string, number>, prefix: string, what: string): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0 && value <= 0xffff) return value;
    throw new InvalidArgumentError(`${what} ${value} is not a 16-bit number`);
  }
  const upper = value.toUpperCase();
  const known = table[upper];
  if (known !== undefined) return known;
  const generic = new RegExp(`^${prefix}([0-9]{1,5})$`).exec(upper);
  if (generic && Number(generic[1]) <= 0xffff) return Number(generic[1]);
  throw new InvalidArgumentError(`unknown ${what} "${value}"`);
}
