/** TupleTable behaves as a Map keyed by the 5-tuple (model-based property, with deletes and growth). */
import test from 'ava';
import fc from 'fast-check';
import type { Protocol } from '../../src/model/types.js';
import { TupleTable } from '../../src/proxy/tuple-table.js';
import { holds } from '../cni/helpers.js';

const tupleArb = fc.record({
  proto: fc.constantFrom<Protocol>('TCP', 'UDP', 'SCTP'),
  src: fc.constantFrom('10.0.0.1', '10.0.0.2', 'fd00::1', '192.168.0.2'),
  sport: fc.integer({ min: 0, max: 8 }),
  dst: fc.constantFrom('10.96.0.1', '10.0.0.1', 'fd00::2'),
  dport: fc.integer({ min: 0, max: 4 }),
});
const opArb = fc.record({ del: fc.boolean(), t: tupleArb, v: fc.integer() });

test('agrees with a Map model under random inserts and deletes', (t) => {
  holds(
    t,
    fc.property(fc.array(opArb, { maxLength: 300, size: 'max' }), (ops) => {
      const table = new TupleTable<number>(16);
      const model = new Map<string, number>();
      const key = (x: { proto: string; src: string; sport: number; dst: string; dport: number }) =>
        `${x.proto}|${x.src}|${x.sport}|${x.dst}|${x.dport}`;
      for (const { del, t: x, v } of ops) {
        if (del) {
          if (table.delete(x.proto, x.src, x.sport, x.dst, x.dport) !== model.delete(key(x))) return false;
        } else {
          table.set(x.proto, x.src, x.sport, x.dst, x.dport, v);
          model.set(key(x), v);
        }
        if (table.size !== model.size) return false;
      }
      for (const p of ['TCP', 'UDP', 'SCTP'] as const)
        for (const s of ['10.0.0.1', '10.0.0.2', 'fd00::1', '192.168.0.2'])
          for (let sp = 0; sp <= 8; sp++)
            for (const d of ['10.96.0.1', '10.0.0.1', 'fd00::2'])
              for (let dp = 0; dp <= 4; dp++)
                if (table.get(p, s, sp, d, dp) !== model.get(`${p}|${s}|${sp}|${d}|${dp}`)) return false;
      return [...table.values()].length === model.size;
    }),
    { numRuns: 200 },
  );
});
