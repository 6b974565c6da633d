// Connection-table micro benchmarks (bench/core.ts runs them and writes the JSON).
//
// What is measured, all IPv4, all lookups of EXISTING connections with random keys taken
// from a pre-generated key array (so the hit path is measured and no key is built in the
// timed loop):
//   lookup64k*   64K live entries (4 MB of records: cache-resident). benchmark.js.
//   lookup1M*    1M live entries (64 MB) against randomRead1M: one independent random
//                read per step from a Uint32Array of the same byte size, indices
//                precomputed, measured in the same run; lookup1MMissNs looks up absent
//                keys (a new connection's first packet), lookup1MHugeNs uses hugepages.
//   lookup10M*   10M live entries (640 MB): js memory, addon mmap without and with
//                MADV_HUGEPAGE, and randomRead10M (js) / randomRead10MHuge beside them.
// Batched lookups go through lookupBatch4 with 256 keys per call (one RX batch); the
// *SingleNs fields call lookupIn4 per key for comparison. lookup64kNs is benchmark.js's mean
// (lookup64kBestNs its fastest sample; lookup64kLoopNs the big cases' method below). The big cases use plain timed loops
// (process.hrtime.bigint() outside the loop) over chunks of 64K keys, all cases of one size
// alive at once and run interleaved, round after round, so that every case sees the same
// machine; each figure is the best round. insert*Ns is the cost
// of filling the table (fresh memory: includes first-touch page faults), expire64kNs the
// cost per record of a tick() that reaps all of them. loadAvg1 and calibLoopNs record how
// busy and how fast the (shared) machine was during the run.

import Benchmark from 'benchmark';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { ConnTable, BATCH_KEY_WORDS, type ConnMemory } from '../src/conn/table';
import { hasNative, native } from '../src/io/native';
import { mulberry32 as rng } from '../test/fixtures/prng';

const TCP = 6;
const VIP = 0x0a000064;
const BATCH = 256;

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) g();
}


// Connection i: a unique client address (odd multiplier = bijection), some port, one VIP.
const caddrOf = (i: number): number => Math.imul(i + 1, 0x9e3779b1) >>> 0;
const cportOf = (i: number): number => 1024 + ((i * 7919) % 64000);

