/**
 * kubelet's DNS limits (formDNSNameserversFitsLimits, formDNSSearchFitsLimits): what is cut, in which order, and
 * the warning recorded. Plus properties over random search lists.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  fitSearchLimits,
  LEGACY_MAX_DNS_SEARCH_LIST_CHARS,
  LEGACY_MAX_DNS_SEARCH_PATHS,
  MAX_DNS_SEARCH_LIST_CHARS,
  MAX_DNS_SEARCH_PATHS,
  type NodeDnsSettings,
  podResolvConf,
} from '../../../src/dns/client/index.js';
import { holds } from '../../cni/helpers.js';

const NODE: NodeDnsSettings = {
  clusterDomain: 'cluster.local',
  clusterDNS: ['10.96.0.10'],
  hostResolvConf: { nameservers: ['172.18.0.1'], searches: [], options: [] },
};

const domains = (n: number, width = 10) =>
  Array.from({ length: n }, (_, i) => `d${String(i).padStart(width - 2, '0')}.x`);

function pod(searches: string[], nameservers: string[] = []) {
  return {
    metadata: { name: 'p', namespace: 'app' },
    spec: { dnsPolicy: 'None' as const, dnsConfig: { nameservers, searches } },
  };
}

test('more than 3 nameservers: the first 3 are kept, with a DNSConfigForming warning', (t) => {
  const rc = podResolvConf(pod([], ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']), NODE);
  t.deepEqual(rc.nameservers, ['10.0.0.1', '10.0.0.2', '10.0.0.3']);
  t.is(rc.warnings.length, 1);
  t.is(rc.warnings[0]?.reason, 'DNSConfigForming');
  t.is(
    rc.warnings[0]?.message,
    'Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 10.0.0.1 10.0.0.2 10.0.0.3',
  );
});

test('ClusterFirst with dnsConfig nameservers counts the cluster IP first', (t) => {
  const rc = podResolvConf(
    {
      metadata: { name: 'p', namespace: 'app' },
      spec: { dnsPolicy: 'ClusterFirst', dnsConfig: { nameservers: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] } },
    },
    NODE,
  );
  t.deepEqual(rc.nameservers, ['10.96.0.10', '10.0.0.1', '10.0.0.2']);
  t.is(rc.warnings.length, 1);
});

test('more than 32 search domains: the first 32 are kept', (t) => {
  const rc = podResolvConf(pod(domains(35)), NODE);
  t.deepEqual(rc.searches, domains(32));
  t.deepEqual(
    rc.warnings.map((w) => w.reason),
    ['DNSConfigForming'],
  );
  t.is(
    rc.warnings[0]?.message,
    `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${domains(32).join(' ')}`,
  );
});

test('exactly at the limits: nothing is cut and nothing is reported', (t) => {
  // 32 domains of 63 characters: 32 * 63 + 31 spaces = 2047 characters.
  const wide = Array.from({ length: 32 }, (_, i) => `${String(i).padStart(2, '0')}${'a'.repeat(59)}.x`);
  t.is(wide.join(' ').length, 2047);
  const rc = podResolvConf(pod(wide), NODE);
  t.deepEqual(rc.searches, wide);
  t.deepEqual(rc.warnings, []);
});

test('over 2048 characters: domains are dropped from the end until the line fits', (t) => {
  // 63-character labels: 32 * 65 + 31 = 2111 characters; without the last domain, 2045.
  const wide = Array.from({ length: 32 }, (_, i) => `${String(i).padStart(2, '0')}${'a'.repeat(61)}.x`);
  t.is(wide.join(' ').length, 2111);
  const rc = podResolvConf(pod(wide), NODE);
  t.true(rc.searches.join(' ').length <= MAX_DNS_SEARCH_LIST_CHARS);
  t.deepEqual(rc.searches, wide.slice(0, 31));
  t.is(rc.warnings.length, 1);
});

test('a search domain over 253 characters is dropped, after the count cut', (t) => {
  const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.eeeeeeeeeeee`;
  t.true(long.length > 253);
  const list = [long, ...domains(32)];
  // kubelet cuts to 32 first (dropping d31), then removes the long one: 31 remain.
  const { searches, warning } = fitSearchLimits(list, {
    maxPaths: MAX_DNS_SEARCH_PATHS,
    maxChars: MAX_DNS_SEARCH_LIST_CHARS,
  });
  t.deepEqual(searches, domains(31));
  t.truthy(warning);
});

test('legacy limits (ExpandedDNSConfig off): 6 domains, 256 characters', (t) => {
  const rc = podResolvConf(pod(domains(8, 40)), { ...NODE, expandedDNSConfig: false });
  t.true(rc.searches.length <= LEGACY_MAX_DNS_SEARCH_PATHS);
  t.true(rc.searches.join(' ').length <= LEGACY_MAX_DNS_SEARCH_LIST_CHARS);
  t.deepEqual(rc.searches, domains(6, 40));
  t.is(rc.warnings.length, 1);
});

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,40}[a-z0-9]$/);
const domain = fc.array(label, { minLength: 1, maxLength: 6 }).map((ls) => ls.join('.'));

test('property: the kept search list is a prefix-ordered subsequence within every limit, reported iff changed', (t) => {
  holds(
    t,
    fc.property(fc.array(domain, { maxLength: 45 }), fc.boolean(), (list, expanded) => {
      const limits = expanded
        ? { maxPaths: MAX_DNS_SEARCH_PATHS, maxChars: MAX_DNS_SEARCH_LIST_CHARS }
        : { maxPaths: LEGACY_MAX_DNS_SEARCH_PATHS, maxChars: LEGACY_MAX_DNS_SEARCH_LIST_CHARS };
      const { searches, warning } = fitSearchLimits(list, limits);
      let from = 0;
      for (const kept of searches) {
        const at = list.indexOf(kept, from);
        if (at === -1) return false;
        from = at + 1;
      }
      const changed = searches.length !== list.length;
      return (
        searches.length <= limits.maxPaths &&
        searches.join(' ').length <= limits.maxChars &&
        searches.every((d) => d.length <= 253) &&
        changed === (warning !== undefined)
      );
    }),
  );
});
