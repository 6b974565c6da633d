// The data path (src/dataplane/pipeline.ts) on the fixture table of
// test/fixtures/dataplane.ts: every row through a fresh director on a MemoryBackend, its
// verdict, its drop counter and the exact bytes sent. Then: a fuzz of mutated and random
// frames (and descriptors) that must never throw and keep the counters consistent, and the
// batching rule (one send() per TX batch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEST_F_UNRESOLVED } from '../../src/core/constants';
import { DROP_LAST } from '../../src/core/drops';
import { DESC_LEN, DESC_OFFSET, DESC_SNAPLEN, DESC_STRIDE } from '../../src/io/afpacket';
import { ARP_OP_REQUEST } from '../../src/wire/arp';
import { sum16 } from '../../src/wire/checksum';
import { toHex } from '../../src/wire/fixtures';
import { SCRATCH } from '../../src/wire/scratch';
import {
  CLIENT, DATAPLANE_FIXTURES, DIRECTOR_IP, DIRECTOR_MAC, RS1, RS2, RS3, TH_SYN, arpFrame, drOutput, echoReplyOutput,
  icmpErrorOutput, l3Offset, tcpFrame, withClient, ROUTER_MAC, VIP, BROADCAST_MAC,
} from '../fixtures/dataplane';
import { DataplaneHarness } from '../fixtures/dataplane-harness';
import { mulberry32 as prng } from '../fixtures/prng';

/** Checks the IPv4 header checksum and, for ICMP, the message checksum of a sent frame. */
function assertChecksums(f: Uint8Array, what: string): void {
  const t = (f[12] << 8) | f[13];
  const l3 = l3Offset(f);
  const type = l3 === 18 ? (f[16] << 8) | f[17] : t;
  if (type !== 0x0800) return;
  const ihl = (f[l3] & 15) * 4;
  assert.equal(sum16(f, l3, ihl, 0), 0xffff, `${what}: IPv4 header checksum`);
  if (f[l3 + 9] === 1) {
    const tot = (f[l3 + 2] << 8) | f[l3 + 3];
    assert.equal(sum16(f, l3 + ihl, tot - ihl, 0), 0xffff, `${what}: ICMP checksum`);
  }
}

test('start-up: the director asks for every real server, RS1/RS2 answer, RS3 stays unresolved', () => {
  const h = new DataplaneHarness();
  const asked = h.startupSent.map((f) => toHex(f));
  const request = (rs: typeof RS1) =>
    toHex(arpFrame({ op: ARP_OP_REQUEST, sha: DIRECTOR_MAC, spa: DIRECTOR_IP, tpa: rs.ip, dstMac: BROADCAST_MAC }));
  assert.deepEqual(asked.sort(), [request(RS1), request(RS2), request(RS3)].sort());
  for (const rs of [RS1, RS2]) {
    for (const d of h.dests(rs.ip)) {
      assert.equal(toHex(d.mac!), toHex(rs.mac));
      assert.equal(d.flags & DEST_F_UNRESOLVED, 0);
    }
  }
  for (const d of h.dests(RS3.ip)) {
    assert.equal(d.mac, null);
    assert.notEqual(d.flags & DEST_F_UNRESOLVED, 0);
  }
});

for (const f of DATAPLANE_FIXTURES) {
  test(`fixture: ${f.name}`, () => {
    const h = new DataplaneHarness();
    const input = f.input.slice();
    const out = h.run(f);
    assert.deepEqual(f.input, input, 'the fixture frame is not modified (MemoryBackend copies it into its block)');
    assert.equal(out.verdict, f.expect, `verdict (drops ${JSON.stringify(out.drops)})`);
    assert.equal(out.stats.rxFrames, 1);
    // drop counters: exactly the expected one, once
    assert.deepEqual(out.drops, f.expectedDrop ? { [f.expectedDrop]: 1 } : {});
    // what was sent
    if (f.expectedOutput) {
      assert.equal(out.sent.length, 1, 'one frame sent');
      assert.equal(toHex(out.sent[0]), toHex(f.expectedOutput), 'sent bytes');
      assertChecksums(out.sent[0], 'sent frame');
    } else {
      assert.equal(out.sent.length, 0, 'nothing sent');
    }
    assert.equal(out.stats.txFrames, out.sent.length);
    if (f.expect === 'forward') assert.equal(out.stats.forwarded, 1);
    if (f.expectedDrop === 'ttl_expired' || f.expectedDrop === 'no_dest') assert.equal(out.stats.icmpErrors, 1);
    if (f.expect === 'ignore') assert.equal(out.stats.notOurs, f.notOurs ? 1 : 0, 'notOurs');
    if (f.learned) {
      assert.equal(toHex(h.neighbours.macOf(f.learned.rs.ip)!), toHex(f.learned.mac), 'neighbour MAC');
      for (const d of h.dests(f.learned.rs.ip)) {
        assert.equal(toHex(d.mac!), toHex(f.learned.mac), 'dest MAC');
        assert.equal(d.flags & DEST_F_UNRESOLVED, 0, 'dest resolved');
      }
    }
  });
}

