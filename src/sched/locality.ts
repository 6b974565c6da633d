// The per-service cache shared by lblc and lblcr: packet destination address -> entry
// (a dest for lblc, a set of dests for lblcr), with the kernel's garbage collection.
//
// Entries hang in 1024 buckets chosen by hash_32(daddr_fold, 10) and are matched on the
// full address, so two IPv6 addresses with the same fold stay apart. `lastuse` is the time
// of the last lookup that found the entry.
//
// Collection runs from tick(now) once every 60 s (the first run 60 s after the first
// tick), as the kernel's periodic timer does:
//   - on every 30th run since the last full sweep (a counter that starts at 1 and
//     advances only on runs that find the cache within its size), sweep every bucket and
//     drop entries idle for `expiration` seconds or more (sysctl lblc_expiration /
//     lblcr_expiration, 24 h by default);
//   - otherwise, if there are more than `maxSize` (16384) entries, aim to remove
//     (entries - maxSize)·4/3, at most maxSize/2: visit buckets from a rover onwards,
//     dropping every entry idle for 6 minutes or more, and stop after the bucket in which
//     the aim is reached. The rover remembers where to resume.
// As in kernels with "ipvs: bound LBLCR and LBLC cache growth" (§2.10, K1), no new entry is
// made while the cache holds 1.5·maxSize entries or more: the connection is still
// scheduled, only not cached. Without that bound a flood of distinct destination
// addresses could grow the cache without limit between collections.
//
// Time is in seconds and is whatever the last tick(now) said: the scheduler stamps
// lastuse with it, so its resolution is the tick period. Freed entries are kept on a
// free list and reused, so a warm cache allocates nothing.

import { hash32 } from './hash';
import type { SchedPacket } from './scheduler';

export const LOCALITY_TAB_BITS = 10;
export const LOCALITY_TAB_SIZE = 1 << LOCALITY_TAB_BITS;
const LOCALITY_TAB_MASK = LOCALITY_TAB_SIZE - 1;
/** Seconds between collections (CHECK_EXPIRE_INTERVAL). */
export const LOCALITY_CHECK_INTERVAL = 60;
/** Idle time after which an entry may go when the cache is over its size (ENTRY_TIMEOUT). */
export const LOCALITY_ENTRY_TIMEOUT = 6 * 60;
/** Default of lblc_expiration / lblcr_expiration, in seconds. */
export const LOCALITY_DEFAULT_EXPIRATION = 24 * 60 * 60;
/** A full sweep every this many collections (COUNT_FOR_FULL_EXPIRATION). */
export const LOCALITY_FULL_EVERY = 30;

/** What both caches' entries have: the destination address, last use and chain link. */
export abstract class LocalityEntry {
  af = 0;
  a0 = 0;
  a1 = 0;
  a2 = 0;
  a3 = 0;
  lastuse = 0;
  next: LocalityEntry | null = null;
  /** Drops references to dests when the entry is freed. */
  abstract clear(): void;
}

export class LocalityCache<E extends LocalityEntry> {
  private readonly buckets: (E | null)[] = Array.from({ length: LOCALITY_TAB_SIZE }, () => null);
  private readonly free: E[] = [];
  /** Number of entries. */
  entries = 0;
  /** Soft maximum of entries (the kernel's IP_VS_LBLC_TAB_SIZE * 16). */
  maxSize = LOCALITY_TAB_SIZE * 16;
  /** Seconds of idleness after which the full sweep drops an entry. */
  expiration = LOCALITY_DEFAULT_EXPIRATION;
  /** The time of the last tick, in seconds. */
  now = 0;
  private rover = 0;
  private counter = 1;
  private nextCheck = -1;

  /** The entry for the packet's destination address, or null. */
  get(pkt: SchedPacket): E | null {
    const af = pkt.af;
    const a = pkt.daddr;
    let e = this.buckets[hash32(pkt.dfold(), LOCALITY_TAB_BITS)];
    while (e !== null) {
      if (e.af === af && e.a0 === a[0] && e.a1 === a[1] && e.a2 === a[2] && e.a3 === a[3]) return e;
      e = e.next as E | null;
    }
    return null;
  }

  /** False when the cache is so full (>= 1.5·maxSize) that no entry should be added. */
  hasRoom(): boolean {
    return this.entries < this.maxSize + (this.maxSize >> 1);
  }

  /** A freed entry to reuse, or null (then the caller makes a new one). */
  recycled(): E | null {
    return this.free.length > 0 ? this.free.pop()! : null;
  }

  /** Links `e` in under the packet's destination address, last used now. */
  add(e: E, pkt: SchedPacket): void {
    const a = pkt.daddr;
    e.af = pkt.af;
    e.a0 = a[0];
    e.a1 = a[1];
    e.a2 = a[2];
    e.a3 = a[3];
    e.lastuse = this.now;
    const h = hash32(pkt.dfold(), LOCALITY_TAB_BITS);
    e.next = this.buckets[h];
    this.buckets[h] = e;
    this.entries++;
  }

  /** Advances the clock and runs a collection when one is due. */
  tick(now: number): void {
    this.now = now;
    if (this.nextCheck < 0) {
      this.nextCheck = now + LOCALITY_CHECK_INTERVAL;
    } else if (now >= this.nextCheck) {
      this.checkExpire(now);
      this.nextCheck = now + LOCALITY_CHECK_INTERVAL;
    }
  }

  private checkExpire(now: number): void {
    if (this.counter % LOCALITY_FULL_EVERY === 0) {
      // Full sweep, starting after the rover and going once round (the rover is unchanged).
      let j = this.rover;
      for (let i = 0; i < LOCALITY_TAB_SIZE; i++) {
        j = (j + 1) & LOCALITY_TAB_MASK;
        this.sweepBucket(j, now, this.expiration);
      }
      this.counter = 1;
      return;
    }
    if (this.entries <= this.maxSize) {
      this.counter++;
      return;
    }
    let goal = Math.trunc(((this.entries - this.maxSize) * 4) / 3);
    if (goal > this.maxSize >> 1) goal = this.maxSize >> 1;
    let j = this.rover;
    for (let i = 0; i < LOCALITY_TAB_SIZE; i++) {
      j = (j + 1) & LOCALITY_TAB_MASK;
      goal -= this.sweepBucket(j, now, LOCALITY_ENTRY_TIMEOUT);
      if (goal <= 0) break;
    }
    this.rover = j;
  }

  /** Frees the entries of bucket j idle for `idle` seconds or more at `now`; returns how many. */
  private sweepBucket(j: number, now: number, idle: number): number {
    let removed = 0;
    let prev: E | null = null;
    let e = this.buckets[j];
    while (e !== null) {
      const next = e.next as E | null;
      if (now >= e.lastuse + idle) {
        if (prev === null) this.buckets[j] = next;
        else prev.next = next;
        e.next = null;
        e.clear();
        this.free.push(e);
        this.entries--;
        removed++;
      } else {
        prev = e;
      }
      e = next;
    }
    return removed;
  }
}
