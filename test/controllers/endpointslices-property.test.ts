/**
 * Property: whatever sequence of pod changes happens between syncs, the incrementally kept slices hold exactly the
 * endpoints a from-scratch reconcile computes, per address type and port mapping, in slices of at most 100, with
 * one empty placeholder for an address type with nothing to publish.
 */
import test from 'ava';
import fc from 'fast-check';
import { endpointKey, portsKey } from '../../src/controllers/endpointslice-desired.js';
import { managedSlices, reconcileService } from '../../src/controllers/endpointslices.js';
import type { Pod, Service } from '../../src/model/types.js';
import { container, node, pod, service, TestCluster } from './helpers.js';

type Op =
  | { t: 'add'; app: string; ready: boolean; node: string; port: number | undefined; n: number }
  | { t: 'remove'; i: number }
  | { t: 'relabel'; i: number; app: string }
  | { t: 'ready'; i: number; ready: boolean }
  | { t: 'terminate'; i: number }
  | { t: 'sync' };

const app = fc.constantFrom('web', 'api', 'other');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('add' as const),
    app,
    ready: fc.boolean(),
    node: fc.constantFrom('w1', 'w2', 'gone'),
    port: fc.constantFrom(8080, 9090, undefined),
    n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 20, max: 60 })),
  }),
  fc.record({ t: fc.constant('remove' as const), i: fc.nat() }),
  fc.record({ t: fc.constant('relabel' as const), i: fc.nat(), app }),
  fc.record({ t: fc.constant('ready' as const), i: fc.nat(), ready: fc.boolean() }),
  fc.record({ t: fc.constant('terminate' as const), i: fc.nat() }),
  fc.constant({ t: 'sync' as const }),
);

const SERVICES: Service[] = [
  service('web', {
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' },
      { name: 'metrics', protocol: 'TCP', port: 9100, targetPort: 9100 },
    ],
  }),
  service('api', { ipFamilies: ['IPv4', 'IPv6'], publishNotReadyAddresses: true }),
];

function newCluster(): TestCluster {
  const c = new TestCluster({ dualStack: true });
  c.addNodes(node('w1', { zone: 'a' }), node('w2', { zone: 'b' }));
  c.run((ctx) => {
    for (const svc of SERVICES) ctx.put(svc);
  });
  return c;
}

function syncAll(c: TestCluster): void {
  c.run((ctx) => {
    for (const svc of SERVICES)
      reconcileService(ctx, ctx.store.get('Service', svc.metadata.name)!, c.pods.select('default', svc.spec.selector!));
  });
}

/** What the slices say, independent of how endpoints are spread over slices. */
function published(c: TestCluster, svc: Service): string[] {
  const out: string[] = [];
  for (const slice of managedSlices(c, svc)) {
    if (slice.endpoints.length > 100) out.push(`OVERFULL ${slice.metadata.name}`);
    if (slice.endpoints.length === 0) out.push(`EMPTY ${slice.addressType} ${portsKey(slice.ports)}`);
    for (const ep of slice.endpoints)
      out.push(`${slice.addressType}|${portsKey(slice.ports)}|${endpointKey(ep)}|${JSON.stringify(ep)}`);
  }
  return out.sort();
}

function fromScratch(pods: readonly Pod[]): TestCluster {
  const c = newCluster();
  c.run((ctx) => {
    for (const p of pods) c.pods.add(ctx.put({ ...p, metadata: { ...p.metadata } }), ctx.journal);
  });
  syncAll(c);
  return c;
}

test('property: incremental slices equal a from-scratch computation', (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
      const c = newCluster();
      let serial = 0;
      const current = (i: number): Pod | undefined => {
        const pods = c.podsOf().sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
        return pods.length ? pods[i % pods.length] : undefined;
      };
      const check = () => {
        syncAll(c);
        const scratch = fromScratch(c.podsOf());
        for (const svc of SERVICES) {
          const got = published(c, svc);
          const want = published(scratch, svc);
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(`${svc.metadata.name}:\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
          }
        }
      };
      for (const o of ops) {
        c.run((ctx) => {
          switch (o.t) {
            case 'add':
              for (let k = 0; k < o.n; k++) {
                const name = `p${String(serial++).padStart(4, '0')}`;
                const p = pod(name, {
                  labels: { app: o.app },
                  nodeName: o.node,
                  containers: [
                    container(o.port ? { ports: [{ name: 'http', containerPort: o.port, protocol: 'TCP' }] } : {}),
                  ],
                });
                ctx.createPod({
                  ...p,
                  status: { phase: 'Pending', conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] },
                });
              }
              break;
            case 'remove': {
              const p = current(o.i);
              if (p) ctx.deletePod(p);
              break;
            }
            case 'relabel': {
              const p = current(o.i);
              if (p) ctx.createPod({ ...p, metadata: { ...p.metadata, labels: { app: o.app } } });
              break;
            }
            case 'ready': {
              const p = current(o.i);
              if (p)
                ctx.createPod({
                  ...p,
                  metadata: { ...p.metadata },
                  status: { ...p.status, conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }] },
                });
              break;
            }
            case 'terminate': {
              const p = current(o.i);
              if (p) ctx.createPod({ ...p, metadata: { ...p.metadata, deletionTimestamp: '1970-01-01T00:00:00Z' } });
              break;
            }
            case 'sync':
              break;
          }
        });
        if (o.t === 'sync') check();
      }
      check();
    }),
    { numRuns: 60 },
  );
  t.pass();
});
