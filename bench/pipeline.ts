// Packets-per-second benchmark of the data path (src/dataplane/pipeline.ts), on the
// fixture rows of test/fixtures/dataplane.ts tagged `bench` (Katran's habit: the frames the
// tests check are the frames the benchmark replays). Each case prepares blocks of 256
// frames laid out as in a TPACKET_V3 ring block (frame after an 80-byte header, 16-byte
// aligned), and one iteration is what the RX loop does per block: the frames land in the
// block (a copy from a pristine image: the pipeline rewrites frames in place, so a replayed
// block must be refilled, as the kernel refills the ring), then Pipeline.onBlock. The
// backend's send() only counts (MemoryBackend.discard).
//
//   arp_vip             ARP who-has VIP, answered in place
//   dr_established      TCP ACKs of 4,096 existing connections (16 blocks, round robin)
//   dr_established_64k  the same over 65,536 connections (256 blocks): table and frames leave the caches
//   dr_new              SYNs of new connections: every block gets a fresh client address
//                       (its 256 frames differ by client port); the table (1M) is emptied
//                       between benchmark cycles by advancing the director's clock
//   udp_dr              UDP datagrams of 4,096 existing flows
//   *_sharded           the same as a data-plane worker runs it: after each block the
//                       shard publisher syncs the shared counters (one region of two)
//
// Reported per packet: benchmark.js mean (±rme), the minimum of many short trials (steadier
// on a shared machine), the refill alone, and min - refill (the pipeline's own cost).
// Allocation check: heapUsed before (after a full GC) and after 1M packets (no GC in
// between), the GCs that ran during those packets (a per-packet allocation of even a few
// bytes fills the young generation: it scavenges, which also hides the garbage from
// heapUsed), and the bytes allocated per packet, collected or not, with the functions that
// allocate them (V8's sampling heap profiler over 250k packets). Needs --expose-gc.
//
// Run: npm run bench:pipeline, or node --expose-gc dist/bench/pipeline.js [case-prefix].
// Each case runs in its own process (no case inherits another's JIT feedback). Writes
// bench/results/pipeline.json.

import Benchmark from 'benchmark';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'node:inspector';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { DESC_LEN, DESC_OFFSET, DESC_SNAPLEN, DESC_STRIDE } from '../src/io/afpacket';
import { DROP_NAMES } from '../src/core/drops';
import { CLIENT, benchFixture, withClient, type BenchCase } from '../test/fixtures/dataplane';
import { DataplaneHarness } from '../test/fixtures/dataplane-harness';
import { DEFAULT_MAX_DESTS, SharedCounters } from '../src/dataplane/shared-counters';
import { ShardPublisher } from '../src/dataplane/shard-publisher';

const FRAMES_PER_BLOCK = 256;
/** tpacket3_hdr + sockaddr_ll room in front of each frame in a V3 block. */
const TPACKET_OVERHEAD = 80;
const HEAP_PACKETS = 1_000_000;

interface Block { bytes: Uint8Array; pristine: Uint8Array; descs: Uint32Array; count: number }

function makeBlock(frames: readonly Uint8Array[], bytes?: Uint8Array): Block {
  let size = 0;
  for (const f of frames) size += (TPACKET_OVERHEAD + f.length + 15) & ~15;
  const pristine = new Uint8Array(size);
  const descs = new Uint32Array(frames.length * DESC_STRIDE);
  let at = 0;
  frames.forEach((f, i) => {
    const off = at + TPACKET_OVERHEAD;
    pristine.set(f, off);
    descs[i * DESC_STRIDE + DESC_OFFSET] = off;
    descs[i * DESC_STRIDE + DESC_SNAPLEN] = f.length;
    descs[i * DESC_STRIDE + DESC_LEN] = f.length;
    at += (TPACKET_OVERHEAD + f.length + 15) & ~15;
  });
  return { bytes: bytes ?? new Uint8Array(size), pristine, descs, count: frames.length };
}

interface Case {
  id: string;
  name: string;
  /** Builds the director and blocks; returns one iteration (one block) and the refill alone. */
  prepare(): Prepared;
}

interface Prepared {
  h: DataplaneHarness;
  step: () => void;
  refill: () => void;
  /** Between benchmark cycles (outside the timing). */
  rearm?: () => void;
  /** Checks one step did what the case claims. */
  check: () => void;
}

/** Blocks of FRAMES_PER_BLOCK flows each: client CLIENT + block, ports 1024.. */
function flowBlocks(template: Uint8Array, nBlocks: number, bytes?: Uint8Array): Block[] {
  const out: Block[] = [];
  for (let b = 0; b < nBlocks; b++) {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < FRAMES_PER_BLOCK; i++) frames.push(withClient(template, (CLIENT + b) >>> 0, 1024 + i));
    out.push(makeBlock(frames, bytes ?? out[0]?.bytes));
  }
  return out;
}

