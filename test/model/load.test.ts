import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { formatIssue } from '../../src/errors.js';
import { parseManifestText, readInputs } from '../../src/model/load/index.js';
import { sourceOf } from '../../src/model/source.js';
import { checkFixture } from './helpers.js';

const MULTI = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - name: http
      port: 80
    - name: metrics
      port: 9090
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  containers: [{name: c, image: busybox}]
`;

test('multi-document YAML: one RawDocument per document, numbered from 1, located field by field', (t) => {
  const { documents, issues } = parseManifestText(MULTI, 'multi.yaml');
  t.deepEqual(issues, []);
  t.is(documents.length, 2);
  t.deepEqual(
    documents.map((d) => [d.source.file, d.source.document]),
    [
      ['multi.yaml', 1],
      ['multi.yaml', 2],
    ],
  );
  const web = documents[0]!.source;
  // A field is located at its key; a list item at its first character.
  t.deepEqual(web.locate(['spec', 'ports', 1, 'port']), { file: 'multi.yaml', document: 1, line: 10, column: 7 });
  t.deepEqual(web.locate(['spec', 'ports', 1]), { file: 'multi.yaml', document: 1, line: 9, column: 7 });
  t.deepEqual(web.locate(['spec']), { file: 'multi.yaml', document: 1, line: 5, column: 1 });
  t.deepEqual(web.locate([]), { file: 'multi.yaml', document: 1, line: 1, column: 1 });
  // Flow collections are located the same way.
  const pod = documents[1]!.source;
  t.deepEqual(pod.locate(['metadata', 'name']), { file: 'multi.yaml', document: 2, line: 14, column: 12 });
  t.deepEqual(pod.locate(['spec', 'containers', 0, 'image']), {
    file: 'multi.yaml',
    document: 2,
    line: 16,
    column: 26,
  });
});

test('a missing field is located at the deepest part of its path that exists', (t) => {
  const source = parseManifestText(MULTI, 'multi.yaml').documents[0]!.source;
  // spec.clusterIP is absent: point at `spec:`, where it would go.
  t.deepEqual(source.locate(['spec', 'clusterIP']), { file: 'multi.yaml', document: 1, line: 5, column: 1 });
  // ports[1].nodePort is absent: point at the port item.
  t.deepEqual(source.locate(['spec', 'ports', 1, 'nodePort']), { file: 'multi.yaml', document: 1, line: 9, column: 7 });
  // ports[5] does not exist: point at `ports:`.
  t.deepEqual(source.locate(['spec', 'ports', 5, 'port']), { file: 'multi.yaml', document: 1, line: 6, column: 3 });
  // A top-level field that is missing: the document's first line.
  t.deepEqual(source.locate(['status']), { file: 'multi.yaml', document: 1, line: 1, column: 1 });
});

test('the SourceRef is attached to each parsed object, so later stages can locate its fields', (t) => {
  const { documents } = parseManifestText(MULTI, 'multi.yaml');
  for (const doc of documents) t.is(sourceOf(doc.value as object), doc.source);
});

test('kind: List expands to its items, each located under items[i] of its document', async (t) => {
  const { lines, result } = await checkFixture('load-list.yaml');
  t.deepEqual(lines, [
    'fixtures/bad/load-list.yaml:17:11: Service default/api: spec.ports[0].port: must be between 1 and 65535, inclusive, got 0 (document 1)',
  ]);
  t.deepEqual(
    result.objects.map((o) => o.metadata.name),
    ['web'],
  );
  const read = await readInputs(['fixtures/bad/load-list.yaml']);
  t.is(read.documents.length, 2);
  t.deepEqual(read.documents[1]!.source.locate(['metadata', 'name']), {
    file: 'fixtures/bad/load-list.yaml',
    document: 1,
    line: 14,
    column: 7,
  });
});

test('JSON goes through the same parser, with positions', async (t) => {
  const { lines, result } = await checkFixture('load-json.json');
  t.deepEqual(lines, [
    'fixtures/bad/load-json.json:6:79: Service default/web: spec.ports[1].protocol: Unsupported value: "QUIC": supported values: "SCTP", "TCP", "UDP" (document 1)',
  ]);
  t.deepEqual(result.objects, []);
});

test('a JSON stream (objects one after another, as kubectl decodes it): one document each, positions of the file', (t) => {
  const ns = (name: string) => `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "${name}"}}`;
  const text = `${ns('a')} ${ns('b')}\n\n${ns('c')}\n[{"x": "}"}]\n`;
  const { documents, issues } = parseManifestText(text, 'stream.json');
  t.deepEqual(issues, []);
  t.deepEqual(
    documents.map((d) => (d.value as { metadata?: { name: string } }).metadata?.name ?? 'array'),
    ['a', 'b', 'c', 'array'],
  );
  const column = ns('a').length + 2;
  t.like(documents[1]!.source.locate(['kind']), { document: 2, line: 1, column: column + 21 });
  t.like(documents[2]!.source.locate(['kind']), { document: 3, line: 3, column: 22 });
  // Anything else (here a stray scalar after the objects) is read as YAML, and errors as before.
  t.true(parseManifestText(`${ns('a')}\n${ns('b')}\nx`, 'bad.json').issues.length > 0);
});

test('empty documents are skipped but counted, so document numbers match the file', async (t) => {
  const read = await readInputs(['fixtures/bad/load-empty-documents.yaml']);
  t.is(read.documents.length, 1);
  // The first `---` opens document 1: the Service is the third document of the stream.
  t.is(read.documents[0]!.source.document, 3);
  const { lines } = await checkFixture('load-empty-documents.yaml');
  t.deepEqual(lines, [
    'fixtures/bad/load-empty-documents.yaml:11:7: Service default/web: spec.ports[0].port: must be between 1 and 65535, inclusive, got 99999 (document 3)',
  ]);
  t.deepEqual(parseManifestText('', 'empty.yaml'), { documents: [], issues: [] });
  t.deepEqual(parseManifestText('---\n---\n', 'empty.yaml'), { documents: [], issues: [] });
});

test('a syntax error spoils only its document: every error is reported and the other documents still parse', async (t) => {
  const read = await readInputs(['fixtures/bad/load-syntax.yaml.txt']);
  t.deepEqual(read.issues.map(formatIssue), [
    'fixtures/bad/load-syntax.yaml.txt:15:1: Flow sequence in block collection must be sufficiently indented and end with a ] (document 2)',
    'fixtures/bad/load-syntax.yaml.txt:22:5: Map keys must be unique (document 3)',
  ]);
  t.true(read.issues.every((i) => i.code === 'E_MANIFEST_SYNTAX'));
  t.deepEqual(
    read.documents.map((d) => (d.value as { metadata: { name: string } }).metadata.name),
    ['first', 'fine'],
  );
  t.deepEqual(
    read.documents.map((d) => d.source.document),
    [1, 4],
  );
});

test('YAML 1.1 like kubectl: yes/on are booleans, 0777 is octal, merge keys work and are located in the anchor', (t) => {
  const text = `base: &base
  port: 80
  protocol: TCP
