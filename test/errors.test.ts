import { readFileSync } from 'node:fs';
import test from 'ava';
import { ErrorCodes } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]));

test('every error code is documented in docs/errors.md', (t) => {
  for (const code of Object.values(ErrorCodes)) t.true(documented.has(code), `${code} is missing from docs/errors.md`);
});

test('docs/errors.md lists no code that does not exist', (t) => {
  const codes = new Set<string>(Object.values(ErrorCodes));
  for (const code of documented) t.true(codes.has(code!), `${code} is documented but not defined`);
});
