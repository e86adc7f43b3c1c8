/**
 * The ClusterConfig document: the cluster's shape (CIDRs, DNS domain, port ranges, pools, nodes, seed), written as
 *
 *   apiVersion: kube-netsim.io/v1alpha1
 *   kind: ClusterConfig
 *   spec: { podCIDRs: [...], ... }
 *
 * Every field is optional and defaulted; unknown fields are errors with their path, as `kubectl --validate=strict`
 * makes them. Later features add their own sections (`dns:`, `proxy:`) with `registerConfigSection`, each validating
 * its own part; until a section is registered, `dns` and `proxy` are kept as raw mappings.
 */
import type { ManifestIssue } from '../errors.js';
import { attachSource, type FieldPath, formatPath, sourceOf } from './source.js';
import { API_VERSIONS, type ClusterConfig, type ClusterConfigSpec, describeObject } from './types.js';
import {
  checkCIDRList,
  checkNodeMask,
  checkPool,
  checkPortRange,
  checkServiceCIDRSize,
  type NamedRange,
} from './validate/config-networks.js';
import { dns1123Label, dns1123Subdomain } from './validate/names.js';
import { bitsOf, type Family, lastAddress, type ParsedCIDR, parseCIDR, rangesOverlap } from './validate/net.js';
import { Reporter } from './validate/reporter.js';
import { checkShape, dropNulls, isPlainObject, type Shape } from './validate/shape.js';

/** What a section validator gets: where its section is, how to report, and the rest of the spec (defaulted). */
export interface ConfigSectionContext {
  /** Report problems here, with paths starting at `path`. */
  report: Reporter;
  /** The section's path: `['spec', name]`. */
  path: FieldPath;
  /** The built-in fields, validated and defaulted. */
  spec: Readonly<ClusterConfigSpec>;
}

/**
 * Validates and defaults one section. Called with `undefined` when the section is absent, so it can supply defaults;
 * returns the value to store under `spec[name]` (undefined to store nothing).
 */
export type ConfigSectionValidator = (value: unknown, ctx: ConfigSectionContext) => Record<string, unknown> | undefined;

/**
 * Defaults. Service CIDRs and node networks default per pod CIDR family (kind's values for IPv6), so an IPv6-only or
 * dual-stack cluster gets matching Services and nodes without spelling them out.
 */
const DEFAULTS = {
  clusterDomain: 'cluster.local',
  podCIDR: '10.244.0.0/16',
  serviceCIDRs: { IPv4: '10.96.0.0/12', IPv6: 'fd00:10:96::/112' } as Record<Family, string>,
  nodeNetworks: { IPv4: '172.18.0.0/16', IPv6: 'fc00:f853:ccd:e793::/64' } as Record<Family, string>,
  nodeCIDRMaskSize: { ipv4: 24, ipv6: 64 },
  nodePortRange: { first: 30000, last: 32767 },
  nodes: { controlPlane: 1, workers: 2, namePrefix: 'kube-netsim' },
  seed: 1,
};

const SPEC_SHAPE: Record<string, Shape> = {
  clusterDomain: 'string',
  podCIDRs: { array: 'string' },
  serviceCIDRs: { array: 'string' },
  nodeCIDRMaskSize: { object: { ipv4: 'integer', ipv6: 'integer' }, strict: true },
  nodePortRange: 'any',
  loadBalancerPools: { array: 'string' },
  nodeNetworks: { array: 'string' },
  nodes: { object: { controlPlane: 'integer', workers: 'integer', namePrefix: 'string' }, strict: true },
  seed: 'any',
};

/** Sections that exist before any feature registers them; kept raw until then. */
const RAW_SECTIONS = ['dns', 'proxy'];
const sections = new Map<string, ConfigSectionValidator>();

/**
 * Register the validator of a spec section (`dns`, `proxy`, ...). Returns a function that unregisters it.
 * Registering a built-in field's name or registering a name twice is a programming error and throws.
 */
export function registerConfigSection(name: string, validator: ConfigSectionValidator): () => void {
  if (name in SPEC_SHAPE)
    throw new Error(`ClusterConfig section ${JSON.stringify(name)} clashes with a built-in field`);
  if (sections.has(name)) throw new Error(`ClusterConfig section ${JSON.stringify(name)} is already registered`);
  sections.set(name, validator);
  return () => {
    if (sections.get(name) === validator) sections.delete(name);
  };
}

function sectionNames(): string[] {
  return [...new Set([...RAW_SECTIONS, ...sections.keys()])].sort();
}

