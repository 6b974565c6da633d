// fo — Weighted Fail Over (ip_vs_fo.c).
//
// Weight is a priority, not a share: every new connection goes to the non-OVERLOADed dest
// with the highest weight (weight 0 never qualifies). Only a strictly higher weight
// replaces the current choice, so among equal weights the earliest in list order wins.
// Connection counts are not looked at; when the chosen dest is quiesced (weight 0) or
// becomes OVERLOADed, traffic fails over to the next-highest weight.

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { type SchedPacket, StatelessScheduler } from './scheduler';

export class FoScheduler extends StatelessScheduler {
  readonly name = 'fo';

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    let best: Dest | null = null;
    let hw = 0;
    for (let i = 0; i < n; i++) {
      const d = dests[i];
      if ((d.flags & DEST_F_NOSCHED) === 0 && d.weight > hw) {
        best = d;
        hw = d.weight;
      }
    }
    return best;
  }
}
