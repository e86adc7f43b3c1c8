/**
 * v1 Endpoints (pkg/apis/core/validation ValidateEndpoints): each subset names at least one address, ready or not;
 * each address is an ordinary unicast IP (ValidateNonSpecialIP) with an optional DNS-label hostname and node name;
 * ports need names when a subset has more than one, and valid numbers, protocols and appProtocols. Port names are not
 * checked for uniqueness, as upstream does not.
 */
import type { FieldPath } from '../source.js';
import type { EndpointAddress, Endpoints, EndpointsPort } from '../types.js';
import { checkIP, checkNonSpecialIP } from './ip-fields.js';
import { dns1123Label, dns1123Subdomain, portNumber, qualifiedName } from './names.js';
import type { Reporter } from './reporter.js';
import { PROTOCOLS } from './service.js';

/** validateEndpointAddress: the IP's syntax, hostname, node name, then ValidateNonSpecialIP (which also refuses an IP it cannot parse). */
function validateAddress(address: EndpointAddress, at: FieldPath, report: Reporter): void {
  const path = [...at, 'ip'];
  const ip = checkIP(path, address.ip ?? '', report);
  if (address.hostname) report.invalidEach([...at, 'hostname'], address.hostname, dns1123Label(address.hostname));
  if (address.nodeName !== undefined) {
    report.invalidEach([...at, 'nodeName'], address.nodeName, dns1123Subdomain(address.nodeName));
  }
  if (ip) checkNonSpecialIP(path, address.ip, ip, report);
  else report.invalid(path, address.ip ?? '', 'must be a valid IP address');
}

function validatePort(port: EndpointsPort, at: FieldPath, nameRequired: boolean, report: Reporter): void {
  const name = port.name ?? '';
  if (nameRequired && name === '') report.required([...at, 'name']);
  else if (name !== '') report.invalidEach([...at, 'name'], name, dns1123Label(name));
  report.invalidEach([...at, 'port'], port.port, portNumber(port.port ?? 0));
  if (port.protocol === undefined) report.required([...at, 'protocol']);
  else if (!PROTOCOLS.includes(port.protocol)) report.notSupported([...at, 'protocol'], port.protocol, PROTOCOLS);
  if (port.appProtocol !== undefined) {
    report.invalidEach([...at, 'appProtocol'], port.appProtocol, qualifiedName(port.appProtocol));
  }
}

export function validateEndpoints(endpoints: Endpoints, report: Reporter): void {
  (endpoints.subsets ?? []).forEach((subset, i) => {
    const at: FieldPath = ['subsets', i];
    const ready = subset.addresses ?? [];
    const notReady = subset.notReadyAddresses ?? [];
    if (ready.length === 0 && notReady.length === 0) {
      report.required(at, 'must specify `addresses` or `notReadyAddresses`');
    }
    for (const [j, address] of ready.entries()) validateAddress(address, [...at, 'addresses', j], report);
    for (const [j, address] of notReady.entries()) validateAddress(address, [...at, 'notReadyAddresses', j], report);
    const ports = subset.ports ?? [];
    for (const [j, port] of ports.entries()) validatePort(port, [...at, 'ports', j], ports.length > 1, report);
  });
}
