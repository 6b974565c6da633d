// The connection table: every connection and persistence template of one data-plane shard,
// held in ONE typed array of fixed-size records (no object per entry, nothing allocated per
// lookup or insert).
//
// Why this shape (ARCHITECTURE.md, hot-path rule 3). A big table is bound by memory latency:
// a lookup in a table of millions of entries costs a cache miss and often a TLB miss. So
//   * a record is 32 bytes (IPv4) and records are interleaved, never split into parallel
//     arrays: the key, the dest, the state and the timer link of a connection share one
//     64-byte cache line, and a lookup touches exactly one line in the common case;
//   * open addressing with linear probing: the next candidate is the neighbouring record,
//     usually in the same line (two IPv4 records per line) or the next one (which the
//     hardware prefetcher fetches);
//   * batches are looked up in stages (hash all, touch all, then compare), so the misses of a
//     whole RX batch overlap instead of being paid one after the other (lookupBatch4);
//   * expiry is a coarse timer wheel threaded through the records themselves, never one
//     timer object per connection.
// Measured (bench/conn-table.ts, on the shared 2-vCPU test VM): the hash and compare work of
// a lookup is of the same order as the miss there, so staging gains 20-45 % over single
// lookups at 1M-10M entries rather than reaching the random-read floor; hugepage memory
// ('huge') gains another ~20 % at 10M entries (fewer TLB misses): use it for big tables.
// Addon memory is page aligned, so no record straddles two cache lines; 'js' memory has no
// such guarantee (malloc typically returns big blocks 16 bytes past a page boundary), but
// aligned memory without hugepages ('mmap') measured the same as 'js'.
//
// IPv4 record (af=4), 8 x uint32 = 32 bytes, slot i at rec[i*8]:
//   w0 META     bits 0-1 status (0 EMPTY, 1 LIVE, 2 TOMBSTONE, 3 DYING), bit 2 TEMPLATE,
//               bit 3 REAPED (a zombie, see below), bits 4-7 state, bits 8-15 proto, bits 16-23 spare (sync packet counter),
//               bits 24-31 connection flags byte: 24-26 fwd method, 27 NOOUTPUT,
//               28 INACTIVE, 29 NO_CPORT, 30 SYNC, 31 spare
//   w1 caddr (host order)   w2 (cport << 16) | vport   w3 vaddr
//   w4 dest id   w5 expires (tick)   w6 wheel next (slot+1, 0 = end)
//   w7 control: normal conn = slot+1 of its persistence template (0 = none);
//               template = number of child conns.
// IPv6 record (af=6), 16 words = 64 bytes: w0 META, w1-4 caddr, w5 ports, w6-9 vaddr,
//   w10 dest, w11 expires, w12 next, w13 control, w14-15 pad. The generic accessors use the
//   readonly offset fields (wCaddr, wPorts, ...); the IPv4 fast paths use the constants.
//
// Hashing (as IPVS, §2.5): the home slot depends on (proto, caddr, cport) ONLY, so the
// director can find a NAT reply (whose destination is the client) from the same bucket.
// The words are mixed murmur3-style with a random 32-bit seed, and the 32-bit hash is mapped
// to [0, slots) by "fastrange", floor(h * slots / 2^32), so `slots` need not be a power of
// two. The full key compared on a lookup is (proto, template bit, caddr, cport, vaddr, vport):
// one masked compare of w0 (status LIVE + template + proto) then w1, w2, w3.
//
// Probing. Linear, wrapping at `slots`. A lookup walks from the home slot and stops at the
// first EMPTY slot; LIVE records are compared; TOMBSTONE (freed) and DYING (killed, waiting
// to be reaped) records never match but do not stop the walk. An insert (the caller has just
// missed, so the key is absent) takes the first TOMBSTONE or EMPTY slot on the path.
// Freeing a slot writes EMPTY instead of TOMBSTONE when the next slot is EMPTY (nothing
// beyond it can depend on it) and then turns the TOMBSTONEs before it into EMPTY, going
// backwards, for the same reason. Tombstones that remain are erased in place by sweep(),
// which never moves a record: a tombstone at p can become EMPTY when no record after p in
// its cluster has its home at or before p (one backward pass per cluster). tick() sweeps
// slots/32 slots per call once tombstones pass 1/16 of the slots.
// Only when LIVE+DYING+TOMBSTONE still passes ~0.8 of the slots after a full sweep is the
// table rebuilt in fresh memory of the same size (rehash(): every LIVE/DYING record is
// re-inserted, the wheel is rebuilt, the w7 child->template links are remapped through an
// old->new slot map). That is the one real pause of this table: it is a pass over all
// slots with a random write per record plus first-touch faults of the new memory, which
// needs twice the table's memory for a moment; measured on the (slow, shared) 2-vCPU test
// VM: 1M entries ~0.4 s, 10M entries ~3 s (bench rehash1MMs / rehash10MMs). A full sweep of
// the 1M table costs ~60 ms. At the default load factor 0.5 the sweep keeps tombstones far
// below the limit under heavy churn (a 100K table with 10 % turnover per second did not
// rehash once), so a rebuild is an exception, not a schedule.
//
// Timer wheel. `wheelSize` buckets, one per tick (1 tick = 1 s) modulo wheelSize; a bucket
// is a singly linked list threaded through w6, heads in a Uint32Array. A record is linked
// into bucket (expires mod wheelSize) when inserted. setExpires() is LAZY: it writes w5 and
// does not relink. tick(now) processes every tick from the last processed one up to now
// (each bucket at most once per call, so a late call costs at most one turn of the wheel;
// option tickBudget also bounds the records per call); it detaches the bucket's list and
// walks it:
//   * expires > now          -> re-link into the bucket of its expires (the fresh list of
//                               this bucket, never the one being walked): lazy re-arm;
//   * due (LIVE or DYING)    -> r = expire(slot): r > now keeps it with expires r (e.g. a
//                               template that still has children is re-armed for 60 s);
//                               anything else (0) frees it.
// Records leave the table ONLY there (and in eviction), because a singly linked list can
// only be unlinked while it is walked.
// Shortened expiries. Laziness is free when an expiry moves later (every packet), but an
// expiry moved EARLIER (ES 900 s -> CLOSE 10 s) would only be noticed at the record's next
// wheel visit, up to wheelSize ticks late. So setExpires() queues a reminder (a slot number
// in a small fixed pool, listed per bucket like the wheel) when the expiry moves earlier.
// A reminder whose record is due runs expire() on time; an expired record cannot be
// unlinked there, so it becomes a zombie (DYING + M_REAPED: unmatchable, not listed, already
// accounted for) that its own wheel visit frees without calling expire() again. Since every
// record is visited at least once per turn of the wheel and re-linked exactly when its
// expiry is less than a turn away, expiry is exact to the tick unless the reminder pool
// overflows (then `lateExpiries` counts it, and it is at most wheelSize ticks late).
//
// Capacity. occupied (LIVE+DYING, zombies included) never exceeds maxConns. When full,
// zombies are reclaimed first (any policy); then policy 'refuse' refuses (refusedFull++),
// and policy 'drop-inactive' (what IPVS's drop_entry aims at) walks the wheel from the
// current tick forward (soonest to expire first) and evicts a small batch of LIVE,
// non-template records with the INACTIVE flag, calling onEvict(slot) first, visiting a
// bounded number of records; if nothing can be evicted it refuses, and does not search
// again until the next tick. The table never grows. The table never changes w7 when it
// frees a record: unbinding a child from its template is the director's job, in expire()
// and onEvict().

