// mh — Maglev Hashing (ip_vs_mh.c; Eisenbud et al., "Maglev", NSDI 2016, §3.4).
//
// A lookup table of M slots (M prime) maps a hash of the client to a dest. It is built so
// that every dest owns a share of slots proportional to its weight, and so that adding or
// removing one dest moves few slots of the others: directors that share the same dest
// list build the same table and send a flow to the same dest without sharing state.
//
// Each dest gets a preference order over all M slots, a permutation derived from its
// address and port:  v = port + addr_fold (mod 2^32),  offset = H1(v) mod M,
// skip = H2(v) mod (M - 1) + 1, and its j-th preferred slot is (offset + j·skip) mod M
// (M prime, so this visits every slot). H1 and H2 are the kernel's hsiphash of the 4
// bytes of v with fixed keys 2654435761 and 2654446892 (see hsiphash.ts).
//
// Weights become "turns": g = gcd of the dests' last non-zero weights (last_weight, so
// quiescing a dest to weight 0 leaves the table, and every other client's dest, as it
// was; §2.7); rshift = max(0, fls(max/g) - tab_bits) keeps the turn counts small (tab_bits
// is half the kernel's table index, 6 for the default 4093); turns = (lw/g) >> rshift, at
// least 1 for a dest with lw != 0, 0 for lw == 0 (such a dest gets no slots).
//
// Populate: go round the dest list again and again; in each round a dest claims `turns`
// slots, each being its next preferred slot that is still free; stop as soon as all M
// slots are taken. If no dest has a non-zero last weight the table stays empty.
//
// Lookup: slot = H1(port + client addr_fold) mod M, with port = the client's source port
// under the mh-port flag, else 0. If the slot's dest is unavailable (weight <= 0 or
// OVERLOADed) scheduling fails, unless mh-fallback is set: then for k = 0..M-1 the slot
// H1(((k + slot) mod M) + port + addr_fold) mod M is tried, the first available dest
// wins, and an empty slot ends the search.
//
// M is 4093 by default (the kernel's CONFIG_IP_VS_MH_TAB_INDEX 12); other sizes from the
// kernel's prime list can be chosen per instance or as the default for new services.
// The table holds indexes into a snapshot of the dest list taken at the last rebuild; the
// rebuild allocates nothing per slot (a bitmap of taken slots and per-dest typed arrays).

import { AF_INET, DEST_F_NOSCHED, SVC_F_SCHED_MH_FALLBACK, SVC_F_SCHED_MH_PORT } from '../core/constants';
import type { Addr } from '../core/addr';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import { hsiphashU32 } from './hsiphash';
import type { SchedPacket, Scheduler } from './scheduler';

/** The kernel's table sizes, for CONFIG_IP_VS_MH_TAB_INDEX 8..17. */
export const MH_PRIMES: readonly number[] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];
export const MH_DEFAULT_TAB_SIZE = 4093;
export const MH_H1_KEY = 2654435761;
export const MH_H2_KEY = 2654446892;

let defaultTableSize = MH_DEFAULT_TAB_SIZE;

/** Table size used by mh schedulers created from now on (the registry's factory). */
export function setMhDefaultTableSize(size: number): void {
  checkTableSize(size);
  defaultTableSize = size;
}

export function mhDefaultTableSize(): number {
  return defaultTableSize;
}

function checkTableSize(size: number): void {
  if (!MH_PRIMES.includes(size)) {
    throw new RangeError(`mh table size must be one of ${MH_PRIMES.join(', ')}`);
  }
}

/** First slot of the permutation of a dest whose key is v = port + addr_fold. */
export function mhOffset(v: number, size: number): number {
  return hsiphashU32(v >>> 0, MH_H1_KEY) % size;
}

/** Step of the permutation of a dest whose key is v = port + addr_fold. */
export function mhSkip(v: number, size: number): number {
  return (hsiphashU32(v >>> 0, MH_H2_KEY) % (size - 1)) + 1;
}

export class MhScheduler implements Scheduler {
  readonly name = 'mh';
  /** M, the number of slots. */
  readonly size: number;
  /** The kernel's IP_VS_MH_TAB_BITS: half its table index (6 for 4093). */
  private readonly tabBits: number;
  /** slot -> index into `snap`; -1 when the table is empty. */
  private readonly lookup: Int32Array;
  /** The dest list as of the last rebuild. */
  private snap: Dest[] = [];
  private readonly taken: Uint8Array;
  private perm = new Int32Array(16);
  private skip = new Int32Array(16);
  private turns = new Int32Array(16);

