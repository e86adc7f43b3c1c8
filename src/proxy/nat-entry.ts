/**
 * How a new flow enters kube-proxy's nat rules, the same in iptables and ipvs mode: conntrack has no entry for it, so
 * the nat table sees it, and the built-in chain it arrives in (PREROUTING for a pod's or an outside client's packet,
 * OUTPUT for the node's own) jumps to KUBE-SERVICES (both proxiers' iptablesJumpChain, "kubernetes service portals").
 */
import type { Step } from './engine.js';
import type { Origin } from './packet.js';

export const PREROUTING_SERVICES_JUMP =
  '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES';
export const OUTPUT_SERVICES_JUMP = '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES';

/** The trace step of a packet conntrack has no entry for. */
export const NEW_FLOW_STEP: Step = Object.freeze({
  where: 'conntrack',
  rule: 'no entry for this tuple',
  decision: 'NEW connection: the nat table sees it',
});

const PREROUTING_STEP: Step = Object.freeze({
  where: 'nat/PREROUTING',
  rule: PREROUTING_SERVICES_JUMP,
  decision: 'jump KUBE-SERVICES',
});
const OUTPUT_STEP: Step = Object.freeze({
  where: 'nat/OUTPUT',
  rule: OUTPUT_SERVICES_JUMP,
  decision: 'jump KUBE-SERVICES',
});

/** The jump into KUBE-SERVICES a packet from `origin` takes. */
export function servicesJumpStep(origin: Origin): Step {
  return origin.from === 'node' ? OUTPUT_STEP : PREROUTING_STEP;
}
