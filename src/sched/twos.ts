// twos — Power of Two Choices (ip_vs_twos.c, after Mitzenmacher).
//
// Pick two dests at random, each with probability proportional to its weight, and give the
// connection to the less loaded of the two. With W the sum of the weights of the eligible
// dests (weight > 0, not OVERLOADed; none: fail), draw r1 and r2 uniformly from the W + 1
// integers 0..W. Walk the eligible dests in list order subtracting each weight from r1
// and from r2; the first dest at which r1 reaches 0 or below is choice 1, likewise r2 gives
// choice 2. (So the first dest is drawn for r = 0 as well: with weight w its chance is
// (w + 1) / (W + 1), as in the kernel.) Return choice 2 if its load per weight is lower:
//     weight2 * overhead1 > weight1 * overhead2,
// with overhead = ActiveConn * 256 + InActConn; otherwise choice 1.
//
// The random source can be replaced (tests inject a fixed sequence).

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { type SchedPacket, StatelessScheduler } from './scheduler';

/** Returns a uniformly distributed integer in [0, max] (both ends included). */
export type TwosRandom = (max: number) => number;

export const mathRandomInclusive: TwosRandom = (max) => Math.floor(Math.random() * (max + 1));

export class TwosScheduler extends StatelessScheduler {
  readonly name = 'twos';
  private readonly random: TwosRandom;

  constructor(random: TwosRandom = mathRandomInclusive) {
    super();
    this.random = random;
  }

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    const dests = svc.dests;
    const n = dests.length;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = dests[i];
      if ((d.flags & DEST_F_NOSCHED) === 0 && d.weight > 0) total += d.weight;
    }
    if (total === 0) return null;
    let r1 = this.random(total);
    let r2 = this.random(total);
    let choice1: Dest | null = null;
    let choice2: Dest | null = null;
    for (let i = 0; i < n && (choice1 === null || choice2 === null); i++) {
      const d = dests[i];
      const w = d.weight;
      if ((d.flags & DEST_F_NOSCHED) !== 0 || w <= 0) continue;
      r1 -= w;
      r2 -= w;
      if (r1 <= 0 && choice1 === null) choice1 = d;
      if (r2 <= 0 && choice2 === null) choice2 = d;
    }
    // With r1, r2 <= total both walks end on a dest; an out-of-range injected random
    // number could leave one unset.
    if (choice1 === null || choice2 === null) return choice1 ?? choice2;
    const c1 = choice1;
    const c2 = choice2;
    const oh1 = c1.activeConns * 256 + c1.inactConns;
    const oh2 = c2.activeConns * 256 + c2.inactConns;
    return c2.weight * oh1 > c1.weight * oh2 ? c2 : c1;
  }
}
