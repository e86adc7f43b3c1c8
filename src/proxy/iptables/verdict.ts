/**
 * The iptables engine's verdicts, with `steps` resolved when first read.
 *
 * A new flow's walk records its trace compactly: Step objects for the fixed rules, and for a Service's own chains
 * the rule program followed by one number per rule evaluated (index × 2 + 1 when it matched). Turning those into
 * steps touches the rules' texts (and names them, a SHA-256 per KUBE-SEP chain, the first time): work a bulk run
 * that never reads the trace should not pay per packet. A tracked flow's verdict likewise formats its one step on
 * first read. Reading `steps` gives the same steps, in the same order, as building them eagerly did.
 *
 * The fields, the getter's place and `toJSON` come from StepsOnReadVerdict (engine.ts).
 */
import type { Conntrack } from '../conntrack.js';
import { type Step, StepsOnReadVerdict, type Verdict, type VerdictFields } from '../engine.js';
import { FlowVerdict } from '../flow-verdict.js';
import { describePacket, type Packet } from '../packet.js';
import type { NatProgram } from './program.js';

/** A recorded walk: steps, and program rules as a program followed by `index * 2 + matched` numbers. */
export type Trace = (Step | NatProgram | number)[];

export type { VerdictFields } from '../engine.js';

const NONE: readonly Step[] = Object.freeze([]);

export class IptablesVerdict extends StepsOnReadVerdict {
  /** What `steps` is built from: a recorded trace, or a function building them. */
  #source: Trace | (() => readonly Step[]) | null;
  #steps: readonly Step[] | null = null;

  constructor(fields: VerdictFields, source: Trace | (() => readonly Step[]) | null) {
    super(fields);
    this.#source = source;
  }

  get steps(): readonly Step[] {
    if (this.#steps === null) {
      const source = this.#source;
      this.#steps = source === null ? NONE : typeof source === 'function' ? source() : resolve(source);
      this.#source = null;
    }
    return this.#steps;
  }
}

function resolve(trace: Trace): readonly Step[] {
  if (trace.length === 0) return NONE;
  const out: Step[] = [];
  let prog: NatProgram | null = null;
  for (const x of trace) {
    if (typeof x === 'number') {
      const rule = prog!.textRules()[x >> 1]!;
      out.push((x & 1) === 1 ? rule.hit : rule.miss);
    } else if ('code' in x) prog = x;
    else out.push(x);
  }
  return out;
}

/** The verdict for a packet of a tracked flow (conntrack's NAT, no rules); its one step is formatted when read. */
export function trackedVerdict(ct: Conntrack, row: number, reply: boolean, packet: Packet, explain: boolean): Verdict {
  return new FlowVerdict(ct, row, reply ? 'reply' : 'established', packet, 0, explain ? trackedSteps : null);
}

/**
 * The verdict for a new flow's first packet once conntrack tracks it (in `row`), with the walk's trace (resolved when
 * read) as its steps.
 */
export function newFlowVerdict(ct: Conntrack, row: number, packet: Packet, cost: number, trace: Trace | null): Verdict {
  return new FlowVerdict(ct, row, 'new', packet, cost, trace === null ? null : () => resolve(trace));
}

function trackedSteps(flow: FlowVerdict): Step[] {
  return [trackedStep(flow)];
}

function trackedStep(flow: FlowVerdict): Step {
  const reply = flow.conntrack === 'reply';
  const { dnat, snatAddress: snat, endpoint, remappedPort } = flow;
  const natted = dnat !== null || snat !== null || remappedPort !== 0;
  const rewrites = [
    dnat ? `DNAT to ${endpoint}` : null,
    snat ? `SNAT to ${snat.ip}:${snat.port}` : null,
    remappedPort !== 0 ? `source port ${flow.originalPacket.src.port} remapped to ${remappedPort}` : null,
  ].filter((r) => r !== null);
  const what = !reply
    ? natted
      ? `tracked flow: ${rewrites.join(', ')} (no rules traversed)`
      : 'tracked flow without NAT: passes unchanged'
    : natted
      ? `reply of a tracked flow: source restored to ${describePacket(flow.packet)
          .split(' -> ')[0]!
          .slice(flow.arrived.proto.length + 1)}, destination to the client`
      : 'reply of a tracked flow without NAT: passes unchanged';
  return {
    where: 'conntrack',
    rule: `flow #${flow.flowId} (${describePacket(flow.originalPacket)})`,
    decision: what,
  };
}