test('fixture table: the hand-checked bytes of the ARP reply and the echo reply', () => {
  // The ARP reply row spells its bytes out; the echo reply is checked here field by field.
  const echo = DATAPLANE_FIXTURES.find((f) => f.name.startsWith('ICMP echo request to VIP ->'))!;
  const o = echoReplyOutput(echo.input);
  assert.equal(toHex(o),
    '020000000002' + '020000000001' + '0800' +
    '4500' + '0036' + 'b78e' + '4000' + '40' + '01' + toHex(o, 24, 2) + 'c0000264' + 'c6336407' +
    '00' + '00' + toHex(o, 36, 2) + '1234' + '0001' + toHex(echo.input, 42));
  assert.equal(sum16(o, 14, 20, 0), 0xffff);
  assert.equal(sum16(o, 34, 8 + 26, 0), 0xffff);
  // and the DR rewrite touches only the MACs, the TTL and the IP checksum
  const syn = tcpFrame({ sport: 1, dport: 80, flags: TH_SYN });
  const dr = drOutput(syn, RS2);
  const diff = [...dr].map((b, i) => (b !== syn[i] ? i : -1)).filter((i) => i >= 0);
  assert.ok(diff.every((i) => i < 12 || i === 22 || i === 24 || i === 25), `changed bytes ${diff}`);
  // the ICMP error quotes the datagram and comes from the given address
  const e = icmpErrorOutput(syn, 11, 0, DIRECTOR_IP, 2);
  assert.equal(e[34], 11);
  assert.equal(toHex(e, 42, 40), toHex(syn, 14, 40));
  assert.equal(toHex(e, 0, 6), toHex(ROUTER_MAC));
});

// ---- fuzz ----


function pool(): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (const f of DATAPLANE_FIXTURES) {
    frames.push(f.input);
    for (const s of f.setup?.frames ?? []) frames.push(s);
  }
  return frames;
}

function mutate(base: Uint8Array, rnd: () => number): Uint8Array {
  const kind = Math.floor(rnd() * 6);
  const r = (n: number) => Math.floor(rnd() * n);
  switch (kind) {
    case 0: return base.slice(); // as it is (valid frames create connections)
    case 1: { // flip bytes, mostly in the headers
      const f = base.slice();
      for (let n = 1 + r(4); n > 0; n--) f[r(Math.min(f.length, 1 + r(2) * 60 + 40))] = r(256);
      return f;
    }
    case 2: return base.slice(0, r(base.length + 1)); // truncate anywhere
    case 3: { // another client, same packet
      const l3 = l3Offset(base);
      if (base.length < l3 + 24 || (base[l3 + 9] !== 6 && base[l3 + 9] !== 17) || (base[l3] & 15) < 5) return base.slice();
      try { return withClient(base, (CLIENT + r(1000)) >>> 0, 1024 + r(60000)); } catch { return base.slice(); }
    }
    case 4: { // random bytes after a plausible header
      const f = new Uint8Array(r(200));
      for (let i = 0; i < f.length; i++) f[i] = r(256);
      const types = [0x0800, 0x0806, 0x8100, 0x86dd, r(65536)];
      const t = types[r(types.length)];
      if (f.length >= 14) { f.set(DIRECTOR_MAC, 0); f[12] = t >>> 8; f[13] = t & 0xff; }
      if (f.length >= 34 && t === 0x0800) { f[14] = 0x45; f[30] = VIP >>> 24; f[31] = (VIP >>> 16) & 255; f[32] = (VIP >>> 8) & 255; f[33] = VIP & 255; }
      return f;
    }
    default: { // set one IPv4/L4 field to an edge value
      const f = base.slice();
      const l3 = l3Offset(f);
      const at = l3 + r(60);
      const edge = [0, 1, 4, 5, 0x0f, 0x40, 0x45, 0x4f, 0xff][r(9)];
      if (at < f.length) f[at] = edge;
      return f;
    }
  }
}