import { native } from '../io/native';

// ---- record layout, IPv4 ----
const W_META = 0;
const W_CADDR = 1;
const W_PORTS = 2;
const W_VADDR = 3;
const W_DEST = 4;
const W_EXPIRES = 5;
const W_NEXT = 6;
const W_CONTROL = 7;
const REC_WORDS4 = 8;
const REC_SHIFT4 = 3;

// ---- record layout, IPv6 ----
const W6_META = 0;
const W6_CADDR = 1; // 4 words
const W6_PORTS = 5;
const W6_VADDR = 6; // 4 words
const W6_DEST = 10;
const W6_EXPIRES = 11;
const W6_NEXT = 12;
const W6_CONTROL = 13;
const REC_WORDS6 = 16;
const REC_SHIFT6 = 4;

// ---- META word ----
const M_STATUS = 0x3;
const ST_EMPTY = 0;
const ST_LIVE = 1;
const ST_TOMBSTONE = 2;
const ST_DYING = 3;
const SHIFT_TEMPLATE = 2;
const M_TEMPLATE = 0x4;
/** Bit 3, set with status DYING: already expired by a reminder, only waiting to be unlinked. */
const M_REAPED = 0x8;
const SHIFT_STATE = 4;
const M_STATE = 0xf0;
const SHIFT_PROTO = 8;
const M_PROTO = 0xff00;
const SHIFT_SPARE = 16;
const M_SPARE = 0xff0000;
const SHIFT_FLAGS = 24;
const M_FLAGS = 0xff000000;
/** The bits of w0 a lookup compares: status (must be LIVE), template, proto. */
const M_KEY = M_STATUS | M_TEMPLATE | M_PROTO;
// flag bits as they sit in the META word
const M_FWD = 0x07000000;
const M_NOOUTPUT = 0x08000000;
const M_INACTIVE = 0x10000000;
const M_NO_CPORT = 0x20000000;
const M_SYNC = 0x40000000;

// ---- connection flags byte (flags(slot) / setFlags / insert's flagsByte) ----
const FL_FWD_MASK = 0x07; // FWD_MASQ 0, FWD_LOCALNODE 1, FWD_TUNNEL 2, FWD_DROUTE 3, FWD_BYPASS 4
const FL_NOOUTPUT = 0x08;
const FL_INACTIVE = 0x10;
const FL_NO_CPORT = 0x20;
const FL_SYNC = 0x40;
const FL_SPARE = 0x80;

/** Keys per stage in lookupBatch4 (stage buffers are preallocated of this size). */
const LOOKUP_BATCH = 64;
/** Words per key in lookupBatch4's key array: proto|tmpl<<8, caddr, cport, vaddr, vport. */
const BATCH_KEY_WORDS = 5;


// Exported as a list, not as `export const`: TypeScript's CommonJS output turns every use of
// an `export const` inside this module into an `exports.NAME` property load, which costs
// real time in the hot loops below. Listed exports keep the module-local constants.
export {
  W_META, W_CADDR, W_PORTS, W_VADDR, W_DEST, W_EXPIRES, W_NEXT, W_CONTROL, REC_WORDS4,
  REC_SHIFT4, W6_META, W6_CADDR, W6_PORTS, W6_VADDR, W6_DEST, W6_EXPIRES, W6_NEXT, W6_CONTROL,
  REC_WORDS6, REC_SHIFT6, M_STATUS, ST_EMPTY, ST_LIVE, ST_TOMBSTONE, ST_DYING, SHIFT_TEMPLATE,
  M_TEMPLATE, M_REAPED, SHIFT_STATE, M_STATE, SHIFT_PROTO, M_PROTO, SHIFT_SPARE, M_SPARE, SHIFT_FLAGS,
  M_FLAGS, M_KEY, M_FWD, M_NOOUTPUT, M_INACTIVE, M_NO_CPORT, M_SYNC, FL_FWD_MASK, FL_NOOUTPUT,
  FL_INACTIVE, FL_NO_CPORT, FL_SYNC, FL_SPARE, LOOKUP_BATCH, BATCH_KEY_WORDS,
};

const TWO32 = 4294967296;
/** Rebuild when LIVE+DYING+TOMBSTONE reaches this fraction of the slots. */
const REHASH_FILL = 0.8;

// ---- hashing: murmur3_32 rounds over the key words, seeded ----

