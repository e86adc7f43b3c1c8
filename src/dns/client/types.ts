/**
 * Shared shapes for "a pod's view" of DNS: the resolv.conf kubelet hands the container runtime, the replies a stub
 * resolver sees, and the record of one lookup as the pod's libc performs it.
 */

/** One `options` entry of resolv.conf: `ndots:5` is `{ name: 'ndots', value: '5' }`, `edns0` is `{ name: 'edns0' }`. */
export interface ResolvOption {
  name: string;
  value?: string;
}

/** The three things kubelet decides for a pod (CRI DNSConfig): servers, search list, options. */
export interface ResolvConf {
  nameservers: string[];
  searches: string[];
  options: ResolvOption[];
}

/**
 * What came back for one query. `TIMEOUT` is not a DNS rcode: it stands for "no reply after every attempt", which the
 * stub resolvers treat differently from any reply.
 */
export type Rcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED' | 'TIMEOUT';

/** One record of an answer section, in presentation form (`data` is what dig prints after the type). */
export interface AnswerRecord {
  name: string;
  type: string;
  ttl?: number;
  data: string;
}

/** A reply as the stub sees it: only the rcode and the answer section decide what it does next. */
export interface Answer {
  rcode: Rcode;
  answers: AnswerRecord[];
}

/** Types a single query can carry. */
export type QueryType = 'A' | 'AAAA' | 'SRV' | 'TXT' | 'PTR' | 'CNAME' | 'MX' | 'NS' | 'SOA' | 'CAA' | 'ANY';

/** What the application asks for: a query type, or `ADDR` for getaddrinfo(AF_UNSPEC) (A and AAAA per candidate). */
export type LookupType = QueryType | 'ADDR';

/**
 * The transport: sends one query and returns the reply. `qname` is always absolute (ends in a dot). The CLI passes the
 * in-process cluster resolver; tests pass a table.
 */
export type QueryFn = (qname: string, qtype: QueryType) => Promise<Answer> | Answer;

/** Which C library's stub resolver the pod's image uses (Debian/Ubuntu/distroless: glibc; Alpine: musl). */
export type Flavor = 'glibc' | 'musl';

/** One query the pod sent, in order. */
export interface WalkStep {
  /** 1-based position among all queries of the lookup. */
  seq: number;
  /** 1-based number of the candidate name this query belongs to (A and AAAA of one candidate share it). */
  candidate: number;
  qname: string;
  qtype: QueryType;
  rcode: Rcode;
  answers: AnswerRecord[];
  /** What the stub made of this reply, when that is not obvious from the rcode. */
  note?: string;
}

/**
 * How the lookup ended. `nxdomain`: the name does not exist; `nodata`: it exists without records of the type;
 * `again`: a temporary failure (SERVFAIL, timeout); `fail`: anything else (REFUSED, FORMERR, a name too long).
 */
export type WalkStatus = 'ok' | 'nxdomain' | 'nodata' | 'again' | 'fail';

export interface WalkOutcome {
  ok: boolean;
  status: WalkStatus;
  /**
   * The error the application sees, named as the libc names it: glibc res_search sets h_errno (`HOST_NOT_FOUND`,
   * `NO_DATA`, `TRY_AGAIN`, `NO_RECOVERY`); musl getaddrinfo returns `EAI_NONAME`, `EAI_NODATA`, `EAI_AGAIN`,
   * `EAI_FAIL`; musl res_search sets h_errno. Absent on success.
   */
  error?: string;
  /** The candidate that answered; for a failure, the last name queried (null when nothing was sent). */
  finalName: string | null;
  /** Answer records of the reply (or A and AAAA replies) that ended the lookup. */
  answers: AnswerRecord[];
}

/** The full record of one lookup from a pod. */
export interface Walk {
  name: string;
  type: LookupType;
  flavor: Flavor;
  /** ndots as the libc read it (default 1, capped at 15). */
  ndots: number;
  /** The search list as the libc read it (musl drops a search line longer than its line buffer). */
  searches: string[];
  steps: WalkStep[];
  result: WalkOutcome;
  /** Why the walk went the way it did: ordering rules, skipped candidates, options only recorded. */
  notes: string[];
}
