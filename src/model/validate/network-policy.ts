/**
 * NetworkPolicies (pkg/apis/networking/validation): podSelector, peers (exactly one kind, ipBlock alone), ports
 * (protocol, numeric or named port, endPort), ipBlock CIDRs with `except` strictly inside `cidr`, policyTypes.
 */
import type { FieldPath } from '../source.js';
import type { NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from '../types.js';
import { checkCIDR } from './ip-fields.js';
import { portName, portNumber } from './names.js';
import { cidrContains } from './net.js';
import type { Reporter } from './reporter.js';
import { validateLabelSelector } from './selector.js';
import { PROTOCOLS } from './service.js';

const POLICY_TYPES = ['Ingress', 'Egress'];

function validatePort(port: NetworkPolicyPort, at: FieldPath, report: Reporter): void {
  if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) {
    report.notSupported([...at, 'protocol'], port.protocol, PROTOCOLS);
  }
  if (port.port === undefined) {
    if (port.endPort !== undefined)
      report.invalid([...at, 'endPort'], port.endPort, 'may not be specified when `port` is not specified');
    return;
  }
  if (typeof port.port === 'string') {
    if (port.endPort !== undefined)
      report.invalid([...at, 'endPort'], port.endPort, 'may not be specified when `port` is non-numeric');
    report.invalidEach([...at, 'port'], port.port, portName(port.port));
    return;
  }
  report.invalidEach([...at, 'port'], port.port, portNumber(port.port));
  if (port.endPort !== undefined) {
    if (port.endPort < port.port)
      report.invalid([...at, 'endPort'], port.endPort, 'must be greater than or equal to `port`');
    report.invalidEach([...at, 'endPort'], port.endPort, portNumber(port.endPort));
  }
}

function validateIPBlock(block: { cidr: string; except?: string[] }, at: FieldPath, report: Reporter): void {
  if (!block.cidr) {
    report.required([...at, 'cidr']);
    return;
  }
  const cidr = checkCIDR([...at, 'cidr'], block.cidr, report);
  (block.except ?? []).forEach((text, i) => {
    const except = checkCIDR([...at, 'except', i], text, report);
    if (cidr && except && !(cidrContains(cidr, except) && except.prefix > cidr.prefix)) {
      report.invalid([...at, 'except', i], text, 'must be a strict subset of `cidr`', {
        hint: `cidr is ${block.cidr}`,
      });
    }
  });
}

function validatePeer(peer: NetworkPolicyPeer, at: FieldPath, report: Reporter): void {
  let kinds = 0;
  if (peer.podSelector) {
    kinds++;
    validateLabelSelector(peer.podSelector, [...at, 'podSelector'], report);
  }
  if (peer.namespaceSelector) {
    kinds++;
    validateLabelSelector(peer.namespaceSelector, [...at, 'namespaceSelector'], report);
  }
  if (peer.ipBlock) {
    kinds++;
    validateIPBlock(peer.ipBlock, [...at, 'ipBlock'], report);
  }
  if (kinds === 0) report.required(at, 'must specify a peer');
  else if (kinds > 1 && peer.ipBlock) report.forbidden(at, 'may not specify both ipBlock and another peer');
}

export function validateNetworkPolicy(policy: NetworkPolicy, report: Reporter): void {
  const spec = policy.spec;
  // Optional since the API said so (networking/v1 types.go: "If it is not specified, it defaults to an empty
  // selector", every pod of the namespace); defaults.ts writes the empty selector.
  if (spec.podSelector) validateLabelSelector(spec.podSelector, ['spec', 'podSelector'], report);
  for (const direction of ['ingress', 'egress'] as const) {
    const peersField = direction === 'ingress' ? 'from' : 'to';
    (spec[direction] ?? []).forEach((rule, i) => {
      const at: FieldPath = ['spec', direction, i];
      (rule.ports ?? []).forEach((port, j) => {
        validatePort(port, [...at, 'ports', j], report);
      });
      const peers = (rule as { from?: NetworkPolicyPeer[]; to?: NetworkPolicyPeer[] })[peersField] ?? [];
      peers.forEach((peer, j) => {
        validatePeer(peer, [...at, peersField, j], report);
      });
    });
  }
  const types = spec.policyTypes ?? [];
  if (types.length > 2) {
    report.invalid(['spec', 'policyTypes'], types, 'may not specify more than two policyTypes');
    return;
  }
  types.forEach((type, i) => {
    if (!POLICY_TYPES.includes(type)) report.notSupported(['spec', 'policyTypes', i], type, POLICY_TYPES);
  });
}
