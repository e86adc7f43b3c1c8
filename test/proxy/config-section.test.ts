/**
 * The ClusterConfig `proxy:` section's `nodePortAddresses`, validated as kube-proxy validates
 * --nodeport-addresses: CIDRs, or `primary` on its own.
 */
import test from 'ava';
import { validateProxySection } from '../../src/proxy/config.js';

const cases: { list: unknown[]; issues: { path: (string | number)[]; detail: string }[] }[] = [
  { list: ['primary'], issues: [] },
  { list: ['10.0.0.0/8', 'fd00::/64'], issues: [] },
  {
    list: ['primary', '127.0.0.0/8'],
    issues: [{ path: ['nodePortAddresses', 0], detail: `can't use both "primary" and CIDRs` }],
  },
  {
    list: ['10.0.0.0/8', 'primary'],
    issues: [{ path: ['nodePortAddresses', 1], detail: `can't use both "primary" and CIDRs` }],
  },
  {
    list: ['10.0.0.0'],
    issues: [{ path: ['nodePortAddresses', 0], detail: 'must be a CIDR or "primary", got "10.0.0.0"' }],
  },
];

for (const { list, issues } of cases)
  test(`nodePortAddresses ${JSON.stringify(list)}: ${issues.length ? issues[0]!.detail : 'accepted'}`, (t) => {
    const result = validateProxySection({ nodePortAddresses: list });
    t.deepEqual(result.issues, issues);
    if (issues.length === 0) t.deepEqual(result.value.nodePortAddresses, list);
  });
