/**
 * Whether an upstream reply answers our query, as CoreDNS's forward plugin checks it (`state.Match`): QR set, one
 * question, the same name ignoring case and the same type. We also require the same class, since we only ask IN.
 * The ID was already checked by the transport. CoreDNS answers a reply that fails this with FORMERR.
 */
import { textScratch, walk, walkName } from '../wire/read-name.js';

/** The lower-cased question name, type and class of a message, or null when it has not exactly one question. */
function question(buf: Uint8Array): string | null {
  if (buf.length < 12 || buf[4] !== 0 || buf[5] !== 1) return null;
  const end = walkName(buf, 12, true, true);
  if (end < 0 || end + 4 > buf.length) return null;
  const name = textScratch.toString('latin1', 0, walk.textLength);
  return `${name}|${(buf[end]! << 8) | buf[end + 1]!}|${(buf[end + 2]! << 8) | buf[end + 3]!}`;
}

export function matchesQuery(reply: Uint8Array, query: Uint8Array): boolean {
  if (reply.length < 12 || (reply[2]! & 0x80) === 0) return false;
  const asked = question(query);
  return asked !== null && question(reply) === asked;
}
