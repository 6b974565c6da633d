// Makes the director's service table match a configuration, changing only what differs:
// new services and dests are added, changed ones edited in place, missing ones deleted.
// Existing connections keep their dests (a dest that stays is the same object, with its
// counters), which is what lets SIGHUP reload without dropping anything.

import type { Director } from '../core/director';
import type { Service } from '../core/service';
import type { DestSpec, ServiceSpec } from '../core/services';
import { serviceKey } from '../core/service';
import type { NativeConfig } from '../config/native-config';

export interface ReconcileReport {
  added: string[];
  changed: string[];
  removed: string[];
}

/**
 * `healthManaged`: keys (serviceKey) of services whose real servers a health monitor adds
 * and removes; reconcile creates/edits those services but leaves their dests alone.
 */
export function reconcile(director: Director, config: NativeConfig, healthManaged: ReadonlySet<string> = new Set()): ReconcileReport {
  const table = director.services;
  const report: ReconcileReport = { added: [], changed: [], removed: [] };
  const wanted = new Set<string>();
  for (const { spec, dests } of config.services) {
    const key = serviceKey(spec.af, spec.proto, spec.addr, spec.port, spec.fwmark);
    wanted.add(key);
    let svc = table.byKey.get(key);
    if (!svc) {
      svc = table.addService(spec);
      report.added.push(svc.toString());
    } else if (serviceDiffers(svc, spec)) {
      table.editService(spec);
      report.changed.push(svc.toString());
    }
    if (healthManaged.has(key)) continue;
    const want = new Map(dests.map((d) => [`${d.addr.withPort(d.port)}`, d]));
    for (const d of [...svc.dests]) {
      if (!want.has(d.toString())) {
        table.deleteDest(svc, d.addr, d.port);
        report.removed.push(`${svc} -> ${d}`);
      }
    }
    // Add in reverse so the list reads in config order (new dests go to the head).
    for (const d of [...dests].reverse()) {
      const cur = svc.dests.find((x) => x.port === d.port && x.addr.equals(d.addr));
      if (!cur) {
        table.addDest(svc, d);
        report.added.push(`${svc} -> ${d.addr.withPort(d.port)}`);
      } else if (destDiffers(cur, d)) {
        table.editDest(svc, d);
        report.changed.push(`${svc} -> ${cur}`);
      }
    }
  }
  for (const svc of [...table.services]) {
    if (!wanted.has(svc.key)) {
      table.deleteService(svc);
      report.removed.push(svc.toString());
    }
  }
  return report;
}

function serviceDiffers(svc: Service, spec: ServiceSpec): boolean {
  return svc.scheduler.name !== (spec.scheduler ?? 'wlc') || svc.flags !== (spec.flags ?? 0) ||
    svc.schedFlags !== (spec.schedFlags ?? 0) || (svc.persistent && svc.timeout !== (spec.timeout ?? 360)) ||
    (spec.netmask !== undefined && svc.netmask !== spec.netmask);
}

function destDiffers(d: { weight: number; fwd: number; uThreshold: number; lThreshold: number }, s: DestSpec): boolean {
  return d.weight !== s.weight || d.fwd !== s.fwd || d.uThreshold !== s.uThreshold || d.lThreshold !== s.lThreshold;
}
