/**
 * Name, label and port-name syntax as k8s.io/apimachinery/pkg/util/validation checks it.
 * Each function returns the list of problems (empty when valid), worded as Kubernetes words them, so that
 * our messages read like `kubectl apply`'s. The regexes and limits are Kubernetes'; the code is ours.
 */

/** `msg (e.g. 'a',  or 'b', regex used for validation is 're')`: Kubernetes' RegexError layout, double space and all. */
function regexError(msg: string, re: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${re}')`;
  const shown = examples.map((e) => `'${e}', `).join(' or ');
  return `${msg} (e.g. ${shown}regex used for validation is '${re}')`;
}

export function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

export function inclusiveRangeError(lo: number, hi: number): string {
  return `must be between ${lo} and ${hi}, inclusive`;
}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL}$`);
const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";

const DNS1123_SUBDOMAIN = `${DNS1123_LABEL}(\\.${DNS1123_LABEL})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN}$`);
const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

const DNS1035_LABEL = '[a-z]([-a-z0-9]*[a-z0-9])?';
const DNS1035_LABEL_RE = new RegExp(`^${DNS1035_LABEL}$`);
const DNS1035_LABEL_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character";

/** RFC 1123 label: Namespace names, container names, Service port names, hostname, subdomain. */
export function dns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!DNS1123_LABEL_RE.test(value)) {
    if (DNS1123_SUBDOMAIN_RE.test(value)) errs.push('must not contain dots');
    else errs.push(regexError(DNS1123_LABEL_MSG, DNS1123_LABEL, 'my-name', '123-abc'));
  }
  return errs;
}

/** RFC 1123 subdomain: most object names, Node names, ExternalName targets, DNS search domains. */
export function dns1123Subdomain(value: string): string[] {
  return subdomainErrors(value, DNS1123_SUBDOMAIN_RE, DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN);
}

/** At most 253 characters, matching `re` (its source `format`, named in the message as upstream names it). */
function subdomainErrors(value: string, re: RegExp, msg: string, format: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLenError(253));
  if (!re.test(value)) errs.push(regexError(msg, format, 'example.com'));
  return errs;
}

const DNS1123_LABEL_UNDERSCORE = '_?[a-z0-9]([-_a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_UNDERSCORE = `${DNS1123_LABEL_UNDERSCORE}(\\.${DNS1123_LABEL_UNDERSCORE})*`;
const DNS1123_SUBDOMAIN_UNDERSCORE_RE = new RegExp(`^${DNS1123_SUBDOMAIN_UNDERSCORE}$`);
const DNS1123_SUBDOMAIN_UNDERSCORE_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/**
 * An RFC 1123 subdomain whose labels may hold underscores (`_sip._tcp.example.com`): pod `dnsConfig.searches` under
 * relaxed DNS search validation (KEP-4427, on by default since Kubernetes 1.33).
 */
export function dns1123SubdomainWithUnderscore(value: string): string[] {
  return subdomainErrors(
    value,
    DNS1123_SUBDOMAIN_UNDERSCORE_RE,
    DNS1123_SUBDOMAIN_UNDERSCORE_MSG,
    DNS1123_SUBDOMAIN_UNDERSCORE,
  );
}

/** RFC 1035 label: Service names (they become DNS labels that must not start with a digit). */
export function dns1035Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!DNS1035_LABEL_RE.test(value)) errs.push(regexError(DNS1035_LABEL_MSG, DNS1035_LABEL, 'my-name', 'abc-123'));
  return errs;
}

const LABEL_KEY_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_KEY_NAME_RE = new RegExp(`^${LABEL_KEY_NAME}$`);
const LABEL_KEY_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** A qualified name (label keys, annotation keys, appProtocol): `[prefix/]name`. */
export function qualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const msg of dns1123Subdomain(prefix)) errs.push(`prefix part ${msg}`);
  } else {
    return [
      `a valid label key ${regexError(LABEL_KEY_MSG, LABEL_KEY_NAME, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!LABEL_KEY_NAME_RE.test(name)) {
    errs.push(`name part ${regexError(LABEL_KEY_MSG, LABEL_KEY_NAME, 'MyName', 'my.name', '123-abc')}`);
  }
  return errs;
}

const LABEL_VALUE = `(${LABEL_KEY_NAME})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE}$`);
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export function labelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE, 'MyValue', 'my_value', '12345'));
  return errs;
}

/** An IANA_SVC_NAME (RFC 6335): container port names, named targetPorts, NetworkPolicy named ports. */
export function portName(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(value)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(value)) errs.push('must contain at least one letter (a-z)');
  if (value.includes('--')) errs.push('must not contain consecutive hyphens');
  if (value.startsWith('-') || value.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** A port number 1..65535. */
export function portNumber(value: number): string[] {
  return value >= 1 && value <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/**
 * Environment variable names: since RelaxedEnvironmentVariableValidation (GA in 1.34) any printable ASCII except '='.
 */
export function envVarName(value: string): string[] {
  if (value.length === 0) return ['environment variable name must be non-empty'];
  if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(value)) {
    return ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
  }
  return [];
}

/** A fully qualified domain name with at least two labels (EndpointSlice FQDN addresses); a trailing dot is allowed. */
export function fullyQualifiedDomainName(value: string): string[] {
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  const errs = dns1123Subdomain(name);
  if (errs.length > 0) return [errs.join(',')];
  if (name.split('.').length < 2) return ['should be a domain with at least two segments separated by dots'];
  for (const label of name.split('.')) {
    const labelErrs = dns1123Label(label);
    if (labelErrs.length > 0) return [labelErrs.join(',')];
  }
  return [];
}
