// wlc — Weighted Least-Connection, the default scheduler (ip_vs_wlc.c).
//
// A dest's load is its overhead divided by its weight, where
//     overhead = ActiveConn * 256 + InActConn
// (an active connection costs 256 idle ones). The new connection goes to the dest with the
// smallest load. Dividing would need fractions, so two dests L and D are compared by
// cross-multiplying: D is less loaded than L when
//     overhead(L) * weight(D) > overhead(D) * weight(L).
// The scan takes the first dest in list order that is eligible (weight > 0, not
// OVERLOADed) as the candidate L, then walks the rest of the list, skipping OVERLOADed
// dests, and replaces L only on a strict improvement, so ties go to the earlier dest
// (the newest added, §2.8). A later dest with weight 0 can never win: 0 > x is false.
// The products stay below 2^53 (overhead < 2^40, weight < 2^16), so doubles are exact.
//
// lblc and lblcr use the same selection over the whole service (wlcSelect).

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { type SchedPacket, StatelessScheduler } from './scheduler';

/** The weighted least-overhead eligible dest of `dests`, earliest on ties; null if none. */
export function wlcSelect(dests: readonly Dest[]): Dest | null {
  const n = dests.length;
  let i = 0;
  let least: Dest | null = null;
  for (; i < n; i++) {
    const d = dests[i];
    if ((d.flags & DEST_F_NOSCHED) === 0 && d.weight > 0) {
      least = d;
      break;
    }
  }
  if (least === null) return null;
  let loh = least.activeConns * 256 + least.inactConns;
  let lw = least.weight;
  for (i++; i < n; i++) {
    const d = dests[i];
    if ((d.flags & DEST_F_NOSCHED) !== 0) continue;
    const doh = d.activeConns * 256 + d.inactConns;
    if (loh * d.weight > doh * lw) {
      least = d;
      loh = doh;
      lw = d.weight;
    }
  }
  return least;
}

export class WlcScheduler extends StatelessScheduler {
  readonly name = 'wlc';

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    return wlcSelect(svc.dests);
  }
}
