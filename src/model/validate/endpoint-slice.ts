/**
 * EndpointSlices (pkg/apis/discovery/validation): the address type, up to 1000 endpoints of 1 to 100 addresses
 * each, valid for the type (IPv4, IPv6 or FQDN), topology hints (at most 8 distinct zones and nodes), and ports with
 * unique names and supported protocols.
 * Endpoint conditions are plain booleans (checked when decoding); nil `ready` means ready.
 */
import type { FieldPath } from '../source.js';
import type { Endpoint, EndpointSlice } from '../types.js';
import { checkIPOfFamily, checkNonSpecialIP } from './ip-fields.js';
import { dns1123Label, dns1123Subdomain, fullyQualifiedDomainName, labelValue, qualifiedName } from './names.js';
import { parseIP } from './net.js';
import type { Reporter } from './reporter.js';
import { PROTOCOLS } from './service.js';

const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
/** discovery maxPorts: 20,000 since 1.21 (it was 100 before kubernetes#99795). */
const MAX_PORTS = 20000;

function validateEndpoints(slice: EndpointSlice, report: Reporter): void {
  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > MAX_ENDPOINTS) {
    report.tooMany(['endpoints'], endpoints.length, MAX_ENDPOINTS);
    return;
  }
  endpoints.forEach((endpoint, i) => {
    const at: FieldPath = ['endpoints', i];
    const addresses = endpoint.addresses ?? [];
    if (addresses.length === 0) report.required([...at, 'addresses'], 'must contain at least 1 address');
    else if (addresses.length > MAX_ADDRESSES) report.tooMany([...at, 'addresses'], addresses.length, MAX_ADDRESSES);
    addresses.forEach((address, j) => {
      const path: FieldPath = [...at, 'addresses', j];
      if (slice.addressType === 'FQDN') {
        report.invalidEach(path, address, fullyQualifiedDomainName(address));
      } else if (slice.addressType === 'IPv4' || slice.addressType === 'IPv6') {
        if (checkIPOfFamily(path, address, slice.addressType, report)) {
          checkNonSpecialIP(path, address, parseIP(address)!, report);
        }
      }
    });
    if (endpoint.hostname !== undefined) {
      report.invalidEach([...at, 'hostname'], endpoint.hostname, dns1123Label(endpoint.hostname));
    }
    if (endpoint.nodeName !== undefined) {
      report.invalidEach([...at, 'nodeName'], endpoint.nodeName, dns1123Subdomain(endpoint.nodeName));
    }
    if (endpoint.hints) validateHints(endpoint.hints, [...at, 'hints'], report);
  });
}

/** discovery's maxZoneHints and maxNodeHints. */
const MAX_HINTS = 8;

/** validateHints: at most 8 zones and 8 nodes, each named once; zones are label values, nodes node names. */
function validateHints(hints: NonNullable<Endpoint['hints']>, at: FieldPath, report: Reporter): void {
  const kinds = [
    ['forZones', hints.forZones, labelValue],
    ['forNodes', hints.forNodes, dns1123Subdomain],
  ] as const;
  for (const [field, list, check] of kinds) {
    if (!list) continue;
    if (list.length > MAX_HINTS) {
      report.tooMany([...at, field], list.length, MAX_HINTS);
      continue;
    }
    const seen = new Set<string>();
    list.forEach((hint, i) => {
      const path: FieldPath = [...at, field, i, 'name'];
      if (seen.has(hint.name)) report.duplicate(path, hint.name);
      seen.add(hint.name);
      report.invalidEach(path, hint.name, check(hint.name));
    });
  }
}

function validatePorts(slice: EndpointSlice, report: Reporter): void {
  const ports = slice.ports ?? [];
  if (ports.length > MAX_PORTS) {
    report.tooMany(['ports'], ports.length, MAX_PORTS);
    return;
  }
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const at: FieldPath = ['ports', i];
    // An absent name is the empty name: two unnamed ports collide, as they do upstream.
    const name = port.name ?? '';
    if (name !== '') report.invalidEach([...at, 'name'], name, dns1123Label(name));
    if (names.has(name)) report.duplicate([...at, 'name'], name);
    names.add(name);
    if (port.protocol === undefined) report.required([...at, 'protocol']);
    else if (!PROTOCOLS.includes(port.protocol)) report.notSupported([...at, 'protocol'], port.protocol, PROTOCOLS);
    if (port.appProtocol !== undefined) {
      report.invalidEach([...at, 'appProtocol'], port.appProtocol, qualifiedName(port.appProtocol));
    }
  });
}

export function validateEndpointSlice(slice: EndpointSlice, report: Reporter): void {
  if (slice.addressType === undefined) report.required(['addressType']);
  else if (!ADDRESS_TYPES.includes(slice.addressType)) {
    report.notSupported(['addressType'], slice.addressType, ADDRESS_TYPES);
  }
  validateEndpoints(slice, report);
  validatePorts(slice, report);
}
