// sed — Shortest Expected Delay (ip_vs_sed.c).
//
// A job sent to server i expects to wait (C_i + 1) / U_i, where C_i is the number of jobs
// already there (its ActiveConn; inactive connections are ignored) and U_i its service
// rate (its weight). The new connection goes to the dest that minimises that delay. As in
// wlc the ratios are compared by cross-multiplying, and the scan is the same: the first
// eligible dest (weight > 0, not OVERLOADed) in list order is the candidate, later
// non-overloaded dests replace it only when strictly better, so ties go to the earliest.
// Unlike wlc, an idle fast server beats an idle slow one: (0 + 1) / 10 < (0 + 1) / 1.

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { type SchedPacket, StatelessScheduler } from './scheduler';

export class SedScheduler extends StatelessScheduler {
  readonly name = 'sed';

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
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
    let loh = least.activeConns + 1;
    let lw = least.weight;
    for (i++; i < n; i++) {
      const d = dests[i];
      if ((d.flags & DEST_F_NOSCHED) !== 0) continue;
      const doh = d.activeConns + 1;
      if (loh * d.weight > doh * lw) {
        least = d;
        loh = doh;
        lw = d.weight;
      }
    }
    return least;
  }
}
