/** Scale sanity: 500 nodes and 10,000 pods through the controllers. Asserts counts only, never time. */
import test from 'ava';
import { reconcileService } from '../../src/controllers/endpointslices.js';
import { reconcileDeployment } from '../../src/controllers/workloads/index.js';
import { container, deployment, node, service, TestCluster, template } from './helpers.js';

test('500 nodes, 100 Deployments of 100 pods, 100 Services', (t) => {
  const c = new TestCluster();
  c.addNodes(...Array.from({ length: 500 }, (_, i) => node(`n${i}`, { zone: `z${i % 3}`, cpu: '16', memory: '64Gi' })));
  c.run((ctx) => {
    for (let d = 0; d < 100; d++) {
      const tpl = template({ app: `app${d}` }, { containers: [container({ cpu: '100m', memory: '128Mi' })] });
      reconcileDeployment(ctx, ctx.put(deployment(`app${d}`, 100, tpl)));
    }
    for (let s = 0; s < 100; s++) {
      const svc = ctx.put(service(`app${s}`));
      reconcileService(ctx, svc, c.pods.select('default', svc.spec.selector!));
    }
  });
  const pods = c.podsOf();
  t.is(pods.length, 10_000);
  t.true(pods.every((p) => p.spec.nodeName));
  t.is(c.store.count('ReplicaSet'), 100);
  t.is(c.store.count('EndpointSlice'), 100);
  // Pods of one Deployment are spread: no node holds more than a few of them.
  const perNode = new Map<string, number>();
  for (const p of pods)
    if (p.metadata.labels?.app === 'app0') perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
  t.true(Math.max(...perNode.values()) <= 2, `max ${Math.max(...perNode.values())}`);
});
