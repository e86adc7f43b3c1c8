/**
 * The DNS wire layer: message model, names, encoder with compression, query parser, size rules, response cache
 * helpers and TCP framing. The server imports from here.
 */
export {
  type CachedResponse,
  replyFromCache,
  toCachedResponse,
} from './cached-response.js';
export {
  type FormErrDetail,
  type ParsedQuery,
  parseQuery,
  type QueryInfo,
  type QueryParseResult,
  type QueryQuestion,
} from './decode.js';
export { decodeMessage } from './decode-message.js';
export { badversEdns, isUnsupportedVersion, replyEdns } from './edns.js';
export {
  type EncodeOptions,
  type EncodeResult,
  encodeDetailed,
  encodeMessage,
  groupRRsets,
  optLength,
} from './encode.js';
export { type ErrorReplyOptions, encodeError } from './error-response.js';
export * from './message.js';
export {
  canonicalName,
  fqdn,
  isSubdomain,
  isValidName,
  nameFromWire,
  namesEqual,
  nameToWire,
  parseName,
  toLowerName,
  validateName,
} from './name.js';
export {
  MAX_EDNS_UDP_PAYLOAD,
  MAX_TCP_PAYLOAD,
  MIN_UDP_PAYLOAD,
  maxUdpPayload,
  responseLimit,
  truncate,
} from './size.js';
export { frameMessage, MAX_TCP_MESSAGE, TcpFrameReader } from './tcp-framing.js';
