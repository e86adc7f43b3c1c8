/**
 * Records as RFC 1035 master-file text (`web.default.svc.cluster.local. 30 IN A 10.96.0.20`), the form zone files,
 * `dig` and the tests use.
 */
import type { Rr } from './types.js';

/** One record on one line: owner, TTL, class, type, RDATA, separated by single spaces. */
export function formatRr(rr: Rr): string {
  return `${rr.name} ${rr.ttl} IN ${rr.type} ${formatRdata(rr)}`;
}

export function formatRdata(rr: Rr): string {
  switch (rr.type) {
    case 'A':
    case 'AAAA':
      return rr.address;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return rr.target;
    case 'SRV':
      return `${rr.priority} ${rr.weight} ${rr.port} ${rr.target}`;
    case 'SOA':
      return `${rr.mname} ${rr.rname} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
    case 'TXT':
      return rr.text.map(quote).join(' ');
  }
}

/** A TXT character-string: quoted, `"` and `\` escaped, bytes outside printable ASCII as `\DDD`. */
function quote(text: string): string {
  let out = '"';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte > 0x7e) out += `\\${String(byte).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}
