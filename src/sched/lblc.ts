// lblc — Locality-Based Least-Connection (ip_vs_lblc.c).
//
// Meant for cache clusters: requests for one destination address (an origin server,
// reached through a fwmark service) should keep going to the same cache server while it
// copes, so its cache stays hot. The service keeps a cache from packet destination address
// to dest (see locality.ts for its buckets and expiry). To schedule:
//   - if the cache has an entry for the address, refresh its last-use time; if its dest is
//     still in the service (AVAILABLE), has weight > 0 and is not "overloaded", use it;
//   - otherwise pick a dest by the wlc rule over the whole service (weighted least
//     overhead, not OVERLOADed, weight > 0), and remember it for the address (replacing
//     the old dest of an existing entry). No such dest: fail.
// "Overloaded" here is lblc's own test, not the OVERLOAD flag: the dest has more active
// connections than its weight AND some dest of the service has ActiveConn·2 < its weight,
// i.e. there is somewhere clearly less busy to go.
// Note that a cached dest is reused even when it is OVERLOADed by its -x threshold, as in
// the kernel; only a miss or the tests above lead to a new choice.

import { DEST_F_AVAILABLE } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { LocalityCache, LocalityEntry } from './locality';
import type { SchedPacket, Scheduler } from './scheduler';
import { wlcSelect } from './wlc';

class LblcEntry extends LocalityEntry {
  dest: Dest | null = null;

  clear(): void {
    this.dest = null;
  }
}

export class LblcScheduler implements Scheduler {
  readonly name = 'lblc';
  /** Destination address -> dest; its `expiration` is the lblc_expiration sysctl. */
  readonly cache = new LocalityCache<LblcEntry>();

  addDest(_svc: Service, _dest: Dest): void {}

  /** Entries keep a deleted dest; a hit sees it is no longer AVAILABLE and reschedules. */
  delDest(_svc: Service, _dest: Dest): void {}

  updDest(_svc: Service, _dest: Dest): void {}

  flagsChanged(_svc: Service): void {}

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    const cache = this.cache;
    const en = cache.get(pkt);
    if (en !== null) {
      en.lastuse = cache.now;
      const d = en.dest!;
      if ((d.flags & DEST_F_AVAILABLE) !== 0 && d.weight > 0 && !lblcOverloaded(d, svc)) return d;
    }
    const dest = wlcSelect(svc.dests);
    if (dest === null) return null;
    if (en !== null) {
      en.dest = dest;
    } else if (cache.hasRoom()) {
      const e = cache.recycled() ?? new LblcEntry();
      e.dest = dest;
      cache.add(e, pkt);
    }
    return dest;
  }

  tick(now: number): void {
    this.cache.tick(now);
  }
}

/**
 * lblc/lblcr "overloaded": more active connections than weight while some dest of the
 * service has fewer than half its weight in active connections.
 */
export function lblcOverloaded(dest: Dest, svc: Service): boolean {
  if (dest.activeConns > dest.weight) {
    const dests = svc.dests;
    for (let i = 0; i < dests.length; i++) {
      const d = dests[i];
      if (d.activeConns * 2 < d.weight) return true;
    }
  }
  return false;
}