test('fuzz: 40,000 mutated/random frames: no exception, counters consistent, the scratch buffer stays zero', () => {
  const rnd = prng(0x7575);
  const base = pool();
  const h = new DataplaneHarness({ maxConns: 1 << 14 });
  h.backend.discard = true;
  let total = 0;
  let blocks = 0;
  let tick = 0;
  while (total < 40_000) {
    const n = 1 + Math.floor(rnd() * 256);
    const frames: Uint8Array[] = [];
    let arp = 0;
    for (let i = 0; i < n; i++) {
      const f = mutate(base[Math.floor(rnd() * base.length)], rnd);
      frames.push(f);
      const l3 = f.length >= 18 ? l3Offset(f) : 14;
      if (f.length >= l3 && ((f[l3 - 2] << 8) | f[l3 - 1]) === 0x0806) arp++;
    }
    const s0 = { ...h.pipeline.stats };
    const d0 = h.director.drops.reduce((a, b) => a + b, 0);
    const sent0 = h.backend.sentFrames;
    h.backend.receive(frames); // throws if the pipeline throws
    const s = h.pipeline.stats;
    assert.equal(s.rxFrames - s0.rxFrames, n, 'rxFrames counts every frame');
    assert.equal(s.rxBlocks - s0.rxBlocks, 1);
    const dropped = h.director.drops.reduce((a, b) => a + b, 0) - d0;
    const accounted = (s.forwarded - s0.forwarded) + (s.arpReplies - s0.arpReplies) + (s.echoReplies - s0.echoReplies) +
      (s.notOurs - s0.notOurs) + dropped;
    assert.ok(accounted <= n && accounted >= n - arp, `each frame has one outcome: ${accounted} of ${n} (${arp} ARP)`);
    const out = (s.forwarded - s0.forwarded) + (s.arpReplies - s0.arpReplies) + (s.echoReplies - s0.echoReplies) + (s.icmpErrors - s0.icmpErrors);
    assert.equal(h.backend.sentFrames - sent0, out, 'every verdict that sends, sent once');
    assert.equal(s.txFrames - s0.txFrames, out);
    assert.ok(SCRATCH.every((b) => b === 0), 'views on failed resets never wrote to the scratch buffer');
    total += n;
    blocks++;
    if (blocks % 20 === 0) { // let time pass: expiry, neighbour refresh/staleness (ARP requests are queued)
      tick += 7;
      h.director.tick(tick);
      h.neighbours.tick(tick);
      h.pipeline.flush();
    }
  }
  assert.equal(h.pipeline.stats.rxFrames, total + 2, 'plus the two ARP replies of the start-up');
  assert.ok(h.pipeline.stats.forwarded > 1000, `some mutated frames still forward (${h.pipeline.stats.forwarded})`);
  for (let r = 1; r < DROP_LAST; r++) assert.ok(Number.isInteger(h.director.drops[r]));
});

test('fuzz: random descriptors over a random block (offsets past the end, snaplen < len, zero lengths)', () => {
  const rnd = prng(42);
  const h = new DataplaneHarness();
  h.backend.discard = true;
  const bytes = new Uint8Array(64 * 1024);
  const descs = new Uint32Array(DESC_STRIDE * 512);
  const frames = pool();
  for (let round = 0; round < 200; round++) {
    // some real frames at random places, random bytes elsewhere
    for (let i = 0; i < bytes.length; i += 4) bytes[i] = (rnd() * 256) | 0;
    const n = 1 + ((rnd() * 512) | 0);
    for (let i = 0; i < n; i++) {
      const d = i * DESC_STRIDE;
      descs.fill(0, d, d + DESC_STRIDE);
      const f = frames[(rnd() * frames.length) | 0];
      const kind = (rnd() * 4) | 0;
      let off = (rnd() * bytes.length) | 0;
      let len = f.length;
      if (kind === 0) { off = Math.min(off, bytes.length - f.length); bytes.set(f, off); }
      else if (kind === 1) len = (rnd() * 3000) | 0; // may run past the end
      else if (kind === 2) off = bytes.length + ((rnd() * 100) | 0);
      else len = (rnd() * 20) | 0;
      descs[d + DESC_OFFSET] = off;
      descs[d + DESC_SNAPLEN] = len;
      descs[d + DESC_LEN] = rnd() < 0.1 ? len + 1 : len;
    }
    const rx0 = h.pipeline.stats.rxFrames;
    h.backend.receiveRaw(bytes, descs, n);
    assert.equal(h.pipeline.stats.rxFrames - rx0, n);
  }
  assert.ok(SCRATCH.every((b) => b === 0));
  assert.ok(h.director.drops[6] > 0, 'runts counted');
});

