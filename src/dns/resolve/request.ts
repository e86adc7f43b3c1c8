/**
 * A question as the resolver works on it, CoreDNS `request.Request`-style: the name as asked (for owner names), the
 * lower-cased name (for matching), and the zone it fell in, both as configured and as the question spelled it.
 */

export interface Request {
  /** The name as asked, absolute (ends with a dot). */
  qname: string;
  /** `qname` in lower case. */
  name: string;
  qtype: number;
  /** The matched zone, lower case, absolute (`cluster.local.`). */
  zone: string;
  /** The zone as the question spelled it (`ClUsTeR.lOcAl.`), for names the answer builds. */
  zoneSpelled: string;
}

/** `name` with exactly one trailing dot; the root is `.`. */
export function absolute(name: string): string {
  if (name === '' || name === '.') return '.';
  return name.endsWith('.') ? name : `${name}.`;
}

/** True when `name` is `zone` or below it; both absolute and lower case. */
export function isSubdomain(name: string, zone: string): boolean {
  return zone === '.' || name === zone || name.endsWith(`.${zone}`);
}

/** The longest zone (absolute, lower case) that `name` is in, as CoreDNS's plugin.Zones.Matches. */
export function matchZone(name: string, zones: readonly string[]): string | undefined {
  let best: string | undefined;
  for (const zone of zones) if (isSubdomain(name, zone) && (!best || zone.length > best.length)) best = zone;
  return best;
}

/** A request for a question inside `zone`. */
export function makeRequest(qname: string, qtype: number, zone: string): Request {
  const asked = absolute(qname);
  const zoneSpelled = zone === '.' ? '.' : asked.slice(asked.length - zone.length);
  return { qname: asked, name: asked.toLowerCase(), qtype, zone, zoneSpelled };
}

/** The same zone, another question (CoreDNS `state.NewWithQuestion`, for CNAME chasing and the glue lookups). */
export function withQuestion(req: Request, qname: string, qtype: number): Request {
  const asked = absolute(qname);
  return { qname: asked, name: asked.toLowerCase(), qtype, zone: req.zone, zoneSpelled: req.zoneSpelled };
}

/** The labels of `name` left of the zone (CoreDNS dnsutil.TrimZone + SplitDomainName); [] at the apex. */
export function labelsBelowZone(req: Request): string[] {
  if (req.name === req.zone) return [];
  const base = req.zone === '.' ? req.name.slice(0, -1) : req.name.slice(0, req.name.length - req.zone.length - 1);
  return base === '' ? [] : base.split('.');
}
