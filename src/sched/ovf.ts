// ovf — Overflow-connection (ip_vs_ovf.c).
//
// Weight is both a priority and a capacity in active connections. A dest qualifies while
// it is not OVERLOADed, its weight is not 0 and its ActiveConn does not exceed its weight;
// among the qualifying dests the one with the highest weight gets the connection (earliest
// in list order on equal weights). So all connections go to the heaviest dest until it
// holds more active connections than its weight, then they overflow to the next one.
// Only active connections count, so UDP (always inactive, §2.3) never overflows.

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { type SchedPacket, StatelessScheduler } from './scheduler';

export class OvfScheduler extends StatelessScheduler {
  readonly name = 'ovf';

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    let best: Dest | null = null;
    let hw = 0;
    for (let i = 0; i < n; i++) {
      const d = dests[i];
      const w = d.weight;
      if ((d.flags & DEST_F_NOSCHED) !== 0 || d.activeConns > w || w <= 0) continue;
      if (best === null || w > hw) {
        best = d;
        hw = w;
      }
    }
    return best;
  }
}
