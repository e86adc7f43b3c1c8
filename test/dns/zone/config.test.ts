/** The `dns:` section of ClusterConfig: defaults (kubeadm's Corefile), normalization and every error. */
import test from 'ava';
import { DNS_DEFAULTS, validateDnsSection } from '../../../src/dns/config.js';

test('defaults follow kubeadm: ttl 30, pods insecure, reverse fallthrough, cache 30, loadbalance', (t) => {
  const { value, issues } = validateDnsSection(undefined);
  t.deepEqual(issues, []);
  t.deepEqual(value, {
    ttl: 30,
    pods: 'insecure',
    endpointPodNames: false,
    ignoreEmptyService: false,
    noEndpoints: false,
    fallthrough: ['in-addr.arpa', 'ip6.arpa'],
    upstream: [],
    cache: 30,
    loadbalance: true,
  });
  t.true(Object.isFrozen(DNS_DEFAULTS));
  value.fallthrough.push('x');
  t.deepEqual(DNS_DEFAULTS.fallthrough, ['in-addr.arpa', 'ip6.arpa'], 'the value is a copy');
  t.deepEqual(validateDnsSection(null).issues, []);
  t.deepEqual(validateDnsSection({}).value, validateDnsSection(undefined).value);
});

test('valid values are kept and normalized', (t) => {
  const { value, issues } = validateDnsSection({
    ttl: 0,
    pods: 'verified',
    endpointPodNames: true,
    ignoreEmptyService: true,
    noEndpoints: true,
    fallthrough: ['In-Addr.Arpa.', 'cluster.local', 'in-addr.arpa'],
    upstream: ['8.8.8.8', '1.1.1.1:5353', '[2001:DB8::1]:53', '2001:db8::2'],
    cache: 0,
    loadbalance: false,
  });
  t.deepEqual(issues, []);
  t.is(value.ttl, 0);
  t.is(value.pods, 'verified');
  t.deepEqual(value.fallthrough, ['in-addr.arpa', 'cluster.local']);
  t.deepEqual(value.upstream, ['8.8.8.8:53', '1.1.1.1:5353', '[2001:db8::1]:53', '[2001:db8::2]:53']);
  t.false(value.loadbalance);
  t.deepEqual(validateDnsSection({ fallthrough: [] }).value.fallthrough, []);
  t.is(validateDnsSection({ ttl: 3600 }).value.ttl, 3600);
});

test('every bad value is reported at its path and replaced by its default', (t) => {
  const { value, issues } = validateDnsSection({
    ttl: 3601,
    pods: 'sometimes',
    endpointPodNames: 'yes',
    fallthrough: 'in-addr.arpa',
    upstream: ['8.8.8.8', 'dns.example:53', '010.0.0.1', '[10.0.0.1]:53', '8.8.8.8:0', '8.8.8.8:65536', 42],
    cache: -1,
    loadbalance: 1,
    cacheSeconds: 5,
  });
  t.deepEqual(
    issues.map((i) => i.path),
    [
      ['ttl'],
      ['pods'],
      ['endpointPodNames'],
      ['fallthrough'],
      ['upstream', 1],
      ['upstream', 2],
      ['upstream', 3],
      ['upstream', 4],
      ['upstream', 5],
      ['upstream', 6],
      ['cache'],
      ['loadbalance'],
      ['cacheSeconds'],
    ],
  );
  t.regex(issues.at(-1)!.detail, /unknown key/);
  t.regex(issues[0]!.detail, /0 to 3600; found 3601/);
  t.deepEqual(value, validateDnsSection(undefined).value);
  t.deepEqual(validateDnsSection([1]).issues, [{ path: [], detail: 'must be a mapping; found a list' }]);
  t.is(validateDnsSection({ ttl: 1.5 }).issues.length, 1);
  t.is(validateDnsSection({ fallthrough: ['bad_zone!'] }).issues.length, 1);
});
