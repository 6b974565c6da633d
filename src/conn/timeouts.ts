// Per-protocol, per-state timeouts in seconds, with the three knobs of
// `ipvsadm --set tcp tcpfin udp` (§2.2): tcp -> ESTABLISHED, tcpfin -> FIN_WAIT only,
// udp -> the single UDP state. A 0 leaves a value unchanged. Changes apply to later
// state transitions; running timers keep their expiry.

import { MAX_TIMEOUT } from '../core/constants';
import { ERR } from '../core/errors';
import { TCP_DEFAULT_TIMEOUTS, TCP_S_ESTABLISHED, TCP_S_FIN_WAIT } from './tcp-states';

export const UDP_DEFAULT_TIMEOUT = 300;
/** Timer re-arm for an entry that still controls others (template with children). */
export const CONTROL_REARM = 60;
/** Timeout of a brand-new connection before its first transition (ip_vs_conn_new). */
export const NEW_CONN_TIMEOUT = 3;

export class Timeouts {
  readonly tcp = Int32Array.from(TCP_DEFAULT_TIMEOUTS);
  udp = UDP_DEFAULT_TIMEOUT;

  /** --set; throws EINVAL ("Invalid operation…") for values out of range. */
  set(tcp: number, tcpfin: number, udp: number): void {
    for (const v of [tcp, tcpfin, udp]) {
      if (!Number.isInteger(v) || v < 0 || v > MAX_TIMEOUT) throw ERR.invalid();
    }
    if (tcp) this.tcp[TCP_S_ESTABLISHED] = tcp;
    if (tcpfin) this.tcp[TCP_S_FIN_WAIT] = tcpfin;
    if (udp) this.udp = udp;
  }

  /** The three values -L --timeout prints. */
  get(): { tcp: number; tcpfin: number; udp: number } {
    return { tcp: this.tcp[TCP_S_ESTABLISHED], tcpfin: this.tcp[TCP_S_FIN_WAIT], udp: this.udp };
  }
}
