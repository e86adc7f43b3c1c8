/** Shared helpers for the model tests: run a fixture through load + validate and format what comes out. */
import type { TestFn } from 'ava';
import { formatIssue } from '../../src/errors.js';
import { parseManifestText, readInputs } from '../../src/model/load/index.js';
import { type ValidationResult, validateObjects } from '../../src/model/validate/index.js';

export interface Checked {
  /** Every issue (read, syntax and validation), formatted as the CLI prints them. */
  lines: string[];
  result: ValidationResult;
}

/** Load `fixtures/bad/<name>` from disk and validate it. */
export async function checkFixture(name: string): Promise<Checked> {
  const read = await readInputs([`fixtures/bad/${name}`]);
  const result = validateObjects(read.documents);
  return { lines: [...read.issues, ...result.issues].map(formatIssue), result };
}

/** Parse and validate in-memory text as if it were the file `file`. */
export function checkText(text: string, file = 'inline.yaml'): Checked {
  const read = parseManifestText(text, file);
  const result = validateObjects(read.documents);
  return { lines: [...read.issues, ...result.issues].map(formatIssue), result };
}

/** A table case: a fixture and the issues it must produce, each written without the `fixtures/bad/<name>:` prefix. */
export type FixtureCase = [fixture: string, expected: string[]];

/** Kubernetes' messages, written out here so the tests check the wording, not just our own constants. */
export const MSG = {
  dns1123Label:
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
  dns1123Subdomain:
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
  dns1123SubdomainWithUnderscore:
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\\._?[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*')",
  dns1035Label:
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
  labelValue:
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  labelKeyName:
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  ip: 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  cidr: 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
  port: 'must be between 1 and 65535, inclusive',
  protocols: 'supported values: "SCTP", "TCP", "UDP"',
};

/** Run a table of fixture cases with one ava test each. */
export function fixtureTable(test: TestFn, cases: readonly FixtureCase[]): void {
  for (const [fixture, expected] of cases) {
    test(fixture, async (t) => {
      const { lines } = await checkFixture(fixture);
      t.deepEqual(
        lines,
        expected.map((line) => `fixtures/bad/${fixture}:${line}`),
      );
    });
  }
}
