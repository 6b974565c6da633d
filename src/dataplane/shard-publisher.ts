// A worker's side of the shared counters (src/dataplane/shared-counters.ts): after every
// RX block and every clock tick it publishes its shard into its own region, and folds the
// other shards' connection counts into its Dest objects so its schedulers see GLOBAL
// Active/InAct/Persist counts.
//
// How the folding works: a dest's plain fields (activeConns, inactConns, persistConns)
// hold own + others, where `others` is the sum over the other regions read at the last
// sync. The director bumps the fields by +-1 as today (no change on the packet path), so
// at the next sync own = field - others is exact; we publish own, re-read the others and
// set field = own + others. Consistency trade-off: within one block the schedulers see
// the other shards' counts as of the previous sync (at most one block old, about 1 ms
// under load); they never drift, because each region has one writer.
//
// Cost per sync: for every dest id in use, 4 stores, (workers-1)*3 loads and 5 float
// stores; services 6 stores each. Nothing is allocated.

import type { Director } from '../core/director';
import type { Service } from '../core/service';
import type { PipelineStats } from './pipeline';
import {
  DEST_F64, DEST_I32, D_ACTIVE, D_INACT, D_PERSIST, D_PRESENT, SVC_F64, T_CAPACITY, T_EVICTED, T_OCCUPIED, T_REFUSED, T_SIZE,
  type SharedCounters,
} from './shared-counters';

export class ShardPublisher {
  private readonly f: Float64Array;
  private readonly i: Int32Array;
  private readonly others: Int32Array;
  private readonly otherI32: Int32Array[];
  private lastN = 0;
  private svcList: Service[] = [];
  private svcSlot: number[] = [];
  private svcTag: number[] = [];
  private usedSlots = new Set<number>();

  constructor(
    private readonly shared: SharedCounters,
    me: number,
    private readonly director: Director,
    private readonly pipe: PipelineStats,
  ) {
    this.f = shared.f64[me];
    this.i = shared.i32[me];
    this.others = new Int32Array(shared.layout.maxDests * 3);
    this.otherI32 = shared.i32.filter((_, w) => w !== me);
  }

  /** The services of the applied model, their slots and tags (the main thread's service ids). */
  setServices(list: Service[], slots: number[], tags: number[]): void {
    const next = new Set(slots);
    for (const s of this.usedSlots) if (!next.has(s)) this.f.fill(0, this.shared.offSvc + s * SVC_F64, this.shared.offSvc + (s + 1) * SVC_F64);
    this.usedSlots = next;
    this.svcList = list;
    this.svcSlot = slots;
    this.svcTag = tags;
  }

  sync(): void {
    const f = this.f;
    const i = this.i;
    const others = this.others;
    const dests = this.director.services.dests;
    const maxDests = this.shared.layout.maxDests;
    const n = dests.length < maxDests ? dests.length : maxDests;
    const hi = n > this.lastN ? n : this.lastN;
    const offI = this.shared.offDestI;
    const offF = this.shared.offDestF;
    const oth = this.otherI32;
    for (let id = 1; id < hi; id++) {
      const d = id < n ? dests[id] : null;
      const bi = offI + id * DEST_I32;
      const bf = offF + id * DEST_F64;
      const bo = id * 3;
      if (d === null || d === undefined) {
        if (i[bi + D_PRESENT] !== 0) {
          i.fill(0, bi, bi + DEST_I32);
          f.fill(0, bf, bf + DEST_F64);
          others[bo] = 0;
          others[bo + 1] = 0;
          others[bo + 2] = 0;
        }
        continue;
      }
      const ownA = d.activeConns - others[bo];
      const ownI = d.inactConns - others[bo + 1];
      const ownP = d.persistConns - others[bo + 2];
      i[bi + D_ACTIVE] = ownA;
      i[bi + D_INACT] = ownI;
      i[bi + D_PERSIST] = ownP;
      i[bi + D_PRESENT] = 1;
      let sa = 0;
      let si = 0;
      let sp = 0;
      for (let w = 0; w < oth.length; w++) {
        const o = oth[w];
        sa += o[bi + D_ACTIVE];
        si += o[bi + D_INACT];
        sp += o[bi + D_PERSIST];
      }
      d.activeConns = ownA + sa;
      d.inactConns = ownI + si;
      d.persistConns = ownP + sp;
      others[bo] = sa;
      others[bo + 1] = si;
      others[bo + 2] = sp;
      const st = d.stats;
      f[bf] = st.conns;
      f[bf + 1] = st.inpkts;
      f[bf + 2] = st.inbytes;
      f[bf + 3] = st.outpkts;
      f[bf + 4] = st.outbytes;
    }
    this.lastN = n;
    const offS = this.shared.offSvc;
    for (let k = 0; k < this.svcList.length; k++) {
      const b = offS + this.svcSlot[k] * SVC_F64;
      const st = this.svcList[k].stats;
      f[b] = this.svcTag[k];
      f[b + 1] = st.conns;
      f[b + 2] = st.inpkts;
      f[b + 3] = st.inbytes;
      f[b + 4] = st.outpkts;
      f[b + 5] = st.outbytes;
    }
    const drops = this.director.drops;
    const od = this.shared.offDrops;
    for (let r = 0; r < drops.length; r++) f[od + r] = drops[r];
    const p = this.pipe;
    const op = this.shared.offPipe;
    f[op] = p.rxFrames;
    f[op + 1] = p.rxBlocks;
    f[op + 2] = p.forwarded;
    f[op + 3] = p.txFrames;
    f[op + 4] = p.txFailed;
    f[op + 5] = p.arpReplies;
    f[op + 6] = p.echoReplies;
    f[op + 7] = p.icmpErrors;
    f[op + 8] = p.notOurs;
    f[op + 9] = p.standbyVip;
    const t = this.director.conns;
    f[T_SIZE] = t.size;
    f[T_OCCUPIED] = t.occupied;
    f[T_CAPACITY] = t.maxConns;
    f[T_REFUSED] = t.refusedFull;
    f[T_EVICTED] = t.evicted;
  }
}
