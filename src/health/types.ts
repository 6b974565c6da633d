// What the health checker needs to know, whichever file it came from: ldirectord.cf
// (src/config/ldirectord.ts) or the native YAML (src/config/native-config.ts). Defaults
// are ldirectord's real ones (§4.3 of the reference): checkinterval 10, checktimeout 5,
// negotiatetimeout 30, failurecount 1, checkcount 1, quiescent no, readdquiescent no,
// autoreload no, checktype negotiate, scheduler wrr, request "/", httpmethod GET.

import type { Addr } from '../core/addr';
import type { ServiceSpec } from '../core/services';

export type CheckType = 'connect' | 'negotiate' | 'ping' | 'external' | 'external-perl' | 'on' | 'off' | 'combined';

/** ldirectord `service =` values. */
export type CheckService =
  | 'dns' | 'ftp' | 'http' | 'https' | 'http_proxy' | 'imap' | 'imaps' | 'ldap' | 'ldaps' | 'mysql' | 'nntp'
  | 'none' | 'oracle' | 'pop' | 'pops' | 'radius' | 'pgsql' | 'sip' | 'smtp' | 'submission' | 'simpletcp';

export interface RealSpec {
  addr: Addr;
  /** 0 when the config gave none (fwmark reals). */
  port: number;
  fwd: number;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  /** Per-real request/receive override ("request", "receive" on the real line). */
  request?: string;
  receive?: string;
  /** 1-based line of the `real=` directive (for messages). */
  line: number;
}

export interface FallbackSpec {
  addr: Addr;
  port: number;
  fwd: number;
}

export interface VirtualSpec {
  /** The IPVS service (scheduler, persistence, netmask, flags) as -A would create it. */
  service: ServiceSpec;
  /** `tcp` | `udp` | `fwm` as ldirectord names it. */
  protocol: 'tcp' | 'udp' | 'fwm';
  reals: RealSpec[];
  checktype: CheckType;
  /** For checktype N (combined): N connect checks, then one negotiate. */
  combinedCount: number;
  checkService: CheckService;
  /** Port checks connect to; 0 = the real's port (or the service's well-known port). */
  checkport: number;
  request: string;
  receive: string;
  httpmethod: 'GET' | 'HEAD';
  virtualhost: string;
  login: string;
  passwd: string;
  database: string;
  secret: string;
  checkcommand: string;
  /** Seconds. */
  checktimeout: number;
  negotiatetimeout: number;
  checkinterval: number;
  checkcount: number;
  failurecount: number;
  quiescent: boolean;
  fallback: FallbackSpec | null;
  fallbackcommand: string;
  /** 1-based line of the `virtual=` directive. */
  line: number;
}

export interface HealthConfig {
  /** Global settings that are not per virtual. */
  checkinterval: number;
  autoreload: boolean;
  readdquiescent: boolean;
  /** `"/path"` or a syslog facility name; '' = stderr only. */
  logfile: string;
  callback: string;
  cleanstop: boolean;
  maintenancedir: string;
  virtuals: VirtualSpec[];
}

/** A configuration problem, with the line it is on (1-based; 0 = the whole file). */
export interface ConfigProblem {
  line: number;
  message: string;
}
