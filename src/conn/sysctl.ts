// The IPVS sysctls (/proc/sys/net/ipv4/vs/*, §2.13) that change connection handling,
// with the kernel's defaults.

export class Sysctls {
  /** 1: a packet for a conn whose dest is gone expires the conn (and a SYN reschedules). */
  expireNodestConn = 0;
  /** 1: templates pointing at a weight-0 dest are invalidated. */
  expireQuiescentTemplate = 0;
  /** Bit 0: a SYN on a TIME_WAIT/CLOSE conn reschedules; bit 1: also FIN_WAIT on DR/TUN. */
  connReuseMode = 1;
  /** 1: create TCP conns on any segment, not only SYN. */
  sloppyTcp = 0;
}
