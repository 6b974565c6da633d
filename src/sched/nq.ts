// nq — Never Queue (ip_vs_nq.c).
//
// Two speeds: if some eligible dest is idle (ActiveConn == 0), the new connection goes
// straight to the first such dest in list order, rather than queueing behind a faster
// but busy one. Otherwise it goes where sed would send it: the dest with the smallest
// (ActiveConn + 1) / weight, compared by cross-multiplying, earliest on ties. Eligible
// means not OVERLOADed and weight not 0.

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { type SchedPacket, StatelessScheduler } from './scheduler';

export class NqScheduler extends StatelessScheduler {
  readonly name = 'nq';

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    let least: Dest | null = null;
    let loh = 0;
    let lw = 0;
    for (let i = 0; i < n; i++) {
      const d = dests[i];
      if ((d.flags & DEST_F_NOSCHED) !== 0 || d.weight <= 0) continue;
      if (d.activeConns === 0) return d;
      const doh = d.activeConns + 1;
      if (least === null || loh * d.weight > doh * lw) {
        least = d;
        loh = doh;
        lw = d.weight;
      }
    }
    return least;
  }
}
