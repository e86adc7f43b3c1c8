/**
 * Errors the allocators throw besides `RangeExhaustedError` (src/errors.ts). Each carries the value asked for and the
 * range it was checked against, so admission can turn it into a manifest issue with file, line and field path.
 */
import { ErrorCodes, KubeNetsimError } from '../errors.js';

/** An address, port or CIDR that another object already holds (E_ALREADY_ALLOCATED). */
export class AlreadyAllocatedError extends KubeNetsimError {
  override name = 'AlreadyAllocatedError';
  readonly value: string;
  readonly range: string;
  constructor(message: string, value: string, range: string) {
    super(ErrorCodes.ALREADY_ALLOCATED, message);
    this.value = value;
    this.range = range;
  }
}

/** An address, port or CIDR outside the range it must come from, or a reserved one (E_OUT_OF_RANGE). */
export class OutOfRangeError extends KubeNetsimError {
  override name = 'OutOfRangeError';
  readonly value: string;
  readonly range: string;
  constructor(message: string, value: string, range: string) {
    super(ErrorCodes.OUT_OF_RANGE, message);
    this.value = value;
    this.range = range;
  }
}
