/**
 * Micro-benchmarks for the DNS wire layer (no sockets). Run: node --import=tsx bench/dns-wire.bench.ts
 *
 * Plain hrtime loops (tinybench is not installed): each case warms up, then runs batches until about a second has
 * passed and prints operations per second and time per operation. dns-packet rows are the baseline the issue
 * measured in toolchain.md §1.
 */
import dnsPacket from 'dns-packet';
import { replyFromCache, toCachedResponse } from '../src/dns/wire/cached-response.js';
import { type ParsedQuery, parseQuery } from '../src/dns/wire/decode.js';
import { replyEdns } from '../src/dns/wire/edns.js';
import { encodeMessage } from '../src/dns/wire/encode.js';
import { encodeError } from '../src/dns/wire/error-response.js';
import { emptyHeader, type Message, Rcode, RRType } from '../src/dns/wire/message.js';
import { maxUdpPayload } from '../src/dns/wire/size.js';

let sink = 0;

function bench(name: string, fn: () => number): void {
  for (let i = 0; i < 20_000; i++) sink ^= fn();
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < 1_000_000_000n) {
    for (let i = 0; i < 5_000; i++) sink ^= fn();
    ops += 5_000;
    elapsed = process.hrtime.bigint() - start;
  }
  const seconds = Number(elapsed) / 1e9;
  const perOp = (Number(elapsed) / ops).toFixed(0);
  console.log(
    `${name.padEnd(58)} ${Math.round(ops / seconds)
      .toLocaleString('en-US')
      .padStart(12)} ops/s ${perOp.padStart(6)} ns/op`,
  );
}

// A query as dig sends it: RD, AD, EDNS 1232 with an 8-octet client COOKIE (clients.md).
const QNAME = 'svc0.ns0.svc.cluster.local.';
const digQuery = encodeMessage({
  header: { ...emptyHeader(0x1234), rd: true, ad: true },
  question: { name: QNAME, type: RRType.A, class: 1 },
  answer: [],
  authority: [],
  additional: [],
  edns: {
    udpSize: 1232,
    version: 0,
    do: false,
    extendedRcode: 0,
    options: [{ code: 10, data: new Uint8Array(8).fill(1) }],
  },
});
const parsed = parseQuery(digQuery);
if (!parsed.ok) throw new Error('bench query does not parse');
const query: ParsedQuery = parsed.query;

const aAnswer: Message = {
  header: { ...emptyHeader(0x1234), qr: true, aa: true, rd: true },
  question: { name: QNAME, type: RRType.A, class: 1 },
  answer: [{ name: QNAME, type: RRType.A, class: 1, ttl: 5, data: '10.96.0.1' }],
  authority: [],
  additional: [],
  edns: replyEdns(query.edns),
};

const SRV_NAME = '_http._tcp.web0.ns0.svc.cluster.local.';
const targets = [0, 1, 2].map((i) => `web0-${i}.web0.ns0.svc.cluster.local.`);
const srvAnswer: Message = {
  header: { ...emptyHeader(0x1234), qr: true, aa: true, rd: true },
  question: { name: SRV_NAME, type: RRType.SRV, class: 1 },
  answer: targets.map((target) => ({
    name: SRV_NAME,
    type: RRType.SRV,
    class: 1,
    ttl: 5,
    data: { priority: 0, weight: 33, port: 8080, target },
  })),
  authority: [],
  additional: targets.map((target, i) => ({
    name: target,
    type: RRType.A,
    class: 1,
    ttl: 5,
    data: `10.244.0.${i + 1}`,
  })),
  edns: { udpSize: 1232, version: 0, do: false, extendedRcode: 0, options: [] },
};

const limit = maxUdpPayload(query.edns);
const entry = toCachedResponse(aAnswer, limit)!;
// Keyed name → type, so the lookup hashes the parsed name string once and builds no composite key.
const cache = new Map([[query.question.name, new Map([[query.question.type, entry]])]]);

console.log(
  `node ${process.version}, query ${digQuery.length} B, A reply ${encodeMessage(aAnswer).length} B, SRV reply ${encodeMessage(srvAnswer).length} B`,
);
bench('parseQuery (dig query, EDNS + COOKIE)', () => {
  const r = parseQuery(digQuery);
  return r.ok ? r.query.id : 0;
});
bench('encode 1-record A answer (limit applied)', () => encodeMessage(aAnswer, { limit }).length);
bench('encode 3 SRV + 3 A + OPT', () => encodeMessage(srvAnswer, { limit }).length);
bench('cached reply: copy + patch ID/flags/qname + OPT', () => replyFromCache(entry, query, limit)!.length);
bench('cached path: parseQuery + Map lookup + copy/patch', () => {
  const r = parseQuery(digQuery);
  if (!r.ok) return 0;
  const q = r.query;
  const hit = cache.get(q.question.name)?.get(q.question.type);
  return hit === undefined ? 0 : replyFromCache(hit, q, maxUdpPayload(q.edns))!.length;
});
bench('encodeError SERVFAIL', () => encodeError(query, Rcode.SERVFAIL).length);

const packetSrv = dnsPacket.decode(encodeMessage(srvAnswer));
bench('baseline: dns-packet decode of the same query', () => dnsPacket.decode(digQuery).id ?? 0);
bench('baseline: dns-packet encode 3 SRV + 3 A + OPT (uncompressed)', () => dnsPacket.encode(packetSrv).length);
if (sink === 0.5) console.log(sink);