ports:
  - <<: *base
    name: http
flags: [yes, on, "yes"]
mode: 0777
`;
  const { documents, issues } = parseManifestText(text, 'y.yaml');
  t.deepEqual(issues, []);
  t.deepEqual(documents[0]!.value, {
    base: { port: 80, protocol: 'TCP' },
    ports: [{ port: 80, protocol: 'TCP', name: 'http' }],
    flags: [true, true, 'yes'],
    mode: 511,
  });
  t.deepEqual(documents[0]!.source.locate(['ports', 0, 'port']), { file: 'y.yaml', document: 1, line: 2, column: 3 });
  t.deepEqual(documents[0]!.source.locate(['ports', 0, 'name']), { file: 'y.yaml', document: 1, line: 6, column: 5 });
});

// go-yaml v2 (kubectl's decoder) resolves fewer plain scalars than the YAML 1.1 spec: numbers need digits, there is
// no base 60, and timestamps stay strings in untyped decoding.
const KUBECTL_SCALARS: readonly [text: string, value: unknown][] = [
  ['e1', 'e1'],
  ['E5', 'E5'],
  ['-e3', '-e3'],
  ['+e2', '+e2'],
  ['.', '.'],
  ['-.', '-.'],
  ['1:20', '1:20'],
  ['190:20:30.15', '190:20:30.15'],
  ['2001-12-14', '2001-12-14'],
  ['2001-12-14 21:59:43.10 -5', '2001-12-14 21:59:43.10 -5'],
  ['1e3', 1000],
  ['.5e3', 500],
  ['1.5e-3', 0.0015],
  ['1_000', 1000],
  ['1.', 1],
  ['.5', 0.5],
  ['0x1F', 31],
  ['0b101', 5],
  ['0777', 511],
  ['-.inf', Number.NEGATIVE_INFINITY],
];
for (const [text, value] of KUBECTL_SCALARS) {
  test(`plain scalar ${text} reads as kubectl reads it: ${JSON.stringify(value) ?? String(value)}`, (t) => {
    const { documents, issues } = parseManifestText(`k: ${text}\n`, 's.yaml');
    t.deepEqual(issues, []);
    t.is((documents[0]!.value as { k: unknown }).k, value);
  });
}

test('a name like e1 is a name, not a number', (t) => {
  const { documents } = parseManifestText('kind: Service\nmetadata: {name: e1, labels: {app: e5}}\n', 'svc.yaml');
  t.deepEqual((documents[0]!.value as { metadata: unknown }).metadata, { name: 'e1', labels: { app: 'e5' } });
});

test('an unresolvable alias is a syntax issue for its document only', (t) => {
  const { documents, issues } = parseManifestText('a: *nowhere\n---\nb: 1\n', 'alias.yaml');
  t.is(issues.length, 1);
  t.is(issues[0]?.code, 'E_MANIFEST_SYNTAX');
  t.is(issues[0]?.position.document, 1);
  t.deepEqual(
    documents.map((d) => d.value),
    [{ b: 1 }],
  );
});

test('an alias inside its own anchor is a syntax issue, not an endless value (go-yaml: contains itself)', (t) => {
  const { documents, issues } = parseManifestText(
    'apiVersion: v1\nkind: Service\nmetadata: &m\n  name: x\n  self: *m\n---\nb: 1\n',
    'cyclic.yaml',
  );
  t.is(issues.length, 1);
  t.is(issues[0]?.code, 'E_MANIFEST_SYNTAX');
  t.like(issues[0]?.position, { document: 1, line: 5 });
  t.regex(issues[0]!.detail, /anchor 'm' value contains itself/);
  t.deepEqual(
    documents.map((d) => d.value),
    [{ b: 1 }],
  );
});

test('a List inside a List contributes its items, each located by its full path', (t) => {
  const text = [
    'apiVersion: v1',
    'kind: List',
    'items:',
    '- apiVersion: v1',
    '  kind: List',
    '  items:',
    '  - apiVersion: v1',
    '    kind: Service',
    '    metadata: {name: nested}',
  ].join('\n');
  const { documents, issues } = parseManifestText(text, 'nested.yaml');
  t.deepEqual(issues, []);
  t.is(documents.length, 1);
  t.like(documents[0]!.value, { kind: 'Service', metadata: { name: 'nested' } });
  t.is(documents[0]!.source.locate(['metadata', 'name']).line, 9);
});

test("an unterminated quote spoils its own document only: the file is cut at its '---' lines first", (t) => {
  const text =
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: "broken\n---\napiVersion: v1\nkind: Service\nmetadata: {name: ok}\n';
  const { documents, issues } = parseManifestText(text, 'quote.yaml');
  t.is(issues.length, 1);
  t.like(issues[0]?.position, { document: 1 });
  t.is(documents.length, 1);
  t.like(documents[0]!.value, { metadata: { name: 'ok' } });
  t.like(documents[0]!.source.locate(['metadata', 'name']), { document: 2, line: 8 });
});

test('a byte-order mark does not shift positions', (t) => {
  const { documents } = parseManifestText('\uFEFFkind: Service\nmetadata: {name: x}\n', 'bom.yaml');
  t.deepEqual(documents[0]!.source.locate(['metadata']), { file: 'bom.yaml', document: 1, line: 2, column: 1 });
});

test('readInputs: directories are read recursively in sorted order; only *.yaml, *.yml and *.json', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kube-netsim-load-'));
  try {
    await mkdir(join(dir, 'b-sub'));
    const svc = (name: string) =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: {ports: [{port: 80}]}\n`;
    await writeFile(join(dir, 'c.yml'), svc('c'));
    await writeFile(join(dir, 'a.yaml'), svc('a'));
    await writeFile(
      join(dir, 'b-sub', 'z.json'),
      '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "z"}}',
    );
    await writeFile(join(dir, 'notes.txt'), 'not a manifest: [');
    await writeFile(join(dir, 'B.YAML'), svc('upper'));
    const read = await readInputs([dir]);
    t.deepEqual(read.issues, []);
    t.deepEqual(
      read.documents.map((d) => d.source.file.slice(dir.length + 1)),
      ['B.YAML', 'a.yaml', join('b-sub', 'z.json'), 'c.yml'],
    );
    // A file named explicitly is read whatever its extension.
    const explicit = await readInputs([join(dir, 'notes.txt')]);
    t.is(explicit.issues[0]?.code, 'E_MANIFEST_SYNTAX');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('readInputs: a missing path is an INPUT_UNREADABLE issue, and the other paths are still read', async (t) => {
  const read = await readInputs(['fixtures/bad/does-not-exist.yaml', 'fixtures/bad/load-json.json']);
  t.deepEqual(read.issues, [
    {
      code: 'E_INPUT_UNREADABLE',
      position: { file: 'fixtures/bad/does-not-exist.yaml', document: 0, line: 0, column: 0 },
      object: '',
      field: '',
      detail: 'cannot read input: no such file or directory',
    },
  ]);
  t.is(formatIssue(read.issues[0]!), 'fixtures/bad/does-not-exist.yaml: cannot read input: no such file or directory');
  t.is(read.documents.length, 1);
});

test('CRLF line endings: every document reads the same as with LF', (t) => {
  const lf = 'apiVersion: v1\nkind: Service\nspec:\n  ports:\n  - port: 80\n---\napiVersion: v1\nkind: Namespace\n';
  const crlf = lf.replaceAll('\n', '\r\n');
  t.deepEqual(
    parseManifestText(crlf, 'crlf.yaml').documents.map((d) => d.value),
    parseManifestText(lf, 'lf.yaml').documents.map((d) => d.value),
  );
  t.deepEqual(parseManifestText(crlf, 'crlf.yaml').issues, []);
});
