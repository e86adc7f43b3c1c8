/** Reading manifests: files and directories → parsed documents located in their source. */
export { type LoadResult, parseManifestText, type RawDocument } from './parse.js';
export { readInputs } from './read-inputs.js';
