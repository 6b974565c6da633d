// The virtual-service table: add, edit and delete services and their real servers with
// the kernel's rules (ip_vs_ctl.c) and ipvsadm's error texts. This is the control-plane
// model; the data plane reads `byKey`/`services` and the dest registry only.
//
// Rules mirrored here:
//  - new dests go to the head of the list (§2.8); edits keep their position;
//  - -E replaces the scheduler (a new instance bound to the existing dests);
//  - a deleted dest that connections still refer to stays in the registry (the kernel's
//    "trash") and comes back with its counters if the same dest is added again;
//  - thresholds: l > u is ERANGE; editing u clears OVERLOAD when u becomes 0 or grows (§2.4).

import type { Addr } from './addr';
import {
  AF_INET,
  AF_INET6,
  DEFAULT_SCHEDULER,
  DEST_F_AVAILABLE,
  DEST_F_OVERLOAD,
  FWD_DROUTE,
  FWD_TUNNEL,
  IPPROTO_TCP,
  SVC_F_ONEPACKET,
  SVC_F_PERSISTENT,
  type AddressFamily,
} from './constants';
import { Dest } from './dest';
import { ERR } from './errors';
import { Service, serviceKey } from './service';
import { findScheduler } from '../sched/registry';
import '../sched/all';

/** What -A/-E carry. */
export interface ServiceSpec {
  af: AddressFamily;
  proto: number;
  addr: Addr;
  port: number;
  fwmark: number;
  scheduler?: string;
  /** SVC_F_PERSISTENT | SVC_F_ONEPACKET. */
  flags?: number;
  schedFlags?: number;
  timeout?: number;
  netmask?: number;
  pe?: string;
}

/** Identifies a service (the -t/-u/--sctp-service/-f part of a command). */
export type ServiceRef = Pick<ServiceSpec, 'af' | 'proto' | 'addr' | 'port' | 'fwmark'>;

/** What -a/-e carry. */
export interface DestSpec {
  addr: Addr;
  port: number;
  weight: number;
  fwd: number;
  uThreshold: number;
  lThreshold: number;
}

export class ServiceTable {
  readonly services: Service[] = [];
  readonly byKey = new Map<string, Service>();
  /** Dest registry indexed by id; slot 0 is never used ("no dest"). */
  readonly dests: (Dest | null)[] = [null];
  private readonly freeDestIds: number[] = [];
  private nextServiceId = 1;
  /** Bumped on every change, so the data plane can notice a new table version. */
  generation = 0;
  /** Called when a dest leaves a service (the director drops its MAC entry etc.). */
  onDestRemoved: ((d: Dest) => void) | null = null;
  /**
   * With worker shards (src/control/counter-aggregator.ts): may a freed dest id be handed
   * out again? A worker may still hold connections to a deleted dest under its id.
   * null: always (one thread).
   */
  idReusable: ((id: number) => boolean) | null = null;
  /**
   * With worker shards: the shared counters have fixed room (src/dataplane/shared-counters.ts),
   * so adding past it is refused with ENOMEM instead of going uncounted. null: no limit.
   */
  limits: { maxServices: number; maxDestIds: number } | null = null;

  find(ref: ServiceRef): Service | undefined {
    return this.byKey.get(serviceKey(ref.af, ref.fwmark ? IPPROTO_TCP : ref.proto, ref.addr, ref.port, ref.fwmark));
  }

  addService(spec: ServiceSpec): Service {
    const name = spec.scheduler ?? DEFAULT_SCHEDULER;
    const factory = findScheduler(name);
    if (!factory) throw ERR.schedulerNotFound();
    if (spec.pe && spec.pe !== 'sip') throw ERR.schedulerNotFound();
    const proto = spec.fwmark ? IPPROTO_TCP : spec.proto;
    const key = serviceKey(spec.af, proto, spec.addr, spec.port, spec.fwmark);
    if (this.byKey.has(key)) throw ERR.serviceExists();
    checkServiceSpec(spec);
    if (this.limits && this.services.length >= this.limits.maxServices) throw ERR.tableFull('services', this.limits.maxServices);
    const svc = new Service(this.nextServiceId++, spec.af, proto, spec.addr, spec.port, spec.fwmark, placeholder);
    applyServiceSpec(svc, spec);
    svc.scheduler = factory(svc);
    this.services.push(svc);
    this.byKey.set(key, svc);
    this.generation++;
    return svc;
  }

