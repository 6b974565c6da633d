// Micro benchmark of the packet views (src/wire/), A/B side by side (undici style).
//
// The question: getters over a DataView, or byte shifts on the Uint8Array? What the
// pipeline does on every frame is measured: Ethernet + IPv4 + TCP reset, then daddr,
// ports and flags (and, as a second case, ten fields). A and B are twins of the IPv4 and TCP
// views, defined here side by side with the same fields, checks, failure path and local
// offsets; only the reads differ (A: DataView, B: byte shifts). Twins in one module keep
// the comparison fair: imported helpers cost an exports load per call, which is not what
// is being asked. The shipped views (DataView, the winner) are measured too.
// Two layouts of the IPv4/TCP fixtures of src/wire/fixtures.ts: "hot" (64 frames at
// 128-byte strides, in L1: measures the accessors) and "ring" (256 frames at 2 KiB
// strides, like a TPACKET block: cache misses then weigh in, as they will in production).
// Also: TTL decrement with the incremental checksum vs a full header recompute.
//
// Run: node dist/bench/wire.js [prefix]. Each case runs in its own process (so no case
// inherits another's JIT state) and reports the benchmark.js mean and the minimum of many
// short trials, steadier on a machine that other work shares; the verdict uses the minimum.

import Benchmark from 'benchmark';
import { execFileSync } from 'node:child_process';
import { EthernetView } from '../src/wire/ethernet';
import { BAD_DATA_OFFSET, BAD_IHL, BAD_TOTAL_LENGTH, BAD_VERSION, TRUNCATED } from '../src/wire/errors';
import { WIRE_FIXTURES, fixtureFrame } from '../src/wire/fixtures';
import { Ipv4View } from '../src/wire/ipv4';
import { SCRATCH } from '../src/wire/scratch';
import { TcpView } from '../src/wire/tcp';

// ---- A: DataView twins of Ipv4View and TcpView: the shipped views' fields, checks, failure
// path and named local offsets, cut down to what is measured. ----
const V_IHL = 0, V_LENGTH = 2, V_TTL = 8, V_PROTOCOL = 9, V_SRC = 12, V_DST = 16, V_HLEN = 20;
const T_SPORT = 0, T_DPORT = 2, T_SEQ = 4, T_ACK = 8, T_DOFF = 12, T_FLAGS = 13, T_WINDOW = 14, T_HLEN = 20;
const SCRATCH_DV = new DataView(SCRATCH.buffer, SCRATCH.byteOffset, SCRATCH.byteLength);

class DataViewIpv4View {
  private dv: DataView = SCRATCH_DV;
  private cbuf: Uint8Array = SCRATCH;
  private cdv: DataView = SCRATCH_DV;
  private off = 0;
  private tot = V_HLEN;
  private hlen = V_HLEN;
  reset(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < V_HLEN || off + len > buf.length) return this.fail(TRUNCATED);
    if (buf !== this.cbuf) {
      this.cbuf = buf;
      this.cdv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const dv = this.cdv;
    const vi = dv.getUint8(off + V_IHL);
    if (vi >>> 4 !== 4) return this.fail(BAD_VERSION);
    const hlen = (vi & 0x0f) << 2;
    if (hlen < V_HLEN) return this.fail(BAD_IHL);
    if (hlen > len) return this.fail(TRUNCATED);
    const tot = dv.getUint16(off + V_LENGTH);
    if (tot < hlen) return this.fail(BAD_TOTAL_LENGTH);
    if (tot > len) return this.fail(TRUNCATED);
    this.dv = dv;
    this.off = off;
    this.tot = tot;
    this.hlen = hlen;
    return 0;
  }
  private fail(reason: number): number {
    this.dv = SCRATCH_DV;
    this.off = 0;
    this.tot = V_HLEN;
    this.hlen = V_HLEN;
    return reason;
  }
  get payloadOffset(): number { return this.off + this.hlen; }
  get payloadLength(): number { return this.tot - this.hlen; }
  get ttl(): number { return this.dv.getUint8(this.off + V_TTL); }
  get protocol(): number { return this.dv.getUint8(this.off + V_PROTOCOL); }
  get saddr(): number { return this.dv.getUint32(this.off + V_SRC); }
  get daddr(): number { return this.dv.getUint32(this.off + V_DST); }
}

