/**
 * The resolver's contract: a question in, a ResolveResult out. Records are plain data; the wire codec
 * (src/dns/wire) encodes them, compressing names.
 *
 * Names in records are absolute and end with a dot (`web.default.svc.cluster.local.`). Owner names keep the
 * question's spelling; targets built from Kubernetes objects use the object names plus the zone as the question spelled
 * it, as CoreDNS does (dns.md §10.1). The class is always IN.
 */
import type { Rng } from '../../util/rng.js';

interface RrBase {
  name: string;
  ttl: number;
}

export type Rr =
  | (RrBase & { type: 'A'; address: string })
  | (RrBase & { type: 'AAAA'; address: string })
  | (RrBase & { type: 'CNAME'; target: string })
  | (RrBase & { type: 'PTR'; target: string })
  | (RrBase & { type: 'SRV'; priority: number; weight: number; port: number; target: string })
  | (RrBase & {
      type: 'SOA';
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    })
  | (RrBase & { type: 'NS'; target: string })
  | (RrBase & { type: 'TXT'; text: string[] });

export type RrType = Rr['type'];

/** A question. `type` and `class` take the wire number or the mnemonic (`'AAAA'`, `'TYPE65'`, `'IN'`, `'CH'`). */
export interface Question {
  name: string;
  type: number | string;
  class?: number | string;
}

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'NOTIMP';

/**
 * Work the server must do with its upstream resolvers (only set when `dns.upstream` lists some):
 * - `forward`: send the question `name`/`type` upstream and relay the upstream's response as it is (names outside
 *   every zone, and NXDOMAIN names in a `fallthrough` zone).
 * - `chase`: an ExternalName CNAME points outside the cluster zone. Ask upstream for `name` (the CNAME target) and
 *   append the upstream's answer records to this result's answer; keep NOERROR whatever the upstream's rcode, as
 *   CoreDNS does (dns.md §6.2).
 * If the upstream exchange fails (no reply, or an error), send `onFailure` instead: SERVFAIL for `forward` (as
 * CoreDNS's `forward` plugin), the CNAME alone for `chase` (CoreDNS's lookup through its own plugins gets forward's
 * SERVFAIL back as a message, not an error, and appends its empty answer after the CNAME).
 */
export interface UpstreamWork {
  mode: 'forward' | 'chase';
  name: string;
  type: number;
  onFailure: Pick<ResolveResult, 'rcode' | 'authoritative' | 'answer' | 'authority' | 'additional'>;
}

export interface ResolveResult {
  rcode: Rcode;
  /** The AA flag: set on every answer from the cluster zones, positive or negative. */
  authoritative: boolean;
  answer: Rr[];
  authority: Rr[];
  additional: Rr[];
  upstream?: UpstreamWork;
  /** Which zone, grammar branch and rules decided the answer, one line each (for `--explain`). */
  trace: string[];
}

export interface ResolveContext {
  /** Randomness for the `loadbalance` shuffle; without it (or with `loadbalance: false`) the order is the index's. */
  rng?: Rng;
}