function mround(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

// Internally hashes stay int32 (always a small integer for V8, never a boxed number when
// they cross a call); `>>> 0` is applied where the value is used.
function h4(seed: number, proto: number, caddr: number, cport: number): number {
  return fmix(mround(mround(seed, caddr), ((cport & 0xffff) << 8) | (proto & 0xff)) ^ 8);
}

function h6(seed: number, proto: number, c0: number, c1: number, c2: number, c3: number, cport: number): number {
  let h = mround(seed, c0);
  h = mround(h, c1);
  h = mround(h, c2);
  h = mround(h, c3);
  return fmix(mround(h, ((cport & 0xffff) << 8) | (proto & 0xff)) ^ 20);
}

/** Seeded hash of an IPv4 (proto, caddr, cport). Result is a uint32. */
export function hashKey4(seed: number, proto: number, caddr: number, cport: number): number {
  return h4(seed | 0, proto, caddr | 0, cport) >>> 0;
}

/** Seeded hash of an IPv6 (proto, caddr[4], cport). Result is a uint32. */
export function hashKey6(
  seed: number, proto: number, c0: number, c1: number, c2: number, c3: number, cport: number,
): number {
  return h6(seed | 0, proto, c0 | 0, c1 | 0, c2 | 0, c3 | 0, cport) >>> 0;
}

export type ConnPolicy = 'refuse' | 'drop-inactive';
export type ConnMemory = 'js' | 'mmap' | 'huge';

export interface ConnTableOptions {
  af: 4 | 6;
  maxConns: number;
  /** maxConns / slots; default 0.5. At most 0.75. */
  loadFactor?: number;
  /** Hash seed; default random. */
  seed?: number;
  policy?: ConnPolicy;
  /** 'js' plain ArrayBuffer; 'mmap' page-aligned addon memory; 'huge' the same with MADV_HUGEPAGE. */
  memory?: ConnMemory;
  wheelSize?: number;
  /** Initial tick (already processed). */
  now?: number;
  /** Records tick() may visit per call before leaving the rest for the next call; 0 = no limit (default). */
  tickBudget?: number;
  /** Records one eviction attempt may visit (policy 'drop-inactive'); default 4096. */
  evictScan?: number;
  /**
   * Size of the reminder pool that makes shortened expiries exact (see setExpires);
   * default maxConns/16 clamped to [1024, 2^21]; 0 = purely lazy. 8 bytes each.
   */
  reminders?: number;
}

/** Hook called with a slot that is about to be evicted (its record is still intact). */
export type EvictHook = (slot: number) => void;
/** Called by tick() for a due record: return a tick > now to keep it until then, 0 to free it. */
export type ExpireFn = (slot: number) => number;

export class ConnTable {
  readonly af: 4 | 6;
  readonly maxConns: number;
  readonly slots: number;
  readonly policy: ConnPolicy;
  /** What the memory actually is ('mmap'/'huge' fall back to 'js' without the addon). */
  readonly memory: ConnMemory;
  readonly wheelSize: number;
  readonly loadFactor: number;

  // record geometry (both families; IPv4 fast paths use the W_* constants instead)
  readonly recWords: number;
  readonly recShift: number;
  readonly wCaddr: number;
  readonly wPorts: number;
  readonly wVaddr: number;
  readonly wDest: number;
  readonly wExpires: number;
  readonly wNext: number;
  readonly wControl: number;

  /** The records. Replaced by a rehash: read it through the table, do not keep it. */
  rec: Uint32Array;
  /** The same memory as int32 (hot paths). */
  private ri: Int32Array;
  /** Wheel bucket heads, slot+1 (0 = empty). */
  private readonly heads: Uint32Array;
  private readonly seed: number;
  /** slots / 2^32, so fastrange is one multiply. */
  private readonly scale: number;
  private readonly rehashAt: number;
  private readonly tickBudget: number;
  private readonly evictScan: number;
  private readonly evictBatch: number;

  private nLive = 0;
  private nOcc = 0;
  private nTomb = 0;
  private last: number;
  private pending = 0; // unwalked remainder of a budget-limited tick(), slot+1
  private inTick = false;
  private visited = 0; // records the last walk() visited
  private evictFailedAt = -1;
  // reminder pool: entry e = (remSlot[e], remNext[e] = next entry + 1), lists per bucket
  private readonly remSlot: Int32Array;
  private readonly remNext: Int32Array;
  private readonly remHeads: Int32Array;
  private remFree = 0; // free list head, entry + 1
  private nRem = 0;
  private nZombie = 0;
  private sweepAt = 0; // sweep cursor (slot)
  private readonly sweepFrom: number;
  private readonly sweepChunk: number;

  private readonly bSlot = new Int32Array(LOOKUP_BATCH);
  /** Sink for the touch stage, so the loads are not optimised away. */
  private sink = 0;

  /** Set by the director: called before a record is evicted (fix dest/template counters). */
  onEvict: EvictHook | null = null;
  /** Inserts refused because the table was full (and nothing could be evicted). */
  refusedFull = 0;
  /** Records evicted by policy 'drop-inactive'. */
  evicted = 0;
  /** Tombstone clean-up rebuilds. */
  rehashes = 0;
  /** Tombstones turned back into EMPTY by sweep() (not counting free()'s own clean-up). */
  swept = 0;
  /** Shortened expiries that could not get a reminder (pool full): they fire late. */
  lateExpiries = 0;

  constructor(o: ConnTableOptions) {
    if (o.af !== 4 && o.af !== 6) throw new RangeError('ConnTable: af must be 4 or 6');
    const maxConns = Math.floor(o.maxConns);
    if (!(maxConns >= 1)) throw new RangeError('ConnTable: maxConns must be >= 1');
    const lf = o.loadFactor ?? 0.5;
    if (!(lf > 0 && lf <= 0.75)) throw new RangeError('ConnTable: loadFactor must be in (0, 0.75]');
    let slots = Math.ceil(maxConns / lf);
    if (slots & 1) slots++;
    if (slots < maxConns + 2) slots = (maxConns + 3) & ~1;
    this.af = o.af;
    this.recWords = o.af === 4 ? REC_WORDS4 : REC_WORDS6;
    this.recShift = o.af === 4 ? REC_SHIFT4 : REC_SHIFT6;
    // slot << recShift must stay a non-negative int32
    if (slots > 2 ** (31 - this.recShift)) throw new RangeError('ConnTable: too many slots');
    this.maxConns = maxConns;
    this.slots = slots;
    this.loadFactor = lf;
    this.scale = slots / TWO32;
    // Rebuild at 80 % fill, but always leave head-room above maxConns and at least one EMPTY.
    this.rehashAt = Math.min(slots - 1, Math.max(Math.floor(slots * REHASH_FILL), maxConns + ((slots - maxConns) >> 1)));
    this.sweepFrom = slots >> 4;
    this.sweepChunk = Math.max(4096, Math.ceil(slots / 32));
    this.policy = o.policy ?? 'refuse';
    this.wheelSize = Math.max(1, Math.floor(o.wheelSize ?? 256));
    this.last = Math.floor(o.now ?? 0);
    this.seed = (o.seed ?? (Math.random() * TWO32)) | 0;
    this.tickBudget = o.tickBudget && o.tickBudget > 0 ? Math.floor(o.tickBudget) : Infinity;
    this.evictScan = Math.max(1, Math.floor(o.evictScan ?? 4096));
    this.evictBatch = Math.max(1, maxConns >> 10);
    if (o.af === 4) {
      this.wCaddr = W_CADDR; this.wPorts = W_PORTS; this.wVaddr = W_VADDR; this.wDest = W_DEST;
      this.wExpires = W_EXPIRES; this.wNext = W_NEXT; this.wControl = W_CONTROL;
    } else {
      this.wCaddr = W6_CADDR; this.wPorts = W6_PORTS; this.wVaddr = W6_VADDR; this.wDest = W6_DEST;
      this.wExpires = W6_EXPIRES; this.wNext = W6_NEXT; this.wControl = W6_CONTROL;
    }
    let mem: ConnMemory = o.memory ?? 'js';
    if (mem !== 'js') {
      try { native(); } catch { mem = 'js'; }
    }
    this.memory = mem;
    this.rec = this.alloc();
    this.ri = new Int32Array(this.rec.buffer, this.rec.byteOffset, this.rec.length);
    this.heads = new Uint32Array(this.wheelSize);
    const P = Math.max(0, Math.floor(o.reminders ?? Math.min(1 << 21, Math.max(1024, maxConns >> 4))));
    this.remSlot = new Int32Array(P);
    this.remNext = new Int32Array(P);
    this.remHeads = new Int32Array(this.wheelSize);
    for (let e = 0; e < P; e++) this.remNext[e] = e + 2 <= P ? e + 2 : 0;
    this.remFree = P > 0 ? 1 : 0;
  }

  private alloc(): Uint32Array {
    const words = this.slots * this.recWords;
    if (this.memory === 'js') return new Uint32Array(words);
    return new Uint32Array(native().allocHuge(words * 4, this.memory === 'huge'), 0, words);
  }

  // ---------------------------------------------------------------- sizes and counters

  /** LIVE records. */
  get size(): number { return this.nLive; }
  /** LIVE + DYING records (what maxConns bounds). */
  get occupied(): number { return this.nOcc; }
  get tombstones(): number { return this.nTomb; }
  /** Bytes of the records plus the wheel heads. */
  get bytes(): number {
    return this.rec.byteLength + this.heads.byteLength + this.bSlot.byteLength +
      this.remSlot.byteLength + this.remNext.byteLength + this.remHeads.byteLength;
  }
  /** Records already expired by a reminder (status DYING + M_REAPED) not yet unlinked; part of occupied. */
  get zombies(): number { return this.nZombie; }
  /** Reminders pending. */
  get reminders(): number { return this.nRem; }
  /** The last tick processed by tick(). */
  get currentTick(): number { return this.last; }
  /** True when a budget-limited tick() left records unvisited: call tick() again soon. */
  get tickBehind(): boolean { return this.pending !== 0; }

  // ---------------------------------------------------------------- hashing / probing

  hash4(proto: number, caddr: number, cport: number): number {
    return hashKey4(this.seed, proto, caddr, cport);
  }

  hash6(proto: number, caddr: Uint32Array, coff: number, cport: number): number {
    return hashKey6(this.seed, proto, caddr[coff], caddr[coff + 1], caddr[coff + 2], caddr[coff + 3], cport);
  }

  /** Home slot of a hash: floor(hash * slots / 2^32). */
  firstSlot(hash: number): number {
    return ((hash >>> 0) * this.scale) | 0;
  }

  nextSlot(slot: number): number {
    const n = slot + 1;
    return n === this.slots ? 0 : n;
  }

  /** ST_EMPTY, ST_LIVE, ST_TOMBSTONE or ST_DYING. */
  status(slot: number): number {
    return this.rec[slot << this.recShift] & M_STATUS;
  }

  // ---------------------------------------------------------------- lookups
  //
  // The hot paths read and write the records through `ri`, an Int32Array over the same
  // memory, and turn every key word into an int32 (`| 0`) first: int32 values never need a
  // boxed heap number in V8 (uint32 values >= 2^31 do whenever they cross a call that is not
  // inlined), so compares are plain 32-bit compares and nothing is allocated.

  /** Slot of the LIVE record with this key, or -1. IPv4 tables only. */
  lookupIn4(proto: number, caddr: number, cport: number, vaddr: number, vport: number, template: number): number {
    const c = caddr | 0;
    return this.probe4(
      ((h4(this.seed, proto, c, cport) >>> 0) * this.scale) | 0,
      ST_LIVE | ((template & 1) << SHIFT_TEMPLATE) | ((proto & 0xff) << SHIFT_PROTO),
      c, ((cport & 0xffff) << 16) | (vport & 0xffff), vaddr | 0,
    );
  }

  /** Linear probe from slot i for a LIVE record with META key bits `want` and these words. */
  private probe4(i: number, want: number, caddr: number, ports: number, vaddr: number): number {
    const ri = this.ri;
    const slots = this.slots;
    for (;;) {
      const b = i << REC_SHIFT4;
      const m = ri[b];
      if ((m & M_KEY) === want) {
        if (ri[b + W_CADDR] === caddr && ri[b + W_PORTS] === ports && ri[b + W_VADDR] === vaddr) return i;
      } else if ((m & M_STATUS) === ST_EMPTY) {
        return -1;
      }
      if (++i === slots) i = 0;
    }
  }

  /**
   * Looks up n IPv4 keys (BATCH_KEY_WORDS words each in `keys`: proto | template << 8, caddr,
   * cport, vaddr, vport) and writes each slot or -1 to out[0..n). Done LOOKUP_BATCH keys at a
   * time in stages: hash every key to its home slot, touch (load the META word of) every home
   * slot so the cache misses are all in flight together, then compare and probe.
   */
  lookupBatch4(n: number, keys: Uint32Array, out: Int32Array): void {
    const ri = this.ri;
    const seed = this.seed;
    const scale = this.scale;
    const bs = this.bSlot;
    const slots = this.slots;
    for (let base = 0; base < n; base += LOOKUP_BATCH) {
      const m = n - base < LOOKUP_BATCH ? n - base : LOOKUP_BATCH;
      // stage 1: hash
      for (let j = 0, k = base * BATCH_KEY_WORDS; j < m; j++, k += BATCH_KEY_WORDS) {
        bs[j] = ((h4(seed, keys[k] & 0xff, keys[k + 1] | 0, keys[k + 2]) >>> 0) * scale) | 0;
      }
      // stage 2: touch
      let t = 0;
      for (let j = 0; j < m; j++) t ^= ri[bs[j] << REC_SHIFT4];
      this.sink ^= t;
      // stage 3: compare / probe (probe4 written out: this loop is the hottest in the table)
      for (let j = 0, k = base * BATCH_KEY_WORDS; j < m; j++, k += BATCH_KEY_WORDS) {
        const w0 = keys[k] | 0;
        const want = ST_LIVE | ((w0 >>> 6) & M_TEMPLATE) | ((w0 & 0xff) << SHIFT_PROTO);
        const caddr = keys[k + 1] | 0;
        const ports = ((keys[k + 2] & 0xffff) << 16) | (keys[k + 4] & 0xffff);
        const vaddr = keys[k + 3] | 0;
        let i = bs[j];
        let r = -1;
        for (;;) {
          const b = i << REC_SHIFT4;
          const mw = ri[b];
          if ((mw & M_KEY) === want) {
            if (ri[b + W_CADDR] === caddr && ri[b + W_PORTS] === ports && ri[b + W_VADDR] === vaddr) { r = i; break; }
          } else if ((mw & M_STATUS) === ST_EMPTY) {
            break;
          }
          if (++i === slots) i = 0;
        }
        out[base + j] = r;
      }
    }
  }

  /** Slot of the LIVE record with this key, or -1. IPv6 tables only. */
  lookupIn6(
    proto: number, caddr: Uint32Array, coff: number, cport: number,
    vaddr: Uint32Array, voff: number, vport: number, template: number,
  ): number {
    const c0 = caddr[coff] | 0, c1 = caddr[coff + 1] | 0, c2 = caddr[coff + 2] | 0, c3 = caddr[coff + 3] | 0;
    const v0 = vaddr[voff] | 0, v1 = vaddr[voff + 1] | 0, v2 = vaddr[voff + 2] | 0, v3 = vaddr[voff + 3] | 0;
    const want = ST_LIVE | ((template & 1) << SHIFT_TEMPLATE) | ((proto & 0xff) << SHIFT_PROTO);
    const ports = ((cport & 0xffff) << 16) | (vport & 0xffff);
    const ri = this.ri;
    const slots = this.slots;
    let i = ((h6(this.seed, proto, c0, c1, c2, c3, cport) >>> 0) * this.scale) | 0;
    for (;;) {
      const b = i << REC_SHIFT6;
      const m = ri[b];
      if ((m & M_KEY) === want) {
        if (ri[b + 1] === c0 && ri[b + 2] === c1 && ri[b + 3] === c2 && ri[b + 4] === c3 &&
            ri[b + W6_PORTS] === ports &&
            ri[b + 6] === v0 && ri[b + 7] === v1 && ri[b + 8] === v2 && ri[b + 9] === v3) return i;
      } else if ((m & M_STATUS) === ST_EMPTY) {
        return -1;
      }
      if (++i === slots) i = 0;
    }
  }

  // ---------------------------------------------------------------- insert

  /**
   * Inserts a LIVE record (the caller has just missed, so the key is absent) and links it
   * into the wheel. Returns its slot, or -1 when the table is full (see policy).
   */
  insert4(
    proto: number, caddr: number, cport: number, vaddr: number, vport: number, template: number,
    destId: number, flagsByte: number, state: number, expires: number,
  ): number {
    if (this.nOcc >= this.maxConns || this.nOcc + this.nTomb >= this.rehashAt) {
      if (!this.room()) return -1;
    }
    const ri = this.ri;
    const slots = this.slots;
    const c = caddr | 0;
    let i = ((h4(this.seed, proto, c, cport) >>> 0) * this.scale) | 0;
    for (;;) {
      const st = ri[i << REC_SHIFT4] & M_STATUS;
      if (st === ST_EMPTY) break;
      if (st === ST_TOMBSTONE) { this.nTomb--; break; }
      if (++i === slots) i = 0;
    }
    const b = i << REC_SHIFT4;
    ri[b] = ST_LIVE | ((template & 1) << SHIFT_TEMPLATE) | ((state & 0xf) << SHIFT_STATE) |
      ((proto & 0xff) << SHIFT_PROTO) | ((flagsByte & 0xff) << SHIFT_FLAGS);
    ri[b + W_CADDR] = c;
    ri[b + W_PORTS] = ((cport & 0xffff) << 16) | (vport & 0xffff);
    ri[b + W_VADDR] = vaddr | 0;
    ri[b + W_DEST] = destId | 0;
    ri[b + W_EXPIRES] = expires | 0;
    ri[b + W_CONTROL] = 0;
    this.link(i, expires);
    this.nLive++;
    this.nOcc++;
    return i;
  }

  insert6(
    proto: number, caddr: Uint32Array, coff: number, cport: number,
    vaddr: Uint32Array, voff: number, vport: number, template: number,
    destId: number, flagsByte: number, state: number, expires: number,
  ): number {
    if (this.nOcc >= this.maxConns || this.nOcc + this.nTomb >= this.rehashAt) {
      if (!this.room()) return -1;
    }
    const ri = this.ri;
    const slots = this.slots;
    const c0 = caddr[coff] | 0, c1 = caddr[coff + 1] | 0, c2 = caddr[coff + 2] | 0, c3 = caddr[coff + 3] | 0;
    let i = ((h6(this.seed, proto, c0, c1, c2, c3, cport) >>> 0) * this.scale) | 0;
    for (;;) {
      const st = ri[i << REC_SHIFT6] & M_STATUS;
      if (st === ST_EMPTY) break;
      if (st === ST_TOMBSTONE) { this.nTomb--; break; }
      if (++i === slots) i = 0;
    }
    const b = i << REC_SHIFT6;
    ri[b] = ST_LIVE | ((template & 1) << SHIFT_TEMPLATE) | ((state & 0xf) << SHIFT_STATE) |
      ((proto & 0xff) << SHIFT_PROTO) | ((flagsByte & 0xff) << SHIFT_FLAGS);
    ri[b + 1] = c0; ri[b + 2] = c1; ri[b + 3] = c2; ri[b + 4] = c3;
    ri[b + W6_PORTS] = ((cport & 0xffff) << 16) | (vport & 0xffff);
    ri[b + 6] = vaddr[voff] | 0; ri[b + 7] = vaddr[voff + 1] | 0; ri[b + 8] = vaddr[voff + 2] | 0; ri[b + 9] = vaddr[voff + 3] | 0;
    ri[b + W6_DEST] = destId | 0;
    ri[b + W6_EXPIRES] = expires | 0;
    ri[b + W6_CONTROL] = 0;
    ri[b + 14] = 0; ri[b + 15] = 0;
    this.link(i, expires);
    this.nLive++;
    this.nOcc++;
    return i;
  }

  /** Makes sure one more record fits (evicting or rehashing if needed); false = refused. */
  private room(): boolean {
    if (this.nOcc >= this.maxConns) {
      // zombies (already expired) are reclaimed under either policy
      if (this.nZombie > 0 || this.policy === 'drop-inactive') this.evict();
      if (this.nOcc >= this.maxConns) {
        this.refusedFull++;
        return false;
      }
    }
    if (this.nOcc + this.nTomb >= this.rehashAt) {
      if (!this.inTick) this.cleanUp();
      else if (this.nOcc + this.nTomb >= this.slots - 1) { // must keep one EMPTY; rehash after the tick
        this.refusedFull++;
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- accessors

  meta(slot: number): number { return this.rec[slot << this.recShift]; }
  /** status(slot) === ST_LIVE (not killed, not free). */
  isLive(slot: number): boolean { return (this.rec[slot << this.recShift] & M_STATUS) === ST_LIVE; }
  isTemplate(slot: number): boolean { return (this.rec[slot << this.recShift] & M_TEMPLATE) !== 0; }
  proto(slot: number): number { return (this.rec[slot << this.recShift] >>> SHIFT_PROTO) & 0xff; }

  state(slot: number): number { return (this.rec[slot << this.recShift] >>> SHIFT_STATE) & 0xf; }
  setState(slot: number, state: number): void {
    const b = slot << this.recShift;
    this.rec[b] = (this.rec[b] & ~M_STATE) | ((state & 0xf) << SHIFT_STATE);
  }

  /** The connection flags byte (FL_*). */
  flags(slot: number): number { return this.rec[slot << this.recShift] >>> SHIFT_FLAGS; }
  setFlags(slot: number, flagsByte: number): void {
    const b = slot << this.recShift;
    this.rec[b] = (this.rec[b] & 0x00ffffff) | ((flagsByte & 0xff) << SHIFT_FLAGS);
  }

  /** The spare META byte (bits 16-23; meant for the sync packet counter). */
  spare(slot: number): number { return (this.rec[slot << this.recShift] >>> SHIFT_SPARE) & 0xff; }
  setSpare(slot: number, v: number): void {
    const b = slot << this.recShift;
    this.rec[b] = (this.rec[b] & ~M_SPARE) | ((v & 0xff) << SHIFT_SPARE);
  }

  destId(slot: number): number { return this.rec[(slot << this.recShift) + this.wDest]; }
  setDestId(slot: number, destId: number): void { this.rec[(slot << this.recShift) + this.wDest] = destId; }

  expires(slot: number): number { return this.rec[(slot << this.recShift) + this.wExpires]; }
  /**
   * LAZY: stores the tick and does not relink (a later expiry is picked up when the wheel
   * next visits the record). Only when the expiry moves EARLIER (ES 900 s -> CLOSE 10 s)
   * does it also queue a reminder, so that the record still expires on time.
   */
  setExpires(slot: number, tick: number): void {
    const w = (slot << this.recShift) + this.wExpires;
    const old = this.rec[w];
    this.rec[w] = tick;
    if (tick < old) this.remind(slot, tick);
  }

  /** Normal conn: slot+1 of its template (0 none). Template: number of child conns. */
  control(slot: number): number { return this.rec[(slot << this.recShift) + this.wControl]; }
  setControl(slot: number, v: number): void { this.rec[(slot << this.recShift) + this.wControl] = v; }

  /** Client address (IPv4; the first word for IPv6, see caddrWord). */
  caddr(slot: number): number { return this.rec[(slot << this.recShift) + this.wCaddr]; }
  vaddr(slot: number): number { return this.rec[(slot << this.recShift) + this.wVaddr]; }
  /** Word k (0..3) of an IPv6 client address. */
  caddrWord(slot: number, k: number): number { return this.rec[(slot << this.recShift) + this.wCaddr + k]; }
  vaddrWord(slot: number, k: number): number { return this.rec[(slot << this.recShift) + this.wVaddr + k]; }
  cport(slot: number): number { return this.rec[(slot << this.recShift) + this.wPorts] >>> 16; }
  vport(slot: number): number { return this.rec[(slot << this.recShift) + this.wPorts] & 0xffff; }

  /** LIVE -> DYING: never matches again, keeps its slot and its timer until reaped by tick(). */
  kill(slot: number): boolean {
    const b = slot << this.recShift;
    const m = this.rec[b];
    if ((m & M_STATUS) !== ST_LIVE) return false;
    this.rec[b] = m | ST_DYING;
    this.nLive--;
    return true;
  }

  /** Calls fn(slot) for every LIVE or DYING record (not for zombies), in slot order. */
  forEach(fn: (slot: number) => void): void {
    const rec = this.rec;
    const sh = this.recShift;
    for (let i = 0; i < this.slots; i++) {
      // LIVE (1) and DYING (3) have bit 0 set; zombies also have M_REAPED
      if ((rec[i << sh] & (1 | M_REAPED)) === 1) fn(i);
    }
  }

  // ---------------------------------------------------------------- timer wheel

  /** Links slot into the bucket of tick e (or of the next tick to process if e is past). */
  private link(slot: number, e: number): void {
    const t = e > this.last ? e : this.last + 1;
    const bk = t % this.wheelSize;
    this.rec[(slot << this.recShift) + this.wNext] = this.heads[bk];
    this.heads[bk] = slot + 1;
  }

  /**
   * Advances the wheel to `now`, reaping due records through expire(slot) (see the header).
   * Each bucket is processed at most once per call. Returns the number of records freed.
   * expire() may change the record and others (kill, setState, setControl, setExpires) but
   * should not insert.
   */
  tick(now: number, expire: ExpireFn): number {
    if (this.inTick) return 0;
    this.inTick = true;
    const W = this.wheelSize;
    const heads = this.heads;
    let freed = 0;
    let budget = this.tickBudget;
    try {
      if (this.pending !== 0) {
        const head = this.pending;
        this.pending = 0;
        const r = this.walk(head, now, expire, budget);
        freed += r;
        budget -= this.visited;
      }
      let t = this.last + 1;
      if (now - this.last > W) t = now - W + 1;
      for (; t <= now && this.pending === 0; t++) {
        const bk = t % W;
        const head = heads[bk];
        heads[bk] = 0;
        this.last = t;
        if (this.remHeads[bk] !== 0) freed += this.fire(bk, now, expire);
        if (head !== 0) {
          freed += this.walk(head, now, expire, budget);
          budget -= this.visited;
        }
      }
      if (this.pending === 0 && now > this.last) this.last = now;
    } finally {
      this.inTick = false;
    }
    if (this.nOcc + this.nTomb >= this.rehashAt) this.cleanUp();
    else if (this.nTomb > this.sweepFrom) this.sweep(this.sweepChunk);
    return freed;
  }

  /** Walks a detached list; leaves the rest in `pending` if the budget runs out. */
  private walk(cur: number, now: number, expire: ExpireFn, budget: number): number {
    const rec = this.rec;
    const sh = this.recShift;
    const wExp = this.wExpires;
    const wNext = this.wNext;
    let freed = 0;
    let n = 0;
    while (cur !== 0) {
      if (n >= budget) { this.pending = cur; break; }
      n++;
      const i = cur - 1;
      const b = i << sh;
      cur = rec[b + wNext];
      if ((rec[b] & M_REAPED) !== 0) { this.free(i); continue; } // expired earlier by a reminder
      const e = rec[b + wExp];
      if (e > now) { this.link(i, e); continue; }
      const r = expire(i);
      if (r > now) {
        this.rec[b + wExp] = r;
        this.link(i, r);
      } else {
        this.free(i);
        freed++;
      }
    }
    this.visited = n;
    return freed;
  }

  /** Frees a LIVE/DYING slot already unlinked from the wheel. */
  private free(i: number): void {
    const rec = this.rec;
    const sh = this.recShift;
    const slots = this.slots;
    const b = i << sh;
    const m = rec[b];
    if ((m & M_STATUS) === ST_LIVE) this.nLive--;
    else if ((m & M_REAPED) !== 0) this.nZombie--;
    this.nOcc--;
    const nx = i + 1 === slots ? 0 : i + 1;
    if ((rec[nx << sh] & M_STATUS) !== ST_EMPTY) {
      rec[b] = ST_TOMBSTONE;
      this.nTomb++;
      return;
    }
    rec[b] = ST_EMPTY;
    let p = i === 0 ? slots - 1 : i - 1;
    while ((rec[p << sh] & M_STATUS) === ST_TOMBSTONE) {
      rec[p << sh] = ST_EMPTY;
      this.nTomb--;
      p = p === 0 ? slots - 1 : p - 1;
    }
  }

  // ---------------------------------------------------------------- reminders
  //
  // A record sits in ONE wheel list (w6) and a singly linked list cannot unlink it, so an
  // expiry made earlier by setExpires cannot move the record. Instead a reminder (slot) is
  // queued in the bucket of the new expiry, in a separate fixed pool of entries. When the
  // bucket comes up, a reminder whose record is due runs expire() exactly as the wheel would:
  // keep (r > now: expires = r, and a new reminder) or expire. An expired record cannot be
  // unlinked there either, so it becomes a zombie (status DYING + M_REAPED): unmatchable,
  // skipped by forEach, already accounted for by the director; its own wheel visit (or an
  // eviction walk, which reclaims zombies first) frees it silently. Reminders are hints:
  // one whose slot was freed and reused just checks the current record, which is harmless
  // (if that record is due it is expired, as the wheel would do). A shortened expiry is exact
  // when it lies within wheelSize ticks and the pool had room (else lateExpiries counts it,
  // and it fires at the record's next wheel visit, at most wheelSize ticks late).

  private remind(slot: number, tick: number): void {
    const last = this.last;
    if (tick - last > this.wheelSize) return; // the wheel visits it before then anyway
    const e1 = this.remFree;
    if (e1 === 0) { this.lateExpiries++; return; }
    const e = e1 - 1;
    this.remFree = this.remNext[e];
    const bk = (tick > last ? tick : last + 1) % this.wheelSize;
    this.remSlot[e] = slot;
    this.remNext[e] = this.remHeads[bk];
    this.remHeads[bk] = e1;
    this.nRem++;
  }

  /** Runs the reminders of bucket bk (detached first). Returns records expired. */
  private fire(bk: number, now: number, expire: ExpireFn): number {
    const rec = this.rec;
    const sh = this.recShift;
    const wExp = this.wExpires;
    const W = this.wheelSize;
    const remSlot = this.remSlot;
    const remNext = this.remNext;
    let e1 = this.remHeads[bk];
    this.remHeads[bk] = 0;
    let expired = 0;
    while (e1 !== 0) {
      const e = e1 - 1;
      e1 = remNext[e];
      const s = remSlot[e];
      remNext[e] = this.remFree; // release the entry first: remind() below may reuse it
      this.remFree = e + 1;
      this.nRem--;
      if (s < 0) continue;
      const b = s << sh;
      const m = rec[b];
      if ((m & (1 | M_REAPED)) !== 1) continue; // free, or already a zombie
      const x = rec[b + wExp];
      if (x > now) { // extended again since: keep watching if it is near
        if (x - now <= W) this.remind(s, x);
        continue;
      }
      const r = expire(s);
      if (r > now) {
        rec[b + wExp] = r;
        this.remind(s, r);
      } else {
        const m2 = rec[b]; // expire() may have killed it
        if ((m2 & M_STATUS) === ST_LIVE) this.nLive--;
        rec[b] = m2 | ST_DYING | M_REAPED;
        this.nZombie++;
        expired++;
      }
    }
    return expired;
  }

  // ---------------------------------------------------------------- eviction

  /**
   * Frees up to evictBatch records, soonest bucket first, visiting at most evictScan
   * records: zombies (already expired, no hook) always, and with policy 'drop-inactive' LIVE
   * non-template INACTIVE records (onEvict first, counted in `evicted`). Returns how many
   * were freed. After a fruitless search it does not search again until the wheel advances.
   */
  private evict(): number {
    if (this.evictFailedAt === this.last) return 0;
    const rec = this.rec;
    const heads = this.heads;
    const sh = this.recShift;
    const wNext = this.wNext;
    const W = this.wheelSize;
    const want = this.evictBatch;
    const cap = this.evictScan;
    const hook = this.onEvict;
    const victims = this.policy === 'drop-inactive';
    let got = 0;
    let dropped = 0;
    let visits = 0;
    for (let k = 1; k <= W && got < want && visits < cap; k++) {
      const bk = (this.last + k) % W;
      let prev = 0;
      let cur = heads[bk];
      while (cur !== 0 && got < want && visits < cap) {
        visits++;
        const i = cur - 1;
        const b = i << sh;
        const nx = rec[b + wNext];
        const m = rec[b];
        const zombie = (m & M_REAPED) !== 0;
        if (zombie || (victims && (m & (M_STATUS | M_TEMPLATE | M_INACTIVE)) === (ST_LIVE | M_INACTIVE))) {
          if (prev === 0) heads[bk] = nx;
          else rec[((prev - 1) << sh) + wNext] = nx;
          if (!zombie) {
            if (hook !== null) hook(i);
            dropped++;
          }
          this.free(i);
          got++;
        } else {
          prev = cur;
        }
        cur = nx;
      }
    }
    this.evicted += dropped;
    if (got === 0) this.evictFailedAt = this.last;
    return got;
  }

  // ---------------------------------------------------------------- tombstone clean-up

  /** Over the fill limit: a full sweep, and a rebuild only if the sweep freed too little. */
  private cleanUp(): void {
    this.sweep(this.slots);
    if (this.nOcc + this.nTomb >= this.rehashAt - (this.slots >> 5)) this.rehash();
  }

  /**
   * Turns into EMPTY every tombstone that no record's probe path crosses, visiting whole
   * clusters (runs of non-EMPTY slots) from a cursor until about maxSlots slots have been
   * scanned. Records never move. A record at q whose home is h relies on every slot of
   * [h, q) being non-EMPTY, so a tombstone at p can go iff no record after p in its cluster
   * has its home at or before p: one backward pass per cluster, keeping the earliest home
   * seen. Called by tick() when tombstones pass 1/16 of the slots (slots/32 per tick), and
   * before a rebuild. Returns the number of tombstones erased.
   */
  sweep(maxSlots: number): number {
    if (this.nTomb === 0 || this.inTick) return 0;
    const rec = this.rec;
    const sh = this.recShift;
    const slots = this.slots;
    let p = this.sweepAt;
    let scanned = 0;
    while ((rec[p << sh] & M_STATUS) !== ST_EMPTY) { // find a cluster boundary (one always exists)
      if (++p === slots) p = 0;
      scanned++;
    }
    let erased = 0;
    while (scanned < maxSlots && this.nTomb > 0) {
      let s = p + 1 === slots ? 0 : p + 1;
      scanned++;
      if ((rec[s << sh] & M_STATUS) === ST_EMPTY) { p = s; continue; }
      let n = 0;
      let tombs = 0;
      let q = s;
      do {
        if ((rec[q << sh] & M_STATUS) === ST_TOMBSTONE) tombs++;
        n++;
        if (++q === slots) q = 0;
      } while ((rec[q << sh] & M_STATUS) !== ST_EMPTY);
      scanned += n;
      if (tombs > 0) erased += this.sweepCluster(s, n);
      p = q;
    }
    this.sweepAt = p;
    this.swept += erased;
    return erased;
  }

  private sweepCluster(s: number, n: number): number {
    const rec = this.rec;
    const sh = this.recShift;
    const slots = this.slots;
    const seed = this.seed;
    const scale = this.scale;
    const v6 = this.af === 6;
    let lo = n; // earliest home seen so far, as a distance from s
    let erased = 0;
    for (let d = n - 1; d >= 0; d--) {
      let q = s + d;
      if (q >= slots) q -= slots;
      const b = q << sh;
      const m = rec[b];
      if ((m & 1) === 0) { // TOMBSTONE (EMPTY cannot occur inside a cluster)
        if (lo > d) { rec[b] = ST_EMPTY; this.nTomb--; erased++; }
        continue;
      }
      const proto = (m >>> SHIFT_PROTO) & 0xff;
      const h = v6
        ? h6(seed, proto, rec[b + 1] | 0, rec[b + 2] | 0, rec[b + 3] | 0, rec[b + 4] | 0, rec[b + W6_PORTS] >>> 16)
        : h4(seed, proto, rec[b + W_CADDR] | 0, rec[b + W_PORTS] >>> 16);
      let dh = (((h >>> 0) * scale) | 0) - s;
      if (dh < 0) dh += slots;
      if (dh < lo) lo = dh;
    }
    return erased;
  }

  // ---------------------------------------------------------------- rehash

  /**
   * Rebuilds the table in fresh memory of the same size: drops every tombstone, re-inserts
   * LIVE/DYING records, rebuilds the wheel from their expires and remaps child->template
   * links. Called automatically; public for tests and for an idle-time clean-up.
   */
  rehash(): void {
    if (this.inTick) return;
    const old = this.rec;
    const neu = this.alloc();
    const slots = this.slots;
    const sh = this.recShift;
    const words = this.recWords;
    const seed = this.seed;
    const scale = this.scale;
    const v6 = this.af === 6;
    const map = new Uint32Array(slots); // old slot -> new slot + 1
    for (let i = 0; i < slots; i++) {
      const b = i << sh;
      const m = old[b];
      if ((m & 1) === 0) continue; // EMPTY or TOMBSTONE
      const proto = (m >>> SHIFT_PROTO) & 0xff;
      const h = v6
        ? h6(seed, proto, old[b + 1] | 0, old[b + 2] | 0, old[b + 3] | 0, old[b + 4] | 0, old[b + W6_PORTS] >>> 16)
        : h4(seed, proto, old[b + W_CADDR] | 0, old[b + W_PORTS] >>> 16);
      let j = ((h >>> 0) * scale) | 0;
      while ((neu[j << sh] & M_STATUS) !== ST_EMPTY) if (++j === slots) j = 0;
      const nb = j << sh;
      for (let w = 0; w < words; w++) neu[nb + w] = old[b + w];
      map[i] = j + 1;
    }
    this.rec = neu;
    this.ri = new Int32Array(neu.buffer, neu.byteOffset, neu.length);
    this.heads.fill(0);
    this.pending = 0;
    const wCtl = this.wControl;
    const wExp = this.wExpires;
    for (let j = 0; j < slots; j++) {
      const b = j << sh;
      const m = neu[b];
      if ((m & 1) === 0) continue;
      if ((m & M_TEMPLATE) === 0) {
        const c = neu[b + wCtl];
        if (c !== 0) neu[b + wCtl] = c <= slots ? map[c - 1] : 0;
      }
      this.link(j, neu[b + wExp]);
    }
    // reminders follow their records (a slot that was not carried over is dropped: -1)
    for (let e = 0; e < this.remSlot.length; e++) {
      const s = this.remSlot[e];
      if (s >= 0) this.remSlot[e] = map[s] - 1;
    }
    this.nTomb = 0;
    this.rehashes++;
  }
}
