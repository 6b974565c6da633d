// lblcr — Locality-Based Least-Connection with Replication (ip_vs_lblcr.c).
//
// Like lblc, but a popular destination address may be served by a set of dests (the
// cache content is "replicated" on several servers) instead of exactly one. The cache maps
// packet destination address -> dest set (see locality.ts for buckets and expiry); each
// set records when it last changed (lastmod). To schedule:
//   - hit: refresh the entry's last use; take n = the set member with the least overhead
//     per weight (ActiveConn·256 + InActConn, compared by cross-multiplying) among those
//     still in the service (AVAILABLE), of weight > 0 and not OVERLOADed, earliest in the
//     set on ties. Then, if the set has more than one member and has not changed for
//     `expiration` seconds (sysctl lblcr_expiration, 24 h), shrink it: remove the member
//     with the most overhead per weight (weight > 0, earliest on ties). If n exists and
//     is not "overloaded" (lblc's test: ActiveConn > weight while some dest of the service
//     has ActiveConn·2 < weight) use n; otherwise pick a dest by wlc over the whole
//     service, add it to the set if it is not already there, and use it;
//   - miss: pick by wlc over the service and make an entry whose set is just that dest.
// wlc finding nothing means failure. A set lists its newest member first.

import { DEST_F_AVAILABLE, DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { lblcOverloaded } from './lblc';
import { LocalityCache, LocalityEntry } from './locality';
import type { SchedPacket, Scheduler } from './scheduler';
import { wlcSelect } from './wlc';

class LblcrEntry extends LocalityEntry {
  /** The dest set, newest member first. */
  readonly set: Dest[] = [];
  /** When the set last gained or lost a member (seconds). */
  lastmod = 0;

  clear(): void {
    this.set.length = 0;
  }
}

export class LblcrScheduler implements Scheduler {
  readonly name = 'lblcr';
  /** Destination address -> dest set; its `expiration` is the lblcr_expiration sysctl. */
  readonly cache = new LocalityCache<LblcrEntry>();

  addDest(_svc: Service, _dest: Dest): void {}

  /** Sets keep a deleted dest; it is skipped (not AVAILABLE) until it is shrunk away. */
  delDest(_svc: Service, _dest: Dest): void {}

  updDest(_svc: Service, _dest: Dest): void {}

  flagsChanged(_svc: Service): void {}

  /** The dest set cached for the packet's destination address (for tests and `explain`). */
  cachedSet(pkt: SchedPacket): readonly Dest[] | null {
    const en = this.cache.get(pkt);
    return en === null ? null : en.set;
  }

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    const cache = this.cache;
    const now = cache.now;
    const en = cache.get(pkt);
    if (en !== null) {
      en.lastuse = now;
      const least = setMin(en.set);
      if (en.set.length > 1 && now > en.lastmod + cache.expiration) {
        const most = setMax(en.set);
        if (most !== null) {
          en.set.splice(en.set.indexOf(most), 1);
          en.lastmod = now;
        }
      }
      if (least !== null && !lblcOverloaded(least, svc)) return least;
      const dest = wlcSelect(svc.dests);
      if (dest === null) return null;
      if (!en.set.includes(dest)) {
        en.set.unshift(dest);
        en.lastmod = now;
      }
      return dest;
    }
    const dest = wlcSelect(svc.dests);
    if (dest === null) return null;
    if (cache.hasRoom()) {
      const e = cache.recycled() ?? new LblcrEntry();
      e.set.push(dest);
      e.lastmod = now;
      cache.add(e, pkt);
    }
    return dest;
  }

  tick(now: number): void {
    this.cache.tick(now);
  }
}

/** Weighted least-loaded usable member of a set (AVAILABLE, weight > 0, not OVERLOADed). */
function setMin(set: readonly Dest[]): Dest | null {
  const n = set.length;
  let i = 0;
  let least: Dest | null = null;
  for (; i < n; i++) {
    const d = set[i];
    if ((d.flags & DEST_F_NOSCHED) !== 0) continue;
    if (d.weight > 0 && (d.flags & DEST_F_AVAILABLE) !== 0) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  let loh = least.activeConns * 256 + least.inactConns;
  for (i++; i < n; i++) {
    const d = set[i];
    if ((d.flags & DEST_F_NOSCHED) !== 0) continue;
    const doh = d.activeConns * 256 + d.inactConns;
    if (loh * d.weight > doh * least.weight && (d.flags & DEST_F_AVAILABLE) !== 0) {
      least = d;
      loh = doh;
    }
  }
  return least;
}

/** Weighted most-loaded member of a set with weight > 0, earliest on ties. */
function setMax(set: readonly Dest[]): Dest | null {
  const n = set.length;
  let i = 0;
  let most: Dest | null = null;
  for (; i < n; i++) {
    if (set[i].weight > 0) {
      most = set[i];
      break;
    }
  }
  if (most === null) return null;
  let moh = most.activeConns * 256 + most.inactConns;
  for (i++; i < n; i++) {
    const d = set[i];
    const doh = d.activeConns * 256 + d.inactConns;
    if (moh * d.weight < doh * most.weight && d.weight > 0) {
      most = d;
      moh = doh;
    }
  }
  return most;
}
