// What the health monitor changes in the director, as a narrow interface (so it can drive
// the in-process ServiceTable, or later a control-socket client), and its implementation
// over ServiceTable. Methods throw IpvsError as the model does; the monitor catches them.

import type { Addr } from '../core/addr';
import { FWD_DROUTE, FWD_TUNNEL } from '../core/constants';
import type { DestSpec, ServiceRef, ServiceSpec, ServiceTable } from '../core/services';

export interface Applier {
  /** Adds the service when it does not exist yet (leaves an existing one alone). */
  ensureService(spec: ServiceSpec): void;
  deleteService(ref: ServiceRef): void;
  addDest(ref: ServiceRef, spec: DestSpec): void;
  editDest(ref: ServiceRef, spec: DestSpec): void;
  deleteDest(ref: ServiceRef, addr: Addr, port: number, fwd: number): void;
  /** The dest's current weight, or null when the service or the dest is absent. */
  destWeight(ref: ServiceRef, addr: Addr, port: number, fwd: number): number | null;
}

export class ServiceTableApplier implements Applier {
  constructor(private readonly table: ServiceTable) {}

  ensureService(spec: ServiceSpec): void {
    if (!this.table.find(spec)) this.table.addService(spec);
  }

  deleteService(ref: ServiceRef): void {
    this.table.deleteService(ref);
  }

  addDest(ref: ServiceRef, spec: DestSpec): void {
    this.table.addDest(ref, spec);
  }

  editDest(ref: ServiceRef, spec: DestSpec): void {
    this.table.editDest(ref, spec);
  }

  deleteDest(ref: ServiceRef, addr: Addr, port: number, fwd: number): void {
    this.table.deleteDest(ref, addr, effectivePort(ref, port, fwd));
  }

  destWeight(ref: ServiceRef, addr: Addr, port: number, fwd: number): number | null {
    const svc = this.table.find(ref);
    if (!svc) return null;
    const p = effectivePort(ref, port, fwd);
    const d = svc.dests.find((x) => x.port === p && x.addr.equals(addr));
    return d ? d.weight : null;
  }
}

/** DR and TUN dests of a non-fwmark service take the service's port (as -a does). */
function effectivePort(ref: ServiceRef, port: number, fwd: number): number {
  return !ref.fwmark && (fwd === FWD_DROUTE || fwd === FWD_TUNNEL) ? ref.port : port;
}
