/**
 * The cluster DNS server: a zone index following the cluster's store, a Responder over it, and UDP + TCP listeners on
 * each address it is told (nothing else). Port 0 picks one free port shared by UDP and TCP, as tests need.
 */

import { ListenFailedError } from '../../errors.js';
import type { WatchSource } from '../../model/store.js';
import { Rng } from '../../util/rng.js';
import type { DnsOptions } from '../config.js';
import { ZoneIndex } from '../zone/zone-index.js';
import { type BoundListener, type ListenAddress, listenUdp, type Observer, parseListen } from './listeners.js';
import { DnsMetrics, type QueryObservation } from './metrics.js';
import { Responder } from './responder.js';
import { listenTcp, type TcpTimeouts } from './tcp-listener.js';
import { UdpTcpUpstream, type UpstreamTimeouts } from './upstream.js';

/** How many ports port 0 tries before it gives up on one free for both UDP and TCP. */
const PORT_ZERO_ATTEMPTS = 20;

function addressInUse(err: unknown): boolean {
  return err instanceof ListenFailedError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

export interface DnsServerOptions {
  listen: string[];
  dns: DnsOptions;
  clusterDomain: string;
  /** Seed of the loadbalance shuffle. */
  seed: number;
  allowTransfer?: boolean;
  /** False while a worker is still receiving its snapshot: cluster names then get SERVFAIL, not NXDOMAIN (dns.md 15.1). */
  synced?: boolean;
  /** Defaults are miekg's and CoreDNS's; tests shorten them. */
  timeouts?: { tcp?: TcpTimeouts; upstream?: UpstreamTimeouts };
}

export class DnsServer {
  readonly zone: ZoneIndex;
  readonly responder: Responder;
  readonly metrics = new DnsMetrics();
  readonly listeners: BoundListener[] = [];
  readonly #listen: string[];
  readonly #tcpTimeouts: TcpTimeouts;

  /** `store` is the cluster's own store, or a replica that a worker process keeps in step (dns/server/replica.ts). */
  constructor(store: WatchSource, options: DnsServerOptions) {
    this.zone = new ZoneIndex(store, {
      clusterDomain: options.clusterDomain,
      options: options.dns,
      synced: options.synced ?? true,
    });
    this.#listen = options.listen;
    this.#tcpTimeouts = options.timeouts?.tcp ?? {};
    const upstream = options.dns.upstream.length
      ? new UdpTcpUpstream(options.dns.upstream, options.timeouts?.upstream)
      : undefined;
    this.responder = new Responder({
      zone: this.zone,
      dns: options.dns,
      rng: new Rng(options.seed).fork('dns/loadbalance'),
      ...(upstream ? { upstream } : {}),
      allowTransfer: options.allowTransfer ?? false,
    });
  }

  /** Bind every listen address (UDP and TCP on the same port); resolves once all sockets are ready. */
  async start(): Promise<BoundListener[]> {
    try {
      await this.#bindAll();
    } catch (err) {
      // One address could not be bound: the sockets bound before it close too, or they would keep the process up.
      await Promise.all(this.listeners.map((l) => l.close()));
      this.listeners.length = 0;
      throw err;
    }
    return this.listeners;
  }

  async #bindAll(): Promise<void> {
    for (const text of this.#listen) {
      const addr = parseListen(text);
      // CoreDNS labels metrics with the server's address; ours is known once the UDP socket is bound.
      let server = 0;
      // One observation object per listener, refilled per query: observe runs once per query and keeps nothing.
      const q: QueryObservation = {
        server: 0,
        proto: 'udp',
        family: 1,
        qtype: 0,
        rcode: 0,
        plugin: 'kubernetes',
        seconds: 0,
        requestSize: 0,
        responseSize: 0,
        dnssecOk: false,
        cacheHit: false,
        denial: false,
      };
      const observe: Observer = (transport, outcome, seconds, family, requestSize) => {
        let responseSize = 0;
        for (const reply of outcome.replies) responseSize += reply.length;
        const first = outcome.replies[0];
        q.server = server;
        q.proto = transport;
        q.family = family;
        q.qtype = outcome.qtype;
        q.rcode = outcome.rcode;
        q.seconds = seconds;
        q.requestSize = requestSize;
        q.responseSize = responseSize;
        q.dnssecOk = outcome.dnssecOk === true;
        q.cacheHit = outcome.cacheHit;
        // NXDOMAIN, or NOERROR with an empty answer section (ANCOUNT, octets 6-7): the cache's "denial" type.
        q.denial = outcome.rcode === 3 || (outcome.rcode === 0 && first !== undefined && first.readUInt16BE(6) === 0);
        this.metrics.observe(q);
      };
      const { udp, tcp } = await this.#bindPair(addr, observe);
      server = this.metrics.serverId(`dns://${udp.address}`);
      this.listeners.push(udp, tcp);
    }
  }

  /**
   * UDP, then TCP on the port UDP got. For port 0, UDP takes any free port and TCP the same number, which another
   * socket may hold for TCP: then both go and another port is tried, so port 0 still gives one port for both.
   */
  async #bindPair(addr: ListenAddress, observe: Observer): Promise<{ udp: BoundListener; tcp: BoundListener }> {
    for (let attempt = 1; ; attempt++) {
      const udp = await listenUdp(addr, this.responder, observe);
      const port = Number(udp.address.slice(udp.address.lastIndexOf(':') + 1));
      try {
        return { udp, tcp: await listenTcp({ host: addr.host, port }, this.responder, observe, this.#tcpTimeouts) };
      } catch (err) {
        await udp.close();
        if (addr.port !== 0 || attempt >= PORT_ZERO_ATTEMPTS || !addressInUse(err)) throw err;
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.close()));
    this.listeners.length = 0;
    this.zone.dispose();
  }

  /** The first UDP address, e.g. `127.0.0.1:40123`. */
  get address(): string {
    return this.listeners[0]?.address ?? '';
  }

  get port(): number {
    const a = this.address;
    return Number(a.slice(a.lastIndexOf(':') + 1));
  }
}