  /** -E: a full replacement of scheduler, flags, persistence and netmask. */
  editService(spec: ServiceSpec): Service {
    const svc = this.find(spec);
    if (!svc) throw ERR.noSuchService();
    const name = spec.scheduler ?? DEFAULT_SCHEDULER;
    const factory = findScheduler(name);
    if (!factory) throw ERR.schedulerNotFound();
    if (spec.pe && spec.pe !== 'sip') throw ERR.schedulerNotFound();
    checkServiceSpec(spec);
    const oldSchedFlags = svc.schedFlags;
    applyServiceSpec(svc, spec);
    if (name !== svc.scheduler.name) svc.scheduler = factory(svc);
    else if (oldSchedFlags !== svc.schedFlags) svc.scheduler.flagsChanged(svc);
    this.generation++;
    return svc;
  }

  deleteService(ref: ServiceRef): void {
    const svc = this.find(ref);
    if (!svc) throw ERR.noSuchService();
    this.unlinkService(svc);
    this.generation++;
  }

  /** -C */
  flush(): void {
    for (const svc of [...this.services]) this.unlinkService(svc);
    this.generation++;
  }

  /**
   * -a. `id` (worker shards only) gives the new dest the id the main thread chose; a
   * deleted dest is then brought back only if it had that id.
   */
  addDest(ref: ServiceRef, spec: DestSpec, id?: number): Dest {
    const svc = this.find(ref);
    if (!svc) throw ERR.serviceNotDefined();
    const port = destPort(svc, spec);
    checkDestSpec(svc, spec);
    if (svc.dests.some((d) => d.port === port && d.addr.equals(spec.addr))) throw ERR.destExists();
    // A deleted dest still referenced by connections comes back with its counters (trash).
    let dest = this.findTrashed(svc, spec.addr, port, id);
    if (dest) {
      dest.svc = svc;
      dest.flags = DEST_F_AVAILABLE;
      dest.weight = spec.weight;
      if (spec.weight > 0) dest.lastWeight = spec.weight;
      dest.fwd = spec.fwd;
      dest.uThreshold = spec.uThreshold;
      dest.lThreshold = spec.lThreshold;
    } else {
      const newId = id ?? this.takeDestId();
      if (this.limits && newId >= this.limits.maxDestIds) throw ERR.tableFull('real servers (deleted ones still in use count)', this.limits.maxDestIds - 1);
      if (this.dests[newId]) throw new Error(`dest id ${newId} is in use`);
      while (this.dests.length < newId) this.dests.push(null);
      dest = new Dest(newId, svc, spec.addr, port, spec.weight, spec.fwd);
      dest.uThreshold = spec.uThreshold;
      dest.lThreshold = spec.lThreshold;
      this.dests[newId] = dest;
    }
    svc.dests.unshift(dest);
    svc.scheduler.addDest(svc, dest);
    this.generation++;
    return dest;
  }

  /** -e: full replacement of weight, forwarding method and thresholds. */
  editDest(ref: ServiceRef, spec: DestSpec): Dest {
    const svc = this.find(ref);
    if (!svc) throw ERR.serviceNotDefined();
    const port = destPort(svc, spec);
    checkDestSpec(svc, spec);
    const dest = svc.dests.find((d) => d.port === port && d.addr.equals(spec.addr));
    if (!dest) throw ERR.noSuchDest();
    dest.weight = spec.weight;
    if (spec.weight > 0) dest.lastWeight = spec.weight;
    dest.fwd = spec.fwd;
    if (spec.uThreshold === 0 || spec.uThreshold > dest.uThreshold) dest.flags &= ~DEST_F_OVERLOAD;
    dest.uThreshold = spec.uThreshold;
    dest.lThreshold = spec.lThreshold;
    svc.scheduler.updDest(svc, dest);
    this.generation++;
    return dest;
  }