// ---- batching: one native crossing per TX batch ----

function countSends(h: DataplaneHarness): number[] {
  const calls: number[] = [];
  const orig = h.backend.send.bind(h.backend);
  h.backend.send = (buf, descs, count) => {
    calls.push(count);
    return orig(buf, descs, count);
  };
  return calls;
}

test('a block of forwarded frames and replies leaves in exactly one send()', () => {
  const h = new DataplaneHarness({ maxConns: 1 << 14 });
  const calls = countSends(h);
  const syn = DATAPLANE_FIXTURES.find((f) => f.bench === 'dr_new')!.input;
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 1000; i++) frames.push(withClient(syn, CLIENT + (i >> 8), 1024 + i));
  frames.push(DATAPLANE_FIXTURES.find((f) => f.bench === 'arp_vip')!.input);
  frames.push(DATAPLANE_FIXTURES.find((f) => f.name.startsWith('ICMP echo request to VIP ->'))!.input);
  frames.push(DATAPLANE_FIXTURES.find((f) => f.bench === 'udp_dr')!.input);
  frames.push(tcpFrame({ sport: 9, dport: 22, flags: TH_SYN })); // a drop sends nothing
  const out = h.receive(frames);
  assert.deepEqual(calls, [1003], 'one send() with every forwarded frame and reply');
  assert.equal(out.stats.forwarded, 1001);
  // in block order, and the SYNs alternate RS1, RS2 (rr)
  assert.equal(toHex(out.sent[0]), toHex(drOutput(frames[0], RS1)));
  assert.equal(toHex(out.sent[1]), toHex(drOutput(frames[1], RS2)));
  assert.equal(toHex(out.sent[999]), toHex(drOutput(frames[999], RS2)));
});

test('ICMP errors built by the pipeline leave in a second send() (the TX buffer), once per block', () => {
  const h = new DataplaneHarness();
  const calls = countSends(h);
  const syn = DATAPLANE_FIXTURES.find((f) => f.bench === 'dr_new')!.input;
  const frames = [syn, ...[1, 2, 3].map((p) => tcpFrame({ sport: p, dport: 80, flags: TH_SYN, ttl: 1 })), withClient(syn, CLIENT, 2)];
  h.receive(frames);
  assert.deepEqual(calls, [2, 3]);
  h.receive([]);
  assert.deepEqual(calls, [2, 3], 'an empty block sends nothing');
});

test('more than MAX_BATCH (4096) forwarded frames in one block: a full batch goes out, then the rest', () => {
  const h = new DataplaneHarness({ maxConns: 1 << 14 });
  h.backend.discard = true;
  const calls = countSends(h);
  const syn = DATAPLANE_FIXTURES.find((f) => f.bench === 'dr_new')!.input;
  const n = 5000;
  const stride = 128;
  const bytes = new Uint8Array(n * stride);
  const descs = new Uint32Array(n * DESC_STRIDE);
  for (let i = 0; i < n; i++) {
    bytes.set(withClient(syn, CLIENT + (i >> 12), 1024 + (i & 4095)), i * stride);
    descs[i * DESC_STRIDE + DESC_OFFSET] = i * stride;
    descs[i * DESC_STRIDE + DESC_SNAPLEN] = syn.length;
    descs[i * DESC_STRIDE + DESC_LEN] = syn.length;
  }
  h.backend.receiveRaw(bytes, descs, n);
  assert.deepEqual(calls, [4096, n - 4096]);
  assert.equal(h.pipeline.stats.forwarded, n);
  // the frames were rewritten in place in the block
  assert.equal(toHex(bytes, 0, 12), toHex(RS1.mac) + toHex(DIRECTOR_MAC));
});
