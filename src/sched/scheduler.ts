// The scheduler interface every IPVS algorithm implements (ip_vs_scheduler in the kernel),
// and the packet facts a scheduler may look at.
//
// A scheduler instance belongs to one service. It is told about dest changes through
// addDest/delDest/updDest (called after the service's dest list has changed) and
// returns a dest, or null when none is available, from schedule(). State the algorithm
// needs (round-robin pointer, hash tables, caches) stays private to the instance.

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';

/** What the schedulers may read from the packet. Reused: never allocated per packet. */
export class SchedPacket {
  af = 2;
  /** Client (source) address, host-order words; IPv4 in word 0. */
  readonly caddr = new Uint32Array(4);
  cport = 0;
  /** Packet destination address (the VIP, or any address for fwmark services). */
  readonly daddr = new Uint32Array(4);
  dport = 0;

  /** Source address folded to 32 bits (IPv4 value, or XOR of the IPv6 words). */
  cfold(): number {
    return this.af === 2 ? this.caddr[0] : (this.caddr[0] ^ this.caddr[1] ^ this.caddr[2] ^ this.caddr[3]) >>> 0;
  }

  /** Destination address folded to 32 bits. */
  dfold(): number {
    return this.af === 2 ? this.daddr[0] : (this.daddr[0] ^ this.daddr[1] ^ this.daddr[2] ^ this.daddr[3]) >>> 0;
  }

  setV4(caddr: number, cport: number, daddr: number, dport: number): this {
    this.af = 2;
    this.caddr[0] = caddr;
    this.caddr[1] = this.caddr[2] = this.caddr[3] = 0;
    this.cport = cport;
    this.daddr[0] = daddr;
    this.daddr[1] = this.daddr[2] = this.daddr[3] = 0;
    this.dport = dport;
    return this;
  }
}

export interface Scheduler {
  readonly name: string;
  /** A dest was inserted (at the head of svc.dests). */
  addDest(svc: Service, dest: Dest): void;
  /** A dest was removed from svc.dests (dest is no longer in the list). */
  delDest(svc: Service, dest: Dest): void;
  /** A dest's weight, thresholds or forwarding method changed. */
  updDest(svc: Service, dest: Dest): void;
  /** The service's scheduler flags changed (sh/mh read them). */
  flagsChanged(svc: Service): void;
  /** Picks a dest for a new connection, or null ("no destination available"). */
  schedule(svc: Service, pkt: SchedPacket): Dest | null;
  /** Periodic housekeeping (lblc/lblcr cache expiry); `now` in seconds. */
  tick?(now: number): void;
}

/** Creates a scheduler bound to `svc`, which may already hold dests (`-E … -s X`). */
export type SchedulerFactory = (svc: Service) => Scheduler;

/** Eligible for new connections: weight > 0 and not OVERLOADed (§2.10). */
export function eligible(d: Dest): boolean {
  return d.weight > 0 && (d.flags & DEST_F_NOSCHED) === 0;
}

/**
 * Base for algorithms that keep no per-dest state (lc, wlc, sed, nq, fo, ovf, twos): dest
 * and flag changes need no work because schedule() reads the live dest list.
 */
export abstract class StatelessScheduler implements Scheduler {
  abstract readonly name: string;
  addDest(_svc: Service, _dest: Dest): void {}
  delDest(_svc: Service, _dest: Dest): void {}
  updDest(_svc: Service, _dest: Dest): void {}
  flagsChanged(_svc: Service): void {}
  abstract schedule(svc: Service, pkt: SchedPacket): Dest | null;
}
