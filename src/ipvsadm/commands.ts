// The parsed form of one ipvsadm command line: what parseArgs() returns and what the
// executor and the listing code consume. Service and real-server parts reuse the model's
// ServiceSpec / ServiceRef / DestSpec (src/core/services.ts).

import type { Addr } from '../core/addr';
import type { DestSpec, ServiceRef, ServiceSpec } from '../core/services';

/** Listing layouts; when several are asked for, the first of this list that was given wins
 *  (stats > rate > thresholds > persistent-conn > tun-info). */
export type ListFormat = 'default' | 'stats' | 'rate' | 'thresholds' | 'persistent-conn' | 'tun-info';

export type TunnelType = 'ipip' | 'gue' | 'gre';

/** Tunnel encapsulation flags (IP_VS_TUNNEL_ENCAP_FLAG_*). 0 is "no checksum". */
export const TUN_F_NOCSUM = 0;
export const TUN_F_CSUM = 1;
export const TUN_F_REMCSUM = 2;

/** --tun-type/--tun-port/--tun-*csum of -a/-e (sent by ipvsadm even for non-tunnel dests). */
export interface TunnelSpec {
  type: TunnelType;
  /** GUE destination port, 0 when not given. */
  port: number;
  /** TUN_F_* bits. */
  flags: number;
}

export type DaemonState = 'master' | 'backup';

/** --start-daemon and its options. 0 / null means "kernel default". */
export interface DaemonSpec {
  state: DaemonState;
  /** --mcast-interface (at most 15 characters), default eth0. */
  mcastIfn: string;
  syncid: number;
  syncMaxlen: number;
  mcastGroup: Addr | null;
  mcastPort: number;
  mcastTtl: number;
}

export interface ListCommand {
  cmd: 'list';
  /** -L with a service: list only that service (no version header). */
  service?: ServiceRef;
  numeric: boolean;
  format: ListFormat;
  /** -c: connection entries. */
  connection: boolean;
  /** --timeout */
  timeout: boolean;
  /** --daemon */
  daemon: boolean;
  exact: boolean;
  nosort: boolean;
}

export type ParsedCommand =
  | { cmd: 'add-service' | 'edit-service'; service: Required<ServiceSpec> }
  | { cmd: 'delete-service'; service: ServiceRef }
  | { cmd: 'flush' }
  | { cmd: 'restore' }
  | { cmd: 'save'; numeric: boolean }
  | { cmd: 'add-server' | 'edit-server'; service: ServiceRef; dest: DestSpec; tunnel: TunnelSpec }
  | { cmd: 'delete-server'; service: ServiceRef; dest: Pick<DestSpec, 'addr' | 'port'> }
  | ListCommand
  | { cmd: 'zero'; service?: ServiceRef }
  | { cmd: 'set'; timeouts: { tcp: number; tcpfin: number; udp: number } }
  | { cmd: 'start-daemon'; daemon: DaemonSpec }
  | { cmd: 'stop-daemon'; daemon: { state: DaemonState; syncid: number } }
  /** -h: print `text` to stdout, exit 0 (inside -R too: the whole run ends). */
  | { cmd: 'help'; text: string }
  /** -v: print `text` to stdout, exit 0. */
  | { cmd: 'version'; text: string };
