// Traffic counters per service and per real server, with ipvsadm's zeroing semantics
// (-Z keeps Active/InAct, zeroes the rest and the rate estimator).
//
// Counters are plain numbers (doubles): exact up to 2^53, far beyond what a director
// reaches between restarts. The data plane bumps them in place per packet.

import { Estimator } from './estimator';

export class Stats {
  conns = 0;
  inpkts = 0;
  outpkts = 0;
  inbytes = 0;
  outbytes = 0;
  readonly est = new Estimator();

  zero(): void {
    this.conns = 0;
    this.inpkts = 0;
    this.outpkts = 0;
    this.inbytes = 0;
    this.outbytes = 0;
    this.est.reset(this);
  }

  add(o: Stats): void {
    this.conns += o.conns;
    this.inpkts += o.inpkts;
    this.outpkts += o.outpkts;
    this.inbytes += o.inbytes;
    this.outbytes += o.outbytes;
  }
}

/** The five counters, as read by the estimator and by listings. */
export interface CounterSource {
  readonly conns: number;
  readonly inpkts: number;
  readonly outpkts: number;
  readonly inbytes: number;
  readonly outbytes: number;
}
