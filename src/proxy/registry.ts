/** The engines by mode, and building one for a node of a store. */
import type { Store } from '../model/store.js';
import type { Rng } from '../util/rng.js';
import type { EngineFactory, ProxyConfig, ProxyEngine } from './engine.js';
import { createIptablesEngine } from './iptables/engine.js';
import { ipvsEngine } from './ipvs/engine.js';
import { ServiceTable } from './service-table.js';
import { userspaceEngine } from './userspace/engine.js';

export const ENGINES: Record<ProxyConfig['mode'], EngineFactory> = {
  iptables: createIptablesEngine,
  ipvs: ipvsEngine,
  userspace: userspaceEngine,
};

/** An engine for `nodeName`, following the store through its own service table (detached on dispose). */
export function engineForNode(
  store: Store,
  nodeName: string,
  config: ProxyConfig,
  rng: Rng,
  explain = true,
): ProxyEngine {
  const table = ServiceTable.fromStore(store, nodeName);
  const engine = ENGINES[config.mode]({ table, config, rng, explain });
  const dispose = engine.dispose.bind(engine);
  engine.dispose = () => {
    dispose();
    table.detach();
  };
  return engine;
}