/** The result of reading one ClusterConfig document. */
export interface ClusterConfigDocument {
  config?: ClusterConfig;
  issues: ManifestIssue[];
}

function familiesOf(cidrs: readonly (ParsedCIDR | undefined)[]): Family[] {
  return cidrs.filter((c): c is ParsedCIDR => c !== undefined).map((c) => c.family);
}

function checkTopLevel(value: Record<string, unknown>, report: Reporter): void {
  for (const key of Object.keys(value)) {
    if (['apiVersion', 'kind', 'metadata', 'spec'].includes(key)) continue;
    const inSpec = key in SPEC_SHAPE || sectionNames().includes(key);
    report.at([key], `unknown field ${JSON.stringify(key)}${inSpec ? ': ClusterConfig fields go under `spec`' : ''}`);
  }
  if (value.apiVersion !== API_VERSIONS.ClusterConfig[0]) {
    report.invalid(['apiVersion'], value.apiVersion, `must be ${JSON.stringify(API_VERSIONS.ClusterConfig[0])}`);
  }
  checkShape(
    value.metadata,
    { object: { name: 'string', labels: { map: 'string' }, annotations: { map: 'string' } } },
    ['metadata'],
    report,
  );
  if (value.spec !== undefined && value.spec !== null && !isPlainObject(value.spec)) {
    report.invalid(['spec'], value.spec, 'must be a mapping');
  }
}

/** Validate every network field, filling `spec`; returns the address ranges for the overlap check. */
function checkNetworks(raw: Record<string, unknown>, spec: ClusterConfigSpec, report: Reporter): NamedRange[] {
  const ranges: NamedRange[] = [];
  const addCIDRs = (field: string, values: readonly string[], parsed: readonly (ParsedCIDR | undefined)[]) => {
    parsed.forEach((cidr, i) => {
      if (!cidr) return;
      ranges.push({
        family: cidr.family,
        first: cidr.network,
        last: lastAddress(cidr),
        path: ['spec', field, i],
        text: values[i]!,
      });
    });
  };

  const pods = checkCIDRList(spec.podCIDRs, ['spec', 'podCIDRs'], report);
  addCIDRs('podCIDRs', spec.podCIDRs, pods);
  const podFamilies = [...new Set(familiesOf(pods))];
  // With unusable pod CIDRs, default the rest as for IPv4 rather than pile up follow-on errors.
  const byFamily = (defaults: Record<Family, string>) =>
    podFamilies.length > 0 ? podFamilies.map((f) => defaults[f]) : [defaults.IPv4];

  spec.serviceCIDRs = (raw.serviceCIDRs as string[] | undefined) ?? byFamily(DEFAULTS.serviceCIDRs);
  const services = checkCIDRList(spec.serviceCIDRs, ['spec', 'serviceCIDRs'], report);
  services.forEach((cidr, i) => {
    if (!cidr) return;
    checkServiceCIDRSize(cidr, spec.serviceCIDRs[i]!, ['spec', 'serviceCIDRs', i], report);
    if (pods.every((p) => p !== undefined) && !podFamilies.includes(cidr.family)) {
      report.invalid(
        ['spec', 'serviceCIDRs', i],
        spec.serviceCIDRs[i],
        `needs a pod CIDR of the same family (${cidr.family})`,
        {
          hint: 'Service endpoints are pods: add a podCIDRs entry of this family',
        },
      );
    }
  });
  addCIDRs('serviceCIDRs', spec.serviceCIDRs, services);

  spec.nodeNetworks = (raw.nodeNetworks as string[] | undefined) ?? byFamily(DEFAULTS.nodeNetworks);
  const nodes = checkCIDRList(spec.nodeNetworks, ['spec', 'nodeNetworks'], report);
  const nodeFamilies = familiesOf(nodes);
  if (nodes.every((n) => n !== undefined)) {
    for (const family of podFamilies) {
      if (!nodeFamilies.includes(family)) {
        report.invalid(
          ['spec', 'nodeNetworks'],
          spec.nodeNetworks,
          `needs an ${family} network: the pod CIDRs include ${family}`,
        );
      }
    }
  }
  addCIDRs('nodeNetworks', spec.nodeNetworks, nodes);

  const masks = {
    ...DEFAULTS.nodeCIDRMaskSize,
    ...(raw.nodeCIDRMaskSize as Partial<ClusterConfigSpec['nodeCIDRMaskSize']>),
  };
  spec.nodeCIDRMaskSize = masks;
  pods.forEach((cidr, i) => {
    if (!cidr) return;
    const key = cidr.family === 'IPv4' ? 'ipv4' : 'ipv6';
    checkNodeMask(masks[key], cidr, ['spec', 'nodeCIDRMaskSize', key], ['spec', 'podCIDRs', i], report);
  });

  spec.nodePortRange = checkPortRange(
    raw.nodePortRange ?? DEFAULTS.nodePortRange,
    ['spec', 'nodePortRange'],
    report,
  ) ?? {
    ...DEFAULTS.nodePortRange,
  };
  spec.loadBalancerPools.forEach((pool, i) => {
    const range = checkPool(pool, ['spec', 'loadBalancerPools', i], report);
    if (range) ranges.push({ ...range, path: ['spec', 'loadBalancerPools', i], text: pool });
  });
  return ranges;
}

