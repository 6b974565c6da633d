// wrr — Weighted Round-Robin (ip_vs_wrr.c).
//
// The algorithm rests on three numbers derived from the weights:
//   di — the step: the greatest common divisor of all weights > 0 (1 if there are none);
//   mw — the top weight level: max weight - (di - 1);
//   cw — the current weight level, which walks down from mw in steps of di.
// A pass over the list at level cw picks, in list order, every dest that is not
// OVERLOADed and has weight >= cw. Lowering mw by di - 1 makes the last level of a cycle
// 1 rather than di, so a dest whose weight fell below di is still reached. A cycle is the
// passes at cw = mw, mw - di, …, down to a level <= di; a dest of weight w is picked
// about w/di times per cycle.
//
// State: cl, the position of the last pick (initially the list head, before the first
// dest), and cw. To schedule, walk forward from cl. Each time the walk runs off the end
// of the list, lower cw by di; when cw drops to 0 or below it restarts at mw. The walk
// gives up ("all destinations are overloaded") when a whole pass at the lowest level
// found nothing: when it started from the head, at once; otherwise it first finishes the
// dests up to and including the starting point. On a failure cl moves to the head, or to
// the starting dest if the walk stopped there.
//
// Any dest add, delete or edit resets cl to the head and recomputes di and mw; cw becomes
// mw if it is 0 or above mw, otherwise (when di > 1) it is rounded to a level of the new
// step: (cw / di) * di + 1. A scheduler bound to a service that already has dests
// (`-E … -s wrr`) starts at cw = mw: A4, B3, C2 gives A A B A B C A B C … A service
// created empty starts at mw = cw = 0; the first `-a` of weight w gives di = w and
// mw = w - (w - 1) = 1, so cw becomes 1 and stays 1 through later adds. After `-a` C2,
// B3, A4 the first pass is therefore at level 1: A B C, then A A B A B C A B C …

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import type { SchedPacket, Scheduler } from './scheduler';

export class WrrScheduler implements Scheduler {
  readonly name = 'wrr';
  /** Index in svc.dests of the last pick; -1 is the list head. Reset on every list change. */
  private cl = -1;
  private cw: number;
  private mw: number;
  private di: number;

  constructor(svc: Service) {
    this.di = gcdWeight(svc);
    this.mw = maxWeight(svc) - (this.di - 1);
    this.cw = this.mw;
  }

  addDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }

  updDest(svc: Service, _dest: Dest): void {
    this.changed(svc);
  }

  flagsChanged(_svc: Service): void {}

  schedule(svc: Service, _pkt: SchedPacket): Dest | null {
    if (this.mw === 0) return null;
    const dests = svc.dests;
    const n = dests.length;
    const last = this.cl;
    let stop = -2; // index at which to give up; -2: not yet known
    let lastPass = false;
    let restarted = false;
    let i = last;
    for (;;) {
      for (i++; i < n; i++) {
        const d = dests[i];
        if ((d.flags & DEST_F_NOSCHED) === 0 && d.weight >= this.cw) {
          this.cl = i;
          return d;
        }
        if (i === stop) {
          this.cl = i;
          return null;
        }
      }
      i = -1; // back at the head
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        // Give up after a full pass at the lowest level: either the pass that just ended
        // was one, or this walk began at the head and so has seen every dest.
        if (lastPass || last === -1) {
          this.cl = -1;
          return null;
        }
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      // The walk began after `last`, so the lowest-level pass must also cover the dests up
      // to and including `last` before giving up.
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }

  private changed(svc: Service): void {
    this.cl = -1;
    this.di = gcdWeight(svc);
    this.mw = maxWeight(svc) - (this.di - 1);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.trunc(this.cw / this.di) * this.di + 1;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** gcd of the weights > 0, or 1 when there are none. */
function gcdWeight(svc: Service): number {
  let g = 0;
  for (const d of svc.dests) if (d.weight > 0) g = g > 0 ? gcd(d.weight, g) : d.weight;
  return g || 1;
}

function maxWeight(svc: Service): number {
  let w = 0;
  for (const d of svc.dests) if (d.weight > w) w = d.weight;
  return w;
}
