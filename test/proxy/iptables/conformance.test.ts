/** The shared proxy conformance suite, run for the iptables mode (no skips: iptables is the reference mode). */
import { createIptablesEngine } from '../../../src/proxy/iptables/engine.js';
import { runProxyConformance } from '../conformance.js';

runProxyConformance({ name: 'iptables', newEngine: createIptablesEngine });
