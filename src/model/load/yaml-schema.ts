/**
 * The YAML 1.1 scalar rules kubectl's decoder (go-yaml v2 under sigs.k8s.io/yaml) applies, as adjustments to the
 * yaml library's 1.1 schema, which resolves more plain scalars than go-yaml does:
 *
 * - A float needs a digit in its mantissa: go-yaml only tries numbers for scalars that start with a digit, sign or
 *   dot, and its float pattern requires digits, so `e1`, `E5`, `-e3` and `.` are strings (the library read them as
 *   NaN or null).
 * - No sexagesimal numbers: go-yaml has none, so `1:20` is the string "1:20" (the library read 80).
 * - No timestamps: go-yaml keeps a timestamp-looking scalar a string when decoding into an untyped value, as kubectl
 *   does, so `2001-12-14` stays "2001-12-14" (the library read a Date).
 *
 * Everything else of 1.1 stays: yes/no/on/off booleans, 0777 octal, 0x hex, 0b binary, underscores in numbers.
 */
import type { ScalarTag, Tags } from 'yaml';

const FLOAT = 'tag:yaml.org,2002:float';
const INT = 'tag:yaml.org,2002:int';
const TIMESTAMP = 'tag:yaml.org,2002:timestamp';

/** go-yaml's float: [-+]? (.digits | digits[.digits?]) with an optional exponent (underscores allowed, then dropped). */
const EXP_FLOAT = /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$/;
const PLAIN_FLOAT = /^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)$/;

/** `customTags` for parseAllDocuments: the 1.1 tags, adjusted as above. */
export function kubectlScalarTags(tags: Tags): Tags {
  const out: Tags = [];
  for (const tag of tags) {
    if (typeof tag !== 'object' || tag === null || !('tag' in tag)) {
      out.push(tag);
      continue;
    }
    if (tag.tag === TIMESTAMP || ((tag.tag === INT || tag.tag === FLOAT) && tag.format === 'TIME')) continue;
    if (tag.tag === FLOAT && tag.test instanceof RegExp && !tag.test.source.includes('inf')) {
      const scalar: ScalarTag = { ...(tag as ScalarTag), test: tag.format === 'EXP' ? EXP_FLOAT : PLAIN_FLOAT };
      out.push(scalar);
      continue;
    }
    out.push(tag);
  }
  return out;
}
