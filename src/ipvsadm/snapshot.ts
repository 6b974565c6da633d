// A plain, JSON-serialisable picture of everything ipvsadm's listings show: the IPVS
// version and connection-table size, services with their real servers, counters and
// rates, the three timeouts, connection entries and sync daemons. The daemon builds it
// from its live model (snapshotFromTable) and ships it to the ipvsadm front end, which
// formats it (list.ts) without touching the model.
//
// Addresses are numeric text (inet_ntop form, no brackets). Services and dests keep the
// model's order (dests newest first, as IPVS lists them); sorting is the listing's job.

import type { Dest } from '../core/dest';
import { serviceSettings, type Service, type ServiceSettings } from '../core/service';
import type { RateSnapshot } from '../core/estimator';
import type { CounterSource } from '../core/stats';
import type { TunnelType } from './commands';

/** IPVS version code the listings print (1.2.1). */
export const IPVS_VERSION_CODE = 0x010201;
/** Default connection hash table size (2^12, §2.5). */
export const DEFAULT_CONN_TAB_SIZE = 4096;

export interface StatsSnapshot {
  conns: number;
  inpkts: number;
  outpkts: number;
  inbytes: number;
  outbytes: number;
}

export type RatesSnapshot = RateSnapshot;

export interface DestSnapshot {
  /** 2 or 10; may differ from the service's for tunnel dests. */
  af: number;
  addr: string;
  port: number;
  /** FWD_* method. */
  fwd: number;
  weight: number;
  uThreshold: number;
  lThreshold: number;
  activeConns: number;
  inactConns: number;
  persistConns: number;
  /** Tunnel encapsulation (only meaningful when fwd is FWD_TUNNEL). */
  tunType: TunnelType;
  tunPort: number;
  /** TUN_F_* bits. */
  tunFlags: number;
  stats: StatsSnapshot;
  rates: RatesSnapshot;
}

/** A service: its settings (src/core/service.ts), counters, rates and dests. */
export interface ServiceSnapshot extends ServiceSettings {
  stats: StatsSnapshot;
  rates: RatesSnapshot;
  dests: DestSnapshot[];
}

/** One connection or persistence template, as /proc/net/ip_vs_conn describes it. */
export interface ConnSnapshot {
  /** IPPROTO_* (IPPROTO_IP for fwmark templates). */
  proto: number;
  /** Family of the client and virtual addresses. */
  af: number;
  caddr: string;
  cport: number;
  /** Virtual address; for fwmark templates the mark rendered as an address (0.0.0.1). */
  vaddr: string;
  vport: number;
  /** Family of the real-server address (differs for mixed-family tunnels). */
  daf: number;
  daddr: string;
  dport: number;
  /** State name: ESTABLISHED, NONE, ... */
  state: string;
  /** Seconds left. */
  expires: number;
  /** A persistence template (informative: the listing shows it as a plain row). */
  template: boolean;
  /** Persistence engine name and data, when the connection has them. */
  peName?: string;
  peData?: string;
}

export interface DaemonSnapshot {
  state: 'master' | 'backup';
  mcastIfn: string;
  syncid: number;
  /** 0 = not reported. */
  syncMaxlen: number;
  /** Multicast group; omitted when not reported. */
  mcastGroup?: string;
  /** 0 = not reported. */
  mcastPort: number;
  /** 0 = not reported. */
  mcastTtl: number;
}

export interface TimeoutsSnapshot {
  tcp: number;
  tcpfin: number;
  udp: number;
}

export interface IpvsSnapshot {
  /** IPVS version code, 0x010201. */
  version: number;
  /** Connection hash table size. */
  connTabSize: number;
  services: ServiceSnapshot[];
  timeouts: TimeoutsSnapshot;
  connections: ConnSnapshot[];
  /** At most one master and one backup. */
  daemons: DaemonSnapshot[];
}

/** What the model does not hold and the caller supplies. */
export interface SnapshotExtras {
  connTabSize?: number;
  timeouts?: TimeoutsSnapshot;
  connections?: ConnSnapshot[];
  daemons?: DaemonSnapshot[];
  /** Tunnel settings of a dest (the core Dest has no tunnel fields yet); default ipip. */
  tunnelOf?: (dest: Dest) => { type: TunnelType; port: number; flags: number } | undefined;
}

/** The part of ServiceTable a snapshot reads. */
export interface ServiceSource {
  readonly services: readonly Service[];
}

export function snapshotFromTable(table: ServiceSource, extras: SnapshotExtras = {}): IpvsSnapshot {
  return {
    version: IPVS_VERSION_CODE,
    connTabSize: extras.connTabSize ?? DEFAULT_CONN_TAB_SIZE,
    services: table.services.map((svc) => serviceSnapshot(svc, extras)),
    timeouts: extras.timeouts ?? { tcp: 900, tcpfin: 120, udp: 300 },
    connections: extras.connections ?? [],
    daemons: extras.daemons ?? [],
  };
}

function serviceSnapshot(svc: Service, extras: SnapshotExtras): ServiceSnapshot {
  return {
    ...serviceSettings(svc),
    stats: counters(svc.stats),
    rates: { ...svc.stats.est.rates },
    dests: svc.dests.map((d) => destSnapshot(d, extras)),
  };
}

function destSnapshot(d: Dest, extras: SnapshotExtras): DestSnapshot {
  const tun = extras.tunnelOf?.(d);
  return {
    af: d.addr.af,
    addr: d.addr.toString(),
    port: d.port,
    fwd: d.fwd,
    weight: d.weight,
    uThreshold: d.uThreshold,
    lThreshold: d.lThreshold,
    activeConns: d.activeConns,
    inactConns: d.inactConns,
    persistConns: d.persistConns,
    tunType: tun?.type ?? 'ipip',
    tunPort: tun?.port ?? 0,
    tunFlags: tun?.flags ?? 0,
    stats: counters(d.stats),
    rates: { ...d.stats.est.rates },
  };
}

function counters(s: CounterSource): StatsSnapshot {
  return { conns: s.conns, inpkts: s.inpkts, outpkts: s.outpkts, inbytes: s.inbytes, outbytes: s.outbytes };
}
