// The IPVS rate estimator (ip_vs_est.c, §2.12 of the reference).
//
// Every 2 seconds the estimator takes the counters' growth since the last sample and
// folds it into a smoothed average with weight 1/4:
//     sample = delta * 2^9   for conns and packets  (that is, per second * 2^10)
//     sample = delta * 2^4   for bytes              (per second * 2^5)
//     avg   += (sample - avg) >> 2
// and reports  rate = (avg + 0x1FF) >> 10  (cps, pps)  or  (avg + 0xF) >> 5  (bps).
// The kernel works in 64-bit integers with an arithmetic shift; we use doubles with
// Math.floor, which is the same arithmetic for every value a counter can reach.

import type { CounterSource } from './stats';

export const EST_INTERVAL_MS = 2000;

export class Estimator {
  private lastConns = 0;
  private lastInpkts = 0;
  private lastOutpkts = 0;
  private lastInbytes = 0;
  private lastOutbytes = 0;
  cps = 0;
  inpps = 0;
  outpps = 0;
  inbps = 0;
  outbps = 0;

  /** One 2-second tick. */
  sample(c: CounterSource): void {
    this.cps = ewma(this.cps, (c.conns - this.lastConns) * 512);
    this.inpps = ewma(this.inpps, (c.inpkts - this.lastInpkts) * 512);
    this.outpps = ewma(this.outpps, (c.outpkts - this.lastOutpkts) * 512);
    this.inbps = ewma(this.inbps, (c.inbytes - this.lastInbytes) * 16);
    this.outbps = ewma(this.outbps, (c.outbytes - this.lastOutbytes) * 16);
    this.remember(c);
  }

  /** Forget the averages and take the current counters as the new base. */
  reset(c: CounterSource): void {
    this.cps = this.inpps = this.outpps = this.inbps = this.outbps = 0;
    this.remember(c);
  }

  get rates(): RateSnapshot {
    return {
      cps: Math.floor((this.cps + 0x1ff) / 1024),
      inpps: Math.floor((this.inpps + 0x1ff) / 1024),
      outpps: Math.floor((this.outpps + 0x1ff) / 1024),
      inbps: Math.floor((this.inbps + 0xf) / 32),
      outbps: Math.floor((this.outbps + 0xf) / 32),
    };
  }

  private remember(c: CounterSource): void {
    this.lastConns = c.conns;
    this.lastInpkts = c.inpkts;
    this.lastOutpkts = c.outpkts;
    this.lastInbytes = c.inbytes;
    this.lastOutbytes = c.outbytes;
  }
}

export interface RateSnapshot {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

function ewma(avg: number, sample: number): number {
  return avg + Math.floor((sample - avg) / 4);
}
