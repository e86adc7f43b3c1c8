import test from 'ava';
import fc from 'fast-check';
import { PodIndex } from '../../src/controllers/pod-index.js';
import { Journal, noJournal } from '../../src/model/journal.js';
import { matchesMap } from '../../src/model/labels.js';
import { pod, service } from './helpers.js';

const names = (pods: { metadata: { name: string } }[]) => pods.map((p) => p.metadata.name).sort();

test('select walks the smallest posting list and checks the rest', (t) => {
  const index = new PodIndex();
  index.add(pod('a', { labels: { app: 'web', tier: 'front' } }), noJournal);
  index.add(pod('b', { labels: { app: 'web', tier: 'back' } }), noJournal);
  index.add(pod('c', { labels: { app: 'api', tier: 'front' } }), noJournal);
  index.add(pod('d', { labels: { app: 'web' }, namespace: 'other' }), noJournal);
  t.deepEqual(names(index.select('default', { app: 'web' })), ['a', 'b']);
  t.deepEqual(names(index.select('default', { app: 'web', tier: 'front' })), ['a']);
  t.deepEqual(names(index.select('default', { app: 'nope' })), []);
  t.deepEqual(names(index.select('default', {})), ['a', 'b', 'c']);
  t.deepEqual(names(index.select('other', { app: 'web' })), ['d']);
});

test('a label change moves the pod between posting lists', (t) => {
  const index = new PodIndex();
  const a = pod('a', { labels: { app: 'web' } });
  index.add(a, noJournal);
  index.update(a, pod('a', { labels: { app: 'api' } }), noJournal);
  t.deepEqual(names(index.select('default', { app: 'web' })), []);
  t.deepEqual(names(index.select('default', { app: 'api' })), ['a']);
  t.is(index.size, 1);
});

test('servicesSelecting finds the Services whose selector matches', (t) => {
  const index = new PodIndex();
  index.addService(service('web'), noJournal);
  index.addService(service('web-front', { selector: { app: 'web', tier: 'front' } }), noJournal);
  index.addService(service('api'), noJournal);
  index.addService(service('manual', { selector: undefined }), noJournal);
  const found = (labels: Record<string, string>) => names(index.servicesSelecting(pod('x', { labels })));
  t.deepEqual(found({ app: 'web', tier: 'front' }), ['web', 'web-front']);
  t.deepEqual(found({ app: 'web' }), ['web']);
  t.deepEqual(found({ app: 'db' }), []);
  index.removeService(service('web'), noJournal);
  t.deepEqual(found({ app: 'web', tier: 'front' }), ['web-front']);
});

test('a rolled-back journal restores the index', (t) => {
  const index = new PodIndex();
  index.add(pod('a', { labels: { app: 'web' } }), noJournal);
  index.addService(service('web'), noJournal);
  const journal = new Journal();
  index.remove(pod('a'), journal);
  index.add(pod('b', { labels: { app: 'web' } }), journal);
  index.removeService(service('web'), journal);
  journal.rollback();
  t.deepEqual(names(index.select('default', { app: 'web' })), ['a']);
  t.deepEqual(names(index.servicesSelecting(pod('x', { labels: { app: 'web' } }))), ['web']);
});

test('property: select and servicesSelecting agree with brute force', (t) => {
  const labels = fc.dictionary(fc.constantFrom('app', 'tier', 'env'), fc.constantFrom('a', 'b'), { maxKeys: 3 });
  fc.assert(
    fc.property(fc.array(labels, { maxLength: 30 }), fc.array(labels, { maxLength: 8 }), (podLabels, selectors) => {
      const index = new PodIndex();
      const pods = podLabels.map((l, i) => pod(`p${i}`, { labels: l }));
      for (const p of pods) index.add(p, noJournal);
      const services = selectors.map((s, i) => service(`s${i}`, { selector: s }));
      for (const s of services) index.addService(s, noJournal);
      for (const s of selectors) {
        const want = names(pods.filter((p) => matchesMap(p.metadata.labels, s)));
        if (JSON.stringify(names(index.select('default', s))) !== JSON.stringify(want)) return false;
      }
      for (const p of pods) {
        const want = names(
          services.filter(
            (s) => Object.keys(s.spec.selector!).length && matchesMap(p.metadata.labels, s.spec.selector!),
          ),
        );
        if (JSON.stringify(names(index.servicesSelecting(p))) !== JSON.stringify(want)) return false;
      }
      return true;
    }),
  );
  t.pass();
});
