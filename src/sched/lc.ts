// lc — Least-Connection (ip_vs_lc.c).
//
// The new connection goes to the dest with the smallest overhead
//     ActiveConn * 256 + InActConn,
// skipping OVERLOADed dests and dests of weight 0 (quiesced). The weight's size plays no
// other part: a dest of weight 1 and one of weight 100 with equal overhead are equal.
// The comparison is a strict "<", so on ties the earliest dest in list order wins.

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { type SchedPacket, StatelessScheduler } from './scheduler';

export class LcScheduler extends StatelessScheduler {
  readonly name = 'lc';

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    let least: Dest | null = null;
    let loh = 0;
    for (let i = 0; i < n; i++) {
      const d = dests[i];
      if ((d.flags & DEST_F_NOSCHED) !== 0 || d.weight <= 0) continue;
      const doh = d.activeConns * 256 + d.inactConns;
      if (least === null || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}
