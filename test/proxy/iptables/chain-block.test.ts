/** Chain blocks: sorting whole blocks orders chains as iptables-save orders them, by name. */
import test from 'ava';
import fc from 'fast-check';
import { blockName, blockRules, chainBlock, sortBlocks } from '../../../src/proxy/iptables/chain-block.js';

// What iptables allows in a chain name that kube-proxy uses, plus the characters a rule line may start with.
const chainName = fc.string({ unit: fc.constantFrom(...'AB-Z019KUBE'), minLength: 1, maxLength: 12 });
const ruleLine = fc.string({ unit: fc.constantFrom(...' -A!"/:.AZaz09'), maxLength: 20 });
const chain = fc.record({ name: chainName, lines: fc.array(ruleLine, { maxLength: 4 }) });

/** The order the renderer had before blocks: a stable sort on the names alone. */
function byNameStable(chains: { name: string }[]): string[] {
  return chains.map((c) => c.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

test('property: blocks sort as their names do, and keep name and lines apart', (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(chain, { selector: (c) => c.name, maxLength: 30 }), (chains) => {
      const sorted = sortBlocks(chains.map((c) => chainBlock(c.name, c.lines)));
      const byName = new Map(chains.map((c) => [c.name, c.lines.join('\n')]));
      return (
        JSON.stringify(sorted.map(blockName)) === JSON.stringify(byNameStable(chains)) &&
        sorted.every((b) => blockRules(b) === byName.get(blockName(b)))
      );
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('two chains of the same name stay in the order they were given, each with its own rules', (t) => {
  const blocks = [
    chainBlock('KUBE-SEP-B', ['-A KUBE-SEP-B -j Z']),
    chainBlock('KUBE-SEP-A', []),
    chainBlock('KUBE-SEP-B', ['-A KUBE-SEP-B -j A']),
  ];
  t.deepEqual(sortBlocks(blocks).map(blockRules), ['', '-A KUBE-SEP-B -j Z', '-A KUBE-SEP-B -j A']);
});

test('a name that prefixes another sorts first, with or without rules', (t) => {
  const blocks = [chainBlock('KUBE-SVC-AB', ['-A KUBE-SVC-AB -j X']), chainBlock('KUBE-SVC-A', ['-A KUBE-SVC-A -j X'])];
  t.deepEqual(sortBlocks(blocks).map(blockName), ['KUBE-SVC-A', 'KUBE-SVC-AB']);
});
