// The configuration the main thread sends to every data-plane worker, and how a worker
// applies it to its own Director.
//
// The main thread keeps the control plane (ipvsadm commands, config reloads, health
// checks, neighbour resolution); after every change it sends the WHOLE model — services,
// their dests with the ids the main thread assigned, each dest's MAC and resolution flag,
// timeouts and sysctls — as one structured-clone message. A worker reconciles its own
// ServiceTable to it between two RX blocks (messages run on its event loop, never inside
// a block): services and dests are matched by key and by id, so existing connections
// keep their dest, schedulers are replaced only when the scheduler changed, and a dest
// or service is edited only when one of its fields changed. A full model rather than
// a stream of edits means a worker can never miss or reorder one; changes are rare
// (human or health-check speed), so its size does not matter.

import { Addr } from '../core/addr';
import { DEST_F_UNRESOLVED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Director } from '../core/director';
import { serviceKey, serviceSettings, type Service, type ServiceSettings } from '../core/service';
import type { DestSpec, ServiceSpec } from '../core/services';

export interface ModelDest {
  id: number;
  addr: string;
  port: number;
  weight: number;
  fwd: number;
  uThreshold: number;
  lThreshold: number;
  /** The real server's MAC (6 bytes), null while unresolved. */
  mac: number[] | null;
  unresolved: boolean;
}

/** A service: its settings (src/core/service.ts), its id and counter slot, its dests. */
export interface ModelService extends ServiceSettings {
  /** The main thread's service id (the tag of its counter slot). */
  id: number;
  /** Counter slot (src/dataplane/shared-counters.ts). */
  slot: number;
  /** In IPVS list order (newest first). */
  dests: ModelDest[];
}

export interface WorkerModel {
  version: number;
  services: ModelService[];
  tcpTimeouts: number[];
  udpTimeout: number;
  sysctl: { expireNodestConn: number; expireQuiescentTemplate: number; connReuseMode: number; sloppyTcp: number };
}

/** The model of the main thread's director; `slotOf` gives each service's counter slot. */
export function buildModel(director: Director, version: number, slotOf: (svc: Service) => number): WorkerModel {
  const s = director.sysctl;
  return {
    version,
    services: director.services.services.map((svc) => ({
      id: svc.id,
      slot: slotOf(svc),
      ...serviceSettings(svc),
      dests: svc.dests.map((d) => ({
        id: d.id,
        addr: d.addr.toString(),
        port: d.port,
        weight: d.weight,
        fwd: d.fwd,
        uThreshold: d.uThreshold,
        lThreshold: d.lThreshold,
        mac: d.mac ? [...d.mac] : null,
        unresolved: (d.flags & DEST_F_UNRESOLVED) !== 0,
      })),
    })),
    tcpTimeouts: [...director.timeouts.tcp],
    udpTimeout: director.timeouts.udp,
    sysctl: { expireNodestConn: s.expireNodestConn, expireQuiescentTemplate: s.expireQuiescentTemplate, connReuseMode: s.connReuseMode, sloppyTcp: s.sloppyTcp },
  };
}

/** What applyModel did, for the worker's publisher (services with slots and tags). */
export interface AppliedModel {
  services: Service[];
  slots: number[];
  tags: number[];
}

/** Reconciles a worker's director to `model` (see the file comment). */
export function applyModel(director: Director, model: WorkerModel): AppliedModel {
  const table = director.services;
  const want = new Map<string, ModelService>();
  for (const ms of model.services) want.set(serviceKey(ms.af, ms.proto, addrOf(ms.addr), ms.port, ms.fwmark), ms);
  for (const svc of [...table.services]) if (!want.has(svc.key)) table.deleteService(svc);
  const applied: AppliedModel = { services: [], slots: [], tags: [] };
  for (const ms of model.services) {
    const spec = serviceSpec(ms);
    let svc = table.find(spec);
    if (!svc) svc = table.addService(spec);
    else if (serviceChanged(svc, ms)) table.editService(spec);
    reconcileDests(director, svc, ms);
    applied.services.push(svc);
    applied.slots.push(ms.slot);
    applied.tags.push(ms.id);
  }
  director.timeouts.tcp.set(model.tcpTimeouts);
  director.timeouts.udp = model.udpTimeout;
  Object.assign(director.sysctl, model.sysctl);
  director.sync();
  return applied;
}

function reconcileDests(director: Director, svc: Service, ms: ModelService): void {
  const table = director.services;
  const ids = new Set(ms.dests.map((d) => d.id));
  for (const d of [...svc.dests]) if (!ids.has(d.id)) table.deleteDest(svc, d.addr, d.port);
  // Added in reverse so that, each going to the head, they end up in the model's order.
  for (let k = ms.dests.length - 1; k >= 0; k--) {
    const md = ms.dests[k];
    const spec = destSpec(md);
    let d = svc.dests.find((x) => x.id === md.id);
    if (!d) d = table.addDest(svc, spec, md.id);
    else if (d.weight !== md.weight || d.fwd !== md.fwd || d.uThreshold !== md.uThreshold || d.lThreshold !== md.lThreshold) table.editDest(svc, spec);
    applyNeighbour(d, md);
  }
  // IPVS list order matters to listings and some schedulers: keep the main thread's order.
  if (svc.dests.some((d, k) => d.id !== ms.dests[k]?.id)) {
    const byId = new Map(svc.dests.map((d) => [d.id, d] as const));
    svc.dests.length = 0;
    for (const md of ms.dests) svc.dests.push(byId.get(md.id)!);
  }
}

function applyNeighbour(d: Dest, md: ModelDest): void {
  if (md.mac === null) d.mac = null;
  else if (d.mac === null || d.mac.some((b, k) => b !== md.mac![k])) d.mac = Uint8Array.from(md.mac);
  if (md.unresolved) d.flags |= DEST_F_UNRESOLVED;
  else d.flags &= ~DEST_F_UNRESOLVED;
}

function serviceChanged(svc: Service, ms: ModelService): boolean {
  return svc.scheduler.name !== ms.scheduler || svc.flags !== ms.flags || svc.schedFlags !== ms.schedFlags ||
    svc.timeout !== ms.timeout || svc.netmask !== ms.netmask || svc.pe !== ms.pe;
}

function addrOf(text: string): Addr {
  const a = Addr.parse(text);
  if (!a) throw new Error(`worker model: bad address '${text}'`);
  return a;
}

function serviceSpec(ms: ModelService): ServiceSpec {
  return {
    af: ms.af, proto: ms.proto, addr: addrOf(ms.addr), port: ms.port, fwmark: ms.fwmark, scheduler: ms.scheduler,
    flags: ms.flags, schedFlags: ms.schedFlags, timeout: ms.timeout, netmask: ms.netmask, pe: ms.pe || undefined,
  };
}

function destSpec(md: ModelDest): DestSpec {
  return { addr: addrOf(md.addr), port: md.port, weight: md.weight, fwd: md.fwd, uThreshold: md.uThreshold, lThreshold: md.lThreshold };
}