/**
 * Pod, service and node networks and LoadBalancer pools may not share addresses, with one exception: a pool may lie
 * inside a node network. That is the usual layout (kind with MetalLB in L2 mode hands out LoadBalancer IPs from the
 * nodes' own subnet, so that they answer ARP), so node addresses must then be allocated around the pools.
 */
function mayOverlap(a: NamedRange, b: NamedRange): boolean {
  const fields = new Set([a.path[1], b.path[1]]);
  return fields.size === 2 && fields.has('nodeNetworks') && fields.has('loadBalancerPools');
}

function checkOverlaps(ranges: readonly NamedRange[], report: Reporter): void {
  ranges.forEach((range, i) => {
    const clash = ranges
      .slice(0, i)
      .find((other) => other.family === range.family && rangesOverlap(other, range) && !mayOverlap(other, range));
    if (!clash) return;
    report.invalid(range.path, range.text, `overlaps ${formatPath(clash.path)} (${clash.text})`, {
      hint: 'pod, service and node networks and LoadBalancer pools must not share addresses',
    });
  });
}

function checkScalars(raw: Record<string, unknown>, spec: ClusterConfigSpec, report: Reporter): void {
  report.invalidEach(['spec', 'clusterDomain'], spec.clusterDomain, dns1123Subdomain(spec.clusterDomain));
  const n = spec.nodes;
  for (const key of ['controlPlane', 'workers'] as const) {
    if (n[key] < 0) report.invalid(['spec', 'nodes', key], n[key], 'must be greater than or equal to 0');
  }
  if (n.controlPlane + n.workers < 1) report.invalid(['spec', 'nodes'], raw.nodes, 'must create at least one node');
  report.invalidEach(['spec', 'nodes', 'namePrefix'], n.namePrefix, dns1123Label(n.namePrefix));
  const seed = raw.seed;
  if (seed !== undefined && (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) {
    report.invalid(['spec', 'seed'], seed, 'must be an integer between 0 and 4294967295, inclusive');
  } else if (typeof seed === 'number') spec.seed = seed;
}

/**
 * Whether the networks can hold the cluster the config describes, checked here so that a too-small range is one error
 * at its field instead of a failure per node or per built-in Service during bootstrap: the first service CIDR must
 * have a 10th address (kube-dns, kubeadm's DNS IP), every pod CIDR a node CIDR per node with room for pods, every
 * node network an address per node (after its network address and gateway).
 */
function checkCapacity(spec: ClusterConfigSpec, report: Reporter): void {
  const nodes = spec.nodes.controlPlane + spec.nodes.workers;
  spec.serviceCIDRs.forEach((text, i) => {
    const cidr = parseCIDR(text);
    const need = i === 0 ? 11n : 2n; // kube-dns at index 10 of the first; `kubernetes` at index 1 of each
    if (cidr && sizeOf(cidr) < need) {
      report.invalid(['spec', 'serviceCIDRs', i], text, `is too small: it has ${sizeOf(cidr)} addresses`, {
        hint:
          i === 0
            ? 'the kubernetes Service takes its 1st address and kube-dns its 10th'
            : 'the kubernetes Service takes its 1st address',
      });
    }
  });
  spec.podCIDRs.forEach((text, i) => {
    const cidr = parseCIDR(text);
    if (!cidr) return;
    const key = cidr.family === 'IPv4' ? 'ipv4' : 'ipv6';
    const mask = spec.nodeCIDRMaskSize[key];
    const bits = bitsOf(cidr.family);
    if (bits - mask < 2) {
      report.invalid(['spec', 'nodeCIDRMaskSize', key], mask, `leaves no address for pods in a node CIDR`, {
        hint: `a /${mask} holds ${2 ** (bits - mask)} addresses; host-local keeps the network address and the gateway`,
      });
    } else if (mask - cidr.prefix < 31 && 2 ** (mask - cidr.prefix) < nodes) {
      report.invalid(
        ['spec', 'nodeCIDRMaskSize', key],
        mask,
        `leaves room for ${2 ** (mask - cidr.prefix)} node CIDRs in spec.podCIDRs[${i}] (${text}), fewer than the ${nodes} nodes`,
      );
    }
  });
  spec.nodeNetworks.forEach((text, i) => {
    const cidr = parseCIDR(text);
    if (cidr && sizeOf(cidr) - 3n < BigInt(nodes)) {
      report.invalid(
        ['spec', 'nodeNetworks', i],
        text,
        `has room for ${sizeOf(cidr) > 3n ? sizeOf(cidr) - 3n : 0n} node addresses, fewer than the ${nodes} nodes`,
      );
    }
  });
}

function sizeOf(cidr: ParsedCIDR): bigint {
  return lastAddress(cidr) - cidr.network + 1n;
}

function checkSections(raw: Record<string, unknown>, spec: ClusterConfigSpec, report: Reporter): void {
  const out = spec as unknown as Record<string, unknown>;
  for (const name of sectionNames()) {
    const value = raw[name];
    const validator = sections.get(name);
    if (validator) {
      const result = validator(value, { report, path: ['spec', name], spec });
      if (result !== undefined) out[name] = result;
    } else if (value !== undefined) {
      if (isPlainObject(value)) out[name] = value;
      else report.invalid(['spec', name], value, 'must be a mapping');
    }
  }
}

/** Read, validate and default a ClusterConfig document (already parsed; its SourceRef locates the issues). */
export function parseClusterConfig(value: unknown): ClusterConfigDocument {
  const target = typeof value === 'object' && value !== null ? value : {};
  const doc = isPlainObject(value) ? value : {};
  const meta = isPlainObject(doc.metadata) ? doc.metadata : {};
  const name = typeof meta.name === 'string' && meta.name ? meta.name : 'kube-netsim';
  const report = new Reporter(target, describeObject({ kind: 'ClusterConfig', metadata: { name } }));
  if (!isPlainObject(value)) {
    report.invalid([], value, 'a ClusterConfig must be a mapping');
    return { issues: report.issues };
  }
  checkTopLevel(doc, report);
  const raw = isPlainObject(doc.spec) ? dropNulls(doc.spec) : {};
  const shape: Shape = {
    object: { ...SPEC_SHAPE, ...Object.fromEntries(sectionNames().map((s) => [s, 'any' as Shape])) },
    strict: true,
  };
  if (!checkShape(raw, shape, ['spec'], report)) return { issues: report.issues };
  report.invalidEach(['metadata', 'name'], name, dns1123Subdomain(name));

  const spec: ClusterConfigSpec = {
    clusterDomain: (raw.clusterDomain as string | undefined) ?? DEFAULTS.clusterDomain,
    podCIDRs: (raw.podCIDRs as string[] | undefined) ?? [DEFAULTS.podCIDR],
    serviceCIDRs: [],
    nodeCIDRMaskSize: { ...DEFAULTS.nodeCIDRMaskSize },
    nodePortRange: { ...DEFAULTS.nodePortRange },
    loadBalancerPools: (raw.loadBalancerPools as string[] | undefined) ?? [],
    nodeNetworks: [],
    nodes: { ...DEFAULTS.nodes, ...(raw.nodes as Partial<ClusterConfigSpec['nodes']>) },
    seed: DEFAULTS.seed,
  };
  checkOverlaps(checkNetworks(raw, spec, report), report);
  checkScalars(raw, spec, report);
  if (report.issues.length > 0) return { issues: report.issues };
  checkCapacity(spec, report);
  if (report.issues.length > 0) return { issues: report.issues };
  checkSections(raw, spec, report);
  if (report.issues.length > 0) return { issues: report.issues };
  const config: ClusterConfig = {
    apiVersion: API_VERSIONS.ClusterConfig[0]!,
    kind: 'ClusterConfig',
    metadata: { name },
    spec,
  };
  const source = sourceOf(value);
  if (source) attachSource(config, source);
  return { config, issues: [] };
}

/** The configuration of a batch without a ClusterConfig document: every default. */
export function defaultClusterConfig(): ClusterConfig {
  const { config } = parseClusterConfig({ apiVersion: API_VERSIONS.ClusterConfig[0], kind: 'ClusterConfig' });
  if (!config) throw new Error('the ClusterConfig defaults do not validate (a registered section rejected them)');
  return config;
}
