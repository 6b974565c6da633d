// rr — Round-Robin (ip_vs_rr.c).
//
// The scheduler keeps one pointer P into the service's dest list; P starts at the list
// head, i.e. before the first dest. To schedule, it looks at the dests circularly starting
// with the one after P, wrapping past the end to the first, and looks at P itself last.
// The first eligible dest (weight > 0, not OVERLOADed) is chosen and becomes P. If none
// is, there is "no destination available" and P stays. Weights other than 0 do not matter.
//
// From the head the order is simply list order, newest-added dest first (§2.8). Adding a
// dest does not move P. Deleting the dest under P moves P to the dest before it (or to
// the head if it was first), so the rotation continues where it would have.
//
// Here P is the Dest object plus its index in svc.dests (pIdx, -1 for the head). The index
// is re-found after every change of the list; schedule() only checks that it still holds.

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import type { SchedPacket, Scheduler } from './scheduler';

export class RrScheduler implements Scheduler {
  readonly name = 'rr';
  /** The last chosen dest; null is the list head. */
  private p: Dest | null = null;
  /** Index of `p` in svc.dests, or -1 for the head. */
  private pIdx = -1;

  addDest(svc: Service, _dest: Dest): void {
    this.relocate(svc);
  }

  delDest(svc: Service, dest: Dest): void {
    if (dest === this.p) {
      // pIdx is where the deleted dest was; its predecessor is now at pIdx - 1.
      const prev = this.pIdx - 1;
      this.p = prev >= 0 ? svc.dests[prev] : null;
      this.pIdx = prev >= 0 ? prev : -1;
    } else {
      this.relocate(svc);
    }
  }

  updDest(_svc: Service, _dest: Dest): void {}

  flagsChanged(_svc: Service): void {}

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    if (this.pIdx >= 0 && dests[this.pIdx] !== this.p) this.relocate(svc);
    let i = this.pIdx;
    for (let k = 0; k < n; k++) {
      if (++i >= n) i = 0;
      const d = dests[i];
      if (d.weight > 0 && (d.flags & DEST_F_NOSCHED) === 0) {
        this.p = d;
        this.pIdx = i;
        return d;
      }
    }
    return null;
  }

  private relocate(svc: Service): void {
    if (this.p === null) return;
    this.pIdx = svc.dests.indexOf(this.p);
    if (this.pIdx < 0) this.p = null;
  }
}
