/**
 * Containers of a pod spec (validateContainerCommon, validateContainerPorts, ValidateContainerResourceRequirements):
 * names, image, ports, resource quantities and env var names. Names are unique across containers and init containers;
 * host ports across containers.
 */

import { parseQuantity } from '../quantity.js';
import type { FieldPath } from '../source.js';
import type { Container } from '../types.js';
import { dns1123Label, envVarName, portName, portNumber, qualifiedName } from './names.js';
import type { Reporter } from './reporter.js';
import { PROTOCOLS } from './service.js';

/** Kubernetes' quantity syntax: no spaces, one optional suffix (binary, decimal or exponent). */
const QUANTITY_SYNTAX = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const STANDARD_CONTAINER_RESOURCES = ['cpu', 'memory', 'ephemeral-storage'];

function validatePorts(container: Container, at: FieldPath, report: Reporter): void {
  const names = new Set<string>();
  (container.ports ?? []).forEach((port, i) => {
    const p: FieldPath = [...at, 'ports', i];
    if (port.name !== undefined && port.name !== '') {
      const problems = portName(port.name);
      report.invalidEach([...p, 'name'], port.name, problems);
      if (problems.length === 0 && names.has(port.name)) report.duplicate([...p, 'name'], port.name);
      names.add(port.name);
    }
    if (port.containerPort === undefined || port.containerPort === 0) report.required([...p, 'containerPort']);
    else report.invalidEach([...p, 'containerPort'], port.containerPort, portNumber(port.containerPort));
    if (port.hostPort !== undefined && port.hostPort !== 0) {
      report.invalidEach([...p, 'hostPort'], port.hostPort, portNumber(port.hostPort));
    }
    if (!PROTOCOLS.includes(port.protocol)) report.notSupported([...p, 'protocol'], port.protocol, PROTOCOLS);
  });
}

/** A quantity value: syntax, and not negative (ValidateResourceQuantityValue). Returns its value when valid. */
export function checkQuantity(path: FieldPath, value: string | number, report: Reporter): number | undefined {
  const text = String(value);
  const parsed = QUANTITY_SYNTAX.test(text) ? parseQuantity(text) : undefined;
  if (parsed === undefined) {
    report.invalid(path, value, 'must be a valid quantity', { hint: 'e.g. 500m, 2, 128Mi, 1G' });
    return undefined;
  }
  if (parsed < 0) {
    report.invalid(path, value, 'must be greater than or equal to 0');
    return undefined;
  }
  return parsed;
}

/** A container resource name: a standard one (cpu, memory, ...) or a fully qualified extended resource. */
function checkResourceName(path: FieldPath, name: string, report: Reporter): void {
  const problems = qualifiedName(name);
  if (problems.length > 0) {
    report.invalidEach(path, name, problems);
    return;
  }
  if (!name.includes('/') && !STANDARD_CONTAINER_RESOURCES.includes(name) && !name.startsWith('hugepages-')) {
    report.invalid(path, name, 'must be a standard resource for containers', {
      hint: 'cpu, memory, ephemeral-storage, hugepages-<size>, or a name with a domain prefix',
    });
  }
}

function validateResources(container: Container, at: FieldPath, report: Reporter): void {
  const { requests = {}, limits = {} } = container.resources ?? {};
  const limitValues = new Map<string, number>();
  for (const [name, value] of Object.entries(limits)) {
    const path: FieldPath = [...at, 'resources', 'limits', name];
    checkResourceName(path, name, report);
    const parsed = checkQuantity(path, value, report);
    if (parsed !== undefined) limitValues.set(name, parsed);
  }
  for (const [name, value] of Object.entries(requests)) {
    const path: FieldPath = [...at, 'resources', 'requests', name];
    checkResourceName(path, name, report);
    const parsed = checkQuantity(path, value, report);
    const limit = limitValues.get(name);
    if (parsed !== undefined && limit !== undefined && parsed > limit) {
      report.invalid(path, value, `must be less than or equal to ${name} limit of ${limits[name]}`);
    }
  }
}

/** A port that takes a host port an earlier port of the Pod already took: where it is, and the taken key. */
export interface HostPortConflict {
  readonly container: number;
  readonly port: number;
  /** `protocol/hostIP/hostPort`, as upstream prints it. */
  readonly key: string;
}

/**
 * checkHostPortConflicts: no two ports of a Pod's containers take the same host port (protocol, host IP and port
 * together; 0 is no host port). Init containers are not compared: they run one at a time.
 */
export function hostPortConflicts(containers: readonly Container[]): HostPortConflict[] {
  const taken = new Set<string>();
  const conflicts: HostPortConflict[] = [];
  containers.forEach((container, i) => {
    (container.ports ?? []).forEach((port, j) => {
      if (!port.hostPort) return;
      const key = `${port.protocol}/${port.hostIP ?? ''}/${port.hostPort}`;
      if (taken.has(key)) conflicts.push({ container: i, port: j, key });
      else taken.add(key);
    });
  });
  return conflicts;
}

/** `containers` (required, at least one) and `initContainers` of a pod spec at `spec`. */
export function validateContainers(
  containers: Container[] | undefined,
  initContainers: Container[] | undefined,
  spec: FieldPath,
  report: Reporter,
): void {
  if ((containers ?? []).length === 0) report.required([...spec, 'containers'], 'a pod needs at least one container');
  const names = new Map<string, string>();
  const lists: [string, Container[]][] = [
    ['containers', containers ?? []],
    ['initContainers', initContainers ?? []],
  ];
  for (const [list, items] of lists) {
    items.forEach((container, i) => {
      const at: FieldPath = [...spec, list, i];
      if (container.name === undefined || container.name === '') report.required([...at, 'name']);
      else {
        report.invalidEach([...at, 'name'], container.name, dns1123Label(container.name));
        const first = names.get(container.name);
        if (first !== undefined) report.duplicate([...at, 'name'], container.name, `already used by ${first}`);
        else names.set(container.name, `${list}[${i}]`);
      }
      if (container.image === undefined || container.image === '') report.required([...at, 'image']);
      // Sidecars (KEP-753): an init container may say `restartPolicy: Always`; other containers may not set it.
      if (container.restartPolicy !== undefined) {
        if (list !== 'initContainers')
          report.forbidden([...at, 'restartPolicy'], 'may not be set for non-init containers');
        else if (container.restartPolicy !== 'Always')
          report.notSupported([...at, 'restartPolicy'], container.restartPolicy, ['Always']);
      }
      validatePorts(container, at, report);
      validateResources(container, at, report);
      (container.env ?? []).forEach((env, j) => {
        if (env.name === undefined) report.required([...at, 'env', j, 'name']);
        else report.invalidEach([...at, 'env', j, 'name'], env.name, envVarName(env.name));
      });
    });
  }
  for (const c of hostPortConflicts(containers ?? []))
    report.duplicate([...spec, 'containers', c.container, 'ports', c.port, 'hostPort'], c.key);
}
