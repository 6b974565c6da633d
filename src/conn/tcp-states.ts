// The IPVS TCP state machine as a table (ip_vs_proto_tcp.c `tcp_states`, §2.2).
//
// A segment is classified by its flags with priority RST > SYN > FIN > ACK; a segment
// with none of them moves the connection to CLOSE. The row is chosen by direction:
//   INPUT       client -> real server, through the director
//   OUTPUT      real server -> client (seen only with NAT)
//   INPUT_ONLY  INPUT while the connection has NOOUTPUT (DR and TUN never see replies;
//               the first OUTPUT packet clears NOOUTPUT)
// and the column by the current state. The next state's timeout re-arms the connection,
// and leaving or entering an "active" state moves the connection between the dest's
// ActiveConn and InActConn counters (§2.3).

export const TCP_S_NONE = 0;
export const TCP_S_ESTABLISHED = 1;
export const TCP_S_SYN_SENT = 2;
export const TCP_S_SYN_RECV = 3;
export const TCP_S_FIN_WAIT = 4;
export const TCP_S_TIME_WAIT = 5;
export const TCP_S_CLOSE = 6;
export const TCP_S_CLOSE_WAIT = 7;
export const TCP_S_LAST_ACK = 8;
export const TCP_S_LISTEN = 9;
export const TCP_S_SYNACK = 10;
export const TCP_S_LAST = 11;

export const TCP_STATE_NAMES = [
  'NONE', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT', 'TIME_WAIT',
  'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'SYNACK',
] as const;

/** Default timeouts in seconds, indexed by state. */
export const TCP_DEFAULT_TIMEOUTS = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120] as const;

/** States counted in ActiveConn (Linux >= 4.8: pre-established states too). */
export const TCP_STATE_ACTIVE = new Uint8Array([0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1]);

export const DIR_INPUT = 0;
export const DIR_OUTPUT = 1;
export const DIR_INPUT_ONLY = 2;

/** TCP header flag bits as on the wire (byte 13). */
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_ACK = 0x10;

const EV_SYN = 0;
const EV_FIN = 1;
const EV_ACK = 2;
const EV_RST = 3;

// Rows in the reference's notation; columns NO ES SS SR FW TW CL CW LA LI SA.
const ES = TCP_S_ESTABLISHED, SS = TCP_S_SYN_SENT, SR = TCP_S_SYN_RECV;
const FW = TCP_S_FIN_WAIT, TW = TCP_S_TIME_WAIT, CL = TCP_S_CLOSE, CW = TCP_S_CLOSE_WAIT;
const LA = TCP_S_LAST_ACK, LI = TCP_S_LISTEN;


const ROWS: readonly (readonly number[])[] = [
  // INPUT
  /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
  /* fin */ [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW],
  /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
  /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR],
  // OUTPUT
  /* syn */ [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR],
  /* fin */ [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW],
  /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES],
  /* rst */ [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL],
  // INPUT_ONLY
  /* syn */ [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR],
  /* fin */ [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW],
  /* ack */ [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES],
  /* rst */ [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL],
];

/** next = TCP_NEXT[(dir * 4 + event) * TCP_S_LAST + state]. */
export const TCP_NEXT = new Uint8Array(3 * 4 * TCP_S_LAST);
for (let r = 0; r < ROWS.length; r++) for (let s = 0; s < TCP_S_LAST; s++) TCP_NEXT[r * TCP_S_LAST + s] = ROWS[r][s];

/** Event index for a segment's flags, or -1 when it carries none of RST/SYN/FIN/ACK. */
export function tcpEvent(flags: number): number {
  if (flags & TH_RST) return EV_RST;
  if (flags & TH_SYN) return EV_SYN;
  if (flags & TH_FIN) return EV_FIN;
  if (flags & TH_ACK) return EV_ACK;
  return -1;
}

/** The state after a segment with `flags` in direction `dir` hits a conn in `state`. */
export function tcpNextState(dir: number, flags: number, state: number): number {
  const ev = tcpEvent(flags);
  if (ev < 0) return TCP_S_CLOSE;
  return TCP_NEXT[(dir * 4 + ev) * TCP_S_LAST + state];
}

/** A SYN that may open a new connection (SYN without ACK or RST). */
export function isNewConnSegment(flags: number): boolean {
  return (flags & (TH_SYN | TH_ACK | TH_RST)) === TH_SYN;
}