function fill(t: ConnTable, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    if (t.insert4(TCP, caddrOf(i), cportOf(i), VIP, 80, 0, i & 0xff, 0x10, 3, 1 + (i % 900)) < 0) {
      throw new Error(`insert ${i} refused`);
    }
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

/** L lookup keys of random existing connections, cut into views of BATCH keys (made once). */
function makeKeys(n: number, l: number, seed: number): Uint32Array[] {
  const r = rng(seed);
  const all = new Uint32Array(l * BATCH_KEY_WORDS);
  for (let k = 0; k < l; k++) {
    const i = (r() * n) | 0;
    const o = k * BATCH_KEY_WORDS;
    all[o] = TCP;
    all[o + 1] = caddrOf(i);
    all[o + 2] = cportOf(i);
    all[o + 3] = VIP;
    all[o + 4] = 80;
  }
  const views: Uint32Array[] = [];
  for (let o = 0; o < l; o += BATCH) views.push(all.subarray(o * BATCH_KEY_WORDS, Math.min(l, o + BATCH) * BATCH_KEY_WORDS));
  return views;
}

const out = new Int32Array(BATCH);

/** Batches of BATCH keys per timed chunk in the interleaved runs (64K lookups). */
const CHUNK_VIEWS = 256;

function batchedChunk(t: ConnTable, views: Uint32Array[], round: number): number {
  const start = (round * CHUNK_VIEWS) % views.length;
  let done = 0;
  for (let v = 0; v < CHUNK_VIEWS; v++) {
    const keys = views[(start + v) % views.length];
    const n = keys.length / BATCH_KEY_WORDS;
    t.lookupBatch4(n, keys, out);
    done += n;
  }
  return done;
}

function singleChunk(t: ConnTable, views: Uint32Array[], round: number): number {
  const start = (round * CHUNK_VIEWS) % views.length;
  let done = 0;
  let hits = 0;
  for (let v = 0; v < CHUNK_VIEWS; v++) {
    const keys = views[(start + v) % views.length];
    const n = keys.length / BATCH_KEY_WORDS;
    for (let k = 0, o = 0; k < n; k++, o += BATCH_KEY_WORDS) {
      if (t.lookupIn4(keys[o], keys[o + 1], keys[o + 2], keys[o + 3], keys[o + 4], 0) >= 0) hits++;
    }
    done += n;
  }
  out[0] = hits;
  return done;
}

function randomReadChunk(a: Uint32Array, idx: Int32Array, round: number): number {
  const len = CHUNK_VIEWS * BATCH;
  const start = (round * len) % idx.length;
  let s = 0;
  for (let i = start, e = Math.min(idx.length, start + len); i < e; i++) s ^= a[idx[i]];
  out[0] = s;
  return Math.min(idx.length, start + len) - start;
}

/**
 * Runs every case once per round, cases interleaved so that all of them see the same
 * (shared, noisy) machine; two warm-up rounds; returns the best ns per key of each case.
 */
function interleaved(rounds: number, cases: Record<string, (round: number) => number>): Record<string, number> {
  const best: Record<string, number> = {};
  for (const k of Object.keys(cases)) best[k] = Infinity;
  for (let r = -2; r < rounds; r++) {
    for (const k of Object.keys(cases)) {
      const t0 = process.hrtime.bigint();
      const n = cases[k](r < 0 ? r + 2 : r);
      const ns = Number(process.hrtime.bigint() - t0) / n;
      if (r >= 0 && ns < best[k]) best[k] = ns;
    }
  }
  for (const k of Object.keys(best)) best[k] = r2(best[k]);
  return best;
}

function checkAllHit(t: ConnTable, views: Uint32Array[], hit = true): void {
  for (const keys of views) {
    const n = keys.length / BATCH_KEY_WORDS;
    t.lookupBatch4(n, keys, out);
    for (let k = 0; k < n; k++) if (out[k] >= 0 !== hit) throw new Error(`benchmark key ${hit ? 'missed' : 'found'}`);
  }
}

function randomIdx(words: number, l: number, seed: number): Int32Array {
  const r = rng(seed);
  const idx = new Int32Array(l);
  for (let i = 0; i < l; i++) idx[i] = (r() * words) | 0;
  return idx;
}

function wordsArray(words: number, memory: ConnMemory): Uint32Array {
  const a = memory === 'js' ? new Uint32Array(words) : new Uint32Array(native().allocHuge(words * 4, memory === 'huge'), 0, words);
  for (let i = 0; i < words; i += 1024) a[i] = i; // fault every page in
  return a;
}

function anonHugeMB(): number {
  try {
    const m = /AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'));
    return m ? Number(m[1]) / 1024 : -1;
  } catch {
    return -1;
  }
}

function calibrate(): number {
  let best = Infinity;
  let s = 0;
  for (let r = 0; r < 20; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 1_000_000; i++) s = (s + Math.imul(i, 7)) | 0;
    const ns = Number(process.hrtime.bigint() - t0) / 1_000_000;
    if (ns < best) best = ns;
  }
  return s === 0.5 ? 0 : best;
}

function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

export interface ConnBenchOptions {
  /** Skip the 10M-entry cases (~4 GB of memory, a few minutes). */
  skip10M?: boolean;
  log?: (line: string) => void;
}