class DataViewTcpView {
  private dv: DataView = SCRATCH_DV;
  private cbuf: Uint8Array = SCRATCH;
  private cdv: DataView = SCRATCH_DV;
  private off = 0;
  private len = T_HLEN;
  private hlen = T_HLEN;
  reset(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < T_HLEN || off + len > buf.length) return this.fail(TRUNCATED);
    if (buf !== this.cbuf) {
      this.cbuf = buf;
      this.cdv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const hlen = (this.cdv.getUint8(off + T_DOFF) >>> 4) << 2;
    if (hlen < T_HLEN) return this.fail(BAD_DATA_OFFSET);
    if (hlen > len) return this.fail(TRUNCATED);
    this.dv = this.cdv;
    this.off = off;
    this.len = len;
    this.hlen = hlen;
    return 0;
  }
  private fail(reason: number): number {
    this.dv = SCRATCH_DV;
    this.off = 0;
    this.len = T_HLEN;
    this.hlen = T_HLEN;
    return reason;
  }
  get sport(): number { return this.dv.getUint16(this.off + T_SPORT); }
  get dport(): number { return this.dv.getUint16(this.off + T_DPORT); }
  get seq(): number { return this.dv.getUint32(this.off + T_SEQ); }
  get ack(): number { return this.dv.getUint32(this.off + T_ACK); }
  get flags(): number { return this.dv.getUint8(this.off + T_FLAGS); }
  get window(): number { return this.dv.getUint16(this.off + T_WINDOW); }
  get payloadLength(): number { return this.len - this.hlen; }
}

// ---- B: byte-shift twins: the same again, reading with shifts on the Uint8Array ----
class ByteIpv4View {
  private buf: Uint8Array = SCRATCH;
  private off = 0;
  private tot = V_HLEN;
  private hlen = V_HLEN;
  reset(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < V_HLEN || off + len > buf.length) return this.fail(TRUNCATED);
    const vi = buf[off + V_IHL];
    if (vi >>> 4 !== 4) return this.fail(BAD_VERSION);
    const hlen = (vi & 0x0f) << 2;
    if (hlen < V_HLEN) return this.fail(BAD_IHL);
    if (hlen > len) return this.fail(TRUNCATED);
    const tot = u16(buf, off + V_LENGTH);
    if (tot < hlen) return this.fail(BAD_TOTAL_LENGTH);
    if (tot > len) return this.fail(TRUNCATED);
    this.buf = buf;
    this.off = off;
    this.tot = tot;
    this.hlen = hlen;
    return 0;
  }
  private fail(reason: number): number {
    this.buf = SCRATCH;
    this.off = 0;
    this.tot = V_HLEN;
    this.hlen = V_HLEN;
    return reason;
  }
  get payloadOffset(): number { return this.off + this.hlen; }
  get payloadLength(): number { return this.tot - this.hlen; }
  get ttl(): number { return this.buf[this.off + V_TTL]; }
  get protocol(): number { return this.buf[this.off + V_PROTOCOL]; }
  get saddr(): number { return u32(this.buf, this.off + V_SRC); }
  get daddr(): number { return u32(this.buf, this.off + V_DST); }
}

class ByteTcpView {
  private buf: Uint8Array = SCRATCH;
  private off = 0;
  private len = T_HLEN;
  private hlen = T_HLEN;
  reset(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < T_HLEN || off + len > buf.length) return this.fail(TRUNCATED);
    const hlen = (buf[off + T_DOFF] >>> 4) << 2;
    if (hlen < T_HLEN) return this.fail(BAD_DATA_OFFSET);
    if (hlen > len) return this.fail(TRUNCATED);
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.hlen = hlen;
    return 0;
  }
  private fail(reason: number): number {
    this.buf = SCRATCH;
    this.off = 0;
    this.len = T_HLEN;
    this.hlen = T_HLEN;
    return reason;
  }
  get sport(): number { return u16(this.buf, this.off + T_SPORT); }
  get dport(): number { return u16(this.buf, this.off + T_DPORT); }
  get seq(): number { return u32(this.buf, this.off + T_SEQ); }
  get ack(): number { return u32(this.buf, this.off + T_ACK); }
  get flags(): number { return this.buf[this.off + T_FLAGS]; }
  get window(): number { return u16(this.buf, this.off + T_WINDOW); }
  get payloadLength(): number { return this.len - this.hlen; }
}

// Local, so the twins' calls are direct (imported helpers cost an exports load per call).
function u16(b: Uint8Array, o: number): number { return (b[o] << 8) | b[o + 1]; }
function u32(b: Uint8Array, o: number): number { return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0; }

// ---- rings ----
const tcp4 = WIRE_FIXTURES.filter((f) => f.ethertype === 0x0800 && f.proto === 6).map(fixtureFrame);

interface Ring { buf: Uint8Array; offs: Int32Array; lens: Int32Array; n: number }

function makeRing(n: number, stride: number): Ring {
  const buf = new Uint8Array(n * stride);
  const offs = new Int32Array(n);
  const lens = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const f = tcp4[i % tcp4.length];
    const o = i * stride + (i & 3) * 2; // 0, 2, 4, 6: aligned and unaligned IP headers
    buf.set(f, o);
    buf[o + f.length - 1] ^= i & 0xff; // vary the frames a little
    offs[i] = o;
    lens[i] = f.length;
  }
  return { buf, offs, lens, n };
}

