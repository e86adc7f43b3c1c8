/** Validation of manifest batches: decoding, defaulting and the API server's rules, with located issues. */
export { isEmptySelector, validateAnnotations, validateLabelSelector, validateLabels } from './selector.js';
export { type ValidationResult, validateObjects } from './validate-objects.js';
