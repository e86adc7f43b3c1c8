/**
 * Typed errors with stable codes. Callers branch on `err.code`, never on message text.
 * Every code is listed in docs/errors.md (test/errors.test.ts keeps the two in step).
 */
import type { SourcePosition } from './model/source.js';

export const ErrorCodes = {
  /** One object in a manifest batch is invalid; carries file, document, line:column and field path. */
  MANIFEST_INVALID: 'E_MANIFEST_INVALID',
  /** A file could not be parsed as YAML or JSON. */
  MANIFEST_SYNTAX: 'E_MANIFEST_SYNTAX',
  /** A batch was rejected because at least one object in it was invalid; nothing in it was applied. */
  BATCH_REJECTED: 'E_BATCH_REJECTED',
  /** A path given on the command line or to Cluster.load does not exist or cannot be read. */
  INPUT_UNREADABLE: 'E_INPUT_UNREADABLE',
  /** An address or port range has nothing left to hand out. */
  RANGE_EXHAUSTED: 'E_RANGE_EXHAUSTED',
  /** An object that was asked for does not exist. */
  NOT_FOUND: 'E_NOT_FOUND',
  /** An address or port was asked for that another object already holds. */
  ALREADY_ALLOCATED: 'E_ALREADY_ALLOCATED',
  /** An address or port lies outside the range it must come from. */
  OUT_OF_RANGE: 'E_OUT_OF_RANGE',
  /** A DNS name cannot be encoded (label over 63 octets, name over 253, empty label). */
  DNS_NAME_INVALID: 'E_DNS_NAME_INVALID',
  /** A DNS message cannot be decoded. */
  DNS_MALFORMED: 'E_DNS_MALFORMED',
  /** A command-line argument is invalid. */
  INVALID_ARGUMENT: 'E_INVALID_ARGUMENT',
  /** A socket could not be bound to an address it was asked to listen on (in use, not this machine's, not allowed). */
  LISTEN_FAILED: 'E_LISTEN_FAILED',
  /** An output file or directory could not be written. */
  OUTPUT_UNWRITABLE: 'E_OUTPUT_UNWRITABLE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class KubeNetsimError extends Error {
  override name = 'KubeNetsimError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** One problem with one object of a batch, located as precisely as the input allows. */
export interface ManifestIssue {
  code: ErrorCode;
  /** Where the problem is: file, document number (1-based), line and column (1-based). */
  position: SourcePosition;
  /** `Kind ns/name` (or `Kind name` for cluster-scoped objects); empty when the object has no identity yet. */
  object: string;
  /** Field path in kubectl's notation, e.g. `spec.ports[1].port`; empty for whole-document problems. */
  field: string;
  /** What is wrong, including what was found. */
  detail: string;
}

export function formatIssue(issue: ManifestIssue): string {
  const { file, document, line, column } = issue.position;
  const where = line > 0 ? `${file}:${line}:${column}` : file;
  const parts = [where];
  if (issue.object) parts.push(issue.object);
  if (issue.field) parts.push(issue.field);
  parts.push(issue.detail);
  const docNote = document > 0 ? ` (document ${document})` : '';
  return `${parts.join(': ')}${docNote}`;
}

export class ManifestError extends KubeNetsimError {
  override name = 'ManifestError';
  readonly issue: ManifestIssue;
  constructor(issue: ManifestIssue) {
    super(issue.code, formatIssue(issue));
    this.issue = issue;
  }
}

/** Thrown by apply/load when any object of the batch is invalid. Lists every problem, not only the first. */
export class BatchRejectedError extends KubeNetsimError {
  override name = 'BatchRejectedError';
  readonly issues: readonly ManifestIssue[];
  constructor(issues: readonly ManifestIssue[]) {
    const lines = issues.map(formatIssue);
    super(
      ErrorCodes.BATCH_REJECTED,
      `${issues.length} error${issues.length === 1 ? '' : 's'}; nothing was applied:\n${lines.join('\n')}`,
    );
    this.issues = issues;
  }
}

export class RangeExhaustedError extends KubeNetsimError {
  override name = 'RangeExhaustedError';
  readonly range: string;
  constructor(what: string, range: string) {
    super(ErrorCodes.RANGE_EXHAUSTED, `${what}: range ${range} is full`);
    this.range = range;
  }
}

/** A file named on the command line (a `trace --script`, say) does not exist or cannot be read. */
export class InputUnreadableError extends KubeNetsimError {
  override name = 'InputUnreadableError';
  constructor(message: string) {
    super(ErrorCodes.INPUT_UNREADABLE, message);
  }
}

export class NotFoundError extends KubeNetsimError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(ErrorCodes.NOT_FOUND, message);
  }
}

export class InvalidArgumentError extends KubeNetsimError {
  override name = 'InvalidArgumentError';
  constructor(message: string) {
    super(ErrorCodes.INVALID_ARGUMENT, message);
  }
}

/** A listen address could not be bound: `listen udp 127.0.0.1:53: bind: address already in use`, in Go's words. */
export class ListenFailedError extends KubeNetsimError {
  override name = 'ListenFailedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.LISTEN_FAILED, message, options);
  }
}

/** A file or directory the command was asked to write could not be written. */
export class OutputUnwritableError extends KubeNetsimError {
  override name = 'OutputUnwritableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCodes.OUTPUT_UNWRITABLE, message, options);
  }
}