export function benchConnTable(o: ConnBenchOptions = {}): Record<string, number> {
  const log = o.log ?? ((s: string) => console.error(s));
  const res: Record<string, number> = {};
  // context for the numbers: this machine is shared, so record how busy it was and how fast
  // a fixed integer loop ran (ns per iteration, best of the start and the end of the run;
  // ~0.4 on an idle 2.5 GHz core)
  res.loadAvg1 = r2(loadavg()[0]);
  res.calibLoopNs = r2(calibrate());

  // ---- 64K, cache-resident: benchmark.js
  {
    const n = 1 << 16;
    const t = new ConnTable({ af: 4, maxConns: n, seed: 1 });
    res.insert64kNs = r2(fill(t, n));
    const views = makeKeys(n, 1 << 16, 2);
    checkAllHit(t, views);
    // each benchmark.js call looks up 16 batches of 256 keys (4096 lookups), which keeps the
    // harness's own per-call cost out of the per-lookup figure
    const PER_CALL = 16 * BATCH;
    let v = 0;
    let sink = 0;
    const hzOf = new Map<string, Benchmark>();
    const suite = new Benchmark.Suite();
    suite
      .add('lookupBatch4 64K', () => {
        for (let q = 0; q < 16; q++) {
          t.lookupBatch4(BATCH, views[v], out);
          sink += out[0];
          if (++v === views.length) v = 0;
        }
      })
      .add('lookupIn4 64K', () => {
        for (let q = 0; q < 16; q++) {
          const keys = views[v];
          for (let k = 0, o = 0; k < BATCH; k++, o += BATCH_KEY_WORDS) {
            sink += t.lookupIn4(keys[o], keys[o + 1], keys[o + 2], keys[o + 3], keys[o + 4], 0);
          }
          if (++v === views.length) v = 0;
        }
      })
      .on('cycle', (e: Benchmark.Event) => {
        const b = e.target as unknown as Benchmark;
        hzOf.set(String(b.name), b);
        log(`  ${String(b)}`);
      })
      .run({ async: false });
    const mean = (name: string): number => 1e9 / ((hzOf.get(name)?.hz ?? NaN) * PER_CALL);
    const best = (name: string): number => (Math.min(...(hzOf.get(name)?.stats.sample ?? [NaN])) * 1e9) / PER_CALL;
    res.lookup64kNs = r2(mean('lookupBatch4 64K'));
    res.lookup64kBestNs = r2(best('lookupBatch4 64K'));
    res.lookup64kSingleNs = r2(mean('lookupIn4 64K'));
    if (sink === 0.5) log('');
    res.bytesPerConn64k = r2(t.bytes / t.size);
    // the same lookups with the plain timed loop the big cases use (comparable with them)
    const loop = interleaved(30, { b: (r) => batchedChunk(t, views, r), s: (r) => singleChunk(t, views, r) });
    res.lookup64kLoopNs = loop.b;
    res.lookup64kSingleLoopNs = loop.s;
    // expiry cost: every record due at once, walked and freed by tick()
    const t0 = process.hrtime.bigint();
    const freed = t.tick(100000, () => 0);
    res.expire64kNs = r2(Number(process.hrtime.bigint() - t0) / freed);
  }
  gc();

  // ---- 1M: 64 MB of records vs random reads over 64 MB (cases interleaved)
  {
    const n = 1 << 20;
    const l = 1 << 20;
    const t = new ConnTable({ af: 4, maxConns: n, seed: 3 });
    res.insert1MNs = r2(fill(t, n));
    res.bytesPerConn1M = r2(t.bytes / t.size);
    const views = makeKeys(n, l, 4);
    checkAllHit(t, views);
    const a = wordsArray(t.rec.length, 'js');
    const idx = randomIdx(a.length, l, 5);
    // misses (what every new connection's first packet costs): a known client from a new
    // source port, so the key is absent and its home slot is elsewhere
    const miss = makeKeys(n, l, 9);
    for (const keys of miss) for (let o = 0; o < keys.length; o += BATCH_KEY_WORDS) keys[o + 2] ^= 1;
    checkAllHit(t, miss, false);
    const cases: Record<string, (r: number) => number> = {
      lookup1MNs: (r) => batchedChunk(t, views, r),
      randomRead1MNs: (r) => randomReadChunk(a, idx, r),
      lookup1MSingleNs: (r) => singleChunk(t, views, r),
      lookup1MMissNs: (r) => batchedChunk(t, miss, r),
    };
    if (hasNative()) {
      const h = new ConnTable({ af: 4, maxConns: n, seed: 3, memory: 'huge' });
      fill(h, n);
      checkAllHit(h, views);
      cases.lookup1MHugeNs = (r) => batchedChunk(h, views, r);
    }
    Object.assign(res, interleaved(30, cases));
    res.lookup1MRatio = r2(res.lookup1MNs / res.randomRead1MNs);
    // the pauses: a full rebuild, and a full sweep with ~1 % tombstones
    let t0 = process.hrtime.bigint();
    t.rehash();
    res.rehash1MMs = r2(Number(process.hrtime.bigint() - t0) / 1e6);
    t.tick(20, () => 0); // frees ~2 % of the records, leaving tombstones behind
    res.tombstones1M = t.tombstones;
    t0 = process.hrtime.bigint();
    res.swept1M = t.sweep(t.slots);
    res.sweep1MMs = r2(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  gc();

  // ---- 10M: 640 MB tables in js memory, addon mmap, addon mmap + MADV_HUGEPAGE, and random
  // reads over 640 MB of js / hugepage memory, all alive at once and measured interleaved
  if (!o.skip10M) {
    const n = 10_000_000;
    const l = 1 << 21;
    const views = makeKeys(n, l, 6);
    const cases: Record<string, (r: number) => number> = {};
    const mems: ConnMemory[] = hasNative() ? ['js', 'mmap', 'huge'] : ['js'];
    const tables: ConnTable[] = [];
    for (const memory of mems) {
      const huge0 = anonHugeMB();
      const t = new ConnTable({ af: 4, maxConns: n, seed: 8, memory });
      const ins = r2(fill(t, n));
      const hugeMB = Math.round(anonHugeMB() - huge0);
      checkAllHit(t, views);
      tables.push(t);
      log(`  10M ${memory}: filled, insert ${ins} ns, AnonHugePages +${hugeMB} MB`);
      if (memory === 'js') {
        res.insert10MNs = ins;
        res.bytesPerConn10M = r2(t.bytes / t.size);
        cases.lookup10MNs = (r) => batchedChunk(t, views, r);
        cases.lookup10MSingleNs = (r) => singleChunk(t, views, r);
      } else if (memory === 'mmap') {
        cases.lookup10MMmapNs = (r) => batchedChunk(t, views, r);
      } else {
        res.hugePagesMB10M = hugeMB;
        cases.lookup10MHugeNs = (r) => batchedChunk(t, views, r);
      }
    }
    const words = tables[0].rec.length;
    const idx = randomIdx(words, l, 7);
    const rj = wordsArray(words, 'js');
    cases.randomRead10MNs = (r) => randomReadChunk(rj, idx, r);
    if (hasNative()) {
      const rh = wordsArray(words, 'huge');
      cases.randomRead10MHugeNs = (r) => randomReadChunk(rh, idx, r);
    }
    Object.assign(res, interleaved(20, cases));
    res.lookup10MRatio = r2(res.lookup10MNs / res.randomRead10MNs);
    if (res.lookup10MHugeNs !== undefined && res.randomRead10MHugeNs !== undefined) {
      res.lookup10MHugeRatio = r2(res.lookup10MHugeNs / res.randomRead10MHugeNs);
    }
    const t0 = process.hrtime.bigint();
    tables[0].rehash();
    res.rehash10MMs = r2(Number(process.hrtime.bigint() - t0) / 1e6);
    tables.length = 0;
    gc();
  }
  res.calibLoopNs = Math.min(res.calibLoopNs, r2(calibrate()));
  return res;
}
