/**
 * CoreDNS's `loadbalance` plugin (round_robin policy), which kubeadm's Corefile runs in front of every answer (it
 * stands before cache and forward in CoreDNS's plugin order, so forwarded and cached replies are shuffled too): in a
 * section, CNAMEs move first, other records keep their order, then the A/AAAA records follow in random order.
 * kube-netsim draws the order from the seeded RNG, so a run replays exactly. The plugin also shuffles MX records,
 * last; no record this server models is an MX (a forwarded reply holding one is relayed as its bytes, untouched).
 */
import type { Rng } from '../../util/rng.js';
import type { Rr } from './types.js';

/** Where roundRobin puts a record: CNAMEs first, then the others in their order, then the addresses shuffled. */
export type ShuffleKind = 'cname' | 'address' | 'other';

/** Reorder one section as CoreDNS's roundRobin does, each record placed by `kindOf`. Returns a new array. */
export function roundRobinBy<R>(section: readonly R[], rng: Rng, kindOf: (rr: R) => ShuffleKind): R[] {
  if (section.length < 2) return [...section];
  const cnames: R[] = [];
  const addresses: R[] = [];
  const rest: R[] = [];
  for (const rr of section) {
    const kind = kindOf(rr);
    if (kind === 'cname') cnames.push(rr);
    else if (kind === 'address') addresses.push(rr);
    else rest.push(rr);
  }
  rng.shuffle(addresses);
  return [...cnames, ...rest, ...addresses];
}

/** `roundRobinBy` for the resolver's records. */
export function roundRobin(section: readonly Rr[], rng: Rng): Rr[] {
  return roundRobinBy(section, rng, kindOfRr);
}

function kindOfRr(rr: Rr): ShuffleKind {
  if (rr.type === 'CNAME') return 'cname';
  return rr.type === 'A' || rr.type === 'AAAA' ? 'address' : 'other';
}