const hot = makeRing(64, 128);
const big = makeRing(256, 2048);
const ttlRing = makeRing(64, 128); // its own copy: TTLs are decremented, and wrap
const out = new Uint32Array(256);

const ethA = new EthernetView(), ipA = new DataViewIpv4View(), tcpA = new DataViewTcpView();
const ethB = new EthernetView(), ipB = new ByteIpv4View(), tcpB = new ByteTcpView();
const ethS = new EthernetView(), ipS = new Ipv4View(), tcpS = new TcpView();
const ipT = new Ipv4View();

function runA(r: Ring): void {
  const ring = r.buf, offs = r.offs, lens = r.lens;
  for (let i = 0; i < r.n; i++) {
    if (ethA.reset(ring, offs[i], lens[i]) !== 0) continue;
    if (ipA.reset(ring, ethA.l3Offset, ethA.l3Length) !== 0) continue;
    if (tcpA.reset(ring, ipA.payloadOffset, ipA.payloadLength) !== 0) continue;
    out[i] = ipA.daddr ^ ((tcpA.sport << 16) | tcpA.dport) ^ tcpA.flags;
  }
}

function runShipped(r: Ring): void {
  const ring = r.buf, offs = r.offs, lens = r.lens;
  for (let i = 0; i < r.n; i++) {
    if (ethS.reset(ring, offs[i], lens[i]) !== 0) continue;
    if (ipS.reset(ring, ethS.l3Offset, ethS.l3Length) !== 0) continue;
    if (tcpS.reset(ring, ipS.payloadOffset, ipS.payloadLength) !== 0) continue;
    out[i] = ipS.daddr ^ ((tcpS.sport << 16) | tcpS.dport) ^ tcpS.flags;
  }
}

function runB(r: Ring): void {
  const ring = r.buf, offs = r.offs, lens = r.lens;
  for (let i = 0; i < r.n; i++) {
    if (ethB.reset(ring, offs[i], lens[i]) !== 0) continue;
    if (ipB.reset(ring, ethB.l3Offset, ethB.l3Length) !== 0) continue;
    if (tcpB.reset(ring, ipB.payloadOffset, ipB.payloadLength) !== 0) continue;
    out[i] = ipB.daddr ^ ((tcpB.sport << 16) | tcpB.dport) ^ tcpB.flags;
  }
}

// Accessor-heavy: after the same resets, read ten fields (what NAT and the TCP state
// machine touch), so the cost of the reads themselves shows.
function runAllA(r: Ring): void {
  const ring = r.buf, offs = r.offs, lens = r.lens;
  for (let i = 0; i < r.n; i++) {
    if (ethA.reset(ring, offs[i], lens[i]) !== 0) continue;
    if (ipA.reset(ring, ethA.l3Offset, ethA.l3Length) !== 0) continue;
    if (tcpA.reset(ring, ipA.payloadOffset, ipA.payloadLength) !== 0) continue;
    out[i] = (ipA.saddr ^ ipA.daddr ^ ipA.ttl ^ ipA.protocol ^ ((tcpA.sport << 16) | tcpA.dport) ^ tcpA.seq ^ tcpA.ack ^
      tcpA.flags ^ tcpA.window ^ tcpA.payloadLength) >>> 0;
  }
}

function runAllB(r: Ring): void {
  const ring = r.buf, offs = r.offs, lens = r.lens;
  for (let i = 0; i < r.n; i++) {
    if (ethB.reset(ring, offs[i], lens[i]) !== 0) continue;
    if (ipB.reset(ring, ethB.l3Offset, ethB.l3Length) !== 0) continue;
    if (tcpB.reset(ring, ipB.payloadOffset, ipB.payloadLength) !== 0) continue;
    out[i] = (ipB.saddr ^ ipB.daddr ^ ipB.ttl ^ ipB.protocol ^ ((tcpB.sport << 16) | tcpB.dport) ^ tcpB.seq ^ tcpB.ack ^
      tcpB.flags ^ tcpB.window ^ tcpB.payloadLength) >>> 0;
  }
}

function runTtlIncremental(): void {
  const r = ttlRing;
  for (let i = 0; i < r.n; i++) {
    if (ipT.reset(r.buf, r.offs[i] + 14, r.lens[i] - 14) !== 0) continue;
    if (ipT.decrementTtl() === 0) {
      ipT.ttl = 255;
      ipT.recomputeChecksum();
    }
  }
}

function runTtlRecompute(): void {
  const r = ttlRing;
  for (let i = 0; i < r.n; i++) {
    if (ipT.reset(r.buf, r.offs[i] + 14, r.lens[i] - 14) !== 0) continue;
    const t = ipT.ttl;
    ipT.ttl = t === 0 ? 255 : t - 1;
    ipT.recomputeChecksum();
  }
}

