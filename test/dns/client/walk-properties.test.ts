/**
 * Properties of the walk over random names, ndots and search lists: the candidate order each libc follows when
 * nothing exists, that the first candidate with data ends the walk, and the shape of the step list.
 */
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { type Answer, type Flavor, type QueryType, resolveFromPod } from '../../../src/dns/client/index.js';

async function holdsAsync<T>(t: ExecutionContext, property: fc.IAsyncProperty<T>): Promise<void> {
  const details = await fc.check(property, { numRuns: 200 });
  t.false(details.failed, fc.defaultReportMessage(details) ?? '');
}

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/);
const relativeName = fc.array(label, { minLength: 1, maxLength: 7 }).map((ls) => ls.join('.'));
const name = fc.tuple(relativeName, fc.boolean()).map(([n, dot]) => (dot ? `${n}.` : n));
const searchDomain = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const setup = fc.record({
  name,
  ndots: fc.integer({ min: 0, max: 6 }),
  searches: fc.uniqueArray(searchDomain, { maxLength: 4 }),
  flavor: fc.constantFrom<Flavor>('glibc', 'musl'),
});

/** The candidates, in order, that each libc tries for a name when every one of them is NXDOMAIN. */
function expectedCandidates(n: string, ndots: number, searches: string[], flavor: Flavor): string[] {
  const dots = [...n].filter((c) => c === '.').length;
  if (n.endsWith('.')) return [n];
  const searched = searches.map((d) => `${n}.${d}.`);
  if (dots >= ndots) return flavor === 'glibc' ? [`${n}.`, ...searched] : [`${n}.`];
  return [...searched, `${n}.`];
}

const resolvConf = (ndots: number, searches: string[]) => ({
  nameservers: ['10.96.0.10'],
  searches,
  options: [{ name: 'ndots', value: String(ndots) }],
});

test('property: with every name NXDOMAIN, each libc walks its documented candidate order', async (t) => {
  await holdsAsync(
    t,
    fc.asyncProperty(setup, async ({ name, ndots, searches, flavor }) => {
      const walk = await resolveFromPod(name, {
        resolvConf: resolvConf(ndots, searches),
        type: 'ADDR',
        flavor,
        query: () => ({ rcode: 'NXDOMAIN', answers: [] }),
      });
      const candidates = expectedCandidates(name, ndots, searches, flavor);
      const sent = walk.steps.map((s) => `${s.qname} ${s.qtype}`);
      const expected = candidates.flatMap((c) => [`${c} A`, `${c} AAAA`]);
      return (
        JSON.stringify(sent) === JSON.stringify(expected) &&
        walk.result.status === 'nxdomain' &&
        walk.result.error === (flavor === 'glibc' ? 'HOST_NOT_FOUND' : 'EAI_NONAME')
      );
    }),
  );
});

test('property: the first candidate with an address ends the walk, in either libc', async (t) => {
  await holdsAsync(
    t,
    fc.asyncProperty(setup, fc.nat(), async ({ name, ndots, searches, flavor }, pick) => {
      const candidates = expectedCandidates(name, ndots, searches, flavor);
      const hit = candidates[pick % candidates.length]!;
      const query = (qname: string, qtype: QueryType): Answer =>
        qname === hit && qtype === 'A'
          ? { rcode: 'NOERROR', answers: [{ name: qname, type: 'A', data: '10.96.0.1' }] }
          : { rcode: qname === hit ? 'NOERROR' : 'NXDOMAIN', answers: [] };
      const walk = await resolveFromPod(name, { resolvConf: resolvConf(ndots, searches), type: 'ADDR', flavor, query });
      const position = candidates.indexOf(hit);
      return walk.result.ok && walk.result.finalName === hit && walk.steps.length === 2 * (position + 1);
    }),
  );
});

test('property: steps are numbered in order, absolute, and grouped A then AAAA per candidate', async (t) => {
  const rcodes = fc.constantFrom<Answer['rcode']>('NOERROR', 'NXDOMAIN', 'SERVFAIL', 'REFUSED', 'TIMEOUT');
  await holdsAsync(
    t,
    fc.asyncProperty(setup, fc.func(rcodes), async ({ name, ndots, searches, flavor }, pickRcode) => {
      const walk = await resolveFromPod(name, {
        resolvConf: resolvConf(ndots, searches),
        type: 'ADDR',
        flavor,
        query: (qname, qtype) => ({ rcode: pickRcode(qname, qtype), answers: [] }),
      });
      return walk.steps.every(
        (s, i) =>
          s.seq === i + 1 &&
          s.qname.endsWith('.') &&
          s.candidate === Math.floor(i / 2) + 1 &&
          s.qtype === (i % 2 === 0 ? 'A' : 'AAAA'),
      );
    }),
  );
});
