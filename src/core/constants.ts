// Numeric constants shared by the model, the connection table and the data plane.
// Values are the kernel's (include/uapi/linux/ip_vs.h, in.h) so that sync messages and
// listings can use them unchanged.

export const AF_INET = 2;
export const AF_INET6 = 10;
export type AddressFamily = typeof AF_INET | typeof AF_INET6;

export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_SCTP = 132;

/** Forwarding methods (IP_VS_CONN_F_FWD_MASK values). */
export const FWD_MASQ = 0;
export const FWD_LOCALNODE = 1;
export const FWD_TUNNEL = 2;
export const FWD_DROUTE = 3;
export const FWD_BYPASS = 4;
export const FWD_MASK = 0x7;

/** Connection flags, as in the sync protocol (§3.3). Bits >= 16 are local-only. */
export const CONN_F_SYNC = 0x0020;
export const CONN_F_HASHED = 0x0040;
export const CONN_F_NOOUTPUT = 0x0080;
export const CONN_F_INACTIVE = 0x0100;
export const CONN_F_OUT_SEQ = 0x0200;
export const CONN_F_IN_SEQ = 0x0400;
export const CONN_F_NO_CPORT = 0x0800;
export const CONN_F_TEMPLATE = 0x1000;
export const CONN_F_ONE_PACKET = 0x2000;

/** Service flags. */
export const SVC_F_PERSISTENT = 0x0001;
export const SVC_F_HASHED = 0x0002;
export const SVC_F_ONEPACKET = 0x0004;
export const SVC_F_SCHED1 = 0x0008;
export const SVC_F_SCHED2 = 0x0010;
export const SVC_F_SCHED3 = 0x0020;
export const SVC_F_SCHED_SH_FALLBACK = SVC_F_SCHED1;
export const SVC_F_SCHED_SH_PORT = SVC_F_SCHED2;
export const SVC_F_SCHED_MH_FALLBACK = SVC_F_SCHED1;
export const SVC_F_SCHED_MH_PORT = SVC_F_SCHED2;

/** Destination flags. */
export const DEST_F_AVAILABLE = 0x0001;
export const DEST_F_OVERLOAD = 0x0002;
/** tsvs: the data plane cannot reach the dest (its MAC is unknown); never scheduled. */
export const DEST_F_UNRESOLVED = 0x0004;
/** Either flag keeps a dest out of scheduling for new connections. */
export const DEST_F_NOSCHED = DEST_F_OVERLOAD | DEST_F_UNRESOLVED;

/** ipvsadm defaults (§1.5). */
export const DEFAULT_SCHEDULER = 'wlc';
export const DEFAULT_PERSISTENT_TIMEOUT = 360;
export const DEFAULT_WEIGHT = 1;
export const MAX_WEIGHT = 65535;
export const MAX_THRESHOLD = 2147483647;
export const MAX_TIMEOUT = 2678400;

export function protoName(proto: number): string {
  switch (proto) {
    case IPPROTO_TCP: return 'TCP';
    case IPPROTO_UDP: return 'UDP';
    case IPPROTO_SCTP: return 'SCTP';
    case IPPROTO_IP: return 'IP';
    default: return '?';
  }
}

export function fwdName(fwd: number): string {
  switch (fwd & FWD_MASK) {
    case FWD_MASQ: return 'Masq';
    case FWD_LOCALNODE: return 'Local';
    case FWD_TUNNEL: return 'Tunnel';
    case FWD_DROUTE: return 'Route';
    default: return 'Bypass';
  }
}