// Sanity: A and B compute the same thing.
for (const [fa, fb] of [[runA, runB], [runAllA, runAllB], [runA, runShipped]]) {
  for (const r of [hot, big]) {
    fa(r);
    const check = out.slice();
    fb(r);
    for (let i = 0; i < r.n; i++) if (out[i] !== check[i]) throw new Error(`A/B disagree at frame ${i}`);
  }
}

interface Case { id: string; name: string; frames: number; fn: () => void }
const CASES: Case[] = [
  { id: 'A-hot', name: 'A DataView getters: eth+ipv4+tcp reset; daddr, ports, flags (hot)', frames: hot.n, fn: () => runA(hot) },
  { id: 'B-hot', name: 'B byte shifts:      eth+ipv4+tcp reset; daddr, ports, flags (hot)', frames: hot.n, fn: () => runB(hot) },
  { id: 'A-ring', name: 'A DataView getters: eth+ipv4+tcp reset; daddr, ports, flags (ring)', frames: big.n, fn: () => runA(big) },
  { id: 'B-ring', name: 'B byte shifts:      eth+ipv4+tcp reset; daddr, ports, flags (ring)', frames: big.n, fn: () => runB(big) },
  { id: 'A-ten', name: 'A DataView getters: eth+ipv4+tcp reset; ten fields (hot)', frames: hot.n, fn: () => runAllA(hot) },
  { id: 'B-ten', name: 'B byte shifts:      eth+ipv4+tcp reset; ten fields (hot)', frames: hot.n, fn: () => runAllB(hot) },
  { id: 'shipped-hot', name: 'shipped views (DataView): eth+ipv4+tcp reset; daddr, ports, flags (hot)', frames: hot.n, fn: () => runShipped(hot) },
  { id: 'shipped-ring', name: 'shipped views (DataView): eth+ipv4+tcp reset; daddr, ports, flags (ring)', frames: big.n, fn: () => runShipped(big) },
  { id: 'ttl-inc', name: 'TTL decrement, incremental checksum (RFC 1624)', frames: ttlRing.n, fn: runTtlIncremental },
  { id: 'ttl-full', name: 'TTL decrement, full header checksum recompute', frames: ttlRing.n, fn: runTtlRecompute },
];

interface Result { id: string; mean: number; rme: number; min: number }

/** Runs one case in this process: benchmark.js mean, then the minimum of short trials. */
function measure(c: Case, minSeconds: number, done: (r: Result) => void): void {
  const suite = new Benchmark.Suite();
  suite.add(c.name, c.fn).on('complete', () => {
    const t = (suite as unknown as Benchmark[])[0];
    const mean = 1e9 / t.hz / c.frames;
    // On a shared machine the minimum over many short trials is the run nobody interrupted.
    let min = Infinity;
    const until = Date.now() + minSeconds * 1000;
    while (Date.now() < until) {
      const reps = 200;
      const t0 = process.hrtime.bigint();
      for (let r = 0; r < reps; r++) c.fn();
      const ns = Number(process.hrtime.bigint() - t0) / reps / c.frames;
      if (ns < min) min = ns;
    }
    done({ id: c.id, mean, rme: t.stats.rme, min });
  }).run();
}

const caseArg = process.argv.indexOf('--case');
if (caseArg >= 0) {
  // Child: one case, result as JSON on stdout.
  const c = CASES.find((x) => x.id === process.argv[caseArg + 1]);
  if (!c) throw new Error(`no case ${process.argv[caseArg + 1]}`);
  measure(c, 2, (r) => process.stdout.write(JSON.stringify(r)));
} else {
  // Parent: each case in its own process, so no case inherits another's JIT state (shared
  // views re-pointed across rings, shared call-site feedback), then the A/B verdicts.
  const only = process.argv[2];
  const res = new Map<string, Result>();
  for (const c of CASES) {
    if (only && !c.id.startsWith(only)) continue;
    const r = JSON.parse(execFileSync(process.execPath, [__filename, '--case', c.id], { encoding: 'utf8' })) as Result;
    res.set(c.id, r);
    console.log(`${c.name.padEnd(74)} ${r.mean.toFixed(2).padStart(7)} ns/frame ±${r.rme.toFixed(1).padStart(4)}%   min ${r.min.toFixed(2).padStart(7)}`);
  }
  for (const k of ['hot', 'ring', 'ten']) {
    const a = res.get(`A-${k}`), b = res.get(`B-${k}`);
    if (!a || !b) continue;
    const win = a.min <= b.min ? 'A DataView' : 'B byte shifts';
    console.log(`${k.padEnd(5)}: faster (by min): ${win}, ${(Math.max(a.min, b.min) / Math.min(a.min, b.min)).toFixed(2)}x`);
  }
}
