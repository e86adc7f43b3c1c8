/**
 * Conntrack timeouts: the sysctls (net.netfilter.nf_conntrack_*) that decide how long an idle flow is remembered,
 * with the values a kube-proxy node has.
 */

/**
 * Timeouts in seconds, named after the sysctls (net.netfilter.nf_conntrack_*). Defaults are the kernel's, except the
 * two kube-proxy sets itself: tcp_timeout_established 86400 (conntrack.tcpEstablishedTimeout 24h; kernel 432000) and
 * tcp_timeout_close_wait 3600 (conntrack.tcpCloseWaitTimeout 1h; kernel 60).
 */
export interface ConntrackTimeouts {
  /** nf_conntrack_tcp_timeout_syn_sent: a TCP flow that has not been answered yet. Kernel 120. */
  tcpSynSent: number;
  /** nf_conntrack_tcp_timeout_syn_recv: answered (SYN-ACK) but not yet acknowledged by the client. Kernel 60. */
  tcpSynRecv: number;
  /** nf_conntrack_tcp_timeout_established. kube-proxy sets 86400. */
  tcpEstablished: number;
  /** nf_conntrack_tcp_timeout_close_wait: after one side closed. kube-proxy sets 3600. */
  tcpCloseWait: number;
  /** nf_conntrack_tcp_timeout_time_wait: after both sides closed. Kernel 120. */
  tcpTimeWait: number;
  /** nf_conntrack_tcp_timeout_close: after a reset. Kernel 10. */
  tcpClose: number;
  /** nf_conntrack_udp_timeout: a UDP flow not (yet) a stream. Kernel 30. */
  udp: number;
  /** nf_conntrack_udp_timeout_stream: a UDP flow with replies, still active 2 s after it began. Kernel 120. */
  udpStream: number;
  /**
   * nf_conntrack_sctp_timeout_closed: SCTP before the association is answered (an INIT moves NONE to CLOSED, since
   * Linux 5.5) and after it shut down. Kernel 10. (The model has no chunk types: the first reply stands for the
   * INIT_ACK/COOKIE exchange, a close for the SHUTDOWN exchange, so COOKIE_WAIT and SHUTDOWN_* have no timer here.)
   */
  sctpClosed: number;
  /** nf_conntrack_sctp_timeout_established. Kernel 210 (since 6.2 and its stable backports; 432000 before). */
  sctpEstablished: number;
}

/** kube-proxy's defaults on a current kernel. */
export const DEFAULT_CONNTRACK_TIMEOUTS: Readonly<ConntrackTimeouts> = Object.freeze({
  tcpSynSent: 120,
  tcpSynRecv: 60,
  tcpEstablished: 86400,
  tcpCloseWait: 3600,
  tcpTimeWait: 120,
  tcpClose: 10,
  udp: 30,
  udpStream: 120,
  sctpClosed: 10,
  sctpEstablished: 210,
});

/** The kernel marks a replied UDP flow as a stream only when it is still active more than this long after it began. */
export const UDP_STREAM_AFTER = 2;

/** The sysctl each timeout stands for, for traces. */
export const SYSCTL: Record<keyof ConntrackTimeouts, string> = {
  tcpSynSent: 'nf_conntrack_tcp_timeout_syn_sent',
  tcpSynRecv: 'nf_conntrack_tcp_timeout_syn_recv',
  tcpEstablished: 'nf_conntrack_tcp_timeout_established',
  tcpCloseWait: 'nf_conntrack_tcp_timeout_close_wait',
  tcpTimeWait: 'nf_conntrack_tcp_timeout_time_wait',
  tcpClose: 'nf_conntrack_tcp_timeout_close',
  udp: 'nf_conntrack_udp_timeout',
  udpStream: 'nf_conntrack_udp_timeout_stream',
  sctpClosed: 'nf_conntrack_sctp_timeout_closed',
  sctpEstablished: 'nf_conntrack_sctp_timeout_established',
};
