// A virtual service: (protocol, address, port) or a firewall mark, its scheduler,
// persistence settings and its list of real servers.
//
// `dests` is kept in IPVS list order: a new dest is inserted at the head (§2.8), so the
// array reads newest-first. Schedulers, listings with --nosort and table tiling all
// depend on that order.

import type { Addr } from './addr';
import {
  AF_INET,
  SVC_F_ONEPACKET,
  SVC_F_PERSISTENT,
  protoName,
  type AddressFamily,
} from './constants';
import type { Dest } from './dest';
import { Stats } from './stats';
import type { Scheduler } from '../sched/scheduler';

export class Service {
  readonly id: number;
  readonly af: AddressFamily;
  /** IPPROTO_TCP/UDP/SCTP; for fwmark services the kernel stores TCP. */
  readonly proto: number;
  readonly addr: Addr;
  readonly port: number;
  /** Nonzero for a firewall-mark service (then addr/port are unused). */
  readonly fwmark: number;
  flags = 0;
  schedFlags = 0;
  /** Persistence timeout in seconds (meaningful with SVC_F_PERSISTENT). */
  timeout = 0;
  /** IPv4: netmask as uint32; IPv6: prefix length. */
  netmask: number;
  pe = '';
  scheduler: Scheduler;
  readonly dests: Dest[] = [];
  readonly stats = new Stats();

  constructor(id: number, af: AddressFamily, proto: number, addr: Addr, port: number, fwmark: number, scheduler: Scheduler) {
    this.id = id;
    this.af = af;
    this.proto = proto;
    this.addr = addr;
    this.port = port;
    this.fwmark = fwmark;
    this.scheduler = scheduler;
    this.netmask = af === AF_INET ? 0xffffffff : 128;
  }

  get persistent(): boolean {
    return (this.flags & SVC_F_PERSISTENT) !== 0;
  }

  get onePacket(): boolean {
    return (this.flags & SVC_F_ONEPACKET) !== 0;
  }

  /** Lookup key: `tcp 192.0.2.1:80`, `fwm 1`, `fwm6 1`. */
  get key(): string {
    return serviceKey(this.af, this.proto, this.addr, this.port, this.fwmark);
  }

  /** `TCP 192.0.2.1:80` or `FWM 1` for logs. */
  toString(): string {
    return this.fwmark ? `FWM ${this.fwmark}` : `${protoName(this.proto)} ${this.addr.withPort(this.port)}`;
  }
}

/** A service's settings as plain data, addr as text: shared by the ipvsadm snapshot and the worker model. */
export interface ServiceSettings {
  af: AddressFamily;
  /** IPPROTO_*; TCP for fwmark services. */
  proto: number;
  addr: string;
  port: number;
  fwmark: number;
  scheduler: string;
  /** SVC_F_PERSISTENT | SVC_F_ONEPACKET bits. */
  flags: number;
  /** SVC_F_SCHED1..3 bits. */
  schedFlags: number;
  /** Persistence timeout in seconds. */
  timeout: number;
  /** IPv4: mask as host-order uint32; IPv6: prefix length. */
  netmask: number;
  /** Persistence engine name, '' for none. */
  pe: string;
}

export function serviceSettings(svc: Service): ServiceSettings {
  return {
    af: svc.af,
    proto: svc.proto,
    addr: svc.addr.toString(),
    port: svc.port,
    fwmark: svc.fwmark,
    scheduler: svc.scheduler.name,
    flags: svc.flags,
    schedFlags: svc.schedFlags,
    timeout: svc.timeout,
    netmask: svc.netmask,
    pe: svc.pe,
  };
}

export function serviceKey(af: AddressFamily, proto: number, addr: Addr, port: number, fwmark: number): string {
  if (fwmark) return af === AF_INET ? `fwm ${fwmark}` : `fwm6 ${fwmark}`;
  return `${proto} ${addr.withPort(port)}`;
}
