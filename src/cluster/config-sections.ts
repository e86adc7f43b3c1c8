/**
 * The ClusterConfig sections that features own: each feature validates its own section, and this file tells the
 * ClusterConfig parser about them. Imported once by the Cluster, before any manifest is read.
 */

import { DNS_DEFAULTS, type DnsOptions, validateDnsSection } from '../dns/config.js';
import { InvalidArgumentError } from '../errors.js';
import { registerConfigSection } from '../model/config.js';
import type { ClusterConfigSpec } from '../model/types.js';
import { validateProxySection } from '../proxy/config.js';
import { type ProxyConfig, type ProxyConfigInput, proxyConfig } from '../proxy/engine.js';

let registered = false;

export function registerFeatureSections(): void {
  if (registered) return;
  registered = true;
  registerConfigSection('dns', (value, ctx) => {
    const { value: options, issues } = validateDnsSection(value ?? {});
    for (const issue of issues) ctx.report.at([...ctx.path, ...issue.path], issue.detail);
    return options as unknown as Record<string, unknown>;
  });
  registerConfigSection('proxy', (value, ctx) => {
    const { value: input, issues } = validateProxySection(value);
    for (const issue of issues) ctx.report.at([...ctx.path, ...issue.path], issue.detail);
    return input as Record<string, unknown>;
  });
}

/**
 * Settings a library caller gives `cluster.proxy(...)`, checked as the `proxy:` section is (an unknown mode or
 * scheduler is an InvalidArgumentError, not a failure inside the engine); the engine-only knobs the section does not
 * have (`masqueradeBit`, `randomFully`) pass as they are, and so does `tcpBeLiberal` (the section has it inside
 * `conntrack:`, as KubeProxyConfiguration does).
 */
export function checkedProxyOverrides(input: ProxyConfigInput): ProxyConfigInput {
  const { masqueradeBit, randomFully, tcpBeLiberal, ...section } = input;
  // An empty scheduler is ProxyConfig's own default (rr), as proxyConfig() fills it in.
  if (section.scheduler === '') delete section.scheduler;
  const { value, issues } = validateProxySection(section);
  if (issues.length)
    throw new InvalidArgumentError(
      `cluster.proxy: ${issues.map((i) => `${i.path.join('.') || 'options'}: ${i.detail}`).join('; ')}`,
    );
  return {
    ...value,
    ...(masqueradeBit !== undefined ? { masqueradeBit } : {}),
    ...(randomFully !== undefined ? { randomFully } : {}),
    ...(tcpBeLiberal !== undefined ? { tcpBeLiberal } : {}),
  };
}

/** The cluster's kube-proxy configuration: its `proxy:` section over kube-proxy's defaults. */
export function proxyConfigOf(spec: ClusterConfigSpec, overrides: ProxyConfigInput = {}): ProxyConfig {
  const section = (spec.proxy ?? {}) as ProxyConfigInput;
  return proxyConfig({ ...section, ...overrides, conntrack: { ...section.conntrack, ...overrides.conntrack } });
}

/** The cluster's DNS options: its `dns:` section, validated and defaulted. */
export function dnsOptionsOf(spec: ClusterConfigSpec): DnsOptions {
  return { ...DNS_DEFAULTS, ...((spec.dns ?? {}) as Partial<DnsOptions>) };
}
