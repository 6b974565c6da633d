// The main thread's side of the shared counters (src/dataplane/shared-counters.ts): it
// folds what the worker shards publish into the main thread's own Director, so that every
// existing reader — ipvsadm listings (-L -n, --stats, --rate), the status file, the
// Prometheus metrics and the rate estimator — sees totals over all workers unchanged.
//
// pull(), called before any of those reads and once a second before the estimator runs:
//   - connection counts (Active/InAct/Persist) are gauges: set to the sum over regions;
//   - traffic counters (per dest, per service, drops, pipeline) are cumulative in each
//     region: we add each region's increase since the previous pull to the main object.
//     So `-Z` (which zeroes the main objects) simply keeps counting from zero, and a
//     counter that went down (its dest or service was re-created in a worker) counts
//     from its new value;
//   - a service slot counts only while its tag is this service's id.
// idFree(id) tells the main thread's ServiceTable whether a freed dest id may be given to
// a new dest: only when every worker has applied the latest model and no worker still
// holds a dest (live, or deleted but kept for its connections) under that id.

import type { Director } from '../core/director';
import type { Dest } from '../core/dest';
import type { Service } from '../core/service';
import type { PipelineStats } from '../dataplane/pipeline';
import {
  DEST_F64, DEST_I32, D_ACTIVE, D_INACT, D_PERSIST, D_PRESENT, PIPE_FIELDS, STAT_FIELDS, SVC_F64, type SharedCounters,
} from '../dataplane/shared-counters';

export class CounterAggregator {
  private readonly W: number;
  private readonly lastDest: Float64Array;
  private readonly lastSvc: Float64Array;
  private readonly lastDrops: Float64Array;
  private readonly lastPipe: Float64Array;
  private readonly destOwner: (Dest | null)[] = [];
  /** Version of the latest model sent to the workers. */
  sentVersion = 0;

  constructor(
    private readonly shared: SharedCounters,
    private readonly director: Director,
    private readonly pipe: PipelineStats,
    private readonly slotOf: (svc: Service) => number,
  ) {
    const L = shared.layout;
    this.W = L.workers;
    this.lastDest = new Float64Array(this.W * L.maxDests * DEST_F64);
    this.lastSvc = new Float64Array(this.W * L.maxServices * SVC_F64);
    this.lastDrops = new Float64Array(this.W * director.drops.length);
    this.lastPipe = new Float64Array(this.W * PIPE_FIELDS.length);
  }

  pull(): void {
    const sh = this.shared;
    const L = sh.layout;
    const dests = this.director.services.dests;
    for (let id = 1; id < dests.length && id < L.maxDests; id++) {
      const d = dests[id];
      if (d === null) {
        this.destOwner[id] = null;
        continue;
      }
      if (this.destOwner[id] !== d) {
        // a new dest under this id: its worker rows start from zero (idFree guarantees it)
        for (let w = 0; w < this.W; w++) this.lastDest.fill(0, (w * L.maxDests + id) * DEST_F64, (w * L.maxDests + id + 1) * DEST_F64);
        this.destOwner[id] = d;
      }
      const bi = sh.offDestI + id * DEST_I32;
      d.activeConns = sh.sumI32(bi + D_ACTIVE);
      d.inactConns = sh.sumI32(bi + D_INACT);
      d.persistConns = sh.sumI32(bi + D_PERSIST);
      const bf = sh.offDestF + id * DEST_F64;
      for (let k = 0; k < DEST_F64; k++) {
        let inc = 0;
        for (let w = 0; w < this.W; w++) inc += this.increase(this.lastDest, (w * L.maxDests + id) * DEST_F64 + k, sh.f64[w][bf + k]);
        d.stats[STAT_FIELDS[k]] += inc;
      }
    }
    for (const svc of this.director.services.services) {
      const slot = this.slotOf(svc);
      if (slot < 0 || slot >= L.maxServices) continue;
      const b = sh.offSvc + slot * SVC_F64;
      for (let w = 0; w < this.W; w++) {
        const lb = (w * L.maxServices + slot) * SVC_F64;
        const row = sh.f64[w];
        if (row[b] !== svc.id) continue; // this worker has not applied the service yet
        if (this.lastSvc[lb] !== svc.id) {
          this.lastSvc.fill(0, lb, lb + SVC_F64);
          this.lastSvc[lb] = svc.id;
        }
        for (let k = 0; k < 5; k++) svc.stats[STAT_FIELDS[k]] += this.increase(this.lastSvc, lb + 1 + k, row[b + 1 + k]);
      }
    }
    const drops = this.director.drops;
    for (let w = 0; w < this.W; w++) {
      for (let r = 1; r < drops.length; r++) {
        const inc = this.increase(this.lastDrops, w * drops.length + r, sh.f64[w][sh.offDrops + r]);
        drops[r] = drops[r] + inc; // Uint32Array: wraps like the worker's own counter
      }
      for (let k = 0; k < PIPE_FIELDS.length; k++) {
        this.pipe[PIPE_FIELDS[k]] += this.increase(this.lastPipe, w * PIPE_FIELDS.length + k, sh.f64[w][sh.offPipe + k]);
      }
    }
  }

  /** May a freed dest id be reused? (see the file comment) */
  idFree(id: number): boolean {
    const sh = this.shared;
    if (id >= sh.layout.maxDests) return false;
    for (let w = 0; w < this.W; w++) {
      if (sh.applied(w) !== this.sentVersion) return false;
      if (sh.i32[w][sh.offDestI + id * DEST_I32 + D_PRESENT] !== 0) return false;
    }
    return true;
  }

  /** How much a cumulative counter grew since the last pull (a counter that restarted counts from its new value). */
  private increase(last: Float64Array, at: number, cur: number): number {
    const prev = last[at];
    last[at] = cur;
    if (cur >= prev) return cur - prev;
    // Uint32 drop counters wrap at 2^32; anything else went down because it was re-created
    return prev > 0xf0000000 && cur < 0x10000000 ? cur + 0x100000000 - prev : cur;
  }
}
