// The counters that must be global across data-plane workers, in one SharedArrayBuffer.
//
// Every worker owns one region and is its only writer; the main thread and the other
// workers only read it. So no update is ever lost and no Atomics are needed: a worker
// publishes its own shard's values (plain stores), a reader sums the regions. Aligned
// 32-bit stores are tear-free by the ECMAScript memory model; 64-bit float stores are
// single instructions on x86-64 and arm64 (the platforms tsvs runs on).
//
// Region of worker w, as two views over the same bytes range kinds:
//   Float64 words   table[TABLE_F64]        size, occupied, capacity, refused, evicted
//                   pipeline[PIPE_FIELDS]    PipelineStats, field by field
//                   drops[DROP_LAST]         the director's drop counters
//                   dest stats[maxDests][DEST_F64]     conns inpkts inbytes outpkts outbytes
//                   service stats[maxServices][SVC_F64] tag(service id) + the same five
//   Int32 words     header[HDR_I32]          applied model version
//                   dest conns[maxDests][DEST_I32]     active inact persist present
// Dests are indexed by the id the main thread assigned (shared by main and workers);
// services by a slot the main thread assigned, with the service's id as a tag so a reused
// slot is never mistaken for the old service.

import { DROP_LAST } from '../core/drops';
import type { PipelineStats } from './pipeline';

export const TABLE_F64 = 5;
export const T_SIZE = 0;
export const T_OCCUPIED = 1;
export const T_CAPACITY = 2;
export const T_REFUSED = 3;
export const T_EVICTED = 4;

export const PIPE_FIELDS: readonly (keyof PipelineStats)[] = [
  'rxFrames', 'rxBlocks', 'forwarded', 'txFrames', 'txFailed', 'arpReplies', 'echoReplies', 'icmpErrors', 'notOurs', 'standbyVip',
];

export const DEST_F64 = 5; // conns inpkts inbytes outpkts outbytes
export const SVC_F64 = 6; // tag + the five
export const STAT_FIELDS = ['conns', 'inpkts', 'inbytes', 'outpkts', 'outbytes'] as const;

export const HDR_I32 = 2;
export const H_VERSION = 0;
export const DEST_I32 = 4;
export const D_ACTIVE = 0;
export const D_INACT = 1;
export const D_PERSIST = 2;
export const D_PRESENT = 3;

export interface CounterLayout {
  workers: number;
  /** Dest ids 0..maxDests-1 are published (id 0 is never used). */
  maxDests: number;
  maxServices: number;
}

export const DEFAULT_MAX_DESTS = 16384;
export const DEFAULT_MAX_SERVICES = 1024;

export class SharedCounters {
  readonly sab: SharedArrayBuffer;
  readonly layout: CounterLayout;
  /** Word offsets inside a region's Float64 view. */
  readonly offPipe = TABLE_F64;
  readonly offDrops = TABLE_F64 + PIPE_FIELDS.length;
  readonly offDestF: number;
  readonly offSvc: number;
  readonly f64Words: number;
  /** Word offsets inside a region's Int32 view. */
  readonly offDestI = HDR_I32;
  readonly i32Words: number;
  /** Per-worker views (index = worker). */
  readonly f64: Float64Array[] = [];
  readonly i32: Int32Array[] = [];

  constructor(layout: CounterLayout, sab?: SharedArrayBuffer) {
    if (!Number.isInteger(layout.workers) || layout.workers < 1) throw new RangeError(`workers must be >= 1, got ${layout.workers}`);
    this.layout = { ...layout };
    this.offDestF = this.offDrops + DROP_LAST;
    this.offSvc = this.offDestF + layout.maxDests * DEST_F64;
    this.f64Words = this.offSvc + layout.maxServices * SVC_F64;
    this.i32Words = HDR_I32 + layout.maxDests * DEST_I32;
    const regionBytes = this.f64Words * 8 + Math.ceil((this.i32Words * 4) / 8) * 8;
    const total = regionBytes * layout.workers;
    if (sab && sab.byteLength !== total) throw new RangeError(`shared counters: buffer of ${sab.byteLength} bytes, layout needs ${total}`);
    this.sab = sab ?? new SharedArrayBuffer(total);
    for (let w = 0; w < layout.workers; w++) {
      const base = w * regionBytes;
      this.f64.push(new Float64Array(this.sab, base, this.f64Words));
      this.i32.push(new Int32Array(this.sab, base + this.f64Words * 8, this.i32Words));
    }
  }

  /** Model version worker w has applied. */
  applied(w: number): number {
    return Atomics.load(this.i32[w], H_VERSION);
  }

  setApplied(w: number, version: number): void {
    Atomics.store(this.i32[w], H_VERSION, version);
  }

  /** Sum over workers of Int32 word `word` (dest conns: offDestI + id * DEST_I32 + D_*). */
  sumI32(word: number): number {
    let s = 0;
    for (let w = 0; w < this.i32.length; w++) s += this.i32[w][word];
    return s;
  }

  /** Sum over workers of Float64 word `word`. */
  sumF64(word: number): number {
    let s = 0;
    for (let w = 0; w < this.f64.length; w++) s += this.f64[w][word];
    return s;
  }

  /** Connection-table figures summed over the shards. */
  table(): { size: number; occupied: number; capacity: number; refused: number; evicted: number } {
    return {
      size: this.sumF64(T_SIZE),
      occupied: this.sumF64(T_OCCUPIED),
      capacity: this.sumF64(T_CAPACITY),
      refused: this.sumF64(T_REFUSED),
      evicted: this.sumF64(T_EVICTED),
    };
  }
}