  constructor(svc: Service, tableSize = defaultTableSize) {
    checkTableSize(tableSize);
    this.size = tableSize;
    this.tabBits = (8 + MH_PRIMES.indexOf(tableSize)) >> 1;
    this.lookup = new Int32Array(tableSize).fill(-1);
    this.taken = new Uint8Array(tableSize);
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

  /** mh-port and mh-fallback are read at lookup time; the table does not depend on them. */
  flagsChanged(_svc: Service): void {}

  /** The dest in `slot` (for tests and `explain`). */
  slot(slot: number): Dest | null {
    const j = this.lookup[slot];
    return j < 0 ? null : this.snap[j];
  }

  schedule(svc: Service, pkt: SchedPacket): Dest | null {
    const m = this.size;
    const v = ((svc.schedFlags & SVC_F_SCHED_MH_PORT) !== 0 ? pkt.cport : 0) + pkt.cfold();
    const ihash = hsiphashU32(v >>> 0, MH_H1_KEY) % m;
    let j = this.lookup[ihash];
    if (j < 0) return null;
    let d = this.snap[j];
    if (d.weight > 0 && (d.flags & DEST_F_NOSCHED) === 0) return d;
    if ((svc.schedFlags & SVC_F_SCHED_MH_FALLBACK) === 0) return null;
    for (let offset = 0; offset < m; offset++) {
      let roffset = offset + ihash;
      if (roffset >= m) roffset -= m;
      j = this.lookup[hsiphashU32((roffset + v) >>> 0, MH_H1_KEY) % m];
      if (j < 0) break;
      d = this.snap[j];
      if (d.weight > 0 && (d.flags & DEST_F_NOSCHED) === 0) return d;
    }
    return null;
  }

  private reassign(svc: Service): void {
    const m = this.size;
    const dests = svc.dests;
    const nd = dests.length;
    this.snap = dests.slice();
    let g = 0;
    let maxLw = 0;
    for (let i = 0; i < nd; i++) {
      const lw = dests[i].lastWeight;
      if (lw > 0) g = g > 0 ? gcd(lw, g) : lw;
      if (lw > maxLw) maxLw = lw;
    }
    if (g < 1) {
      this.lookup.fill(-1);
      return;
    }
    const rshift = Math.max(0, fls(Math.trunc(maxLw / g)) - this.tabBits);
    if (this.perm.length < nd) {
      const cap = Math.max(nd, this.perm.length * 2);
      this.perm = new Int32Array(cap);
      this.skip = new Int32Array(cap);
      this.turns = new Int32Array(cap);
    }
    const perm = this.perm;
    const skip = this.skip;
    const turns = this.turns;
    for (let i = 0; i < nd; i++) {
      const d = dests[i];
      const v = (d.port + addrFold(svc.af, d.addr)) >>> 0;
      perm[i] = mhOffset(v, m);
      skip[i] = mhSkip(v, m);
      const lw = d.lastWeight;
      turns[i] = (Math.trunc(lw / g) >> rshift) || (lw !== 0 ? 1 : 0);
    }

    const taken = this.taken;
    const lookup = this.lookup;
    taken.fill(0);
    let n = 0;
    let dt = 0;
    fill: for (;;) {
      for (let i = 0; i < nd; ) {
        const t = turns[i];
        if (t < 1) {
          i++;
          continue;
        }
        let c = perm[i];
        if (taken[c] !== 0) {
          const s = skip[i];
          do {
            c += s;
            c -= m & ((m - 1 - c) >> 31); // c >= m ? c - m : c, without a branch to mispredict
          } while (taken[c] !== 0);
          perm[i] = c;
        }
        taken[c] = 1;
        lookup[c] = i;
        if (++n === m) break fill;
        if (++dt >= t) {
          dt = 0;
          i++;
        }
      }
    }
  }
}

/** The schedulers' addr_fold of a dest address, as the kernel folds it with svc->af. */
function addrFold(af: number, addr: Addr): number {
  const w = addr.w;
  return af === AF_INET ? w[0] : (w[0] ^ w[1] ^ w[2] ^ w[3]) >>> 0;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Find last set bit: 1-based position of the highest set bit, 0 for 0. */
function fls(x: number): number {
  return 32 - Math.clz32(x);
}