/** Replays blocks round robin; each is set up first through the fixture's own setup frames. */
function establishedCase(c: BenchCase, nBlocks: number): Prepared {
  const fx = benchFixture(c);
  const h = new DataplaneHarness({ maxConns: 1 << 17, discard: true });
  const setupTemplate = fx.setup?.frames?.[0];
  if (setupTemplate) for (const blk of flowBlocks(setupTemplate, nBlocks)) deliver(h, blk);
  const blocks = flowBlocks(fx.input, nBlocks);
  if (!setupTemplate) for (const blk of blocks) deliver(h, blk); // UDP: the first datagram makes the connection
  const conns = h.director.conns.size;
  let k = 0;
  let cur = blocks[0];
  return {
    h,
    step: () => {
      cur = blocks[k];
      k = k + 1 === nBlocks ? 0 : k + 1;
      cur.bytes.set(cur.pristine);
      h.pipeline.onBlock(cur.bytes, cur.descs, cur.count);
    },
    refill: () => {
      cur = blocks[k];
      k = k + 1 === nBlocks ? 0 : k + 1;
      cur.bytes.set(cur.pristine);
    },
    check: () => {
      const f0 = h.pipeline.stats.forwarded;
      for (let i = 0; i < nBlocks; i++) {
        cur = blocks[k];
        k = k + 1 === nBlocks ? 0 : k + 1;
        cur.bytes.set(cur.pristine);
        h.pipeline.onBlock(cur.bytes, cur.descs, cur.count);
      }
      expect(h.pipeline.stats.forwarded - f0 === nBlocks * FRAMES_PER_BLOCK, `every frame forwarded (${h.pipeline.stats.forwarded - f0})`);
      expect(h.director.conns.size === conns && conns === nBlocks * FRAMES_PER_BLOCK, `existing connections only (${h.director.conns.size})`);
    },
  };
}

/** As a worker runs a case: the same step, then the shard publisher's sync (region 0 of 2). */
function sharded(p: Prepared): Prepared {
  const shared = new SharedCounters({ workers: 2, maxDests: DEFAULT_MAX_DESTS, maxServices: 64 });
  const pub = new ShardPublisher(shared, 0, p.h.director, p.h.pipeline.stats);
  const svcs = p.h.director.services.services;
  pub.setServices([...svcs], svcs.map((_, i) => i), svcs.map((s) => s.id));
  const step = p.step;
  return {
    ...p,
    step: () => {
      step();
      pub.sync();
    },
  };
}