  /** -d: no port forcing here, as ipvsadm (§1.5). */
  deleteDest(ref: ServiceRef, addr: Addr, port: number): void {
    const svc = this.find(ref);
    if (!svc) throw ERR.serviceNotDefined();
    const i = svc.dests.findIndex((d) => d.port === port && d.addr.equals(addr));
    if (i < 0) throw ERR.noSuchDest();
    this.unlinkDest(svc, i);
    this.generation++;
  }

  /** -Z [service] */
  zero(ref?: ServiceRef): void {
    const list = ref ? [this.find(ref)] : this.services;
    if (ref && !list[0]) throw ERR.noSuchService();
    for (const svc of list) {
      svc!.stats.zero();
      for (const d of svc!.dests) d.stats.zero();
    }
  }

  /** A connection or template now refers to `dest`. */
  hold(dest: Dest): void {
    dest.refs++;
  }

  /** A connection or template let go of `dest`; a deleted dest is freed at zero. */
  release(dest: Dest): void {
    if (--dest.refs === 0 && dest.svc === null) this.freeDest(dest);
  }

  private unlinkService(svc: Service): void {
    while (svc.dests.length) this.unlinkDest(svc, 0);
    const i = this.services.indexOf(svc);
    if (i >= 0) this.services.splice(i, 1);
    this.byKey.delete(svc.key);
  }

  private unlinkDest(svc: Service, index: number): void {
    const dest = svc.dests[index];
    svc.dests.splice(index, 1);
    dest.flags &= ~DEST_F_AVAILABLE;
    svc.scheduler.delDest(svc, dest);
    this.onDestRemoved?.(dest);
    dest.svc = null;
    this.trashOwner.set(dest, svc);
    if (dest.refs === 0) this.freeDest(dest);
  }

  private readonly trashOwner = new Map<Dest, Service>();

  private takeDestId(): number {
    const free = this.freeDestIds;
    for (let i = free.length - 1; i >= 0; i--) {
      if (this.idReusable === null || this.idReusable(free[i])) return free.splice(i, 1)[0];
    }
    return this.dests.length;
  }

  private findTrashed(svc: Service, addr: Addr, port: number, id?: number): Dest | undefined {
    for (const [d, owner] of this.trashOwner) {
      if (owner === svc && d.port === port && d.addr.equals(addr) && (id === undefined || d.id === id)) {
        this.trashOwner.delete(d);
        return d;
      }
    }
    return undefined;
  }

  private freeDest(dest: Dest): void {
    this.trashOwner.delete(dest);
    if (this.dests[dest.id] === dest) {
      this.dests[dest.id] = null;
      this.freeDestIds.push(dest.id);
    }
  }
}

/** DR and TUN dests of an address service take the service port (§1.5). */
function destPort(svc: Service, spec: DestSpec): number {
  if (!svc.fwmark && (spec.fwd === FWD_DROUTE || spec.fwd === FWD_TUNNEL)) return svc.port;
  return spec.port;
}

function checkServiceSpec(spec: ServiceSpec): void {
  if (spec.af !== AF_INET && spec.af !== AF_INET6) throw ERR.afNotSupported();
  if (spec.af === AF_INET6 && spec.netmask !== undefined && (spec.netmask < 1 || spec.netmask > 128)) throw ERR.invalid();
}

function checkDestSpec(svc: Service, spec: DestSpec): void {
  if (spec.lThreshold > spec.uThreshold) throw ERR.range();
  if (spec.addr.af !== svc.af && spec.fwd !== FWD_TUNNEL) throw ERR.afNotSupported();
  if (spec.addr.isUnspecified() || spec.addr.isMulticast()) throw ERR.invalid();
}

function applyServiceSpec(svc: Service, spec: ServiceSpec): void {
  svc.flags = (spec.flags ?? 0) & (SVC_F_PERSISTENT | SVC_F_ONEPACKET);
  svc.schedFlags = spec.schedFlags ?? 0;
  svc.timeout = svc.persistent ? spec.timeout ?? 360 : 0;
  svc.netmask = spec.netmask ?? (svc.af === AF_INET ? 0xffffffff : 128);
  svc.pe = spec.pe ?? '';
}

const placeholder = {
  name: '',
  addDest() {},
  delDest() {},
  updDest() {},
  flagsChanged() {},
  schedule: () => null,
};
