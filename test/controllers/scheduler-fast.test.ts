/**
 * The segment-tree fast path must decide exactly as the node-by-node scan: same nodes, same tie-breaks, same
 * search positions, whatever the cluster and the pods.
 */
import test from 'ava';
import fc from 'fast-check';
import { Scheduler } from '../../src/controllers/scheduler.js';
import { noJournal } from '../../src/model/journal.js';
import type { Pod } from '../../src/model/types.js';
import { Rng } from '../../src/util/rng.js';
import { CONTROL_PLANE_TAINT, container, node, pod } from './helpers.js';

const nodeArb = fc.record({
  zone: fc.constantFrom(undefined, 'a', 'b', 'c'),
  cpu: fc.constantFrom('2', '4', '8'),
  memory: fc.constantFrom('4Gi', '8Gi'),
  pods: fc.constantFrom('5', '110'),
  kind: fc.constantFrom('plain', 'plain', 'plain', 'plain', 'control-plane', 'cordoned'),
});

const podArb = fc.record({
  group: fc.constantFrom(undefined, 'a', 'b', 'c'),
  cpu: fc.constantFrom(undefined, '100m', '500m'),
  memory: fc.constantFrom(undefined, '256Mi'),
  tolerate: fc.boolean(),
  selector: fc.constantFrom(false, false, false, true),
  deleteOne: fc.nat(),
});

test('property: the fast path decides exactly as the scan', (t) => {
  fc.assert(
    fc.property(
      fc.array(nodeArb, { minLength: 1, maxLength: 160 }),
      fc.array(podArb, { maxLength: 120 }),
      fc.integer({ min: 0, max: 1000 }),
      (nodes, pods, seed) => {
        const make = (fast: boolean) => {
          const s = new Scheduler({ rng: new Rng(seed), fastPath: fast ? { minNodes: 0, minUses: 0 } : false });
          nodes.forEach((n, i) => {
            s.addNode(
              node(`n${i}`, {
                ...(n.zone ? { zone: n.zone } : {}),
                cpu: n.cpu,
                memory: n.memory,
                pods: n.pods,
                ...(n.kind === 'control-plane' ? { taints: [CONTROL_PLANE_TAINT] } : {}),
                ...(n.kind === 'cordoned' ? { unschedulable: true } : {}),
              }),
              noJournal,
            );
          });
          return s;
        };
        const fast = make(true);
        const scan = make(false);
        const bound: Pod[] = [];
        for (const [i, o] of pods.entries()) {
          const p = pod(`p${i}`, {
            containers: [container({ ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) })],
            ...(o.tolerate ? { tolerations: [{ operator: 'Exists' as const }] } : {}),
            ...(o.selector ? { nodeSelector: { 'topology.kubernetes.io/zone': 'a' } } : {}),
          });
          if (o.group)
            p.metadata.ownerReferences = [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.group, controller: true },
            ];
          const a = fast.schedule(p);
          const b = scan.schedule(p);
          if (JSON.stringify(a) !== JSON.stringify(b))
            throw new Error(`pod ${i}: fast ${JSON.stringify(a)} scan ${JSON.stringify(b)}`);
          if ('nodeName' in a) {
            fast.bind(p, a.nodeName, noJournal);
            scan.bind(p, a.nodeName, noJournal);
            bound.push({ ...p, spec: { ...p.spec, nodeName: a.nodeName } });
          }
          if (o.deleteOne % 4 === 0 && bound.length) {
            const victim = bound.splice(o.deleteOne % bound.length, 1)[0]!;
            fast.unbind(victim, noJournal);
            scan.unbind(victim, noJournal);
          }
        }
      },
    ),
    { numRuns: 150 },
  );
  t.pass();
});

test('property: the fast path decides exactly as the scan when the search stops early', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 101, max: 320 }),
      fc.integer({ min: 0, max: 4 }),
      fc.array(
        fc.record({
          group: fc.constantFrom(undefined, 'a', 'b'),
          cpu: fc.constantFrom('100m', '1'),
          deleteOne: fc.nat(),
          retaint: fc.option(fc.nat(), { freq: 8 }),
        }),
        {
          maxLength: 150,
        },
      ),
      fc.integer({ min: 0, max: 1000 }),
      (count, zones, pods, seed) => {
        const make = (fast: boolean) => {
          const s = new Scheduler({ rng: new Rng(seed), fastPath: fast ? { minNodes: 0, minUses: 0 } : false });
          for (let i = 0; i < count; i++) {
            const zone = zones ? `z${(i * 7) % zones}` : undefined;
            const cp = i % 50 === 3;
            s.addNode(
              node(`n${i}`, {
                ...(zone ? { zone } : {}),
                cpu: i % 3 ? '4' : '2',
                ...(cp ? { taints: [CONTROL_PLANE_TAINT] } : {}),
              }),
              noJournal,
            );
          }
          return s;
        };
        const fast = make(true);
        const scan = make(false);
        const bound: Pod[] = [];
        for (const [i, o] of pods.entries()) {
          const p = pod(`p${i}`, { containers: [container({ cpu: o.cpu })] });
          if (o.group)
            p.metadata.ownerReferences = [
              { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.group, controller: true },
            ];
          const a = fast.schedule(p);
          const b = scan.schedule(p);
          if (JSON.stringify(a) !== JSON.stringify(b))
            throw new Error(`pod ${i}: fast ${JSON.stringify(a)} scan ${JSON.stringify(b)}`);
          if ('nodeName' in a) {
            fast.bind(p, a.nodeName, noJournal);
            scan.bind(p, a.nodeName, noJournal);
            bound.push({ ...p, spec: { ...p.spec, nodeName: a.nodeName } });
          }
          if (o.retaint !== null) {
            // A node gains or loses the control-plane taint (and zone): every cached tree must follow.
            const i = o.retaint % count;
            const changed = node(`n${i}`, {
              ...(o.retaint % 2 ? { taints: [CONTROL_PLANE_TAINT] } : {}),
              ...(zones ? { zone: `z${o.retaint % zones}` } : {}),
              cpu: i % 3 ? '4' : '2',
            });
            fast.updateNode(changed, noJournal);
            scan.updateNode(changed, noJournal);
          }
          if (o.deleteOne % 5 === 0 && bound.length) {
            const victim = bound.splice(o.deleteOne % bound.length, 1)[0]!;
            fast.unbind(victim, noJournal);
            scan.unbind(victim, noJournal);
          }
        }
      },
    ),
    { numRuns: 60 },
  );
  t.pass();
});
