/**
 * Generated names, as Kubernetes makes them.
 *
 * - `pod-template-hash`: upstream (pkg/controller ComputeHash) hashes the pod template with FNV-32a, adds the
 *   collision count as 8 little-endian bytes when there is one, prints the 32-bit sum in decimal and maps every digit
 *   through `SafeEncodeString`. Upstream feeds the hash a Go `spew` dump of the template, which we cannot reproduce;
 *   we feed it a stable JSON of the template instead (sorted keys), so the value is deterministic and changes exactly
 *   when the template does, but is not the number a real cluster would print.
 * - Random suffixes: `utilrand.String(5)` draws from the same 27-character alphabet; we draw from the seeded `names`
 *   stream so a seed always gives the same names.
 * - `generateName`: the API server cuts the prefix to 63 - 5 = 58 characters before adding the suffix
 *   (apiserver names.SimpleNameGenerator), and retries on a name that is already taken.
 */
import type { Rng } from '../util/rng.js';

/** utilrand's alphabet: no vowels (no words), no 0/1/3 (look-alikes). */
export const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Longest name an object may have (DNS label). */
export const MAX_NAME_LENGTH = 63;
/** Length of the random suffix added to a generateName prefix. */
export const RANDOM_SUFFIX_LENGTH = 5;
/** Longest prefix kept from a generateName before the suffix is added. */
export const MAX_GENERATED_NAME_LENGTH = MAX_NAME_LENGTH - RANDOM_SUFFIX_LENGTH;

/** Map each character to the alphabet by its code modulo 27, as upstream's SafeEncodeString. */
export function safeEncodeString(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) out += NAME_ALPHABET[text.charCodeAt(i) % NAME_ALPHABET.length];
  return out;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnvBytes(h: number, bytes: Uint8Array): number {
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h;
}

/**
 * FNV-1a over the UTF-8 bytes of `text`, continuing from `h`. ASCII text is its own UTF-8, so it is hashed from
 * the character codes without encoding it first; other text is encoded.
 */
function fnvText(h: number, text: string): number {
  const start = h;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return fnvBytes(start, new TextEncoder().encode(text));
    h ^= c;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  return h;
}

/** FNV-1a, 32 bits, over the UTF-8 bytes of `text`. */
export function fnv32a(text: string): number {
  return fnvText(FNV_OFFSET, text);
}

// Stored objects are immutable, so a template's text is computed once per template object, not once per reconcile.
// Only the value asked for is cached, not each object inside it: nothing asks for those on their own, and a
// WeakMap entry per nested object costs more than it saves.
const stableCache = new WeakMap<object, string>();

/**
 * JSON with object keys sorted and undefined members left out: the same value always gives the same text. Objects
 * must not change after they are first stringified (results are cached per object).
 */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const cached = stableCache.get(value);
  if (cached !== undefined) return cached;
  const text = stringifyObject(value);
  stableCache.set(value, text);
  return text;
}

function stringifyValue(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  return stringifyObject(value);
}

function stringifyObject(value: object): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stringifyValue(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    const v = obj[key];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${stringifyValue(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * The pod-template-hash of a template: FNV-32a of its stable JSON, plus the collision count (when given) as 8 bytes,
 * printed in decimal and safe-encoded. 32-bit sums print as up to 10 digits, so hashes are up to 10 characters.
 */
export function podTemplateHash(template: unknown, collisionCount?: number): string {
  let h = fnvText(FNV_OFFSET, stableStringify(template));
  if (collisionCount !== undefined) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnvBytes(h, bytes);
  }
  return safeEncodeString(String(h >>> 0));
}

/** `n` characters drawn uniformly from the alphabet. */
export function randomSuffix(rng: Rng, n = RANDOM_SUFFIX_LENGTH): string {
  let out = '';
  for (let i = 0; i < n; i++) out += NAME_ALPHABET[rng.int(NAME_ALPHABET.length)];
  return out;
}

/** What the API server does with a generateName: cut the prefix to 58 characters and add 5 random ones. */
export function generateName(prefix: string, rng: Rng): string {
  return prefix.slice(0, MAX_GENERATED_NAME_LENGTH) + randomSuffix(rng);
}

/**
 * A generated name not yet taken. The API server retries generateName conflicts; we draw again until `taken` says
 * no, so at 150,000 pods the rare suffix collision never fails a batch.
 */
export function uniqueGeneratedName(prefix: string, rng: Rng, taken: (name: string) => boolean): string {
  for (;;) {
    const name = generateName(prefix, rng);
    if (!taken(name)) return name;
  }
}

/**
 * The generateName prefix a controller uses for objects it names after a parent: `<parent>-`. Upstream drops the
 * dash only when the prefix would not be a valid DNS subdomain, which cannot happen for names of 63 characters.
 */
export function childPrefix(parentName: string): string {
  return `${parentName}-`;
}

/** A Deployment's ReplicaSet for one template: `<deployment>-<pod-template-hash>`. */
export function replicaSetName(deploymentName: string, hash: string): string {
  return `${deploymentName}-${hash}`;
}

/** A StatefulSet's pod for one ordinal: `<statefulset>-<ordinal>`. */
export function statefulSetPodName(setName: string, ordinal: number): string {
  return `${setName}-${ordinal}`;
}