function deliver(h: DataplaneHarness, b: Block): void {
  b.bytes.set(b.pristine);
  h.backend.receiveRaw(b.bytes, b.descs, b.count);
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench sanity check failed: ${what}`);
}

const CASES: Case[] = [
  {
    id: 'arp_vip',
    name: 'ARP request for the VIP (reply in place)',
    prepare() {
      const h = new DataplaneHarness({ discard: true });
      const blk = makeBlock(Array.from({ length: FRAMES_PER_BLOCK }, () => benchFixture('arp_vip').input));
      return {
        h,
        step: () => {
          blk.bytes.set(blk.pristine);
          h.pipeline.onBlock(blk.bytes, blk.descs, blk.count);
        },
        refill: () => blk.bytes.set(blk.pristine),
        check: () => {
          const r0 = h.pipeline.stats.arpReplies;
          blk.bytes.set(blk.pristine);
          h.pipeline.onBlock(blk.bytes, blk.descs, blk.count);
          expect(h.pipeline.stats.arpReplies - r0 === FRAMES_PER_BLOCK, 'every request answered');
        },
      };
    },
  },
  { id: 'dr_established', name: 'DR, established TCP flows (ACKs, 4,096 conns)', prepare: () => establishedCase('dr_established', 16) },
  { id: 'dr_established_64k', name: 'DR, established TCP flows (ACKs, 65,536 conns)', prepare: () => establishedCase('dr_established', 256) },
  {
    id: 'dr_new',
    name: 'DR, new TCP flows (SYNs, scheduled rr, conn created)',
    prepare() {
      const h = new DataplaneHarness({ maxConns: 1 << 20, discard: true });
      const blk = flowBlocks(benchFixture('dr_new').input, 1)[0];
      let gen = 0;
      // A fresh client address for every block (10.0.0.0/8): written into the source
      // address field of every frame. The IPv4 checksum goes stale; the data path does
      // not verify it (the kernel did, before the frame reached the ring).
      const fresh = (): void => {
        const b = blk.bytes;
        const d = blk.descs;
        const caddr = (0x0a000000 + (++gen & 0xffffff)) >>> 0;
        for (let i = 0; i < blk.count; i++) {
          const at = d[i * DESC_STRIDE + DESC_OFFSET] + 14 + 12;
          b[at] = caddr >>> 24;
          b[at + 1] = caddr >>> 16;
          b[at + 2] = caddr >>> 8;
          b[at + 3] = caddr;
        }
      };
      return {
        h,
        step: () => {
          blk.bytes.set(blk.pristine);
          fresh();
          h.pipeline.onBlock(blk.bytes, blk.descs, blk.count);
        },
        refill: () => {
          blk.bytes.set(blk.pristine);
          fresh();
        },
        rearm: () => h.director.tick(h.director.now + 3600),
        check: () => {
          const c0 = h.director.conns.size;
          const f0 = h.pipeline.stats.forwarded;
          blk.bytes.set(blk.pristine);
          fresh();
          h.pipeline.onBlock(blk.bytes, blk.descs, blk.count);
          expect(h.pipeline.stats.forwarded - f0 === FRAMES_PER_BLOCK, 'every SYN forwarded');
          expect(h.director.conns.size - c0 === FRAMES_PER_BLOCK, 'one new connection per SYN');
        },
      };
    },
  },
  { id: 'udp_dr', name: 'DR, UDP datagrams of existing flows (4,096)', prepare: () => establishedCase('udp_dr', 16) },
  { id: 'dr_new_sharded', name: 'DR, new TCP flows (SYNs), worker shard sync per block', prepare: () => sharded(CASES.find((c) => c.id === 'dr_new')!.prepare()) },
  { id: 'dr_established_sharded', name: 'DR, established TCP flows (4,096 conns), worker shard sync per block', prepare: () => sharded(establishedCase('dr_established', 16)) },
];

interface Heap {
  before: number;
  after: number;
  afterGc: number;
  /** (after - before) / packets: what survived or was not yet collected. */
  bytesPerPacket: number;
  scavenges: number;
  majorGcs: number;
  /** Everything allocated, collected or not (V8 sampling heap profiler, 64-byte interval). */
  allocatedPerPacket: number;
  /** Where, by the function V8 attributes the allocation to (inlined callees count in their caller). */
  sites: Record<string, number>;
}
interface Result {
  id: string;
  name: string;
  meanNs: number;
  rme: number;
  minNs: number;
  refillNs: number;
  netNs: number;
  mpps: number;
  samples: number;
  heap: Heap;
  drops: Record<string, number>;
}

const gc = (globalThis as { gc?: () => void }).gc;

function timeMin(fn: () => void, seconds: number, frames: number, between?: () => void): number {
  let min = Infinity;
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    const reps = 100;
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) fn();
    const ns = Number(process.hrtime.bigint() - t0) / reps / frames;
    if (ns < min) min = ns;
    between?.();
  }
  return min;
}

/**
 * Bytes allocated per packet over `packets` packets, collected garbage included, from the
 * sampling heap profiler (the inspector, in process), and the top allocating functions.
 */
function sampleAllocations(p: Prepared, packets: number): { perPacket: number; sites: Record<string, number> } {
  const s = new Session();
  s.connect();
  const post = (method: string, params: object = {}): unknown => {
    let out: unknown, err: Error | null = null;
    s.post(method, params, (e, r) => { err = e; out = r; }); // synchronous for an in-process session
    if (err) throw err;
    return out;
  };
  interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Node[] }
  const sample = (fn: () => void): Node => {
    post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
    fn();
    return (post('HeapProfiler.stopSampling') as { profile: { head: Node } }).profile.head;
  };
  const total = (n: Node): number => n.selfSize + n.children.reduce((a, c) => a + total(c), 0);
  post('HeapProfiler.enable');
  const iters = Math.ceil(packets / FRAMES_PER_BLOCK);
  const step = p.step;
  const baseline = total(sample(() => {}));
  const head = sample(() => { for (let i = 0; i < iters; i++) step(); });
  const n = iters * FRAMES_PER_BLOCK;
  const bySite = new Map<string, number>();
  const walk = (x: Node): void => {
    if (x.selfSize > 0) {
      const f = x.callFrame;
      const site = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
      bySite.set(site, (bySite.get(site) ?? 0) + x.selfSize);
    }
    x.children.forEach(walk);
  };
  walk(head);
  post('HeapProfiler.disable');
  s.disconnect();
  const sites: Record<string, number> = {};
  for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 4)) if (v / n >= 0.5) sites[k] = Math.round((v / n) * 10) / 10;
  return { perPacket: Math.max(0, total(head) - baseline) / n, sites };
}

async function heapOver(p: Prepared, packets: number): Promise<Heap> {
  if (!gc) throw new Error('run with --expose-gc');
  p.rearm?.();
  const counts = { minor: 0, major: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) counts.minor++;
      else counts.major++;
    }
  });
  gc();
  gc();
  obs.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage().heapUsed;
  const iters = Math.ceil(packets / FRAMES_PER_BLOCK);
  const step = p.step;
  for (let i = 0; i < iters; i++) step();
  const after = process.memoryUsage().heapUsed;
  await new Promise((r) => setImmediate(r)); // GC entries are delivered asynchronously
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  gc();
  const afterGc = process.memoryUsage().heapUsed;
  p.rearm?.();
  const alloc = sampleAllocations(p, packets / 4);
  return {
    before, after, afterGc, bytesPerPacket: (after - before) / (iters * FRAMES_PER_BLOCK), scavenges: counts.minor, majorGcs: counts.major,
    allocatedPerPacket: alloc.perPacket, sites: alloc.sites,
  };
}

async function runCase(c: Case): Promise<Result> {
  const p = c.prepare();
  p.check();
  const d0 = p.h.director.drops.slice();
  const bench = await new Promise<Benchmark>((resolve) => {
    const b = new Benchmark(c.name, p.step, {
      onCycle: () => p.rearm?.(),
      onComplete: () => resolve(b),
      minSamples: 20,
      maxTime: 3,
    });
    b.run();
  });
  const meanNs = (bench.stats.mean * 1e9) / FRAMES_PER_BLOCK;
  p.rearm?.();
  const minNs = timeMin(p.step, 2, FRAMES_PER_BLOCK, p.rearm);
  const refillNs = timeMin(p.refill, 0.5, FRAMES_PER_BLOCK);
  const drops: Record<string, number> = {};
  p.h.director.drops.forEach((n, r) => { if (r > 0 && n - d0[r] > 0) drops[DROP_NAMES[r]] = n - d0[r]; });
  const heap = await heapOver(p, HEAP_PACKETS);
  return {
    id: c.id, name: c.name, meanNs, rme: bench.stats.rme, minNs, refillNs, netNs: minNs - refillNs,
    mpps: 1e3 / minNs, samples: bench.stats.sample.length, heap, drops,
  };
}

function fmt(n: number, w = 7, d = 1): string {
  return n.toFixed(d).padStart(w);
}

async function main(): Promise<void> {
  const caseArg = process.argv.indexOf('--case');
  if (caseArg >= 0) {
    const c = CASES.find((x) => x.id === process.argv[caseArg + 1]);
    if (!c) throw new Error(`no case ${process.argv[caseArg + 1]}`);
    process.stdout.write(JSON.stringify(await runCase(c)));
    return;
  }
  if (!gc) throw new Error('run with node --expose-gc (heap check)');
  const only = process.argv[2];
  const results: Result[] = [];
  console.log(`${'case'.padEnd(52)} ${'mean'.padStart(7)} ${'±rme'.padStart(6)} ${'min'.padStart(7)} ${'refill'.padStart(7)} ${'net'.padStart(7)}  ns/packet  ${'Mpps'.padStart(5)}  heap over 1M packets`);
  for (const c of CASES) {
    if (only && !c.id.startsWith(only)) continue;
    const out = execFileSync(process.execPath, ['--expose-gc', __filename, '--case', c.id], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out) as Result;
    results.push(r);
    const h = r.heap;
    console.log(`${`${r.id}: ${r.name}`.padEnd(52).slice(0, 52)} ${fmt(r.meanNs)} ${fmt(r.rme, 5)}% ${fmt(r.minNs)} ${fmt(r.refillNs)} ${fmt(r.netNs)}             ${fmt(r.mpps, 5, 2)}  ` +
      `+${((h.after - h.before) / 1024).toFixed(0)} KiB (${h.bytesPerPacket.toFixed(2)} B/pkt), ${h.scavenges} scavenges, ${h.majorGcs} major GCs; ` +
      `allocated ${h.allocatedPerPacket.toFixed(1)} B/pkt` +
      (Object.keys(r.drops).length ? `  drops ${JSON.stringify(r.drops)}` : ''));
    for (const [site, b] of Object.entries(h.sites)) console.log(`${''.padEnd(8)}allocates ${b.toFixed(1).padStart(5)} B/pkt in ${site}`);
  }
  const root = existsSync(join(process.cwd(), 'package.json')) ? process.cwd() : join(__dirname, '..', '..');
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pipeline.json');
  const res: Record<string, unknown> = {};
  for (const r of results) res[r.id] = r;
  writeFileSync(file, JSON.stringify({
    date: new Date().toISOString(), node: process.version, framesPerBlock: FRAMES_PER_BLOCK, heapPackets: HEAP_PACKETS, results: res,
  }, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
