// dh — Destination Hashing (ip_vs_dh.c).
//
// Like sh, but keyed by the packet's destination address, for cache clusters where each
// origin address should always be fetched through the same cache server. A table of 256
// buckets is tiled with one dest per bucket, round-robin over the dest list in list order
// (weights play no part in the tiling), and rebuilt when a dest is added or deleted.
// Lookup: bucket = hash_32(daddr_fold, 8), with daddr_fold the IPv4 destination address
// or the XOR of the four words of an IPv6 one. If that dest is unavailable (weight <= 0
// or OVERLOADed) scheduling fails; there is no fallback.

import { DEST_F_NOSCHED } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { hash32 } from './hash';
import type { SchedPacket, Scheduler } from './scheduler';

export const DH_TAB_BITS = 8;
export const DH_TAB_SIZE = 1 << DH_TAB_BITS;

export class DhScheduler implements Scheduler {
  readonly name = 'dh';
  private readonly buckets: (Dest | null)[] = Array.from({ length: DH_TAB_SIZE }, () => null);

  constructor(svc: Service) {
    this.reassign(svc);
  }

  addDest(svc: Service, _dest: Dest): void {
    this.reassign(svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    this.reassign(svc);
  }

  /** The tiling ignores weights, so an edit changes nothing (the kernel has no upd hook). */
  updDest(_svc: Service, _dest: Dest): void {}

  flagsChanged(_svc: Service): void {}

  /** The dest tiled into `bucket` (for tests and `explain`). */
  bucket(i: number): Dest | null {
    return this.buckets[i & (DH_TAB_SIZE - 1)];
  }

  schedule(_svc: Service, pkt: SchedPacket): Dest | null {
    const d = this.buckets[hash32(pkt.dfold(), DH_TAB_BITS)];
    if (d === null || d.weight <= 0 || (d.flags & DEST_F_NOSCHED) !== 0) return null;
    return d;
  }

  private reassign(svc: Service): void {
    const dests = svc.dests;
    const n = dests.length;
    for (let i = 0; i < DH_TAB_SIZE; i++) this.buckets[i] = n === 0 ? null : dests[i % n];
  }
}
