/**
 * What admission steps share while one batch is applied: the store, the batch's journal, the IPAM, the scheduler,
 * and a collector of manifest issues located at the offending field.
 */
import { type ErrorCode, ErrorCodes, KubeNetsimError, type ManifestIssue } from '../errors.js';
import type { Journal } from '../model/journal.js';
import { type FieldPath, formatPath, positionOf } from '../model/source.js';
import type { Store } from '../model/store.js';
import { type ClusterConfigSpec, describeObject, type KubeObject } from '../model/types.js';

export class IssueCollector {
  readonly issues: ManifestIssue[] = [];
  readonly warnings: string[] = [];

  /** Record a problem with a field of an object, located at that field in its source file. */
  reject(obj: KubeObject, path: FieldPath, detail: string, code: ErrorCode = ErrorCodes.MANIFEST_INVALID): void {
    this.issues.push({
      code,
      position: positionOf(obj, path),
      object: describeObject(obj),
      field: formatPath(path),
      detail,
    });
  }

  /**
   * Run one allocation; a KubeNetsimError it throws (already allocated, out of range, exhausted) becomes an issue at
   * `path`, and the result is undefined. Other errors are faults and propagate.
   */
  attempt<T>(
    obj: KubeObject,
    path: FieldPath,
    fn: () => T,
    describe?: (err: KubeNetsimError) => string,
  ): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof KubeNetsimError)) throw err;
      this.reject(obj, path, describe ? describe(err) : err.message, err.code);
      return undefined;
    }
  }

  warn(message: string): void {
    this.warnings.push(message);
  }
}

export interface AdmissionEnv {
  readonly store: Store;
  readonly journal: Journal;
  readonly config: ClusterConfigSpec;
  readonly issues: IssueCollector;
}
