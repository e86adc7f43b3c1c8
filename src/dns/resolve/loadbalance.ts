/**
 * CoreDNS's `loadbalance` plugin (round_robin policy), which kubeadm's Corefile runs in front of every answer: in a
 * section, CNAMEs move first, other records keep their order, then the A/AAAA records follow in random order.
 * kube-netsim draws the order from the seeded RNG, so a run replays exactly.
 */
import type { Rng } from '../../util/rng.js';
import type { Rr } from './types.js';

/** Reorder one section as CoreDNS's roundRobin does. Returns a new array. */
export function roundRobin(section: readonly Rr[], rng: Rng): Rr[] {
  if (section.length < 2) return [...section];
  const cnames: Rr[] = [];
  const addresses: Rr[] = [];
  const rest: Rr[] = [];
  for (const rr of section) {
    if (rr.type === 'CNAME') cnames.push(rr);
    else if (rr.type === 'A' || rr.type === 'AAAA') addresses.push(rr);
    else rest.push(rr);
  }
  rng.shuffle(addresses);
  return [...cnames, ...rest, ...addresses];
}
