// sh — Source Hashing (ip_vs_sh.c).
//
// A table of 256 buckets maps a hash of the client's address (and, with the sh-port flag,
// its source port) to a dest, so a client keeps reaching the same dest for as long as the
// dest list and weights stay the same.
//
// Tiling: walk the dest list cyclically from the first dest; each dest fills `weight`
// consecutive buckets (weight 0 still takes one) until all 256 are filled. A dest's share
// of buckets is thus proportional to its weight. The table is re-tiled after every add,
// delete or edit of a dest (with the current weights).
//
// Lookup: bucket = hash_32(port + addr_fold, 8), where addr_fold is the IPv4 address or the
// XOR of the four 32-bit words of an IPv6 address (host order), port is the client's
// source port with sh-port and 0 otherwise, and the sum wraps modulo 2^32. If the bucket's
// dest is unavailable (weight <= 0 or OVERLOADed) scheduling fails — unless sh-fallback is
// set: then the buckets (k + 2·bucket) mod 256 for k = 0..255 are tried in turn (the
// kernel adds its rotating offset to the already-offset hash) and the first available
// dest wins. Flags are read at lookup time, so changing them needs no re-tiling.

import { DEST_F_NOSCHED, SVC_F_SCHED_SH_FALLBACK, SVC_F_SCHED_SH_PORT } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { hash32 } from './hash';
import type { SchedPacket, Scheduler } from './scheduler';

export const SH_TAB_BITS = 8;
export const SH_TAB_SIZE = 1 << SH_TAB_BITS;
const SH_TAB_MASK = SH_TAB_SIZE - 1;

export class ShScheduler implements Scheduler {
  readonly name = 'sh';
  /** bucket -> dest; all null while the service has no dests. */
  private readonly buckets: (Dest | null)[] = Array.from({ length: SH_TAB_SIZE }, () => null);

  constructor(svc: Service) {
    this.reassign(svc);
  }

  addDest(svc: Service, _dest: Dest): void {
    this.reassign(svc);
  }

  delDest(svc: Service, _dest: Dest): void {
    this.reassign(svc);
  }

  updDest(svc: Service, _dest: Dest): void {
    this.reassign(svc);
  }

  flagsChanged(_svc: Service): void {}

  /** The dest tiled into `bucket` (for tests and `explain`). */
  bucket(i: number): Dest | null {
    return this.buckets[i & SH_TAB_MASK];
  }

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    const port = (svc.schedFlags & SVC_F_SCHED_SH_PORT) !== 0 ? pkt.cport : 0;
    const ihash = shHashKey(pkt.cfold(), port);
    let d = this.buckets[ihash];
    if (d === null) return null;
    if (d.weight > 0 && (d.flags & DEST_F_NOSCHED) === 0) return d;
    if ((svc.schedFlags & SVC_F_SCHED_SH_FALLBACK) === 0) return null;
    for (let offset = 0; offset < SH_TAB_SIZE; offset++) {
      d = this.buckets[(offset + 2 * ihash) & SH_TAB_MASK];
      if (d === null) break;
      if (d.weight > 0 && (d.flags & DEST_F_NOSCHED) === 0) return d;
    }
    return null;
  }

  private reassign(svc: Service): void {
    const dests = svc.dests;
    const n = dests.length;
    if (n === 0) {
      this.buckets.fill(null);
      return;
    }
    let p = 0;
    let count = 0;
    for (let i = 0; i < SH_TAB_SIZE; i++) {
      const d = dests[p];
      this.buckets[i] = d;
      if (++count >= d.weight) {
        count = 0;
        if (++p === n) p = 0;
      }
    }
  }
}

/** The sh bucket of a client: hash_32(port + addr_fold mod 2^32, 8). */
export function shHashKey(addrFold: number, port: number): number {
  return hash32(port + addrFold, SH_TAB_BITS);
}
