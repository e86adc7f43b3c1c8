import test from 'ava';
import {
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  envVarName,
  fullyQualifiedDomainName,
  labelValue,
  portName,
  portNumber,
  qualifiedName,
} from '../../src/model/validate/names.js';

type Check = (value: string) => string[];

/** [function, value, number of problems] */
const cases: [string, Check, string, number][] = [
  ['dns1123Label', dns1123Label, 'my-name', 0],
  ['dns1123Label', dns1123Label, '123-abc', 0],
  ['dns1123Label', dns1123Label, 'a'.repeat(63), 0],
  ['dns1123Label', dns1123Label, 'a'.repeat(64), 1],
  ['dns1123Label', dns1123Label, 'My-Name', 1],
  ['dns1123Label', dns1123Label, '-abc', 1],
  ['dns1123Label', dns1123Label, 'a.b', 1],
  ['dns1123Label', dns1123Label, '', 1],
  ['dns1123Subdomain', dns1123Subdomain, 'example.com', 0],
  ['dns1123Subdomain', dns1123Subdomain, 'a..b', 1],
  ['dns1123Subdomain', dns1123Subdomain, `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, 1],
  ['dns1035Label', dns1035Label, 'web', 0],
  ['dns1035Label', dns1035Label, '1web', 1],
  ['dns1035Label', dns1035Label, 'web-', 1],
  ['qualifiedName', qualifiedName, 'app.kubernetes.io/name', 0],
  ['qualifiedName', qualifiedName, 'MyName', 0],
  ['qualifiedName', qualifiedName, '/name', 1],
  ['qualifiedName', qualifiedName, 'Example.com/name', 1],
  ['qualifiedName', qualifiedName, 'a/b/c', 1],
  ['qualifiedName', qualifiedName, 'example.com/', 2],
  ['labelValue', labelValue, '', 0],
  ['labelValue', labelValue, 'v1.2_beta-3', 0],
  ['labelValue', labelValue, '-x', 1],
  ['labelValue', labelValue, 'x'.repeat(64), 1],
  ['portName', portName, 'http', 0],
  ['portName', portName, 'h2c-metrics', 0],
  ['portName', portName, '8080', 1],
  ['portName', portName, 'a--b', 1],
  ['portName', portName, '-http', 1],
  ['portName', portName, 'HTTP', 2],
  ['portName', portName, 'a-very-long-port-name', 1],
  ['envVarName', envVarName, 'MY_VAR', 0],
  ['envVarName', envVarName, '1.weird name', 0],
  ['envVarName', envVarName, 'A=B', 1],
  ['envVarName', envVarName, '', 1],
  ['fullyQualifiedDomainName', fullyQualifiedDomainName, 'db.example.com.', 0],
  ['fullyQualifiedDomainName', fullyQualifiedDomainName, 'localhost', 1],
];

for (const [name, check, value, problems] of cases) {
  test(`${name}(${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)}) has ${problems} problem(s)`, (t) => {
    t.is(check(value).length, problems, check(value).join(' | '));
  });
}

test('portNumber accepts 1..65535 only', (t) => {
  t.deepEqual(portNumber(1), []);
  t.deepEqual(portNumber(65535), []);
  t.deepEqual(portNumber(0), ['must be between 1 and 65535, inclusive']);
  t.deepEqual(portNumber(65536), ['must be between 1 and 65535, inclusive']);
});
