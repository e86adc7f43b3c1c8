/**
 * A Pod: its spec (pod-spec.ts) and the status fields kube-netsim lets a manifest pin (phase, podIP(s), hostIP(s),
 * conditions). The API server resets status on create; an emulator lets fixtures fix addresses, so we validate
 * them the way a status update is validated (validatePodIPs, validateHostIPs).
 */
import type { FieldPath } from '../source.js';
import type { Pod, PodStatus } from '../types.js';
import { checkIP } from './ip-fields.js';
import type { ParsedIP } from './net.js';
import { validatePodSpec } from './pod-spec.js';
import type { Reporter } from './reporter.js';

const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];
const CONDITION_STATUSES = ['True', 'False', 'Unknown'];

/**
 * A singular IP field and its plural list (`podIP`/`podIPs`, `hostIP`/`hostIPs`): each a valid IP, at most one per
 * family, no duplicates, and the list's first entry equal to the singular field when both are given.
 */
function validateIPPair(status: PodStatus, names: ['podIP', 'podIPs'] | ['hostIP', 'hostIPs'], report: Reporter) {
  const [one, many] = names;
  const single = status[one];
  const entries = status[many] ?? [];
  if (single) checkIP(['status', one], single, report);
  const parsed: (ParsedIP | undefined)[] = entries.map((entry, i) => {
    if (entry.ip === undefined) {
      report.required(['status', many, i, 'ip']);
      return undefined;
    }
    return checkIP(['status', many, i, 'ip'], entry.ip, report);
  });
  if (entries.length > 0 && single && entries[0]?.ip !== single) {
    report.invalid(['status', many, 0, 'ip'], entries[0]?.ip, `must be equal to \`${one}\``, {
      hint: `${one} is ${JSON.stringify(single)}`,
    });
  }
  if (entries.length > 1) {
    const valid = parsed.filter((p): p is ParsedIP => p !== undefined);
    if (entries.length > 2 || (valid.length === 2 && valid[0]!.family === valid[1]!.family)) {
      report.invalid(
        ['status', many],
        entries.map((e) => e.ip),
        'may specify no more than one IP for each IP family',
      );
    }
    entries.forEach((entry, i) => {
      if (entries.findIndex((e) => e.ip === entry.ip) < i) report.duplicate(['status', many, i], entry.ip);
    });
  }
}

export function validatePod(pod: Pod, report: Reporter): void {
  validatePodSpec(pod.spec, ['spec'], report, { isPod: true });
  const status = pod.status;
  if (!PHASES.includes(status.phase)) report.notSupported(['status', 'phase'], status.phase, PHASES);
  validateIPPair(status, ['podIP', 'podIPs'], report);
  validateIPPair(status, ['hostIP', 'hostIPs'], report);
  (status.conditions ?? []).forEach((condition, i) => {
    const at: FieldPath = ['status', 'conditions', i];
    if (!condition.type) report.required([...at, 'type']);
    if (!CONDITION_STATUSES.includes(condition.status)) {
      report.notSupported([...at, 'status'], condition.status, CONDITION_STATUSES);
    }
  });
}
